"""The v3 dialect of the real server process, with webhooks to a receiver on loopback."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from mock_server.config import DEFAULT_WEBHOOK_SECRET
from mock_server.testing import LiveServer
from tests.server._receiver import Receiver, verify_hmac, verify_standard

pytestmark = pytest.mark.live

KEY = "live-test-key"


@pytest.mark.parametrize("scheme", ["hmac", "standard"])
def test_translation_ends_with_signed_webhooks(
    live_server_factory: Callable[..., LiveServer], scheme: str
) -> None:
    # 20 s of video take about 40 s; 400 times faster, about 0.1 s.
    server = live_server_factory(
        "--time-scale", "400", "--api-key", KEY, "--webhook-scheme", scheme, "--seed", "1"
    )
    verify = verify_hmac if scheme == "hmac" else verify_standard
    with Receiver() as receiver, requests.Session() as api:
        assert api.get(server.url + "/v3/video-translations/x", timeout=5).status_code == 401
        api.headers["X-Api-Key"] = KEY
        endpoint = api.post(
            server.url + "/v3/webhooks/endpoints", json={"url": receiver.url + "/all"}, timeout=5
        ).json()["data"]
        created = api.post(
            server.url + "/v3/video-translations",
            json={
                "video": {"type": "url", "url": "https://example.com/talk.mp4"},
                "output_languages": ["es"],
                "duration": 20,
                "callback_url": receiver.url + "/callback",
                "callback_id": "live-1",
            },
            headers={"Idempotency-Key": "live-create"},
            timeout=5,
        )
        assert created.status_code == 200, created.text
        (job_id,) = created.json()["data"]["video_translation_ids"]
        deliveries = receiver.wait_for(2)
        status = api.get(f"{server.url}/v3/video-translations/{job_id}", timeout=5).json()
        replay = api.post(
            server.url + "/v3/video-translations",
            json={"video": {"type": "url", "url": "u"}, "output_languages": ["es"]},
            headers={"Idempotency-Key": "live-create"},
            timeout=5,
        )
    assert status["data"]["status"] == "completed"
    assert replay.json() == created.json()
    by_path = {d.path: d for d in deliveries}
    assert verify(by_path["/callback"], DEFAULT_WEBHOOK_SECRET)
    assert verify(by_path["/all"], endpoint["secret"])
    event = by_path["/callback"].event()
    assert event["event_type"] == "video_translate.success"
    assert event["event_data"]["video_translate_id"] == job_id
    assert event["event_data"]["callback_id"] == "live-1"
    stats = server.stats()
    assert stats["webhooks_sent"] == 2
    assert stats["jobs_created"] == 1
    assert stats["jobs_polled"] == 1
    assert KEY not in server.output()
    assert KEY not in str(stats)
    record = server.get_json(f"/jobs/{job_id}")
    assert record["finishes_at"] <= record["server_time"]
