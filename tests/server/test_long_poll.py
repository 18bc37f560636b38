"""Long-poll and batch on a fake clock: the clock moves exactly as far as it should."""

from __future__ import annotations

import pytest

from mock_server import FakeClock
from tests.server.conftest import START, MakeApp, new_job, server_state


def test_long_poll_wakes_exactly_when_job_ends(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app().test_client()
    job_id = new_job(client, delay=7, outcome="completed")
    response = client.get(f"/status?job_id={job_id}&wait=20")
    assert response.get_json() == {"job_id": job_id, "result": "completed"}
    assert clock.now() == pytest.approx(START + 7)
    assert clock.sleeps == [pytest.approx(7)]


def test_long_poll_times_out_pending(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app().test_client()
    job_id = new_job(client, delay=100)
    response = client.get(f"/status?job_id={job_id}&wait=5")
    assert response.get_json()["result"] == "pending"
    assert "Retry-After" in response.headers
    assert clock.now() == START + 5


def test_long_poll_is_clamped_to_max_wait(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app(max_wait=3).test_client()
    job_id = new_job(client, delay=100)
    assert client.get(f"/status?job_id={job_id}&wait=1e9").get_json()["result"] == "pending"
    assert clock.now() == START + 3


@pytest.mark.parametrize("wait", ["0", "0.0"])
def test_zero_wait_answers_at_once(make_app: MakeApp, clock: FakeClock, wait: str) -> None:
    client = make_app().test_client()
    job_id = new_job(client, delay=100)
    assert client.get(f"/status?job_id={job_id}&wait={wait}").status_code == 200
    assert clock.now() == START


def test_finished_job_is_not_held(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app().test_client()
    job_id = new_job(client, delay=0)
    assert client.get(f"/status?job_id={job_id}&wait=30").get_json()["result"] == "completed"
    assert clock.sleeps == []


def test_long_poll_on_default_job(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app(delay=4).test_client()
    assert client.get("/status?wait=10").get_json() == {"result": "completed"}
    assert clock.now() == START + 4


def test_long_poll_off_ignores_wait(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app(long_poll=False).test_client()
    job_id = new_job(client, delay=5)
    # Even a wait that would be a 400 is ignored, as by a plain server.
    for wait in ("10", "-1", "soon"):
        response = client.get(f"/status?job_id={job_id}&wait={wait}")
        assert response.status_code == 200
        assert response.get_json()["result"] == "pending"
    assert clock.now() == START


def test_long_polls_are_counted(make_app: MakeApp, clock: FakeClock) -> None:
    app = make_app()
    client = app.test_client()
    job_id = new_job(client, delay=2)
    stats = server_state(app).stats
    seen: list[int] = []
    original = clock.sleep

    def sleep(seconds: float) -> None:
        seen.append(stats.snapshot(0)["long_polls_active"])
        original(seconds)

    clock.sleep = sleep  # type: ignore[method-assign]
    client.get(f"/status?job_id={job_id}&wait=5")
    assert seen == [1]
    snapshot = client.get("/stats").get_json()
    assert snapshot["long_polls_active"] == 0
    assert snapshot["long_polls_peak"] == 1


def test_sleep_loop_tolerates_early_wakeups(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app().test_client()
    job_id = new_job(client, delay=6)
    original = clock.sleep

    def short_sleep(seconds: float) -> None:
        original(seconds / 2)

    clock.sleep = short_sleep  # type: ignore[method-assign]
    assert client.get(f"/status?job_id={job_id}&wait=30").get_json()["result"] == "pending"
    response = client.get(f"/status?job_id={job_id}&wait=30")
    # Eight half-steps cover 255/256 of the time left: still pending, never past.
    assert response.get_json()["result"] == "pending"
    assert START + 5.9 < clock.now() < START + 6


# -- batch -------------------------------------------------------------------


def test_batch_answers_known_and_unknown(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app(estimate_noise=0).test_client()
    a = new_job(client, delay=10)
    b = new_job(client, delay=0, outcome="error")
    response = client.post("/status/batch", json={"job_ids": [a, b, "nope", a]})
    assert response.status_code == 200
    body = response.get_json()
    assert body["unknown"] == ["nope"]
    assert body["statuses"] == [
        {"job_id": a, "result": "pending", "progress": 0.0, "remaining_seconds": 10.0,
         "retry_after": 5},
        {"job_id": b, "result": "error"},
    ]  # fmt: skip
    # Not every job is pending, so there is no overall poll hint.
    assert "Retry-After" not in response.headers


def test_batch_all_pending_has_retry_after(make_app: MakeApp) -> None:
    client = make_app(estimate_noise=0).test_client()
    ids = [new_job(client, delay=d) for d in (40, 10, 100)]
    response = client.post("/status/batch", json={"job_ids": ids})
    assert response.headers["Retry-After"] == "5"


def test_batch_wait_returns_at_first_change(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app().test_client()
    ids = [new_job(client, delay=d) for d in (9, 3, 5)]
    body = client.post("/status/batch", json={"job_ids": ids, "wait": 20}).get_json()
    assert clock.now() == pytest.approx(START + 3)
    assert [s["result"] for s in body["statuses"]] == ["pending", "completed", "pending"]


def test_batch_wait_runs_out(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app(max_wait=4).test_client()
    ids = [new_job(client, delay=d) for d in (9, 30)]
    body = client.post("/status/batch", json={"job_ids": ids, "wait": 20}).get_json()
    assert clock.now() == START + 4
    assert [s["result"] for s in body["statuses"]] == ["pending", "pending"]


def test_batch_wait_returns_at_once_if_one_is_done(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app().test_client()
    ids = [new_job(client, delay=9), new_job(client, delay=0)]
    client.post("/status/batch", json={"job_ids": ids, "wait": 20})
    assert clock.now() == START


def test_batch_only_unknown_ids_is_not_held(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app().test_client()
    body = client.post("/status/batch", json={"job_ids": ["x", "y"], "wait": 20}).get_json()
    assert body == {"statuses": [], "unknown": ["x", "y"]}
    assert clock.now() == START


def test_batch_with_an_unknown_id_is_not_held(make_app: MakeApp, clock: FakeClock) -> None:
    # An unknown id is already final news; holding it back behind a pending
    # job's wait delayed it by the whole long-poll.
    client = make_app().test_client()
    job_id = new_job(client, delay=40)
    response = client.post("/status/batch", json={"job_ids": [job_id, "bogus"], "wait": 20})
    body = response.get_json()
    assert body["unknown"] == ["bogus"]
    assert [s["result"] for s in body["statuses"]] == ["pending"]
    assert clock.now() == START
    assert clock.sleeps == []


def test_batch_counts_one_request_per_listed_job(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app().test_client()
    ids = [new_job(client) for _ in range(3)]
    client.post("/status/batch", json={"job_ids": ids})
    stats = client.get("/stats").get_json()
    assert stats["status_requests_total"] == 1
    assert stats["requests"]["POST /status/batch"] == {"200": 1}
    assert stats["jobs_polled"] == 3
    assert all(client.get(f"/jobs/{i}").get_json()["status_requests"] == 1 for i in ids)
    assert client.get(f"/jobs/{ids[0]}").get_json()["status_request_times"] == [START]


def test_batch_with_long_poll_off_ignores_wait(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app(long_poll=False).test_client()
    ids = [new_job(client, delay=5)]
    assert client.post("/status/batch", json={"job_ids": ids, "wait": 5}).status_code == 200
    assert clock.now() == START


def test_batch_at_max_size(make_app: MakeApp) -> None:
    client = make_app(max_batch=3).test_client()
    ids = [new_job(client) for _ in range(3)]
    assert client.post("/status/batch", json={"job_ids": ids}).status_code == 200
    too_many = client.post("/status/batch", json={"job_ids": [*ids, "x"]})
    assert too_many.status_code == 400
    assert "too many" in too_many.get_json()["error"]["message"]
