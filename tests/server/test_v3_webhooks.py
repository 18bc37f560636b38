"""v3 webhooks: signatures, the dispatcher on a fake clock, its thread, delivery by the app."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest
import requests

from mock_server import FakeClock, ServerConfig, SystemClock
from mock_server.config import DEFAULT_WEBHOOK_SECRET
from mock_server.stats import Stats
from mock_server.testing import free_port
from mock_server.v3 import FAILURE_MESSAGE
from mock_server.webhooks import (
    Endpoint,
    Event,
    WebhookDispatcher,
    new_endpoint_secret,
    sign_hmac,
    sign_standard,
)
from tests.server._receiver import Delivery, Receiver, verify_hmac, verify_standard
from tests.server.conftest import MakeApp, server_state

EVENT = Event(
    video_translate_id="jABC",
    succeeded=True,
    detail="https://files.example/video.mp4",
    callback_id="cb-1",
    output_language="es",
    callback_url="http://127.0.0.1:9/callback",
)


class FakePost:
    """Records what would be POSTed; answers ``status`` or raises ``error``."""

    def __init__(self, status: int = 200, error: Exception | None = None) -> None:
        self.status = status
        self.error = error
        self.calls: list[Delivery] = []
        self.arrived = threading.Event()

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.calls.append(Delivery(url, {k.lower(): v for k, v in headers.items()}, body))
        self.arrived.set()
        if self.error is not None:
            raise self.error
        return self.status


def dispatcher(
    post: FakePost,
    clock: Any = None,
    endpoints: list[Endpoint] | None = None,
    max_pending: int = 100,
    **config: Any,
) -> tuple[WebhookDispatcher, Stats]:
    stats = Stats(started_at=0.0)
    registered = endpoints if endpoints is not None else []
    sender = WebhookDispatcher(
        ServerConfig(**config),
        clock or FakeClock(0.0),
        stats,
        random.Random(1),
        endpoints=lambda: list(registered),
        post=post,
        max_pending=max_pending,
    )
    return sender, stats


def counts(stats: Stats) -> tuple[int, int, int]:
    snapshot = stats.snapshot(0.0)
    return snapshot["webhooks_sent"], snapshot["webhooks_failed"], snapshot["webhooks_dropped"]


# -- signatures -------------------------------------------------------------------------


def test_hmac_scheme_is_hex_hmac_sha256_of_the_body() -> None:
    # RFC 4231, test case 2.
    assert sign_hmac("Jefe", b"what do ya want for nothing?") == {
        "Signature": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    }


def test_standard_scheme_reproduces_the_published_vector() -> None:
    headers = sign_standard(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    with pytest.raises(ValueError, match="whsec_"):
        sign_standard("whsec_not base64!", "msg_1", 1, b"{}")


def test_endpoint_secrets_work_in_both_schemes() -> None:
    secret = new_endpoint_secret()
    assert secret.startswith("whsec_")
    assert secret != new_endpoint_secret()
    body = b'{"a": 1}'
    delivery = Delivery("/", {k.lower(): v for k, v in sign_hmac(secret, body).items()}, body)
    assert verify_hmac(delivery, secret)
    assert not verify_hmac(delivery, new_endpoint_secret())
    headers = sign_standard(secret, "msg_1", 1_700_000_000, body)
    assert verify_standard(Delivery("/", headers, body), secret)


# -- the dispatcher on a fake clock -----------------------------------------------------------


def test_sent_when_due_plus_delay_to_callback_and_endpoints() -> None:
    post = FakePost()
    clock = FakeClock(0.0)
    wanted = Endpoint("ep_1", "http://127.0.0.1:9/all", None, new_endpoint_secret(), 0.0)
    failures_only = Endpoint(
        "ep_2", "http://127.0.0.1:9/fail", ("video_translate.fail",), new_endpoint_secret(), 0.0
    )
    endpoints = [failures_only]
    sender, stats = dispatcher(post, clock, endpoints, webhook_delay=2.0)
    sender.schedule(10.0, EVENT)
    endpoints.append(wanted)  # registered after the job was created: still told
    assert sender.next_due() == 12.0
    assert sender.run_due(11.999) == 0
    assert post.calls == []
    assert sender.run_due(12.0) == 1
    assert [c.path for c in post.calls] == [
        "http://127.0.0.1:9/callback",
        "http://127.0.0.1:9/all",
    ]
    callback, endpoint = post.calls
    assert verify_hmac(callback, DEFAULT_WEBHOOK_SECRET)
    assert verify_hmac(endpoint, wanted.secret)
    assert not verify_hmac(endpoint, DEFAULT_WEBHOOK_SECRET)
    assert callback.headers["content-type"] == "application/json"
    assert json.loads(callback.body) == {
        "event_type": "video_translate.success",
        "event_data": {
            "video_translate_id": "jABC",
            "url": "https://files.example/video.mp4",
            "callback_id": "cb-1",
            "output_language": "es",
        },
    }
    assert counts(stats) == (2, 0, 0)
    assert sender.pending() == 0
    assert sender.run_due(100.0) == 0  # sent once only


def test_fail_event_and_standard_scheme() -> None:
    post = FakePost()
    secret = new_endpoint_secret()
    sender, _ = dispatcher(post, webhook_scheme="standard", webhook_secret=secret)
    failed = Event("jX", False, FAILURE_MESSAGE, None, "fr", "http://127.0.0.1:9/cb")
    sender.schedule(1.0, failed)
    sender.run_due(1.0)
    (delivery,) = post.calls
    assert delivery.event() == {
        "event_type": "video_translate.fail",
        "event_data": {
            "video_translate_id": "jX",
            "message": FAILURE_MESSAGE,
            "callback_id": None,
            "output_language": "fr",
        },
    }
    assert delivery.headers["webhook-id"].startswith("msg_")
    assert delivery.headers["webhook-timestamp"] == "0"  # the fake clock's now
    assert verify_standard(delivery, secret)
    assert "signature" not in delivery.headers


def test_drop_rate() -> None:
    post = FakePost()
    sender, stats = dispatcher(post, webhook_drop_rate=1.0)
    for i in range(5):
        sender.schedule(float(i), EVENT)
    assert sender.run_due(10.0) == 5
    assert post.calls == []
    assert counts(stats) == (0, 0, 5)
    post = FakePost()
    sender, stats = dispatcher(post, max_pending=200, webhook_drop_rate=0.5)
    for i in range(200):
        sender.schedule(float(i), EVENT)
    sender.run_due(1000.0)
    sent, _, dropped = counts(stats)
    assert (sent + dropped, len(post.calls)) == (200, sent)
    assert 60 < dropped < 140


@pytest.mark.parametrize(
    "post", [FakePost(error=requests.ConnectionError("refused")), FakePost(status=500)]
)
def test_failures_are_counted_and_the_next_is_sent(
    post: FakePost, caplog: pytest.LogCaptureFixture
) -> None:
    sender, stats = dispatcher(post)
    sender.schedule(1.0, EVENT)
    sender.schedule(2.0, EVENT)
    assert sender.run_due(5.0) == 2
    assert len(post.calls) == 2
    assert counts(stats) == (2, 2, 0)
    assert "webhook to http://127.0.0.1:9/callback" in caplog.text


def test_the_queue_is_bounded() -> None:
    post = FakePost()
    sender, stats = dispatcher(post, max_pending=2)
    for _ in range(3):
        sender.schedule(1.0, EVENT)
    assert sender.pending() == 2
    assert counts(stats) == (0, 0, 1)


def test_no_thread_on_a_fake_clock() -> None:
    before = set(threading.enumerate())
    sender, _ = dispatcher(FakePost())
    sender.schedule(0.0, EVENT)
    assert set(threading.enumerate()) == before
    sender.close()


# -- the thread, on the wall clock ---------------------------------------------------------


def test_thread_starts_lazily_sends_when_due_and_closes() -> None:
    post = FakePost()
    sender, stats = dispatcher(post, clock=SystemClock())
    assert not [t for t in threading.enumerate() if t.name == "mock-server-webhooks"]
    due = time.time() + 0.05
    sender.schedule(due, EVENT)
    (thread,) = [t for t in threading.enumerate() if t.name == "mock-server-webhooks"]
    assert thread.daemon
    assert post.arrived.wait(10)
    assert time.time() >= due
    sender.schedule(time.time() + 3600, EVENT)  # waits an hour: close() must not
    started = time.monotonic()
    sender.close()
    assert time.monotonic() - started < 5
    assert not thread.is_alive()
    sender.close()
    sender.schedule(0.0, EVENT)  # after close: ignored, no new thread
    assert not [t for t in threading.enumerate() if t.name == "mock-server-webhooks"]
    assert counts(stats)[0] == 1


def test_a_receiver_that_raises_unexpectedly_does_not_stop_the_thread() -> None:
    post = FakePost(error=RuntimeError("boom"))
    sender, stats = dispatcher(post, clock=SystemClock())
    try:
        sender.schedule(time.time(), EVENT)
        assert post.arrived.wait(10)
        post.arrived.clear()
        sender.schedule(time.time(), EVENT)
        assert post.arrived.wait(10)
    finally:
        sender.close()
    assert counts(stats)[1] == 2


# -- delivered by the app, to a real receiver on loopback ------------------------------------


@pytest.mark.parametrize("scheme", ["hmac", "standard"])
def test_app_delivers_signed_events(make_app: MakeApp, clock: FakeClock, scheme: str) -> None:
    app = make_app(time_scale=100, webhook_scheme=scheme, webhook_delay=1.5)
    client = app.test_client()
    verify = verify_hmac if scheme == "hmac" else verify_standard
    with Receiver() as receiver:
        endpoint = client.post(
            "/v3/webhooks/endpoints",
            json={"url": receiver.url + "/endpoint", "events": ["video_translate.success"]},
        ).get_json()["data"]
        created = client.post(
            "/v3/video-translations",
            json={
                "video": {"type": "url", "url": "https://example.com/v.mp4"},
                "output_languages": ["es"],
                "duration": 10,
                "callback_url": receiver.url + "/callback",
                "callback_id": "cb-9",
            },
        )
        (job_id,) = created.get_json()["data"]["video_translation_ids"]
        finishes_at = client.get(f"/jobs/{job_id}").get_json()["finishes_at"]
        webhooks = server_state(app).webhooks
        clock.set(finishes_at)
        assert webhooks.run_due() == 0  # --webhook-delay not yet over
        clock.advance(1.5)
        assert webhooks.run_due() == 1
        callback, to_endpoint = receiver.wait_for(2)
    assert (callback.path, to_endpoint.path) == ("/callback", "/endpoint")
    assert verify(callback, DEFAULT_WEBHOOK_SECRET)
    assert verify(to_endpoint, endpoint["secret"])
    assert not verify(to_endpoint, DEFAULT_WEBHOOK_SECRET)
    event = callback.event()
    assert event == to_endpoint.event()
    assert event["event_type"] == "video_translate.success"
    data = event["event_data"]
    assert (data["video_translate_id"], data["callback_id"], data["output_language"]) == (
        job_id,
        "cb-9",
        "es",
    )
    assert data["url"].split("?")[0].endswith(f"/{job_id}/video.mp4")
    stats = client.get("/stats").get_json()
    assert (stats["webhooks_sent"], stats["webhooks_failed"], stats["webhooks_dropped"]) == (
        2,
        0,
        0,
    )


def test_app_counts_failed_deliveries(make_app: MakeApp, clock: FakeClock) -> None:
    app = make_app(time_scale=100, error_rate=1.0)
    client = app.test_client()
    with Receiver(status=500) as receiver:
        for url in (receiver.url, f"http://127.0.0.1:{free_port()}"):  # 500, refused
            client.post("/v3/webhooks/endpoints", json={"url": url})
        client.post(
            "/v3/video-translations",
            json={"video": {"type": "asset_id", "asset_id": "a1"}, "output_languages": ["es"]},
        )
        clock.advance(3600)
        assert server_state(app).webhooks.run_due() == 1
        (delivery,) = receiver.wait_for(1)
    assert delivery.event()["event_type"] == "video_translate.fail"
    assert delivery.event()["event_data"]["message"] == FAILURE_MESSAGE
    stats = client.get("/stats").get_json()
    assert (stats["webhooks_sent"], stats["webhooks_failed"]) == (2, 2)
    assert client.get("/healthz").status_code == 200
