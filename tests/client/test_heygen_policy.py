"""Polling at HeyGen's scale: VideoDuration, heygen_policy, and what the scheduler feeds them.

Fake clock, no threads, no HTTP.
"""

from __future__ import annotations

import itertools
import random

import pytest

from heygen_client._scheduler import SchedulerConfig
from heygen_client.models import Capabilities, JobResult, JobStatus
from heygen_client.policies import (
    Decision,
    Durations,
    Fixed,
    PollState,
    VideoDuration,
    heygen_policy,
)
from tests.client._fakes import FakeSource, Harness, done, pending


def running(video: float | None = None) -> JobStatus:
    extra = {} if video is None else {"status": "running", "duration": video}
    return JobStatus("j", JobResult.PENDING, extra=extra)


def state(
    elapsed: float,
    *,
    video: float | None = 300.0,
    ratios: tuple[float, ...] = (),
    polls: int = 1,
) -> PollState:
    return PollState(
        elapsed=elapsed,
        polls=polls,
        last=running(video),
        video_duration=video,
        ratios=Durations(ratios) if ratios else None,
        rng=random.Random(1),
    )


LEARNED = (1.6, 1.8, 2.0, 2.2, 2.4)  # translation seconds per video second


@pytest.mark.parametrize(
    ("policy", "st", "low", "high", "reason"),
    [
        # Nothing to go on: no opinion.
        (VideoDuration(), state(10.0, video=None, ratios=LEARNED), None, None, None),
        (VideoDuration(), state(10.0), None, None, None),
        (VideoDuration(), state(10.0, ratios=(2.0, 2.0)), None, None, None),  # too few
        (VideoDuration(), state(0.0, ratios=LEARNED, polls=0), None, None, None),
        # 300 s of video, ratios 1.6-2.4: nothing ends before 456 s (480 less 5 %).
        (VideoDuration(), state(10.0, ratios=LEARNED), 446.0, 446.0 * 1.05, "skip"),
        # Near the end: 3 % of the expected 600 s, 18 s.
        (VideoDuration(), state(500.0, ratios=LEARNED), 16.2, 19.8, "near end"),
        # Capped: 3 % of 3,000 s is 90 s; at most 25 s.
        (VideoDuration(), state(3000.0, video=1500.0, ratios=LEARNED), 22.5, 27.5, "near end"),
        # Long past 1.5 times the longest seen: no opinion.
        (VideoDuration(), state(1200.0, ratios=LEARNED), None, None, None),
        # A prior when nothing is learned yet: ratio 2 +- 50 %, skip to 300 * 1 * 0.95.
        (VideoDuration(prior_ratio=2.0), state(10.0), 275.0, 275.0 * 1.05, "prior ratio"),
    ],
)
def test_video_duration_table(
    policy: VideoDuration,
    st: PollState,
    low: float | None,
    high: float | None,
    reason: str | None,
) -> None:
    decision = policy.next_delay(st)
    if low is None:
        assert decision is None
        return
    assert decision is not None
    assert high is not None
    assert low <= decision.delay <= high
    assert reason is not None
    assert reason in decision.reason


def test_one_learned_ratio_serves_short_and_long_videos() -> None:
    policy = VideoDuration()
    short = policy.next_delay(state(5.0, video=30.0, ratios=LEARNED))
    long = policy.next_delay(state(5.0, video=600.0, ratios=LEARNED))
    assert short is not None
    assert long is not None
    assert long.delay > 15 * short.delay  # both skip to 1.52 x their video's length


def test_heygen_policy_backoff_reaches_its_cap_and_stays_there() -> None:
    policy = heygen_policy()
    rng = random.Random(3)
    first = policy.next_delay(PollState(elapsed=0.0, polls=0, rng=rng))
    assert first is not None
    assert first.delay < 0.05
    late = policy.next_delay(PollState(elapsed=900.0, polls=20, last=running(), rng=rng))
    assert late is not None
    assert 28.0 <= late.delay <= 35.0


def test_a_twenty_minute_job_costs_far_fewer_than_240_requests_with_nothing_learned() -> None:
    source = FakeSource(Capabilities())
    source.script("long", *[pending("long")] * 10_000)
    h = Harness(source, policy=heygen_policy())
    h.track("long")
    h.run_until(h.clock() + 1200.0)
    assert 40 <= len(h.poll_times("long")) <= 65


# -- what the scheduler gives the policy -----------------------------------------------


class Spy:
    """Polls every second and keeps every state it was shown."""

    def __init__(self) -> None:
        self.seen: list[PollState] = []

    def next_delay(self, st: PollState) -> Decision:
        self.seen.append(st)
        return Fixed(1.0).next_delay(st)


def test_the_scheduler_learns_translation_seconds_per_video_second() -> None:
    source = FakeSource(Capabilities())
    spy = Spy()
    h = Harness(source, policy=spy)
    for name, video, seconds in (("a", 10.0, 20), ("b", 100.0, 200)):
        source.script(name, *[running(video)] * seconds, done(name))
        h.track(name)
    h.run_until(h.clock() + 300.0)
    source.script("c", pending("c"))
    h.track("c")
    h.step()
    ratios = spy.seen[-1].ratios
    assert ratios is not None
    assert len(ratios) == 2
    assert all(1.9 <= r <= 2.1 for r in ratios.samples)


def test_a_jobs_video_duration_outlives_answers_without_it() -> None:
    source = FakeSource(Capabilities())
    source.script("j", running(60.0), pending("j"), pending("j"))
    spy = Spy()
    h = Harness(source, policy=spy)
    h.track("j")
    h.run_until(h.clock() + 3.5)
    seen = [st.video_duration for st in spy.seen]
    assert seen[0] is None  # before the first answer
    assert seen[1:] == [60.0] * (len(seen) - 1)


@pytest.mark.parametrize(("gather", "together"), [(2.0, True), (0.0, False)])
def test_bulk_polls_gather_the_jobs_due_soon(gather: float, together: bool) -> None:
    source = FakeSource(Capabilities(batch_max_ids=100))
    for name in "abc":
        source.script(name, pending(name))
    config = SchedulerConfig(batch_gather=gather)
    h = Harness(source, policy=Fixed(10.0, jitter=0.1), config=config)
    for name in "abc":
        h.track(name)
    h.run_until(h.clock() + 60.0)
    polls = [r for _, r in h.requests if r.kind != "capabilities"]
    # Gathered, the three stay together from the first poll on; otherwise the
    # jitter soon has them polled one by one.
    assert all(len(r.jobs) == 3 for r in polls) is together
    assert (len(polls) <= 7) is together


# -- statuses pushed to the client (webhooks) ------------------------------------------


def test_apply_resolves_at_once_and_is_idempotent() -> None:
    source = FakeSource()
    source.script("j", pending("j"))
    h = Harness(source, policy=Fixed(30.0))
    future = h.track("j")
    h.step()
    assert not future.done()
    polls = future.polls
    final = JobStatus("j", JobResult.COMPLETED, extra={"video_url": "https://v/j.mp4"})
    assert h.scheduler.apply("j", final) is True
    assert future.result(timeout=0).extra["video_url"] == "https://v/j.mp4"
    assert future.polls == polls  # a push is not a poll
    assert h.scheduler.apply("j", final) is False  # a repeat: nothing left to do
    assert h.store.get_status("j") == final


def test_apply_for_a_job_not_yet_tracked_is_found_by_track() -> None:
    h = Harness(FakeSource())
    final = JobStatus("later", JobResult.ERROR, extra={"failure_message": "no audio"})
    assert h.scheduler.apply("later", final) is False
    assert h.store.get_status("later") == final


def test_polls_slow_down_while_statuses_are_pushed() -> None:
    source = FakeSource()
    source.script("other", pending("other"))
    source.script("j", pending("j"))
    h = Harness(source, policy=Fixed(2.0))
    h.track("other")
    h.track("j")
    h.step()
    h.scheduler.apply("other", done("other"))
    start = h.clock()
    h.run_until(start + 40.0)
    times = [t for t in h.poll_times("j") if t > start]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps
    assert all(gap == pytest.approx(8.0) for gap in gaps)  # 2 s, four times slower
