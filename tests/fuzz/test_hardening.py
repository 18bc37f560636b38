"""The server's exposure limits, pinned in one place.

The simulator listens on a port, so it must stay safe by default: loopback
only, no debugger, bounded bodies, long-poll waits and batch sizes.
"""

from __future__ import annotations

import json

from mock_server import FakeClock, ServerConfig, create_app
from mock_server.app import max_content_length
from tests.fuzz._support import START


def test_security_defaults() -> None:
    config = ServerConfig()
    assert config.host == "127.0.0.1"
    assert config.max_wait == 30
    assert config.max_batch == 1000
    app = create_app(config, clock=FakeClock(START))
    assert app.debug is False
    assert not app.config["PROPAGATE_EXCEPTIONS"]
    # 64 KiB, plus a full batch of the longest ids (128 characters, 16 bytes of quoting).
    assert app.config["MAX_CONTENT_LENGTH"] == max_content_length(config) == 65536 + 1000 * 144


def test_limits_are_enforced() -> None:
    clock = FakeClock(START)
    client = create_app(ServerConfig(seed=1, max_wait=5, max_batch=3), clock=clock).test_client()
    job_id = client.post("/jobs", json={"delay": 3600}).get_json()["job_id"]
    # A week-long wait is held for max_wait, no longer.
    assert client.get(f"/status?job_id={job_id}&wait=604800").status_code == 200
    assert clock.now() == START + 5
    assert client.post("/status/batch", json={"job_ids": ["a"] * 4}).status_code == 400
    oversize = json.dumps({"job_ids": ["x" * (65536 + 3 * 144)]})
    response = client.post("/status/batch", data=oversize)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
