"""Injected faults, rate limiting and latency."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from mock_server import FakeClock
from mock_server.faults import GARBAGE_BODY, UNKNOWN_RESULT, RateLimiter
from tests.server.conftest import START, MakeApp, new_job


def faulty(make_app: MakeApp, kind: str, **fields: object) -> FlaskClient:
    return make_app(fault_rate=1.0, fault_kinds=(kind,), **fields).test_client()


def test_fault_500(make_app: MakeApp) -> None:
    response = faulty(make_app, "500").get("/status")
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"


def test_fault_503_has_retry_after(make_app: MakeApp) -> None:
    response = faulty(make_app, "503", fault_retry_after=7).get("/status")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert response.get_json()["error"]["code"] == "unavailable"


def test_fault_garbage_is_html(make_app: MakeApp) -> None:
    response = faulty(make_app, "garbage").get("/status")
    assert response.status_code == 200
    assert response.content_type.startswith("text/html")
    assert response.data == GARBAGE_BODY
    with pytest.raises(ValueError, match="Expecting value"):
        json.loads(response.data)


def test_fault_unknown_result(make_app: MakeApp) -> None:
    client = faulty(make_app, "unknown-result")
    job_id = new_job(client)
    assert client.get("/status").get_json() == {
        "result": UNKNOWN_RESULT,
        "progress": 0.0,
        "remaining_seconds": pytest.approx(10, rel=0.2),
    }
    batch = client.post("/status/batch", json={"job_ids": [job_id]}).get_json()
    assert batch["statuses"][0]["result"] == UNKNOWN_RESULT


def test_fault_drop_promises_more_than_it_sends(make_app: MakeApp) -> None:
    response = faulty(make_app, "drop").get("/status")
    assert response.headers["Connection"] == "close"
    assert int(response.headers["Content-Length"]) > len(response.data) > 0


def test_faults_hit_batch_too(make_app: MakeApp) -> None:
    client = faulty(make_app, "503")
    job_id = new_job(client)
    response = client.post("/status/batch", json={"job_ids": [job_id]})
    assert response.status_code == 503
    # The faulted request still shows in the job's log, with what it got.
    record = client.get(f"/jobs/{job_id}").get_json()
    assert record["status_request_log"] == [{"at": START, "status": "503"}]


@pytest.mark.parametrize("kind", ["500", "503", "garbage", "unknown-result", "drop"])
def test_faults_spare_other_routes(make_app: MakeApp, kind: str) -> None:
    client = faulty(make_app, kind)
    job_id = new_job(client)
    for url in ("/healthz", "/stats", "/capabilities", "/openapi.json", f"/jobs/{job_id}"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.is_json, url
    stats = client.get("/stats").get_json()
    assert stats["faults_injected"] == {}
    client.get("/status")
    assert client.get("/stats").get_json()["faults_injected"] == {kind: 1}


def test_fault_rate_is_a_fraction(make_app: MakeApp) -> None:
    client = make_app(fault_rate=0.3, fault_kinds=("500", "503", "garbage")).test_client()
    codes = [client.get("/status").status_code for _ in range(400)]
    injected = client.get("/stats").get_json()["faults_injected"]
    # 0.3 * 400 = 120, standard deviation about 9.
    assert 80 <= sum(injected.values()) <= 160
    assert set(injected) == {"500", "503", "garbage"}
    assert codes.count(500) == injected["500"]
    assert codes.count(503) == injected["503"]


def test_faults_are_reproducible_and_do_not_change_outcomes(make_app: MakeApp) -> None:
    def run(fault_rate: float) -> tuple[list[int], list[str]]:
        client = make_app(fault_rate=fault_rate, error_rate=0.5, delay=0, seed=3).test_client()
        codes = [client.get("/status").status_code for _ in range(50)]
        outcomes = [client.post("/jobs").get_json()["outcome"] for _ in range(20)]
        return codes, outcomes

    assert run(0.5) == run(0.5)
    assert run(0.5)[1] == run(0.0)[1]


# -- rate limit ----------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app(rate_limit=2).test_client()
    job_id = new_job(client)
    assert client.get(f"/status?job_id={job_id}").status_code == 200
    response = client.get(f"/status?job_id={job_id}")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.get_json()["error"]["code"] == "rate_limited"
    # Observability is never limited.
    assert client.get("/healthz").status_code == 200
    assert client.get("/stats").get_json()["faults_injected"] == {"429": 1}
    clock.advance(0.5)
    assert client.get(f"/status?job_id={job_id}").status_code == 200
    assert client.post("/jobs").status_code == 429
    assert client.get(f"/jobs/{job_id}").status_code == 429
    clock.advance(1)
    record = client.get(f"/jobs/{job_id}").get_json()
    assert [e["status"] for e in record["status_request_log"]] == ["200", "429", "200"]


def test_rate_limit_is_per_client(make_app: MakeApp) -> None:
    client = make_app(rate_limit=1).test_client()
    assert client.get("/status", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200
    assert client.get("/status", environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 200
    assert client.get("/status", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 429


def test_rate_limiter_retry_after_reflects_refill() -> None:
    limiter = RateLimiter(0.1)  # one request per ten seconds
    assert limiter.take("a", 0.0) is None
    assert limiter.take("a", 0.0) == 10
    assert limiter.take("a", 4.0) == 6
    assert limiter.take("a", 10.0) is None
    # A clock set backwards does not drain the bucket further.
    assert limiter.take("a", 5.0) == 10


# -- latency -------------------------------------------------------------------


def test_latency_is_added_to_status_requests_only(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app(latency=0.25).test_client()
    job_id = new_job(client)
    client.get("/healthz")
    client.get(f"/jobs/{job_id}")
    assert clock.now() == START
    client.get("/status")
    assert clock.now() == START + 0.25
    client.post("/status/batch", json={"job_ids": [job_id]})
    assert clock.now() == START + 0.5


def test_latency_jitter(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app(latency=0.1, latency_jitter=0.2).test_client()
    for _ in range(50):
        client.get("/status")
    assert len(clock.sleeps) == 50
    assert all(0.1 <= s <= 0.3 for s in clock.sleeps)
    assert len(set(clock.sleeps)) > 1
