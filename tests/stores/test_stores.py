"""What SQLite and Redis stores keep, and how two store objects (two processes) share it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from heygen_client._stores import SharedStore, TrackedJob
from heygen_client.models import JobResult, JobStatus
from tests.stores.conftest import MakeStore


def final(job_id: str, result: str = "completed") -> JobStatus:
    return JobStatus(job_id, JobResult(result), progress=1.0, received_at=123.5, extra={"x": 1})


def test_is_a_shared_store(make_store: MakeStore) -> None:
    assert isinstance(make_store(), SharedStore)


def test_tracked_jobs_are_kept_with_tags_and_options_until_they_end(
    make_store: MakeStore,
) -> None:
    a, b = make_store(), make_store()
    a.add_tracked(
        [
            TrackedJob("j1", "mock", {"user": 7}, {"expected_duration": 30.0}, 1234.5),
            TrackedJob("j2", "mock"),
            TrackedJob(None, "mock"),
        ]
    )
    seen = {job.job_id: job for job in b.tracked()}
    assert seen.keys() == {"j1", "j2", None}
    assert dict(seen["j1"].tags) == {"user": 7}
    assert dict(seen["j1"].options) == {"expected_duration": 30.0}
    assert seen["j1"].tracked_at == 1234.5
    assert seen["j2"].api == "mock"
    # Tracked again (another process, or resume()): the first record stays.
    b.add_tracked([TrackedJob("j1", "mock", {"user": 8}, tracked_at=2000.0)])
    (again,) = [job for job in a.tracked() if job.job_id == "j1"]
    assert (dict(again.tags), again.tracked_at) == ({"user": 7}, 1234.5)

    a.put_status("j1", final("j1"))  # an outcome ends the job
    a.remove_tracked("j2")  # so does giving up on it
    assert [job.job_id for job in b.tracked()] == [None]


def test_a_final_status_is_seen_by_every_store_and_never_replaced(
    make_store: MakeStore,
) -> None:
    a, b = make_store(), make_store()
    a.put_status("j1", JobStatus("j1", JobResult.PENDING))
    assert b.get_status("j1") is None  # pending statuses stay in their process
    a.put_status("j1", final("j1"))
    seen = b.get_status("j1")
    assert seen == final("j1")
    assert seen is not None
    assert dict(seen.extra) == {"x": 1}
    # A second outcome (another process that polled too) does not replace the first.
    b.put_status("j1", final("j1", "error"))
    assert make_store().get_status("j1") == final("j1")
    assert b.finals(["j1", "j2"]) == {"j1": final("j1")}


def test_durations_are_shared_and_bounded(make_store: MakeStore) -> None:
    a = make_store()
    a.history_size = 5
    for seconds in range(8):
        a.record_duration(float(seconds))
    b = make_store()
    b.history_size = 5
    assert list(b.durations()) == [3.0, 4.0, 5.0, 6.0, 7.0]


def test_one_owner_holds_a_lease_until_it_expires_or_is_released(
    make_store: MakeStore,
) -> None:
    a, b = make_store(), make_store()
    assert a.claim(["j1", "j2"], ttl=10.0) == {}
    assert a.claim(["j1"], ttl=10.0) == {}  # renewing
    taken = b.claim(["j1", "j2", "j3"], ttl=10.0)
    assert taken.keys() == {"j1", "j2"}
    assert all(9.0 < left <= 10.0 for left in taken.values())
    a.release(["j1"])
    assert b.claim(["j1", "j2"], ttl=10.0).keys() == {"j2"}

    a.claim(["short"], ttl=0.05)
    time.sleep(0.1)
    assert b.claim(["short"], ttl=10.0) == {}  # expired: adopted
    assert a.claim(["short"], ttl=10.0).keys() == {"short"}


def test_an_outcome_releases_the_lease(make_store: MakeStore) -> None:
    a, b = make_store(), make_store()
    a.claim(["j1"], ttl=10.0)
    a.put_status("j1", final("j1"))
    assert b.claim(["j1"], ttl=10.0) == {}


def test_the_feed_brings_outcomes_recorded_by_others(make_store: MakeStore) -> None:
    a, b = make_store(), make_store()
    a.put_status("before", final("before"))
    feed = b.feed()
    assert feed.poll() == {}
    a.put_status("j1", final("j1"))
    a.put_status("j2", final("j2", "error"))
    deadline = time.monotonic() + 5
    found: dict[str | None, JobStatus] = {}
    while len(found) < 2 and time.monotonic() < deadline:
        found.update(feed.poll() or {})
    assert found == {"j1": final("j1"), "j2": final("j2", "error")}
    assert feed.poll() == {}
    feed.close()


@pytest.mark.parametrize("rate", [20.0])
def test_the_budget_is_shared_by_every_store_object(make_store: MakeStore, rate: float) -> None:
    limiters = [make_store().limiter(rate, burst=2) for _ in range(3)]
    start = time.monotonic()
    allowed = 0
    while time.monotonic() - start < 0.5:
        for limiter in limiters:
            if limiter.take(0.0):
                allowed += 1
            else:
                assert 0.0 < limiter.next_token_at(0.0) <= 1 / rate + 0.01
    elapsed = time.monotonic() - start
    # GCRA: at most rate * T + burst in any window of T seconds, all together.
    assert allowed <= rate * elapsed + 2
    assert allowed >= rate * 0.5 * 0.5  # and the budget is used, not starved


def test_the_leases_of_a_dead_process_of_this_host_are_taken_over_at_once(
    make_store: MakeStore,
) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    host = socket.gethostname()
    dead, elsewhere, alive = make_store(), make_store(), make_store()
    dead.owner = f"{host}/{gone.pid}/0123456789ab"  # a crashed predecessor
    elsewhere.owner = f"not-{host}/{gone.pid}/0123456789ab"  # cannot be checked from here
    alive.owner = f"{host}/{os.getppid()}/0123456789ab"  # our parent runs
    dead.claim(["a"], ttl=10.0)
    elsewhere.claim(["b"], ttl=10.0)
    alive.claim(["c"], ttl=10.0)
    me = make_store()
    assert me.claim(["a", "b", "c"], ttl=10.0).keys() == {"b", "c"}
    assert dead.claim(["a"], ttl=10.0).keys() == {"a"}  # it is mine now


def test_closing_a_store_releases_its_leases(make_store: MakeStore) -> None:
    a, b = make_store(), make_store()
    a.claim(["j1", "j2"], ttl=10.0)
    a.close()
    assert b.claim(["j1", "j2"], ttl=10.0) == {}
    a.put_status("j3", final("j3"))  # a closed store makes no call, and no error
    assert b.get_status("j3") is None
