"""The seed contract, jobs, hints, discovery and stats, on a fake clock."""

from __future__ import annotations

import json
import tracemalloc

import pytest
from flask.testing import FlaskClient

from mock_server import FakeClock, ServerConfig, create_app
from mock_server.stats import LOG_KEPT, Stats
from tests.server.conftest import START, MakeApp, new_job, server_state


def test_seed_job_pending_then_completed_in_plain_mode(
    make_app: MakeApp, clock: FakeClock
) -> None:
    app = make_app(delay=10, hints=False, long_poll=False, batch=False, capabilities=False)
    client = app.test_client()
    response = client.get("/status")
    assert response.status_code == 200
    assert response.get_json() == {"result": "pending"}
    assert response.content_type == "application/json"
    assert "Retry-After" not in response.headers
    clock.advance(9.999)
    assert client.get("/status").get_json() == {"result": "pending"}
    clock.advance(0.001)
    assert client.get("/status").get_json() == {"result": "completed"}


def test_plain_server_has_no_extras(make_app: MakeApp) -> None:
    config = ServerConfig.from_args(["--plain"], environ={})
    assert config.plain
    client = create_app(config, clock=FakeClock()).test_client()
    assert client.get("/capabilities").status_code == 404
    assert client.post("/status/batch", json={"job_ids": []}).status_code == 404
    # A plain server ignores wait instead of holding the request.
    response = client.get("/status?wait=5")
    assert response.get_json() == {"result": "pending"}


@pytest.mark.parametrize("seed", range(5))
def test_outcome_latches(make_app: MakeApp, clock: FakeClock, seed: int) -> None:
    client = make_app(delay=1, error_rate=0.5, seed=seed).test_client()
    clock.advance(1)
    first = client.get("/status").get_json()["result"]
    assert first in ("completed", "error")
    for _ in range(30):
        clock.advance(7)
        assert client.get("/status").get_json()["result"] == first


def test_error_rate_extremes(make_app: MakeApp, clock: FakeClock) -> None:
    always = make_app(delay=0, error_rate=1.0).test_client()
    never = make_app(delay=0, error_rate=0.0).test_client()
    for _ in range(20):
        assert always.get(f"/status?job_id={new_job(always)}").get_json()["result"] == "error"
        assert never.get(f"/status?job_id={new_job(never)}").get_json()["result"] == "completed"


def test_same_seed_same_outcomes(clock: FakeClock) -> None:
    def outcomes(seed: int) -> list[str]:
        client = create_app(
            ServerConfig(delay=0, error_rate=0.5, seed=seed), clock=clock
        ).test_client()
        return [client.post("/jobs").get_json()["outcome"] for _ in range(30)]

    assert outcomes(7) == outcomes(7)
    assert outcomes(7) != outcomes(8)


def test_create_job_answers_record_and_location(client: FlaskClient, clock: FakeClock) -> None:
    response = client.post(
        "/jobs",
        json={"delay": 12.5, "outcome": "error", "title": "Intro", "source_language": "en"},
    )
    assert response.status_code == 201
    body = response.get_json()
    job_id = body["job_id"]
    assert response.headers["Location"] == f"/jobs/{job_id}"
    assert len(job_id) <= 128
    assert all(c.isalnum() or c in "_.-" for c in job_id)
    assert body["result"] == "pending"
    assert body["created_at"] == START
    assert body["finishes_at"] == START + 12.5
    assert body["delay"] == 12.5
    assert "outcome" not in body
    assert body["title"] == "Intro"
    assert body["source_language"] == "en"
    assert body["status_requests"] == 0

    clock.advance(12.5)
    status = client.get(f"/status?job_id={job_id}").get_json()
    assert status == {"job_id": job_id, "result": "error"}
    record = client.get(f"/jobs/{job_id}").get_json()
    assert record["outcome"] == "error"
    assert record["status_requests"] == 1
    assert record["status_request_times"] == [START + 12.5]
    assert record["status_request_log"] == [{"at": START + 12.5, "status": "200"}]


def test_empty_body_creates_default_job(make_app: MakeApp) -> None:
    client = make_app(delay=3).test_client()
    for response in (client.post("/jobs"), client.post("/jobs", data=" \n")):
        assert response.status_code == 201
        assert response.get_json()["delay"] == 3


def test_delay_range_and_video_length(make_app: MakeApp) -> None:
    client = make_app(delay=5, delay_max=8, delay_per_video_second=0.5).test_client()
    delays = [client.post("/jobs").get_json()["delay"] for _ in range(50)]
    assert all(5 <= d <= 8 for d in delays)
    assert len(set(delays)) > 1
    long = [client.post("/jobs", json={"video_length": 100}).get_json() for _ in range(50)]
    assert all(5 + 40 <= job["delay"] <= 8 + 60 for job in long)
    assert all(job["video_length"] == 100 for job in long)
    assert len({job["delay"] for job in long}) > 1


def test_video_length_delay_is_capped_by_max_delay(make_app: MakeApp) -> None:
    client = make_app(delay=5, max_delay=60).test_client()
    assert client.post("/jobs", json={"video_length": 3600}).get_json()["delay"] == 60


def test_many_jobs_are_independent(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app().test_client()
    ids = [new_job(client, delay=d) for d in range(1, 101)]
    assert len(set(ids)) == 100
    clock.advance(50)
    results = [client.get(f"/status?job_id={i}").get_json()["result"] for i in ids]
    assert results == ["completed"] * 50 + ["pending"] * 50


def test_long_text_fields_are_truncated_and_flagged(client: FlaskClient) -> None:
    body = client.post(
        "/jobs", json={"title": "é" * 300, "source_language": "en", "target_language": "fr"}
    ).get_json()
    assert len(body["job_id"]) <= 128
    assert body["truncated_fields"] == ["title"]
    assert body["title"]
    assert set(body["title"]) == {"é"}
    again = client.get(f"/jobs/{body['job_id']}").get_json()
    assert again["title"] == body["title"]
    assert again["truncated_fields"] == ["title"]


def test_unknown_and_tampered_ids_are_404(client: FlaskClient) -> None:
    job_id = new_job(client)
    flipped = job_id[:-2] + ("A" if job_id[-2] != "A" else "B") + job_id[-1]
    for bad in ("nope", "j", "jAAAA", flipped, job_id + "A", "x" * 200, job_id[:-3]):
        for url in (f"/status?job_id={bad}", f"/jobs/{bad}"):
            response = client.get(url)
            assert response.status_code == 404, (url, response.get_json())
            assert response.get_json()["error"]["code"] == "not_found"


def test_other_secret_does_not_know_the_job(client: FlaskClient, clock: FakeClock) -> None:
    job_id = new_job(client)
    other = create_app(ServerConfig(secret="another"), clock=clock).test_client()
    assert other.get(f"/jobs/{job_id}").status_code == 404


def test_workers_with_same_secret_agree(clock: FakeClock) -> None:
    # Two app instances stand for two gunicorn workers (or a restart).
    config = ServerConfig(secret="shared", error_rate=0.5)
    first = create_app(config, clock=clock).test_client()
    job_id = new_job(first, delay=4, title="t")
    clock.advance(1)
    second = create_app(config, clock=clock).test_client()
    a, b = first.get(f"/jobs/{job_id}").get_json(), second.get(f"/jobs/{job_id}").get_json()
    for key in ("created_at", "finishes_at", "delay", "title", "result"):
        assert a[key] == b[key]
    clock.advance(3)
    outcomes = {c.get(f"/status?job_id={job_id}").get_json()["result"] for c in (first, second)}
    assert len(outcomes) == 1


def test_default_job_starts_at_app_creation(make_app: MakeApp, clock: FakeClock) -> None:
    app = make_app(delay=10)
    default_id = server_state(app).default_job_id
    clock.advance(5)
    client = app.test_client()
    record = client.get(f"/jobs/{default_id}").get_json()
    assert record["created_at"] == START
    assert client.get("/stats").get_json()["default_job_id"] == default_id
    client.get("/status")
    assert client.get(f"/jobs/{default_id}").get_json()["status_requests"] == 1


# -- hints -------------------------------------------------------------------


def test_pending_answers_carry_hints(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app(estimate_noise=0.0).test_client()
    job_id = new_job(client, delay=100)
    clock.advance(40)
    response = client.get(f"/status?job_id={job_id}")
    body = response.get_json()
    assert body["progress"] == pytest.approx(0.4)
    assert body["remaining_seconds"] == pytest.approx(60)
    assert response.headers["Retry-After"] == "30"
    clock.advance(59.5)
    response = client.get(f"/status?job_id={job_id}")
    assert response.headers["Retry-After"] == "1"
    clock.advance(0.5)
    response = client.get(f"/status?job_id={job_id}")
    assert response.get_json() == {"job_id": job_id, "result": "completed"}
    assert "Retry-After" not in response.headers


def test_estimates_are_noisy_but_bounded(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app(estimate_noise=0.2).test_client()
    ids = [new_job(client, delay=100) for _ in range(40)]
    estimates = [client.get(f"/status?job_id={i}").get_json()["remaining_seconds"] for i in ids]
    assert all(80 <= e <= 120 for e in estimates)
    assert len(set(estimates)) > 10
    # Most of the error is a per-job bias fixed at creation: repeated
    # estimates for one job vary by the per-request share only (±25% of 0.2).
    again = [
        client.get(f"/status?job_id={ids[0]}").get_json()["remaining_seconds"] for _ in range(20)
    ]
    assert max(again) - min(again) <= 10.0 + 1e-6


def test_no_hints_switch(make_app: MakeApp) -> None:
    client = make_app(hints=False).test_client()
    job_id = new_job(client)
    response = client.get(f"/status?job_id={job_id}")
    assert response.get_json() == {"job_id": job_id, "result": "pending"}
    assert "Retry-After" not in response.headers


# -- discovery and observability -----------------------------------------------


FULL_LONG_POLL = {"max_wait": 30.0}
FULL_BATCH = {"max_ids": 1000}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, {"hints": True, "long_poll": FULL_LONG_POLL, "batch": FULL_BATCH}),
        ({"hints": False}, {"hints": False, "long_poll": FULL_LONG_POLL, "batch": FULL_BATCH}),
        (
            {"long_poll": False, "max_batch": 5},
            {"hints": True, "long_poll": None, "batch": {"max_ids": 5}},
        ),
        (
            {"batch": False, "max_wait": 2.5},
            {"hints": True, "long_poll": {"max_wait": 2.5}, "batch": None},
        ),
    ],
)
def test_capabilities(make_app: MakeApp, fields: dict[str, object], expected: object) -> None:
    response = make_app(**fields).test_client().get("/capabilities")
    assert response.status_code == 200
    assert response.get_json() == expected


def test_capabilities_off(make_app: MakeApp) -> None:
    response = make_app(capabilities=False).test_client().get("/capabilities")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_stats_counts_everything(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app().test_client()
    a, b = new_job(client), new_job(client)
    client.get("/status")
    client.get(f"/status?job_id={a}")
    client.get(f"/status?job_id={a}")
    client.post("/status/batch", json={"job_ids": [a, b, "zzz"]})
    client.get("/status?job_id=zzz")
    client.get("/nowhere")
    stats = client.get("/stats").get_json()
    assert stats["requests"]["GET /status"] == {"200": 3, "404": 1}
    assert stats["requests"]["POST /status/batch"] == {"200": 1}
    assert stats["requests"]["POST /jobs"] == {"201": 2}
    assert stats["requests"]["GET <unmatched>"] == {"404": 1}
    assert stats["status_requests_total"] == 5
    assert stats["jobs_polled"] == 3  # a, b and the default job; not the unknown "zzz"
    counts = [client.get(f"/jobs/{i}").get_json()["status_requests"] for i in (a, b)]
    assert counts == [3, 1]
    assert stats["jobs_created"] == 2
    assert stats["long_polls_active"] == 0
    assert stats["started_at"] == START
    assert stats["server_time"] == START


def test_stats_lists_no_job_ids(client: FlaskClient) -> None:
    # /stats needs no key: it must not hand out the ids of other people's jobs.
    ids = [new_job(client) for _ in range(3)]
    client.post("/status/batch", json={"job_ids": ids})
    stats = client.get("/stats").get_json()
    assert stats["jobs_polled"] == 3
    text = json.dumps({**stats, "default_job_id": None})
    assert not any(job_id in text for job_id in ids)


def test_request_log_keeps_the_latest_in_order(client: FlaskClient, clock: FakeClock) -> None:
    job_id = new_job(client)
    polls = LOG_KEPT * 3 + 5  # wraps the ring more than once
    for _ in range(polls):
        clock.advance(0.01)
        client.get(f"/status?job_id={job_id}")
    clock.advance(0.01)
    client.get(f"/status?job_id={job_id}&wait=nope")  # a 400 is logged too
    record = client.get(f"/jobs/{job_id}").get_json()
    assert record["status_requests"] == polls + 1
    times = record["status_request_times"]
    assert times == pytest.approx(
        [START + 0.01 * i for i in range(polls + 2 - LOG_KEPT, polls + 2)]
    )
    answers = [entry["status"] for entry in record["status_request_log"]]
    assert answers == ["200"] * (LOG_KEPT - 1) + ["400"]
    assert [entry["at"] for entry in record["status_request_log"]] == times


def test_per_job_records_are_small() -> None:
    # Anyone may poll many jobs many times: each record must stay a few
    # hundred bytes, however often its job is polled.
    jobs, polls = 2000, 100
    ids = [f"j{i:0108d}" for i in range(jobs)]
    stats = Stats(started_at=0.0)
    tracemalloc.start()
    try:
        for poll in range(polls):
            for start in range(0, jobs, 100):
                stats.record_status_request(ids[start : start + 100], float(poll), "200")
        used, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert used / jobs < 1000, f"{used / jobs:.0f} bytes per job"
    assert stats.job_requests(ids[0])["status_requests"] == polls


def test_one_log_line_per_request(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="mock_server")
    job_id = new_job(client)
    client.get(f"/status?job_id={job_id}")
    lines = [r.getMessage() for r in caplog.records if r.name == "mock_server"]
    assert len(lines) == 2
    assert lines[1].startswith("GET /status 200 ")
    assert lines[1].endswith(f"job={job_id}")


def test_per_job_records_are_bounded() -> None:
    stats = Stats(started_at=0.0, jobs_kept=3)
    for job_id in "abcd":
        stats.record_status_request([job_id], 1.0, "200")
    stats.record_status_request(["b"], 2.0, "200")
    stats.record_status_request(["e"], 3.0, "200")
    assert stats.snapshot(0.0)["jobs_polled"] == 3
    counts = {job_id: stats.job_requests(job_id)["status_requests"] for job_id in "abcde"}
    assert counts == {"a": 0, "b": 2, "c": 0, "d": 1, "e": 1}
