"""A misbehaving poll policy, and bad arguments, on a fake clock with no threads."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from heygen_client import TranslationClient
from heygen_client import _scheduler as scheduler_module
from heygen_client._backends import BatchAnswer
from heygen_client._budget import TokenBucket
from heygen_client._config import SchedulerConfig
from heygen_client._threads import execute
from heygen_client.errors import (
    ClientClosed,
    HTTPStatusError,
    JobNotFound,
    RateLimited,
    TransportError,
)
from heygen_client.models import PLAIN, Capabilities, JobResult, JobStatus
from heygen_client.policies import Decision, Fixed, PollState, RetryPolicy
from tests.client._fakes import FakeSource, Harness, done, pending

BATCH_PLAIN = Capabilities(batch_max_ids=10)


@dataclass(frozen=True)
class RaisesOnPending:
    """Answers the first poll, then raises on every pending answer."""

    def next_delay(self, state: PollState) -> Decision | None:
        if state.polls == 0:
            return Decision(0.0, "first")
        raise RuntimeError("policy bug")


@dataclass(frozen=True)
class Odd:
    """Returns something that is not a Decision."""

    def next_delay(self, state: PollState) -> Decision | None:
        return 1.5  # type: ignore[return-value]


@pytest.mark.parametrize("policy", [RaisesOnPending(), Odd()])
def test_a_bad_policy_falls_back_to_backoff_and_jobs_finish(
    policy: object, caplog: pytest.LogCaptureFixture
) -> None:
    h = Harness(policy=policy)  # type: ignore[arg-type]
    h.source.script("a", pending("a"), pending("a"), done("a"))
    future = h.track("a")
    with caplog.at_level(logging.ERROR, logger="heygen_client._scheduler"):
        h.run_until(h.clock() + 30)
    assert future.result(0).result == "completed"
    assert len(h.poll_times("a")) == 3
    assert repr(policy) in caplog.text


def test_a_raising_policy_does_not_strand_the_rest_of_a_batch() -> None:
    # "a" is pending (the policy raises for it), "b" finishes in the same batch.
    h = Harness(FakeSource(BATCH_PLAIN), policy=RaisesOnPending())
    h.source.script("a", pending("a"), done("a"))
    h.source.script("b", done("b"))
    a, b = h.track("a"), h.track("b")
    h.step()
    assert b.done()
    assert b.result(0).result == "completed"
    h.run_until(h.clock() + 30)
    assert a.result(0).result == "completed"


def test_a_raising_policy_on_the_first_poll_keeps_deadlines_and_slots() -> None:
    @dataclass(frozen=True)
    class AlwaysRaises:
        def next_delay(self, state: PollState) -> Decision | None:
            raise ValueError("nope")

    h = Harness(policy=AlwaysRaises())
    h.source.script("a", pending("a"))
    h.source.script("b", pending("b"))
    a = h.track("a", deadline=2.0)
    h.track("b")
    h.run_until(h.clock() + 5)
    assert isinstance(a.exception(0), TimeoutError)
    assert len(h.poll_times("b")) >= 2  # still polled, on the Backoff() fallback
    assert h.scheduler.budget.in_flight_short == 0


BAD_SECONDS = [float("nan"), float("inf"), -1.0, "5"]


@pytest.mark.parametrize("value", BAD_SECONDS)
@pytest.mark.parametrize("name", ["deadline", "expected_duration"])
def test_track_rejects_bad_seconds(name: str, value: object) -> None:
    h = Harness(policy=Fixed(1.0))
    with pytest.raises(ValueError, match=name):
        h.track("a", **{name: value})
    assert h.scheduler.stats()[2] == 0


def test_a_nan_deadline_cannot_poison_the_other_deadlines() -> None:
    h = Harness(policy=Fixed(1.0))
    h.source.script("a", pending("a"))
    h.source.script("b", pending("b"))
    with pytest.raises(ValueError, match="deadline"):
        h.track("a", deadline=float("nan"))
    b = h.track("b", deadline=2.0)
    h.run_until(h.clock() + 3)
    assert isinstance(b.exception(0), TimeoutError)


@pytest.mark.parametrize("value", BAD_SECONDS)
def test_client_rejects_bad_seconds_before_any_request(value: object) -> None:
    client = TranslationClient("http://127.0.0.1:9", discover=False)
    try:
        with pytest.raises(ValueError, match="deadline"):
            client.track("a", deadline=value)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="deadline"):
            client.wait("a", timeout=value)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="expected_duration"):
            client.submit(expected_duration=value)
        assert client.stats().requests == {} or sum(client.stats().requests.values()) == 0
    finally:
        client.close()
    with pytest.raises(ValueError, match="read_timeout"):
        TranslationClient("http://127.0.0.1:9", read_timeout=value)  # type: ignore[arg-type]


class CapsSource(FakeSource):
    """Its capabilities() answers from a script too (errors raise)."""

    def __init__(self, *answers: Capabilities | Exception) -> None:
        super().__init__()
        self.caps_answers = list(answers)

    def capabilities(self) -> Capabilities:
        self.calls.append(("caps", None, None))
        answer = self.caps_answers.pop(0) if len(self.caps_answers) > 1 else self.caps_answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.mark.parametrize("code", [429, 503])
def test_retry_after_on_capabilities_pauses_polling(code: int) -> None:
    cls = RateLimited if code == 429 else HTTPStatusError
    source = CapsSource(cls("busy", status_code=code, retry_after=5.0), PLAIN)
    h = Harness(source, policy=Fixed(0.2))
    h.source.script("a", pending("a"), done("a"))
    start = h.clock()
    h.track("a")
    h.run_until(start + 20)
    polls = h.poll_times("a")
    assert polls
    assert polls[0] >= start + 5.0


def test_rediscovery_waits_for_the_client_wide_pause() -> None:
    source = CapsSource(HTTPStatusError("down", status_code=503), PLAIN)
    h = Harness(source, policy=Fixed(1.0))
    h.source.script("a", RateLimited("slow", status_code=429, retry_after=30.0), done("a"))
    start = h.clock()
    h.track("a")
    for _ in range(120):  # a round every 0.5 s, as the real thread's max_sleep
        h.step()
        h.clock.advance(0.5)
    caps_at = [t for t, r in h.requests if r.kind == "capabilities"]
    assert len(caps_at) == 2
    assert caps_at[1] >= start + 30.0


def test_capability_requests_take_a_token() -> None:
    source = CapsSource(HTTPStatusError("down", status_code=503), PLAIN)
    config = SchedulerConfig(max_requests_per_second=1.0, burst=1.0)
    h = Harness(source, policy=Fixed(100.0), config=config)
    h.source.script("a", pending("a"))
    start = h.clock()
    h.track("a")
    h.step()
    # The capabilities request spent the only token: the first poll waits a second.
    assert [round(t - start, 6) for t in h.poll_times("a")] == []
    h.run_until(start + 1.5)
    assert [round(t - start, 6) for t in h.poll_times("a")] == [1.0]


BATCH_LONG = Capabilities(hints=True, long_poll_max_wait=30.0, batch_max_ids=10)


def test_batch_long_polls_answered_at_once_fall_back_to_plain_batches() -> None:
    # The server advertises batch long-poll but answers at once (all pending).
    h = Harness(FakeSource(BATCH_LONG), policy=Fixed(1.0))
    for key in ("a", "b", "c"):
        h.source.script(key, pending(key))
    start = h.clock()
    for key in ("a", "b", "c"):
        h.track(key)
    h.run_until(start + 10)
    kinds = [str(r.kind) for _, r in h.requests if r.kind != "capabilities"]
    assert kinds.count("batch long-poll") == 2
    # Then plain batches paced by the policy (1 s), not one every batch_linger.
    assert len(kinds) <= 2 + 11
    assert set(kinds[2:]) == {"batch"}


def test_batch_long_polls_coming_back_early_with_a_final_job_stay_on() -> None:
    h = Harness(FakeSource(BATCH_LONG), policy=Fixed(1.0))
    h.source.script("a", pending("a"))
    h.source.script("b", done("b"))
    h.source.script("c", done("c"))
    h.source.script("d", done("d"))
    h.track("a")
    h.track("b")
    h.step()
    h.track("c")
    h.step()
    h.track("d")
    h.step()
    assert not h.scheduler.discovery.batch_long_off


@pytest.mark.parametrize("code", [404, 405])
@pytest.mark.parametrize("caps", [BATCH_PLAIN, BATCH_LONG])
def test_a_missing_batch_route_falls_back_to_single_polls(code: int, caps: Capabilities) -> None:
    class NoBatch(FakeSource):
        def batch_status(
            self, job_ids: Sequence[str], *, wait: float | None = None
        ) -> BatchAnswer:
            self.calls.append(("batch", tuple(job_ids), wait))
            raise HTTPStatusError("no such route", status_code=code)

    h = Harness(NoBatch(caps), policy=Fixed(1.0))
    h.source.script("a", pending("a"), done("a"))
    h.source.script("b", done("b"))
    a, b = h.track("a"), h.track("b")
    h.run_until(h.clock() + 5)
    assert a.result(0).result == "completed"
    assert b.result(0).result == "completed"
    assert [c[0] for c in h.source.calls].count("batch") == 1
    assert h.scheduler.capabilities is not None
    assert h.scheduler.capabilities.batch_max_ids is None
    h.run_until(h.clock() + 10)
    assert [c[0] for c in h.source.calls].count("caps") == 2  # asked again later


def test_status_keeps_the_latest_answer_after_a_deadline_or_close() -> None:
    h = Harness(policy=Fixed(1.0))
    h.source.script("a", pending("a", progress=0.5))
    h.source.script("b", pending("b"))
    a = h.track("a", deadline=2.5)
    b = h.track("b")
    h.run_until(h.clock() + 3)
    assert isinstance(a.exception(0), TimeoutError)
    assert a.status is not None
    assert a.status.result == "pending"
    h.scheduler.close()
    assert b.done()
    assert b.status is not None
    assert b.status.job_id == "b"


def test_learns_from_a_job_whose_first_request_failed() -> None:
    h = Harness(policy=Fixed(1.0))
    h.source.script("a", TransportError("reset"), pending("a"), done("a"))
    future = h.track("a")
    h.run_until(h.clock() + 30)
    assert future.result(0).result == "completed"
    durations = h.scheduler.durations()
    assert durations is not None
    assert len(durations) == 1


def test_plain_batches_use_every_worker() -> None:
    h = Harness(FakeSource(BATCH_PLAIN), policy=Fixed(1.0), config=SchedulerConfig(max_workers=6))
    for i in range(60):
        h.source.script(f"j{i}", pending(f"j{i}"))
        h.track(f"j{i}")
    scheduler = h.scheduler
    scheduler.run_due(h.clock())
    (discovery,) = scheduler.dispatched
    scheduler.dispatched.clear()
    scheduler.complete(discovery, execute(scheduler.backend, discovery), h.clock())
    scheduler.run_due(h.clock())
    # Six batches of ten in flight at once, not two (no worker kept for long-polls).
    assert [len(r.jobs) for r in scheduler.dispatched if r.kind == "batch"] == [10] * 6


def test_one_worker_with_batch_long_poll_still_polls() -> None:
    config = SchedulerConfig(max_workers=1)
    h = Harness(FakeSource(BATCH_LONG), policy=Fixed(1.0), config=config, latency=0.0)
    for key in ("a", "b", "c"):
        h.source.script(key, pending(key), done(key))
    futures = [h.track(key) for key in ("a", "b", "c")]
    h.run_until(h.clock() + 10)
    assert all(f.done() for f in futures)
    assert {r.kind for _, r in h.requests} <= {"capabilities", "batch"}


def error_job(error: BaseException) -> str:
    return str(error).split(":")[0].removeprefix("job ")


def test_futures_failed_together_get_their_own_exceptions() -> None:
    h = Harness(FakeSource(BATCH_PLAIN), policy=Fixed(1.0))
    shared = HTTPStatusError("forbidden", status_code=403, body="no")
    for key in ("a", "b"):
        h.source.script(key, shared)
    a, a2, b = h.track("a"), h.track("a"), h.track("b")
    h.run_until(h.clock() + 5)
    errors = [f.exception(0) for f in (a, a2, b)]
    assert len({id(e) for e in errors}) == 3
    for error in errors:
        assert isinstance(error, HTTPStatusError)
        assert error.status_code == 403
        assert error.body == "no"
        # Chained to the request's error, through the job's own copy naming it.
        cause = error.__cause__
        assert cause is shared or (cause is not None and cause.__cause__ is shared)
        assert str(error) == f"job {error_job(error)}: forbidden"


def test_close_gives_each_future_its_own_client_closed() -> None:
    h = Harness(policy=Fixed(1.0))
    for key in ("a", "b"):
        h.source.script(key, pending(key))
    futures = [h.track("a"), h.track("b")]
    h.step()
    h.scheduler.close()
    errors = [f.exception(0) for f in futures]
    assert all(isinstance(e, ClientClosed) for e in errors)
    assert errors[0] is not errors[1]


def test_a_programming_error_fails_the_future_at_once() -> None:
    h = Harness(policy=Fixed(1.0))
    bug = TypeError("unsupported operand")
    h.source.script("a", bug)
    future = h.track("a")
    h.run_until(h.clock() + 30)
    assert future.exception(0) is bug
    assert len(h.poll_times("a")) == 1


def test_an_io_error_from_a_source_is_still_retried() -> None:
    h = Harness(policy=Fixed(1.0))
    h.source.script("a", ConnectionResetError("reset"), done("a"))
    future = h.track("a")
    h.run_until(h.clock() + 30)
    assert future.result(0).result == "completed"


def test_poll_counts_of_live_jobs_are_never_evicted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scheduler_module, "_POLLS_KEPT", 3)
    h = Harness(policy=Fixed(1.0))
    h.source.script("live", pending("live"))
    h.track("live")
    for i in range(6):
        h.source.script(f"d{i}", done(f"d{i}"))
        h.track(f"d{i}")
    h.run_until(h.clock() + 2.5)
    polls = h.scheduler.stats()[0]
    assert polls["live"] == 3
    assert len(polls) == 1 + 3  # the live job and the three latest finished ones


def test_finished_futures_do_not_keep_their_deadline_entries() -> None:
    h = Harness(FakeSource(BATCH_PLAIN), policy=Fixed(1.0))
    for i in range(1000):
        h.source.script(f"j{i}", done(f"j{i}"))
        h.track(f"j{i}", deadline=3600.0)
    h.source.script("w", pending("w"))
    waiting = h.track("w", deadline=3600.0)
    h.run_until(h.clock() + 3)
    assert sum(f.done() for f in [waiting]) == 0
    assert len(h.scheduler._deadlines) < 100
    h.run_until(h.clock() + 3600)
    assert isinstance(waiting.exception(0), TimeoutError)


def test_a_token_is_always_there_at_next_token_at() -> None:
    now = 1000.0
    bucket = TokenBucket(200.0, 1.0, now)
    for _ in range(1000):
        while not bucket.take(now):
            later = bucket.next_token_at(now)
            assert later > now or bucket.take(now), "blocked at the same instant"
            now = later


def test_the_retry_policy_decides_what_is_retried() -> None:
    @dataclass(frozen=True)
    class No503(RetryPolicy):
        def is_retryable(self, error: BaseException) -> bool:
            if isinstance(error, HTTPStatusError) and error.status_code == 503:
                return False
            return super().is_retryable(error)

    h = Harness(policy=Fixed(1.0), retry=No503())
    h.source.script("a", HTTPStatusError("busy", status_code=503), done("a"))
    h.source.script("b", HTTPStatusError("oops", status_code=500), done("b"))
    a, b = h.track("a"), h.track("b")
    h.run_until(h.clock() + 30)
    assert isinstance(a.exception(0), HTTPStatusError)
    assert b.result(0).result == "completed"


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (TransportError("reset"), True),
        (TransportError("bad url", retryable=False), False),
        (HTTPStatusError("x", status_code=502), True),
        (RateLimited("x", status_code=429), True),
        (HTTPStatusError("x", status_code=400), False),
        (JobNotFound("x", status_code=404), False),
        (ClientClosed("closed"), False),
        (TypeError("bug"), False),
    ],
)
def test_is_retryable(error: BaseException, retried: bool) -> None:
    assert RetryPolicy().is_retryable(error) is retried


class Refusing(FakeSource):
    """A batch server that refuses batches over ``limit`` ids (413) or carrying ``bad`` (400)."""

    def __init__(self, limit: int = 1000, bad: str | None = None) -> None:
        super().__init__(BATCH_PLAIN)
        self.limit = limit
        self.bad = bad

    def batch_status(self, job_ids: Sequence[str], *, wait: float | None = None) -> BatchAnswer:
        if len(job_ids) > self.limit:
            self.calls.append(("413", tuple(job_ids), wait))
            raise HTTPStatusError("too large", status_code=413)
        if self.bad in job_ids:
            self.calls.append(("400", tuple(job_ids), wait))
            raise HTTPStatusError("bad id", status_code=400)
        return super().batch_status(job_ids, wait=wait)

    def get_status(self, job_id: str | None, *, wait: float | None = None) -> JobStatus:
        if job_id == self.bad:
            self.calls.append(("400", (job_id,), wait))
            raise HTTPStatusError("bad id", status_code=400)
        return super().get_status(job_id, wait=wait)


def test_a_batch_too_large_is_halved_and_the_size_remembered() -> None:
    source = Refusing(limit=3)
    h = Harness(source, policy=Fixed(1.0))
    futures = []
    for i in range(10):
        key = f"j{i}"
        source.script(key, pending(key), pending(key), done(key))
        futures.append(h.track(key))
    h.run_until(h.clock() + 30)
    assert all(f.result(0).result == "completed" for f in futures)  # no job failed
    kinds = [kind for kind, _, _ in source.calls]
    last_refusal = len(kinds) - 1 - kinds[::-1].index("413")
    # 10, then the two halves of 5 (in flight at once), then batches of 2 at most.
    assert kinds.count("413") == 3
    later = [ids for kind, ids, _ in source.calls[last_refusal:] if kind == "batch"]
    assert later
    assert all(isinstance(ids, tuple) and len(ids) <= 2 for ids in later)
    assert h.scheduler.discovery.batch_size(1000) == 2


def test_a_413_on_a_batch_of_one_fails_no_job() -> None:
    source = Refusing(limit=0)
    h = Harness(source, policy=Fixed(1.0))
    for key in ("a", "b"):
        source.script(key, pending(key), done(key))
    futures = [h.track("a"), h.track("b")]
    h.run_until(h.clock() + 30)
    assert [f.result(0).result for f in futures] == ["completed", "completed"]
    assert [kind for kind, _, _ in source.calls].count("get") >= 2  # polled alone


def test_one_bad_id_fails_alone_and_its_batch_mates_carry_on() -> None:
    source = Refusing(bad="bad")
    h = Harness(source, policy=Fixed(1.0))
    good = []
    for i in range(4):
        key = f"g{i}"
        source.script(key, pending(key), pending(key), done(key))
        good.append(h.track(key))
    bad = h.track("bad")
    h.run_until(h.clock() + 30)
    assert all(f.result(0).result == "completed" for f in good)
    error = bad.exception(0)
    assert isinstance(error, HTTPStatusError)
    assert error.status_code == 400
    # After the refusal, the good ones went back into batches.
    last_batch = [ids for kind, ids, _ in source.calls if kind == "batch"][-1]
    assert isinstance(last_batch, tuple)
    assert len(last_batch) >= 2


@pytest.mark.parametrize(
    "hint", [pending("z", remaining_seconds=0.0), pending("z", remaining_seconds=-3.0)]
)
def test_a_hint_of_zero_that_keeps_proving_wrong_is_backed_off(hint: JobStatus) -> None:
    """A job the server always says is done "now" is not polled in a loop."""
    h = Harness(FakeSource(Capabilities(hints=True)))
    h.source.script("z", hint)
    h.track("z")
    start = h.clock()
    h.run_until(start + 60)
    polls = len(h.poll_times("z"))
    assert polls < 60 / 5 + 10  # the floor reaches 5 s after a few misses (was ~44/s)


def test_retry_after_zero_on_a_pending_answer_is_backed_off() -> None:
    h = Harness(FakeSource(Capabilities(hints=True)))
    h.source.script("z", JobStatus("z", JobResult.PENDING, retry_after=0.0))
    h.track("z")
    start = h.clock()
    h.run_until(start + 60)
    assert len(h.poll_times("z")) < 60 / 5 + 10
