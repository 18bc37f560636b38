"""HeyGen's v3 dialect on the mock: shapes, errors, auth, idempotency, limits (fake clock)."""

from __future__ import annotations

import math
import threading
from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_server import FakeClock, ServerConfig
from mock_server.app import max_content_length
from mock_server.contract import MAX_STATUS_IDS
from mock_server.store import JobStore
from mock_server.v3 import FAILURE_MESSAGE
from tests.server.conftest import START, MakeApp, new_job, server_state

VIDEO = {"type": "url", "url": "https://example.com/talk.mp4"}
TRANSLATIONS = "/v3/video-translations"

#: One byte over the default body limit.
OVERSIZE = b"x" * (max_content_length(ServerConfig()) + 1)


def create(
    client: FlaskClient,
    *languages: str,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> list[str]:
    """Create translations and return their ids (asserting a 200)."""
    body = {"video": VIDEO, "output_languages": list(languages or ["es"]), **fields}
    response = client.post(TRANSLATIONS, json=body, headers=headers or {})
    assert response.status_code == 200, response.get_json()
    ids: list[str] = response.get_json()["data"]["video_translation_ids"]
    return ids


def translation(client: FlaskClient, job_id: str) -> dict[str, Any]:
    response = client.get(f"{TRANSLATIONS}/{job_id}")
    assert response.status_code == 200, response.get_json()
    data: dict[str, Any] = response.get_json()["data"]
    return data


def bulk(client: FlaskClient, *ids: str) -> list[dict[str, Any]]:
    response = client.get(
        f"{TRANSLATIONS}/statuses", query_string={"video_translation_ids": ",".join(ids)}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["has_more"], body["next_token"]) == (False, None)
    entries: list[dict[str, Any]] = body["data"]
    return entries


def assert_heygen_error(response: Any, status: int, code: str, param: str | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/json"
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "param", "doc_url"}
    assert (error["code"], error["param"], error["doc_url"]) == (code, param, None)
    assert error["message"]


# -- create and status ------------------------------------------------------------


def test_one_job_per_language_each_a_mock_job(client: FlaskClient) -> None:
    ids = create(client, "es", "fr", "es", title="Talk", input_language="en")
    assert len(ids) == 3
    assert len(set(ids)) == 3
    for job_id, language in zip(ids, ["es", "fr", "es"], strict=True):
        record = client.get(f"/jobs/{job_id}").get_json()
        assert record["target_language"] == language
        assert record["source_language"] == "en"
        assert record["video_length"] == 60.0  # the default duration
        assert record["finishes_at"] > record["created_at"]
        assert client.get(f"/status?job_id={job_id}").get_json()["result"] == "pending"
    assert client.get("/stats").get_json()["jobs_created"] == 3


def test_lifecycle_and_fields(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app(error_rate=0.0).test_client()
    (job_id,) = create(
        client,
        "de",
        duration=100,
        title="Quarterly results",
        input_language="en",
        callback_id="cb-7",
        translate_audio_only=True,
    )
    record = client.get(f"/jobs/{job_id}").get_json()
    delay = record["delay"]
    assert 140 <= delay <= 260  # 2 x 100 s of video, +-30 %
    data = translation(client, job_id)
    assert data == {
        "id": job_id,
        "status": "pending",
        "title": "Quarterly results",
        "output_language": "de",
        "input_language": "en",
        "duration": 100.0,
        "created_at": int(START),
        "callback_id": "cb-7",
        "translate_audio_only": True,
    }
    assert bulk(client, job_id) == [{"video_id": job_id, "status": "queued", "error": None}]
    clock.advance(delay * 0.1 + 0.01)
    assert translation(client, job_id)["status"] == "running"
    assert bulk(client, job_id)[0]["status"] == "processing"
    clock.set(record["finishes_at"] - 0.001)
    assert translation(client, job_id)["status"] == "running"
    clock.set(record["finishes_at"])
    done = translation(client, job_id)
    assert done["status"] == "completed"
    for field, suffix in [
        ("video_url", "video.mp4"),
        ("audio_url", "audio.mp3"),
        ("srt_caption_url", "caption.srt"),
        ("vtt_caption_url", "caption.vtt"),
    ]:
        assert done[field].startswith("https://")
        assert f"/{job_id}/{suffix}?Expires=" in done[field]
    assert "failure_message" not in done
    assert bulk(client, job_id)[0] == {"video_id": job_id, "status": "completed", "error": None}
    # Presigned URLs are made afresh on each call.
    clock.advance(10)
    assert translation(client, job_id)["video_url"] != done["video_url"]


def test_failed_translation(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app(error_rate=1.0).test_client()
    (job_id,) = create(client, "es", duration=5)
    clock.advance(20)
    data = translation(client, job_id)
    assert data["status"] == "failed"
    assert data["failure_message"] == FAILURE_MESSAGE
    assert "video_url" not in data
    assert bulk(client, job_id) == [
        {
            "video_id": job_id,
            "status": "failed",
            "error": {"code": "translation_failed", "message": FAILURE_MESSAGE},
        }
    ]


@pytest.mark.parametrize("scale", [1.0, 60.0])
def test_translation_time_grows_with_duration_over_time_scale(
    make_app: MakeApp, scale: float
) -> None:
    client = make_app(time_scale=scale).test_client()
    for duration in (30.0, 600.0):
        nominal = 2 * duration / scale
        delays = [
            client.get(f"/jobs/{job_id}").get_json()["delay"]
            for job_id in create(client, *["es"] * 20, duration=duration)
        ]
        assert all(0.7 * nominal <= d <= 1.3 * nominal for d in delays), (nominal, delays)
        assert max(delays) / min(delays) > 1.2  # noise, not a fixed ratio


def test_translation_time_is_capped_at_max_delay(make_app: MakeApp) -> None:
    client = make_app(max_delay=100).test_client()
    (job_id,) = create(client, duration=3600)
    assert client.get(f"/jobs/{job_id}").get_json()["delay"] == 100


def test_any_mock_job_answers_in_the_v3_dialect(client: FlaskClient, clock: FakeClock) -> None:
    job_id = new_job(client, delay=5, outcome="error", target_language="fr", title="t")
    data = translation(client, job_id)
    assert (data["output_language"], data["title"], data["duration"]) == ("fr", "t", None)
    assert (data["callback_id"], data["translate_audio_only"]) == (None, None)
    clock.advance(5)
    assert translation(client, job_id)["status"] == "failed"
    default_job = server_state(client.application).default_job_id
    assert translation(client, default_job)["id"] == default_job


def test_unknown_and_forged_ids_are_404(client: FlaskClient) -> None:
    (job_id,) = create(client)
    forged = job_id[:-2] + ("AA" if not job_id.endswith("AA") else "BB")
    for bad in ("nope", forged, "x" * 300):
        response = client.get(f"{TRANSLATIONS}/{bad}")
        assert_heygen_error(response, 404, "not_found", "video_translation_id")
    assert bulk(client, "nope", forged) == [
        {"video_id": "nope", "status": "not_found", "error": None},
        {"video_id": forged, "status": "not_found", "error": None},
    ]
    # A slash cannot smuggle another path in: no route matches, and the answer is JSON.
    assert_heygen_error(client.get(f"{TRANSLATIONS}/{job_id}/../x"), 404, "not_found")


# -- bulk status ------------------------------------------------------------------------


def test_bulk_order_duplicates_and_limit(client: FlaskClient) -> None:
    first, second = create(client, "es", "fr")
    entries = bulk(client, second, "nope", first, second)
    assert [(e["video_id"], e["status"]) for e in entries] == [
        (second, "queued"),
        ("nope", "not_found"),
        (first, "queued"),
    ]
    many = [f"id{i}" for i in range(MAX_STATUS_IDS)]
    assert len(bulk(client, *many)) == MAX_STATUS_IDS
    response = client.get(
        f"{TRANSLATIONS}/statuses", query_string={"video_translation_ids": ",".join([*many, "x"])}
    )
    assert_heygen_error(response, 400, "invalid_parameter", "video_translation_ids")


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("", "video_translation_ids"),
        ("video_translation_ids=", "video_translation_ids"),
        ("video_translation_ids=a,,b", "video_translation_ids"),
        ("video_translation_ids=a,", "video_translation_ids"),
        ("video_translation_ids=a&video_translation_ids=b", "video_translation_ids"),
        ("video_translation_ids=a&batch_ids=b", "batch_ids"),
    ],
)
def test_bad_bulk_queries(client: FlaskClient, query: str, param: str) -> None:
    response = client.get(f"{TRANSLATIONS}/statuses?{query}")
    assert_heygen_error(response, 400, "invalid_parameter", param)


def test_v3_status_requests_are_counted(client: FlaskClient) -> None:
    first, second = create(client, "es", "fr")
    before = client.get("/stats").get_json()["status_requests_total"]
    translation(client, first)
    bulk(client, first, second, "nope")
    stats = client.get("/stats").get_json()
    assert stats["status_requests_total"] == before + 2
    assert stats["jobs_polled"] == 2
    assert client.get(f"/jobs/{second}").get_json()["status_requests"] == 1
    assert stats["requests"]["GET /v3/video-translations/<video_translation_id>"] == {"200": 1}
    assert stats["requests"]["GET /v3/video-translations/statuses"] == {"200": 1}
    assert client.get(f"/jobs/{first}").get_json()["status_requests"] == 2


# -- bad requests ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"output_languages": ["es"]}, "video"),
        ({"video": VIDEO}, "output_languages"),
        ({"video": VIDEO, "output_languages": []}, "output_languages"),
        ({"video": VIDEO, "output_languages": ["es"] * 21}, "output_languages"),
        ({"video": VIDEO, "output_languages": [""]}, "output_languages"),
        ({"video": VIDEO, "output_languages": [3]}, "output_languages"),
        ({"video": VIDEO, "output_languages": "es"}, "output_languages"),
        ({"video": "https://example.com/v.mp4", "output_languages": ["es"]}, "video"),
        ({"video": {"type": "url"}, "output_languages": ["es"]}, "video"),
        ({"video": {"type": "file", "url": "x"}, "output_languages": ["es"]}, "video"),
        ({"video": {"type": ["url"], "url": "x"}, "output_languages": ["es"]}, "video"),
        ({"video": {**VIDEO, "asset_id": "a"}, "output_languages": ["es"]}, "video"),
        ({"video": {"type": "asset_id", "asset_id": ""}, "output_languages": ["es"]}, "video"),
        ({"video": VIDEO, "output_languages": ["es"], "colour": "red"}, "colour"),
        ({"video": VIDEO, "output_languages": ["es"], "duration": 0}, "duration"),
        ({"video": VIDEO, "output_languages": ["es"], "duration": -5}, "duration"),
        ({"video": VIDEO, "output_languages": ["es"], "duration": "60"}, "duration"),
        ({"video": VIDEO, "output_languages": ["es"], "duration": 1e9}, "duration"),
        ({"video": VIDEO, "output_languages": ["es"], "mode": "fast"}, "mode"),
        ({"video": VIDEO, "output_languages": ["es"], "mode": None}, "mode"),
        ({"video": VIDEO, "output_languages": ["es"], "callback_url": "ftp://x"}, "callback_url"),
        ({"video": VIDEO, "output_languages": ["es"], "callback_url": "http://"}, "callback_url"),
        ({"video": VIDEO, "output_languages": ["es"], "speaker_num": 1.5}, "speaker_num"),
        ({"video": VIDEO, "output_languages": ["es"], "speaker_num": 0}, "speaker_num"),
        ({"video": VIDEO, "output_languages": ["es"], "enable_caption": None}, "enable_caption"),
        ({"video": VIDEO, "output_languages": ["es"], "title": 5}, "title"),
        ({"video": VIDEO, "output_languages": ["es"], "title": "t" * 501}, "title"),
        ({"video": VIDEO, "output_languages": ["es"], "start_time": -1}, "start_time"),
    ],
)
def test_bad_create_bodies(client: FlaskClient, body: dict[str, Any], param: str) -> None:
    assert_heygen_error(client.post(TRANSLATIONS, json=body), 400, "invalid_parameter", param)
    assert client.get("/stats").get_json()["jobs_created"] == 0


def test_lone_surrogate_title_is_400(client: FlaskClient) -> None:
    raw = b'{"video": {"type": "url", "url": "u"}, "output_languages": ["es"], "title": "\\ud800"}'
    response = client.post(TRANSLATIONS, data=raw)
    assert_heygen_error(response, 400, "invalid_parameter", "title")


def test_every_accepted_optional_field(client: FlaskClient) -> None:
    ids = create(
        client,
        "es",
        title=None,
        mode="precision",
        callback_url=None,
        callback_id=None,
        input_language=None,
        translate_audio_only=False,
        enable_caption=True,
        disable_music_track=True,
        enable_dynamic_duration=False,
        enable_speech_enhancement=True,
        enable_watermark=False,
        keep_the_same_format=None,
        speaker_num=2,
        brand_voice_id="bv",
        folder_id="f",
        start_time=0,
        end_time=12.5,
        duration=None,
    )
    assert translation(client, ids[0])["duration"] == 60.0


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("post", TRANSLATIONS, {"data": b"{not json"}, 400, "invalid_parameter"),
        ("post", TRANSLATIONS, {"data": b"[]"}, 400, "invalid_parameter"),
        ("post", TRANSLATIONS, {"data": b""}, 400, "invalid_parameter"),
        ("post", TRANSLATIONS, {"data": OVERSIZE}, 413, "payload_too_large"),
        ("get", TRANSLATIONS, {}, 405, "method_not_allowed"),
        ("delete", f"{TRANSLATIONS}/abc", {}, 405, "method_not_allowed"),
        ("get", "/v3/videos", {}, 404, "not_found"),
        ("get", "/v3", {}, 404, "not_found"),
        ("post", "/v3/webhooks/endpoints", {"json": {}}, 400, "invalid_parameter"),
    ],
)
def test_framework_errors_take_heygen_envelope(
    client: FlaskClient, method: str, path: str, kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = getattr(client, method)(path, **kwargs)
    param = "url" if path.endswith("endpoints") else None
    assert_heygen_error(response, status, code, param)
    if status == 405:
        assert response.headers["Allow"]


def test_routes_outside_v3_keep_their_envelope(client: FlaskClient) -> None:
    error = client.get("/nowhere").get_json()["error"]
    assert set(error) == {"code", "message"}


def test_bare_contract_unchanged_with_every_v3_flag(make_app: MakeApp, clock: FakeClock) -> None:
    app = make_app(
        delay=10,
        hints=False,
        long_poll=False,
        batch=False,
        capabilities=False,
        api_key="k",
        concurrency_limit=1,
        time_scale=100,
        webhook_scheme="standard",
        webhook_drop_rate=0.5,
        webhook_delay=3,
    )
    client = app.test_client()
    assert client.get("/status").get_json() == {"result": "pending"}
    assert client.post("/jobs", json={"delay": 1}).status_code == 201  # no key needed
    clock.advance(10)
    assert client.get("/status").get_json() == {"result": "completed"}


# -- API key -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("post", TRANSLATIONS, {"json": {"video": VIDEO, "output_languages": ["es"]}}),
        ("get", f"{TRANSLATIONS}/x", {}),
        ("get", f"{TRANSLATIONS}/statuses?video_translation_ids=x", {}),
        ("post", "/v3/webhooks/endpoints", {"json": {"url": "http://127.0.0.1:9/h"}}),
    ],
)
def test_api_key_guards_every_v3_route(
    make_app: MakeApp, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    client = make_app(api_key="s3cr3t-key").test_client()
    call = getattr(client, method)
    for headers in ({}, {"X-Api-Key": "wrong"}, {"Authorization": "Bearer wrong"}):
        response = call(path, headers=headers, **kwargs)
        assert_heygen_error(response, 401, "unauthorized")
        assert "wrong" not in response.get_data(as_text=True)
    for headers in (
        {"X-Api-Key": "s3cr3t-key"},
        {"Authorization": "Bearer s3cr3t-key"},
        {"X-Api-Key": "wrong", "Authorization": "bearer s3cr3t-key"},
    ):
        assert call(path, headers=headers, **kwargs).status_code in (200, 404)


def test_api_key_never_shows(make_app: MakeApp, caplog: pytest.LogCaptureFixture) -> None:
    key = "k-9f8e7d6c5b4a"
    app = make_app(api_key=key)
    client = app.test_client()
    caplog.set_level("DEBUG")
    client.get(f"{TRANSLATIONS}/x", headers={"X-Api-Key": key})
    client.get(f"{TRANSLATIONS}/x", headers={"X-Api-Key": key + "-not"})
    assert key not in repr(server_state(app).config)
    assert key not in client.get("/stats").get_data(as_text=True)
    assert key not in caplog.text


# -- idempotency ---------------------------------------------------------------------------


def test_idempotency_key_replays_for_24_hours(client: FlaskClient, clock: FakeClock) -> None:
    headers = {"Idempotency-Key": "order-1"}
    first = create(client, "es", "fr", headers=headers)
    clock.advance(3600)
    assert create(client, "es", "fr", headers=headers) == first
    assert create(client, "it", headers={"Idempotency-Key": "order-2"}) != first
    assert client.get("/stats").get_json()["jobs_created"] == 3
    clock.advance(23 * 3600)  # 24 h after the first answer
    again = create(client, "es", "fr", headers=headers)
    assert set(again).isdisjoint(first)
    assert client.get("/stats").get_json()["jobs_created"] == 5


def test_a_failed_request_does_not_use_up_its_key(make_app: MakeApp) -> None:
    client = make_app(concurrency_limit=1).test_client()
    headers = {"Idempotency-Key": "k"}
    bad = client.post(TRANSLATIONS, json={"video": VIDEO}, headers=headers)
    assert bad.status_code == 400
    create(client, "es")  # fills the only slot
    busy = client.post(
        TRANSLATIONS, json={"video": VIDEO, "output_languages": ["fr"]}, headers=headers
    )
    assert_heygen_error(busy, 429, "rate_limit_exceeded")


def test_a_repeat_while_the_first_runs_is_409(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside, release = threading.Event(), threading.Event()
    real_create = JobStore.create

    def slow_create(self: JobStore, **kwargs: Any) -> Any:
        inside.set()
        assert release.wait(10)
        return real_create(self, **kwargs)

    monkeypatch.setattr(JobStore, "create", slow_create)
    headers = {"Idempotency-Key": "slow"}
    body = {"video": VIDEO, "output_languages": ["es"]}
    answers: list[Any] = []
    first = threading.Thread(
        target=lambda: answers.append(client.post(TRANSLATIONS, json=body, headers=headers))
    )
    first.start()
    try:
        assert inside.wait(10)
        repeat = client.post(TRANSLATIONS, json=body, headers=headers)
        assert_heygen_error(repeat, 409, "request_in_progress", "Idempotency-Key")
    finally:
        release.set()
        first.join(10)
    assert answers[0].status_code == 200
    replay = client.post(TRANSLATIONS, json=body, headers=headers)
    assert replay.get_json() == answers[0].get_json()


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_bad_idempotency_keys(client: FlaskClient, key: str) -> None:
    response = client.post(
        TRANSLATIONS,
        json={"video": VIDEO, "output_languages": ["es"]},
        headers={"Idempotency-Key": key},
    )
    assert_heygen_error(response, 400, "invalid_parameter", "Idempotency-Key")


# -- concurrency limit -------------------------------------------------------------------------


def test_concurrency_limit(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app(concurrency_limit=3).test_client()
    ids = create(client, "es", "fr", duration=10) + create(client, "it", duration=10)
    ends = sorted(client.get(f"/jobs/{i}").get_json()["finishes_at"] for i in ids)
    busy = client.post(TRANSLATIONS, json={"video": VIDEO, "output_languages": ["pt"]})
    assert_heygen_error(busy, 429, "rate_limit_exceeded")
    assert busy.headers["Retry-After"] == str(max(1, math.ceil(ends[0] - clock.now())))
    too_many = client.post(TRANSLATIONS, json={"video": VIDEO, "output_languages": ["a"] * 4})
    assert_heygen_error(too_many, 400, "invalid_parameter", "output_languages")
    clock.set(ends[0])
    create(client, "pt")
    assert client.get("/stats").get_json()["jobs_created"] == 4
    # Jobs made through POST /jobs are not v3 translations: not limited, not counted.
    assert client.post("/jobs").status_code == 201


def test_rate_limit_covers_v3_routes(make_app: MakeApp) -> None:
    client = make_app(rate_limit=1).test_client()
    (job_id,) = create(client)
    response = client.get(f"{TRANSLATIONS}/{job_id}")
    assert_heygen_error(response, 429, "rate_limit_exceeded")
    assert int(response.headers["Retry-After"]) >= 1
    assert client.get("/stats").get_json()["faults_injected"] == {"429": 1}


# -- webhook endpoints --------------------------------------------------------------------------


def test_register_endpoint(client: FlaskClient) -> None:
    response = client.post(
        "/v3/webhooks/endpoints",
        json={"url": "https://example.com/hook", "events": ["video_translate.success"]},
    )
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["endpoint_id"].startswith("ep_")
    assert (data["url"], data["status"], data["events"]) == (
        "https://example.com/hook",
        "enabled",
        ["video_translate.success"],
    )
    assert data["created_at"] == "2023-11-14T22:13:20Z"  # START, in ISO 8601
    assert data["secret"].startswith("whsec_")
    other = client.post("/v3/webhooks/endpoints", json={"url": "http://127.0.0.1:1/h"})
    assert other.get_json()["data"]["events"] is None
    assert other.get_json()["data"]["secret"] != data["secret"]
    endpoints = server_state(client.application).translations.endpoints()
    assert [e.url for e in endpoints] == ["https://example.com/hook", "http://127.0.0.1:1/h"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"url": "example.com/hook"}, "url"),
        ({"url": None}, "url"),
        ({"url": "https://x", "events": ["video_translate.started"]}, "events"),
        ({"url": "https://x", "events": "video_translate.success"}, "events"),
        ({"url": "https://x", "entity_id": 5}, "entity_id"),
        ({"url": "https://x", "secret": "mine"}, "secret"),
    ],
)
def test_bad_endpoint_bodies(client: FlaskClient, body: dict[str, Any], param: str) -> None:
    response = client.post("/v3/webhooks/endpoints", json=body)
    assert_heygen_error(response, 400, "invalid_parameter", param)


def test_config_rejects_bad_v3_settings() -> None:
    for fields in (
        {"concurrency_limit": 0},
        {"time_scale": 0.0},
        {"time_scale": math.inf},
        {"webhook_drop_rate": 1.5},
        {"webhook_delay": -1.0},
        {"webhook_scheme": "jwt"},
        {"api_key": ""},
        {"webhook_secret": "not base64!", "webhook_scheme": "standard"},
        {"webhook_secret": "a\udc80b"},
    ):
        with pytest.raises(ValueError, match=next(iter(fields))):
            ServerConfig(**fields)
    assert "c2VjcmV0" not in repr(ServerConfig(webhook_secret="whsec_c2VjcmV0"))


def test_v3_flags_and_environment_variables() -> None:
    secret = "whsec_c2VjcmV0LWtleQ=="
    expected = ServerConfig(
        api_key="k",
        concurrency_limit=3,
        time_scale=60.0,
        webhook_drop_rate=0.3,
        webhook_delay=2.0,
        webhook_scheme="standard",
        webhook_secret=secret,
    )
    flags = [
        "--api-key", "k", "--concurrency-limit", "3", "--time-scale", "60",
        "--webhook-drop-rate", "0.3", "--webhook-delay", "2", "--webhook-scheme", "standard",
        "--webhook-secret", secret,
    ]  # fmt: skip
    assert ServerConfig.from_args(flags, environ={}) == expected
    environ = {
        "HEYGEN_MOCK_API_KEY": "k",
        "HEYGEN_MOCK_CONCURRENCY_LIMIT": "3",
        "HEYGEN_MOCK_TIME_SCALE": "60",
        "HEYGEN_MOCK_WEBHOOK_DROP_RATE": "0.3",
        "HEYGEN_MOCK_WEBHOOK_DELAY": "2",
        "HEYGEN_MOCK_WEBHOOK_SCHEME": "standard",
        "HEYGEN_MOCK_WEBHOOK_SECRET": secret,
    }
    assert ServerConfig.from_env(environ) == expected
    with pytest.raises(SystemExit):
        ServerConfig.from_args(["--webhook-scheme", "jwt"], environ={})
    with pytest.raises(ValueError, match="HEYGEN_MOCK"):
        ServerConfig.from_env({"HEYGEN_MOCK_WEBHOOK_SCHEME": "jwt"})
