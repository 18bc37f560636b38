"""``api="heygen"`` end to end, against the mock server's v3 routes (and two tiny servers
for redirects).

Translation time on the mock is about twice the video's ``duration`` over
``--time-scale``: ``duration=15`` at ``--time-scale 30`` is about a second.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from heygen_client import (
    AsyncTranslationClient,
    HTTPStatusError,
    JobNotFound,
    TranslationClient,
    TranslationFailed,
)
from heygen_client.policies import Fixed
from mock_server.config import DEFAULT_WEBHOOK_SECRET
from mock_server.testing import LiveServer, free_port
from mock_server.webhooks import sign_hmac
from tests._wait import wait_until

pytestmark = pytest.mark.live

KEY = "hg-live-Zq8xK3vT7wYp2mLd"  # grepped for wherever it must not be
VIDEO = "https://example.com/talk.mp4"
FAST = ("--api-key", KEY, "--time-scale", "30", "--seed", "5")


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(*FAST) as live:
        yield live


def client(server: LiveServer, **options: Any) -> TranslationClient:
    return TranslationClient(server.url, api="heygen", api_key=KEY, seed=1, **options)


def create(server: LiveServer, languages: list[str], duration: float = 15.0) -> list[str]:
    """Translations made behind the client's back (as another program would)."""
    answer = requests.post(
        server.url + "/v3/video-translations",
        json={
            "video": {"type": "url", "url": VIDEO},
            "output_languages": languages,
            "duration": duration,
        },
        headers={"X-Api-Key": KEY},
        timeout=5,
    )
    answer.raise_for_status()
    ids: list[str] = answer.json()["data"]["video_translation_ids"]
    return ids


def test_translate_and_track_to_the_end_with_every_field(server: LiveServer) -> None:
    with client(server) as c:
        batch = c.translate(VIDEO, ["fr", "de"], title="Talk", duration=15)
        statuses = [f.result(timeout=30) for f in batch]
    for status, language in zip(statuses, ["fr", "de"], strict=True):
        assert status.result == "completed"
        assert status.extra["status"] == "completed"  # HeyGen's own word
        assert status.extra["output_language"] == language
        assert status.extra["title"] == "Talk"
        assert status.extra["video_url"].startswith("https://")
        assert status.extra["srt_caption_url"].startswith("https://")
        assert status.video_duration == 15.0


def test_track_many_asks_in_bulk_and_an_unknown_id_is_job_not_found(server: LiveServer) -> None:
    ids = create(server, ["es", "it", "pt"])
    before = server.stats()["requests"].get("GET /v3/video-translations/statuses", {})
    with client(server) as c:
        batch = c.track_many([*ids, "no-such-translation"])
        results = batch.results(timeout=30)
    assert [results[i].result for i in ids] == ["completed"] * 3  # type: ignore[union-attr]
    assert isinstance(results["no-such-translation"], JobNotFound)
    after = server.stats()["requests"]["GET /v3/video-translations/statuses"]
    assert sum(after.values()) > sum(before.values())


def test_a_single_unknown_id_fails_at_once(server: LiveServer) -> None:
    with client(server) as c:
        future = c.track("no-such-translation")
        with pytest.raises(JobNotFound):
            future.result(timeout=10)
        assert future.polls == 1


def test_a_wrong_key_is_a_clear_error_and_not_retried(server: LiveServer) -> None:
    with TranslationClient(server.url, api="heygen", api_key="not-the-key") as c:
        future = c.track(create(server, ["fr"])[0])
        error = future.exception(timeout=10)
        assert isinstance(error, HTTPStatusError)
        assert error.status_code == 401
        assert "API key" in str(error)
        assert future.polls == 1


def test_a_failed_translation_carries_heygens_failure_message(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    failing = live_server_factory(*FAST, "--error-rate", "1")
    with client(failing) as c:
        [future] = c.translate(VIDEO, "fr", duration=15)
        error = future.exception(timeout=30)
    assert isinstance(error, TranslationFailed)
    assert error.failure_message
    assert error.failure_message in str(error)
    assert error.status.extra["status"] == "failed"


class LosesFirstAnswer(requests.Session):
    """Sends the first create, then reports its answer lost (a reset connection)."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        response = super().request(method, url, *args, **kwargs)
        if method == "POST":
            self.keys.append(kwargs["headers"]["Idempotency-Key"])
            if len(self.keys) == 1:
                raise requests.exceptions.ConnectionError("connection reset by peer")
        return response


def test_a_retried_create_reuses_its_key_and_makes_no_second_job(server: LiveServer) -> None:
    session = LosesFirstAnswer()
    created = server.stats()["jobs_created"]
    with client(server, session=session) as c:
        batch = c.translate(VIDEO, ["fr", "de"], duration=15, deadline=30)
        assert [f.result(timeout=30).result for f in batch] == ["completed"] * 2
    session.close()
    assert len(session.keys) == 2
    assert session.keys[0] == session.keys[1]
    assert server.stats()["jobs_created"] == created + 2  # not 4: the retry was replayed


def test_a_429_on_create_is_waited_out(live_server_factory: Callable[..., LiveServer]) -> None:
    limited = live_server_factory(*FAST, "--time-scale", "60", "--concurrency-limit", "1")
    with client(limited) as c:
        [first] = c.translate(VIDEO, "fr", duration=15)
        started = time.monotonic()
        [second] = c.translate(VIDEO, "de", duration=15, deadline=30)
        waited = time.monotonic() - started
        assert first.result(timeout=30).result == "completed"
        assert second.result(timeout=30).result == "completed"
        assert c.stats().requests["http_429"] >= 1
    assert waited >= 0.5


def test_webhooks_resolve_futures_at_once(server: LiveServer) -> None:
    # Polls every 30 s: only a webhook can resolve the job within seconds.
    with client(server, policy=Fixed(30.0)) as c:
        url = c.serve_webhooks(secret=DEFAULT_WEBHOOK_SECRET)
        [future] = c.translate(VIDEO, "fr", duration=15, callback_url=url)
        status = future.result(timeout=15)
        assert status.extra["video_url"].startswith("https://")
        # Built from the webhook's event (a status answer has no event_type).
        assert status.extra["event_type"] == "video_translate.success"
        # A forged event gets a 401 and changes nothing.
        [other] = c.translate(VIDEO, "de", duration=600)
        forged = json.dumps(
            {
                "event_type": "video_translate.fail",
                "event_data": {"video_translate_id": other.job_id, "message": "forged"},
            }
        ).encode()
        answer = requests.post(
            url, data=forged, headers=sign_hmac("whsec_wrong", forged), timeout=5
        )
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "unauthorized"
        assert requests.post(url, data=forged, timeout=5).status_code == 401
        assert not other.done()
        other.cancel()
    assert server.stats()["webhooks_sent"] >= 1
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(url, data=forged, timeout=2)  # close() stopped the receiver


def test_a_registered_endpoint_gets_every_translations_webhook(
    live_server_factory: Callable[..., LiveServer],
) -> None:
    # A server of its own: the endpoint stays registered there after this test.
    server = live_server_factory(*FAST)
    with client(server, time_scale=30.0) as c:
        port = free_port()
        endpoint = c.register_webhook(f"http://127.0.0.1:{port}/", events=None)
        assert endpoint.secret.startswith("whsec_")
        c.serve_webhooks(port=port)  # verifies with the endpoint's secret
        # No callback_url: the event reaches the endpoint all the same.
        [future] = c.translate(VIDEO, ["fr"], duration=15)
        assert future.result(timeout=30).result == "completed"
        wait_until(lambda: server.stats()["webhooks_sent"] == 1, timeout=10)
    assert server.stats()["webhooks_failed"] == 0  # answered 200: the signature held


def test_the_async_client_translates_too(server: LiveServer) -> None:
    async def main() -> list[str]:
        async with AsyncTranslationClient(server.url, api="heygen", api_key=KEY) as c:
            batch = await c.translate(VIDEO, ["fr", "de"], duration=15)
            results = await asyncio.wait_for(batch, 30)
            return [str(results[f.job_id].result) for f in batch.futures]  # type: ignore[union-attr]

    assert asyncio.run(main()) == ["completed", "completed"]


def test_the_key_is_never_logged_shown_or_in_an_error(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    with client(server, on_poll=lambda e: shown.append(repr(e))) as c:
        batch = c.translate(VIDEO, ["fr"], duration=15)
        shown += [repr(c), repr(batch.futures[0]), repr(batch.futures[0].result(timeout=30))]
        missing = c.track("no-such-translation")
        shown += [str(missing.exception(timeout=10)), repr(missing.exception())]
        with pytest.raises(HTTPStatusError) as refused:
            c.translate(VIDEO, ["fr"], no_such_field=1)  # HeyGen's 400
        shown += [str(refused.value), repr(refused.value), str(refused.value.body)]
        # An endpoint for events no translation sends: the module's server sends it none.
        endpoint = c.register_webhook("http://127.0.0.1:9/", events=["avatar_video.success"])
        shown += [repr(endpoint), c.serve_webhooks()]
        shown.append(repr(c.stats()))
    with TranslationClient(server.url, api="heygen", api_key=KEY + "x") as wrong:
        error = wrong.track("no-such-translation").exception(timeout=10)
        shown += [str(error), repr(error), getattr(error, "body", "")]
    assert KEY not in caplog.text
    assert caplog.text  # the client did log: the absence means something
    for text in shown:
        assert KEY not in text
    assert KEY not in json.dumps(server.stats())


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Redirects to ``target`` when set; otherwise answers a completed translation."""

    target = ""
    seen: list[dict[str, str]]

    def do_GET(self) -> None:
        self.seen.append(dict(self.headers))
        if self.target:
            self.send_response(307)
            self.send_header("Location", self.target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"data": {"id": "t1", "status": "completed"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def two_origins() -> Iterator[tuple[str, list[dict[str, str]], list[dict[str, str]]]]:
    """Two loopback servers on two ports (two origins): the first redirects to the second."""
    servers = []
    logs: list[list[dict[str, str]]] = []
    for target in ("", None):
        seen: list[dict[str, str]] = []
        handler = type("Handler", (_Recorder,), {"seen": seen, "target": target or ""})
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}).start()
        servers.append(srv)
        logs.append(seen)
    origin, elsewhere = servers
    origin.RequestHandlerClass.target = f"http://127.0.0.1:{elsewhere.server_address[1]}"  # type: ignore[attr-defined]
    try:
        yield f"http://127.0.0.1:{origin.server_address[1]}", logs[0], logs[1]
    finally:
        for srv in servers:
            srv.shutdown()
            srv.server_close()


def test_a_redirect_to_another_host_does_not_carry_the_key(
    two_origins: tuple[str, list[dict[str, str]], list[dict[str, str]]],
) -> None:
    url, at_origin, elsewhere = two_origins
    with (
        TranslationClient(url, api="heygen", api_key=KEY) as c,
        pytest.raises(HTTPStatusError) as info,
    ):
        c.get_status("t1")
    assert info.value.status_code == 307
    assert "another origin" in str(info.value)
    assert KEY not in str(info.value)
    assert at_origin[0]["X-Api-Key"] == KEY
    assert elsewhere == []  # not followed: the key went nowhere else
