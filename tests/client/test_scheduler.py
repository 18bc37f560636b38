"""The scheduler's round, on a fake clock with no threads and no HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from heygen_client._batch import JobBatch
from heygen_client._config import SchedulerConfig
from heygen_client._futures import JobFuture
from heygen_client._jobs import _MANY, Job, add_future, remove_future
from heygen_client._threads import execute
from heygen_client.errors import (
    ClientClosed,
    DeadlineExceeded,
    HTTPStatusError,
    JobNotFound,
    RateLimited,
    TranslationFailed,
    TransportError,
)
from heygen_client.models import PLAIN, Capabilities
from heygen_client.policies import Fixed, RetryPolicy
from tests.client._fakes import FakeSource, Harness, done, pending

LONG_POLL = Capabilities(hints=True, long_poll_max_wait=30.0)
BATCH = Capabilities(hints=True, long_poll_max_wait=30.0, batch_max_ids=3)


def test_discovers_capabilities_before_polling() -> None:
    h = Harness(policy=Fixed(1.0))
    h.source.script("a", pending("a"), done("a"))
    h.track("a")
    h.step()
    assert [c[0] for c in h.source.calls[:2]] == ["caps", "get"]


def test_fixed_policy_polls_on_schedule_and_resolves() -> None:
    h = Harness(policy=Fixed(1.0))
    h.source.script("a", pending("a"), pending("a"), done("a"))
    start = h.clock()
    future = h.track("a")
    h.run_until(start + 10)
    assert future.result(0).result == "completed"
    assert future.polls == 3
    assert [round(t - start, 6) for t in h.poll_times("a")] == [0.0, 1.0, 2.0]


def test_run_due_returns_next_deadline_and_does_nothing_early() -> None:
    h = Harness(policy=Fixed(2.0))
    h.source.script("a", pending("a"))
    h.track("a")
    next_at = h.step()
    assert next_at == pytest.approx(h.clock() + 2.0)
    calls = len(h.source.calls)
    h.clock.advance(1.9)
    assert h.step() == pytest.approx(next_at)
    assert len(h.source.calls) == calls


def test_error_result_fails_future_with_translation_failed() -> None:
    h = Harness(policy=Fixed(0.5))
    h.source.script("a", pending("a"), done("a", "error"))
    future = h.track("a")
    h.run_until(h.clock() + 5)
    with pytest.raises(TranslationFailed) as info:
        future.result(0)
    assert info.value.job_id == "a"
    assert info.value.status.result == "error"


def test_two_tracks_share_one_schedule() -> None:
    h = Harness(policy=Fixed(1.0))
    h.source.script("a", pending("a"), pending("a"), done("a"))
    first, second = h.track("a"), h.track("a")
    h.run_until(h.clock() + 10)
    assert first.result(0) == second.result(0)
    assert len(h.poll_times("a")) == 3


def test_cancel_stops_polling_only_when_no_future_is_left() -> None:
    h = Harness(policy=Fixed(1.0))
    h.source.script("a", pending("a"))
    first, second = h.track("a"), h.track("a")
    h.run_until(h.clock() + 2.5)
    assert first.cancel()
    h.run_until(h.clock() + 2)
    polls = len(h.poll_times("a"))
    assert polls >= 4  # still polled for `second`
    assert second.cancel()
    h.run_until(h.clock() + 5)
    assert len(h.poll_times("a")) == polls
    assert h.scheduler.stats()[2] == 0


def test_deadline_fails_the_future_and_stops_polling() -> None:
    h = Harness(policy=Fixed(1.0))
    h.source.script("a", pending("a"))
    future = h.track("a", deadline=3.0)
    h.run_until(h.clock() + 3.5)
    with pytest.raises(DeadlineExceeded) as info:
        future.result(0)
    assert isinstance(info.value, TimeoutError)
    polls = len(h.poll_times("a"))
    h.run_until(h.clock() + 5)
    assert len(h.poll_times("a")) == polls


def test_transient_errors_are_retried_then_succeed() -> None:
    h = Harness(policy=Fixed(1.0))
    boom = TransportError("reset")
    h.source.script("a", boom, HTTPStatusError("x", status_code=500), done("a"))
    future = h.track("a")
    h.run_until(h.clock() + 60)
    assert future.result(0).result == "completed"
    assert future.polls == 3


def test_retries_exhausted_fail_with_the_last_error() -> None:
    h = Harness(policy=Fixed(1.0), retry=RetryPolicy(max_attempts=3, base=0.1))
    h.source.script("a", TransportError("down"))
    future = h.track("a")
    h.run_until(h.clock() + 60)
    error = future.exception(0)
    assert isinstance(error, TransportError)
    assert len(h.poll_times("a")) == 3


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 422])
def test_other_4xx_fail_fast(code: int) -> None:
    h = Harness(policy=Fixed(1.0))
    cls = JobNotFound if code == 404 else HTTPStatusError
    h.source.script("a", cls("nope", status_code=code))
    future = h.track("a")
    h.run_until(h.clock() + 30)
    error = future.exception(0)
    assert isinstance(error, HTTPStatusError)
    assert error.status_code == code
    assert len(h.poll_times("a")) == 1


class _CapsRateLimited(FakeSource):
    """Discovery answers 429 with Retry-After 5 once, then plain."""

    def __init__(self) -> None:
        super().__init__()
        self.limited = True

    def capabilities(self) -> Capabilities:
        self.calls.append(("caps", None, None))
        if self.limited:
            self.limited = False
            raise RateLimited("slow", status_code=429, retry_after=5.0)
        return self.caps


@pytest.mark.parametrize("mode", ["plain", "long-poll", "batch long-poll", "capabilities"])
def test_429_retry_after_is_a_hard_minimum_for_every_job(mode: str) -> None:
    caps = {"long-poll": LONG_POLL, "batch long-poll": BATCH}.get(mode, Capabilities())
    source = _CapsRateLimited() if mode == "capabilities" else FakeSource(caps)
    h = Harness(source, policy=Fixed(0.2))
    limited = RateLimited("slow", status_code=429, retry_after=5.0)
    if mode == "capabilities":
        h.source.script("a", done("a"))
    else:
        h.source.script("a", limited, done("a"))
    h.source.script("b", pending("b"), pending("b"), done("b"))
    start = h.clock()
    fa, fb = h.track("a"), h.track("b")
    h.run_until(start + 30)
    assert fa.result(0).result == "completed"
    assert fb.result(0).result == "completed"
    if mode == "capabilities":
        limited_at = start  # the 429 answered the discovery request
    else:
        limited_at = h.poll_times("a")[0]
        assert h.poll_times("a")[1] - limited_at >= 5.0
    # Every job was paused: no request between the 429 and its Retry-After.
    times = h.poll_times("a") + h.poll_times("b")
    assert not [t for t in times if limited_at < t < limited_at + 5.0]
    if mode == "capabilities":
        assert min(times) >= limited_at + 5.0


def test_absurd_retry_after_is_clamped() -> None:
    h = Harness(policy=Fixed(0.2), retry=RetryPolicy(retry_after_max=10.0))
    h.source.script("a", HTTPStatusError("busy", status_code=503, retry_after=1e9), done("a"))
    future = h.track("a")
    h.run_until(h.clock() + 20)
    assert future.result(0).result == "completed"


def test_long_poll_is_used_when_offered() -> None:
    h = Harness(FakeSource(LONG_POLL), latency=3.0)
    h.source.script("a", done("a"))
    future = h.track("a")
    h.run_until(h.clock() + 10)
    assert future.result(0).result == "completed"
    assert [c for c in h.source.calls if c[0] == "get"] == [("get", "a", 20.0)]


def test_long_poll_returning_early_falls_back_to_the_policy() -> None:
    h = Harness(FakeSource(LONG_POLL), policy=Fixed(1.0), latency=0.001)
    h.source.script("a", pending("a"), pending("a"), pending("a"), pending("a"), done("a"))
    future = h.track("a")
    h.run_until(h.clock() + 30)
    assert future.result(0).result == "completed"
    waits = [c[2] for c in h.source.calls if c[0] == "get"]
    assert waits[:2] == [20.0, 20.0]
    assert None in waits[2:]


def test_long_poll_slots_are_bounded() -> None:
    config = SchedulerConfig(max_long_polls=2)
    h = Harness(FakeSource(LONG_POLL), config=config, policy=Fixed(1.0))
    for key in "abcd":
        h.source.script(key, pending(key))
        h.track(key)
    sched = h.scheduler
    sched.run_due(h.clock())
    caps = sched.dispatched.pop()
    sched.complete(caps, execute(sched.backend, caps), h.clock())
    sched.run_due(h.clock())
    kinds = [str(r.kind) for r in h.scheduler.dispatched]
    assert kinds.count("long-poll") == 2
    assert kinds.count("poll") == 2


def test_batch_groups_jobs_up_to_max_ids() -> None:
    h = Harness(FakeSource(BATCH), latency=0.01)
    for key in "abcdefg":
        h.source.script(key, done(key))
    futures = [h.track(key) for key in "abcdefg"]
    h.run_until(h.clock() + 5)
    assert all(f.result(0).result == "completed" for f in futures)
    batches = [c for c in h.source.calls if c[0] == "batch"]
    assert sorted(len(c[1]) for c in batches) == [1, 3, 3]  # type: ignore[arg-type]
    assert all(c[2] == 20.0 for c in batches)


def test_request_budget_spaces_requests() -> None:
    config = SchedulerConfig(max_requests_per_second=10.0, burst=1.0, max_workers=100)
    h = Harness(policy=Fixed(0.01), config=config, latency=0.0)
    for key in range(20):
        h.source.script(str(key), pending(str(key)))
        h.track(str(key))
    start = h.clock()
    h.run_until(start + 2.0)
    times = [t for t, r in h.requests if r.kind == "poll"]
    assert len(times) <= 21 + 1
    assert max(times) - min(times) >= 1.5


def test_learned_durations_skip_early_polls() -> None:
    h = Harness(latency=0.0)
    for i in range(12):
        key = f"warm{i}"
        h.source.script(
            key,
            pending(key),
            pending(key),
            pending(key),
            pending(key),
            pending(key),
            pending(key),
            done(key),
        )
        h.track(key)
    h.run_until(h.clock() + 60)
    durations = h.scheduler.durations()
    assert durations is not None
    assert len(durations) == 12
    h.source.script("new", pending("new"), done("new"))
    start = h.clock()
    h.track("new")
    h.run_until(start + 60)
    first = h.poll_times("new")[0] - start
    assert first >= durations.quantile(0.0) - 0.2


def test_close_fails_pending_futures() -> None:
    h = Harness(policy=Fixed(1.0))
    h.source.script("a", pending("a"))
    future = h.track("a")
    h.step()
    h.scheduler.close()
    assert isinstance(future.exception(0), ClientClosed)
    with pytest.raises(ClientClosed):
        h.track("b")
    assert h.scheduler.run_due(h.clock()) is None


def test_tracking_results_fill_the_cache() -> None:
    h = Harness(policy=Fixed(1.0))
    h.source.script("a", pending("a"), done("a"))
    h.track("a")
    h.run_until(h.clock() + 5)
    cached = h.cache.get("a")
    assert cached is not None
    assert cached.result == "completed"


def test_cancelled_future_is_done_for_wait_and_as_completed() -> None:
    import concurrent.futures

    h = Harness(policy=Fixed(1.0))
    h.source.script("a", pending("a"))
    future = h.track("a")
    h.step()
    assert future.cancel()
    finished, not_done = concurrent.futures.wait([future], timeout=0)
    assert finished == {future}
    assert not not_done
    assert list(concurrent.futures.as_completed([future], timeout=0)) == [future]
    # A late final answer for the job does not disturb the cancelled future.
    future.resolve(done("a"), 1)
    assert future.cancelled()
    future.fail(TransportError("late"), 1)
    assert future.cancelled()
    with pytest.raises(concurrent.futures.CancelledError):
        future.result(0)


def test_failed_discovery_is_retried_later() -> None:
    class Flaky(FakeSource):
        def __init__(self) -> None:
            super().__init__(LONG_POLL)
            self.fail = True

        def capabilities(self) -> Capabilities:
            self.calls.append(("caps", None, None))
            if self.fail:
                self.fail = False
                raise TransportError("refused")
            return self.caps

    h = Harness(Flaky(), policy=Fixed(1.0))
    h.source.script("a", pending("a"))
    h.track("a")
    h.run_until(h.clock() + 5)
    assert h.scheduler.capabilities == Capabilities()  # plain meanwhile
    h.run_until(h.clock() + 10)
    assert h.scheduler.capabilities == LONG_POLL
    assert [c for c in h.source.calls if c[0] == "caps"] == [("caps", None, None)] * 2


def test_threaded_scheduler_on_a_fake_clock() -> None:
    """The real thread and workers, driven by a clock that only moves when told."""
    import random
    import threading

    from heygen_client._futures import JobFuture
    from heygen_client._scheduler import Scheduler
    from heygen_client._stores.memory import MemoryStore
    from mock_server import FakeClock

    clock = FakeClock()
    source = FakeSource()
    source.script("a", pending("a"), pending("a"), done("a"))
    scheduler = Scheduler(
        source,
        policy=Fixed(10.0),
        retry=RetryPolicy(),
        store=MemoryStore(clock=clock),
        config=SchedulerConfig(max_sleep=0.01),
        clock=clock,
        rng=random.Random(1),
    )
    future = JobFuture("a", scheduler)
    scheduler.track([future])
    try:
        for _ in range(200):
            if future.done():
                break
            if len([c for c in source.calls if c[0] == "get"]) >= 1:
                clock.advance(10.0)
            threading.Event().wait(0.01)
        assert future.result(timeout=1).result == "completed"
        assert future.polls == 3
        assert {t.name for t in scheduler.threads()} >= {"heygen-client-scheduler"}
    finally:
        scheduler.close()
    assert not scheduler.threads()


def test_hooks_and_callbacks_that_raise_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    def bad(_: object) -> None:
        raise RuntimeError("hook bug")

    h = Harness(policy=Fixed(1.0))
    h.scheduler.on_poll = (bad,)
    h.scheduler.on_state_change = (bad,)
    h.source.script("a", pending("a"), done("a"))
    h.source.script("b", pending("b"), pending("b"), done("b"))
    fa, fb = h.track("a"), h.track("b")
    fa.add_done_callback(bad)
    h.run_until(h.clock() + 10)
    assert fa.result(0).result == "completed"
    assert fb.result(0).result == "completed"
    assert any("hook" in r.getMessage() for r in caplog.records)


def test_job_waiting_for_a_batch_long_poll_slot_gets_a_plain_batch_poll() -> None:
    config = SchedulerConfig(max_workers=3, batch_join_wait=1.0)  # one long-poll slot
    h = Harness(FakeSource(BATCH), config=config, policy=Fixed(1.0))
    sched = h.scheduler
    h.source.script("slow", pending("slow"))
    h.source.script("fast", done("fast"))
    h.track("slow")
    sched.run_due(h.clock())
    caps = sched.dispatched.pop()
    sched.complete(caps, execute(sched.backend, caps), h.clock())
    sched.run_due(h.clock())
    held = sched.dispatched.pop()
    assert held.kind == "batch long-poll"
    fast = h.track("fast")
    assert sched.run_due(h.clock()) == pytest.approx(h.clock() + 1.0)
    assert not sched.dispatched  # waits to join the next batch long-poll
    h.clock.advance(1.0)
    sched.run_due(h.clock())
    (plain,) = sched.dispatched
    assert plain.kind == "batch"
    assert [j.key for j in plain.jobs] == ["fast"]
    sched.dispatched.clear()
    sched.complete(plain, execute(sched.backend, plain), h.clock())
    assert fast.result(0).result == "completed"


def test_learned_durations_count_the_jobs_still_running_as_censored() -> None:
    """A job still pending at age 8 s says its duration is at least 8 s."""
    h = Harness(policy=Fixed(0.5), latency=0.0)
    h.source.script("short", pending("short"), pending("short"), done("short"))
    h.source.script("long", *[pending("long")] * 100)
    start = h.clock()
    h.track("short")
    h.track("long")
    h.run_until(start + 8.0)
    durations = h.scheduler.durations()
    assert durations is not None
    assert len(durations) == 1  # one job ended: about 0.75 s
    assert durations.samples[0] == pytest.approx(0.75)
    assert len(durations.censored) == 1  # the long one, still running: 8 s old
    assert durations.censored[0] == pytest.approx(8.0)
    h.run_until(start + 10.2)
    later = h.scheduler.durations()
    assert later is not None
    assert 9.2 <= later.censored[0] <= 10.2  # rebuilt (at most once a second) as it ages


def test_censored_ages_are_an_even_weighted_sample_when_many_jobs_run() -> None:
    config = SchedulerConfig(max_requests_per_second=1e6, burst=1e6)
    h = Harness(policy=Fixed(5.0), latency=0.0, config=config)
    h.source.script("short", pending("short"), done("short"))
    start = h.clock()
    h.track("short")
    for i in range(2_499):
        h.source.script(f"j{i}", *[pending(f"j{i}")] * 3)
        h.track(f"j{i}")
    h.run_until(start + 5.5)
    durations = h.scheduler.durations()
    assert durations is not None
    assert len(durations) == 1
    assert len(durations.censored) == 833  # every 3rd of 2,499 running jobs
    assert len(durations.censored) * durations.censored_weight == pytest.approx(2_499)


def test_a_round_looks_at_a_window_of_the_ready_queue() -> None:
    """Copying 100,000 ready jobs every round made tracking them quadratic."""
    h = Harness(policy=Fixed(1.0))
    h.source.caps = PLAIN
    seen: list[int] = []
    sched = h.scheduler
    sched.run_due(h.clock())  # discovery
    (caps,) = sched.dispatched
    sched.dispatched.clear()
    sched.complete(caps, execute(sched.backend, caps), h.clock())
    inner = sched.discovery.dispatcher

    class Spy:
        window = inner.window

        def __call__(self, s: Any, jobs: list[Any], now: float, requests: list[Any]) -> Any:
            seen.append(len(jobs))
            return inner(s, jobs, now, requests)

    sched.discovery.dispatcher = Spy()
    for i in range(5000):
        h.source.script(f"j{i}", pending(f"j{i}"))
    sched.track([JobFuture(f"j{i}", sched) for i in range(5000)])
    sched.run_due(h.clock())
    assert seen == [inner.window]
    assert len(sched.dispatched) == sched.config.max_workers


def test_a_batch_is_indexed_by_job_id() -> None:
    h = Harness(policy=Fixed(1.0))
    futures = [JobFuture("a", h.scheduler), JobFuture("b", h.scheduler)]
    batch = JobBatch(futures)
    assert batch["b"] is futures[1]
    assert list(batch) == futures
    with pytest.raises(KeyError):
        batch["c"]


def test_a_futures_repr_names_its_class_once() -> None:
    text = repr(JobFuture("abc"))
    assert text.startswith("<JobFuture job_id='abc' at 0x")
    assert text.count("JobFuture") == 1
    assert text.endswith(" state=pending>")


def test_cancelling_many_futures_of_one_job_stays_linear() -> None:
    """40,000 futures of one job, cancelled one by one (quadratic with a list)."""
    h = Harness(policy=Fixed(1.0))
    h.source.script("a", pending("a"))
    futures = [JobFuture("a", h.scheduler) for _ in range(40_000)]
    h.scheduler.track(futures)
    job = h.scheduler._jobs["a"]
    assert isinstance(job.futures, dict)  # many: kept in a dict
    for future in futures[:-1]:
        assert future.cancel()
    assert "a" in h.scheduler._jobs  # one future left: still polled
    assert futures[-1].cancel()
    assert "a" not in h.scheduler._jobs
    single = JobFuture("b", h.scheduler)
    h.scheduler.track([single])
    assert h.scheduler._jobs["b"]._futures is single  # one: kept bare


@pytest.mark.parametrize("count", [1, 2, _MANY, _MANY + 1, 3 * _MANY])
def test_a_jobs_futures_keep_their_order_as_they_come_and_go(count: int) -> None:
    futures = [JobFuture("a") for _ in range(count)]
    job = Job("a", 0.0, futures[0])
    for future in futures[1:]:
        add_future(job, future)
    assert list(job.futures) == futures
    assert all(future in job.futures for future in futures)
    middle = futures.pop(count // 2)
    remove_future(job, middle)
    assert middle not in job.futures
    assert list(job.futures) == futures
    for future in futures:
        remove_future(job, future)
    assert not job.futures
    add_future(job, middle)
    assert list(job.futures) == [middle]
