"""HeyGen's v3 dialect with fake sessions: routes, envelopes, vocabularies, errors, keys."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from heygen_client import HTTPStatusError, JobNotFound, MalformedResponse, TranslationClient
from heygen_client._backends.heygen import HeyGenBackend
from heygen_client._transport import Transport
from heygen_client.errors import RateLimited, TranslationFailed, Unsupported
from heygen_client.models import JobResult, JobStatus

KEY = "hg-test-KEY-0123456789"

Answer = tuple[int, object] | tuple[int, object, dict[str, str]]


class FakeSession(requests.Session):
    """Answers each request with ``handler(method, url, kwargs)``; records what was sent."""

    def __init__(self, handler: Callable[[str, str, dict[str, Any]], Answer]) -> None:
        super().__init__()
        self.handler = handler
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        assert isinstance(method, str)
        assert isinstance(url, str)
        self.sent.append((method, url, kwargs))
        answer = self.handler(method, url, kwargs)
        response = requests.Response()
        response.status_code = answer[0]
        response._content = json.dumps(answer[1]).encode()
        response._content_consumed = True  # type: ignore[attr-defined]  # iter_content() yields _content
        response.headers = CaseInsensitiveDict(answer[2] if len(answer) == 3 else {})
        return response


def backend(
    handler: Callable[[str, str, dict[str, Any]], Answer],
) -> tuple[HeyGenBackend, FakeSession]:
    session = FakeSession(handler)
    transport = Transport(
        "https://api.example.invalid",
        headers={"X-Api-Key": KEY},
        session=session,
    )
    return HeyGenBackend(transport), session


def translation(status: str, **fields: object) -> dict[str, object]:
    return {"data": {"id": "t1", "status": status, "duration": 120.0, **fields}}


@pytest.mark.parametrize(
    ("word", "result"),
    [
        ("pending", JobResult.PENDING),
        ("running", JobResult.PENDING),
        ("completed", JobResult.COMPLETED),
        ("failed", JobResult.ERROR),
    ],
)
def test_single_status_maps_heygens_words_and_keeps_them(word: str, result: JobResult) -> None:
    hg, session = backend(lambda *_: (200, translation(word, video_url="https://v/1.mp4")))
    status = hg.get_status("t1")
    assert status.job_id == "t1"
    assert status.result is result
    assert status.extra["status"] == word
    assert status.extra["video_url"] == "https://v/1.mp4"
    assert status.video_duration == 120.0
    method, url, kwargs = session.sent[0]
    assert (method, url) == ("GET", "https://api.example.invalid/v3/video-translations/t1")
    assert kwargs["headers"]["X-Api-Key"] == KEY


def test_the_id_is_quoted_into_the_path() -> None:
    hg, session = backend(lambda *_: (200, translation("pending")))
    hg.get_status("a/b?c")
    assert session.sent[0][1].endswith("/v3/video-translations/a%2Fb%3Fc")


def test_a_404_is_job_not_found_and_a_401_says_to_check_the_key() -> None:
    envelope = {"error": {"code": "not_found", "message": "no such translation"}}
    hg, _ = backend(lambda *_: (404, envelope))
    with pytest.raises(JobNotFound, match="no such translation"):
        hg.get_status("t1")
    refused = {"error": {"code": "unauthorized", "message": "invalid API key"}}
    hg, _ = backend(lambda *_: (401, refused))
    with pytest.raises(HTTPStatusError) as info:
        hg.get_status("t1")
    assert info.value.status_code == 401
    assert not info.value.retryable
    assert "HEYGEN_API_KEY" in str(info.value)
    assert KEY not in str(info.value)


@pytest.mark.parametrize(
    "body",
    [
        {"id": "t1", "status": "pending"},  # no envelope
        {"data": ["t1"]},
        {"data": {"id": "t1", "status": "exploded"}},
    ],
)
def test_an_unreadable_single_answer_is_malformed(body: object) -> None:
    hg, _ = backend(lambda *_: (200, body))
    with pytest.raises(MalformedResponse):
        hg.get_status("t1")


def test_the_default_job_does_not_exist_on_heygen() -> None:
    hg, session = backend(lambda *_: (200, translation("pending")))
    with pytest.raises(Unsupported):
        hg.get_status(None)
    assert session.sent == []


def test_bulk_status_reads_the_bulk_vocabulary_and_not_found() -> None:
    entries = [
        {"video_id": "a", "status": "queued", "error": None},
        {"video_id": "b", "status": "processing", "error": None},
        {"video_id": "c", "status": "not_found", "error": None},
    ]
    hg, session = backend(lambda *_: (200, {"data": entries, "has_more": False}))
    answer = hg.batch_status(["a", "b", "c"])
    assert [(s.job_id, s.result, s.extra["status"]) for s in answer.statuses] == [
        ("a", JobResult.PENDING, "queued"),
        ("b", JobResult.PENDING, "processing"),
    ]
    assert list(answer.unknown) == ["c"]
    _, url, kwargs = session.sent[0]
    assert url.endswith("/v3/video-translations/statuses")
    assert kwargs["params"] == {"video_translation_ids": "a,b,c"}


def test_a_final_bulk_entry_is_fetched_again_for_its_fields() -> None:
    def handler(method: str, url: str, kwargs: dict[str, Any]) -> Answer:
        if url.endswith("/statuses"):
            error = {"code": "translation_failed", "message": "bad audio"}
            return 200, {
                "data": [
                    {"video_id": "done", "status": "completed", "error": None},
                    {"video_id": "bad", "status": "failed", "error": error},
                ]
            }
        if url.endswith("/done"):
            return 200, translation("completed", id="done", video_url="https://v/done.mp4")
        return 503, {"error": {"code": "unavailable", "message": "try later"}}

    hg, session = backend(handler)
    done, bad = hg.batch_status(["done", "bad"]).statuses
    assert done.extra["video_url"] == "https://v/done.mp4"
    # Its details not to be had, a failed job still says why (the bulk entry's error).
    assert bad.result is JobResult.ERROR
    assert bad.failure_message == "bad audio"
    assert len(session.sent) == 3


def test_a_paged_bulk_answer_is_followed_to_its_last_page() -> None:
    pages = {
        None: {
            "data": [{"video_id": "a", "status": "queued"}],
            "has_more": True,
            "next_token": "p2",
        },
        "p2": {
            "data": [{"video_id": "b", "status": "not_found"}],
            "has_more": True,
            "next_token": "p3",
        },
        "p3": {"data": [{"video_id": "c", "status": "processing"}], "has_more": False},
    }
    hg, session = backend(lambda _m, _u, kwargs: (200, pages[kwargs["params"].get("token")]))
    answer = hg.batch_status(["a", "b", "c"])
    assert [s.job_id for s in answer.statuses] == ["a", "c"]
    assert list(answer.unknown) == ["b"]
    tokens = [kwargs["params"].get("token") for _, _, kwargs in session.sent]
    assert tokens == [None, "p2", "p3"]
    assert all(kw["params"]["video_translation_ids"] == "a,b,c" for _, _, kw in session.sent)


@pytest.mark.parametrize(
    "page",
    [
        {"data": [{"video_id": "a", "status": "queued"}], "has_more": True},  # no token
        {"data": [], "has_more": True, "next_token": "again"},  # an empty page: no progress
        {"data": [{"video_id": "a", "status": "queued"}], "has_more": True, "next_token": "t"},
    ],
)
def test_a_bulk_answer_that_pages_without_end_is_malformed(page: dict[str, object]) -> None:
    hg, session = backend(lambda *_: (200, page))
    with pytest.raises(MalformedResponse, match="page"):
        hg.batch_status(["a", "b"])
    assert len(session.sent) <= 2  # never more pages than ids


SECRET = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ="


def test_register_webhook_posts_the_endpoint_and_keeps_its_secret_out_of_sight() -> None:
    answer = {
        "endpoint_id": "ep_1",
        "url": "https://hooks.example/heygen",
        "status": "enabled",
        "events": ["video_translate.success"],
        "created_at": "2026-01-01T00:00:00Z",
        "secret": SECRET,
    }
    session = FakeSession(lambda *_: (200, {"data": answer}))
    with TranslationClient(
        "https://api.example.invalid", api="heygen", api_key=KEY, session=session
    ) as client:
        endpoint = client.register_webhook(
            "https://hooks.example/heygen", events=["video_translate.success"], entity_id="e1"
        )
        assert client._webhook_secrets == (SECRET,)  # what receivers verify with
    method, url, kwargs = session.sent[0]
    assert (method, url) == ("POST", "https://api.example.invalid/v3/webhooks/endpoints")
    assert kwargs["json"] == {
        "url": "https://hooks.example/heygen",
        "events": ["video_translate.success"],
        "entity_id": "e1",
    }
    assert endpoint.endpoint_id == "ep_1"
    assert endpoint.secret == SECRET
    assert endpoint.events == ("video_translate.success",)
    assert endpoint.status == "enabled"
    assert endpoint.extra["created_at"] == "2026-01-01T00:00:00Z"
    assert SECRET not in repr(endpoint)


def test_an_endpoint_answer_without_its_secret_is_malformed_and_not_shown() -> None:
    hg, _ = backend(lambda *_: (200, {"data": {"endpoint_id": "ep_1", "secret": None}}))
    with pytest.raises(MalformedResponse, match="secret") as info:
        hg.register_webhook("https://hooks.example/", None, {})
    assert "ep_1" not in str(info.value)  # the answer is not echoed: it may hold a secret


def test_register_webhook_is_heygens() -> None:
    with TranslationClient() as client, pytest.raises(Unsupported, match="heygen"):
        client.register_webhook("https://hooks.example/")


def test_bulk_asks_about_at_most_100_ids() -> None:
    hg, session = backend(lambda *_: (200, {"data": []}))
    assert hg.known_capabilities is not None
    assert hg.known_capabilities.batch_max_ids == 100
    with pytest.raises(ValueError, match="100"):
        hg.batch_status([str(i) for i in range(101)])
    assert session.sent == []


def test_translate_posts_the_video_and_sends_the_idempotency_key() -> None:
    ids = {"data": {"video_translation_ids": ["t-fr", "t-de"]}}
    hg, session = backend(lambda *_: (200, ids))
    statuses = hg.translate(
        "https://example.com/v.mp4", ["fr", "de"], {"title": "Demo"}, idempotency_key="k-1"
    )
    assert [s.job_id for s in statuses] == ["t-fr", "t-de"]
    assert [s.extra["output_language"] for s in statuses] == ["fr", "de"]
    method, url, kwargs = session.sent[0]
    assert (method, url) == ("POST", "https://api.example.invalid/v3/video-translations")
    assert kwargs["json"] == {
        "video": {"type": "url", "url": "https://example.com/v.mp4"},
        "output_languages": ["fr", "de"],
        "title": "Demo",
    }
    assert kwargs["headers"]["Idempotency-Key"] == "k-1"
    assert kwargs["headers"]["X-Api-Key"] == KEY


def test_translate_wants_one_id_per_language() -> None:
    hg, _ = backend(lambda *_: (200, {"data": {"video_translation_ids": ["only-one"]}}))
    with pytest.raises(MalformedResponse):
        hg.translate("https://example.com/v.mp4", ["fr", "de"], {}, idempotency_key="k")


def test_failure_message_is_in_the_error_and_its_attribute() -> None:
    status = JobStatus(
        "t1", JobResult.ERROR, extra={"status": "failed", "failure_message": "no speech found"}
    )
    error = TranslationFailed("t1", status)
    assert error.failure_message == "no speech found"
    assert "no speech found" in str(error)
    assert TranslationFailed("t1", JobStatus("t1", JobResult.ERROR)).failure_message is None


# -- the client ---------------------------------------------------------------------


def test_heygen_needs_a_key_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEYGEN_API_KEY", raising=False)
    with pytest.raises(ValueError, match="HEYGEN_API_KEY"):
        TranslationClient(api="heygen")
    monkeypatch.setenv("HEYGEN_API_KEY", KEY)
    with TranslationClient(api="heygen") as client:
        assert client.base_url == "https://api.heygen.com"
        assert client.api == "heygen"
        assert KEY not in repr(client)


@pytest.mark.parametrize("key", ["", "with space", "new\nline", "tab\there"])
def test_a_key_no_header_can_carry_is_refused_without_showing_it(key: str) -> None:
    with pytest.raises(ValueError, match="API key") as info:
        TranslationClient(api="heygen", api_key=key)
    if key:
        assert key not in str(info.value)


def test_an_unknown_api_is_refused() -> None:
    with pytest.raises(ValueError, match="api must be one of"):
        TranslationClient(api="heygen-v9")


def test_the_mock_api_is_still_the_default() -> None:
    with TranslationClient() as client:
        assert client.api == "mock"
        assert client.base_url == "http://127.0.0.1:5000"


def test_a_time_scale_speeds_up_the_clients_own_pacing() -> None:
    with TranslationClient(api="heygen", api_key=KEY, time_scale=60.0) as fast:
        config = fast._scheduler.config
        assert config.max_requests_per_second == pytest.approx(2.0 * 60)
        assert config.batch_gather == pytest.approx(20.0 / 60)
        assert config.pushed_min_delay == pytest.approx(60.0 / 60)
        assert config.pushed_recent == pytest.approx(600.0 / 60)
    given = TranslationClient(
        api="heygen", api_key=KEY, time_scale=60.0, max_requests_per_second=5.0
    )
    with given:
        assert given._scheduler.config.max_requests_per_second == 5.0  # given wins
    with pytest.raises(ValueError, match="time_scale"):
        TranslationClient(time_scale=60.0)  # the mock API's jobs do not scale
    with pytest.raises(ValueError, match="time_scale"):
        TranslationClient(api="heygen", api_key=KEY, time_scale=0.0)


def test_a_webhook_receiver_turns_polling_into_a_safety_net() -> None:
    with TranslationClient(api="heygen", api_key=KEY, webhook_secret="whsec_x") as client:
        assert not client._scheduler.pacer.pushes_flow(client._scheduler.clock())
        client.webhook_app()
        assert client._scheduler.pacer.pushes_flow(client._scheduler.clock())


def test_translate_retries_a_lost_answer_with_the_same_key() -> None:
    calls: list[str] = []

    def handler(method: str, url: str, kwargs: dict[str, Any]) -> Answer:
        if method == "POST":
            calls.append(kwargs["headers"]["Idempotency-Key"])
            if len(calls) == 1:
                return (
                    503,
                    {"error": {"code": "unavailable", "message": "busy"}},
                    {"Retry-After": "0"},
                )
            if len(calls) == 2:
                return 409, {"error": {"code": "request_in_progress", "message": "in flight"}}
            return 200, {"data": {"video_translation_ids": ["t-fr"]}}
        return 200, translation("completed", id="t-fr")

    session = FakeSession(handler)
    with TranslationClient(
        "https://api.example.invalid", api="heygen", api_key=KEY, session=session, seed=1
    ) as client:
        batch = client.translate("https://example.com/v.mp4", "fr", deadline=30)
        assert [f.job_id for f in batch] == ["t-fr"]
        assert batch.futures[0].result(timeout=10).result == "completed"
    assert len(calls) == 3
    assert len(set(calls)) == 1


def test_translate_gives_up_on_a_429_beyond_its_deadline() -> None:
    def handler(method: str, url: str, kwargs: dict[str, Any]) -> Answer:
        return (
            429,
            {"error": {"code": "rate_limit_exceeded", "message": "10 running"}},
            {"Retry-After": "60"},
        )

    session = FakeSession(handler)
    with TranslationClient(
        "https://api.example.invalid", api="heygen", api_key=KEY, session=session
    ) as client:
        with pytest.raises(RateLimited) as info:
            client.translate("https://example.com/v.mp4", ["fr"], deadline=5)
        assert info.value.retry_after == 60
    assert len(session.sent) == 1


def test_translate_does_not_retry_a_refused_request() -> None:
    def handler(method: str, url: str, kwargs: dict[str, Any]) -> Answer:
        return 400, {"error": {"code": "invalid_parameter", "message": "bad mode"}}

    session = FakeSession(handler)
    with TranslationClient(
        "https://api.example.invalid", api="heygen", api_key=KEY, session=session
    ) as client:
        with pytest.raises(HTTPStatusError, match="bad mode"):
            client.translate("https://example.com/v.mp4", ["fr"], mode="fastest")
        with pytest.raises(ValueError, match="at least one"):
            client.translate("https://example.com/v.mp4", [])
    assert len(session.sent) == 1


def test_create_job_is_not_heygens() -> None:
    session = FakeSession(lambda *_: (200, {}))
    with TranslationClient(
        "https://api.example.invalid", api="heygen", api_key=KEY, session=session
    ) as client:
        with pytest.raises(Unsupported):
            client.create_job(delay=1)
        with pytest.raises(Unsupported):
            client.get_job("t1")
    assert session.sent == []
