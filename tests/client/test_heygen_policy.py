"""Polling at HeyGen's scale: VideoDuration, heygen_policy, and what the scheduler feeds them.

Fake clock, no threads, no HTTP.
"""

from __future__ import annotations

import itertools
import math
import random

import pytest

from heygen_client._config import SchedulerConfig
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


def scaled(st: PollState, f: float) -> PollState:
    """``st`` on a server whose jobs run ``f`` times faster (ages and ratios over ``f``)."""
    ratios = st.ratios
    durations = st.durations
    return PollState(
        elapsed=st.elapsed / f,
        polls=st.polls,
        last=st.last,
        video_duration=st.video_duration,
        ratios=None if ratios is None else Durations([r / f for r in ratios.samples]),
        durations=None if durations is None else Durations([d / f for d in durations.samples]),
        rng=random.Random(1),
    )


@pytest.mark.parametrize(
    "st",
    [
        PollState(elapsed=0.0, polls=0, rng=random.Random(1)),  # the first poll
        PollState(elapsed=30.0, polls=5, rng=random.Random(1)),  # backoff, growing
        PollState(elapsed=900.0, polls=20, rng=random.Random(1)),  # backoff, at its cap
        state(10.0, ratios=LEARNED),  # video duration: skip
        state(500.0, ratios=LEARNED),  # video duration: near the end
        state(30.0, video=1.0, ratios=LEARNED),  # near the end, at the shortest step
        PollState(  # learned durations, video unknown: hazard spacing
            elapsed=400.0,
            polls=3,
            durations=Durations([300.0, 350.0, 400.0, 450.0, 500.0, 600.0]),
            rng=random.Random(1),
        ),
    ],
)
def test_a_time_scaled_heygen_policy_is_heygens_schedule_sped_up(st: PollState) -> None:
    at_heygen = heygen_policy().next_delay(st)
    sped_up = heygen_policy(time_scale=60.0).next_delay(scaled(st, 60.0))
    assert at_heygen is not None
    assert sped_up is not None
    assert sped_up.delay == pytest.approx(at_heygen.delay / 60.0)
    assert sped_up.reason == at_heygen.reason


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_a_time_scale_is_a_positive_number(bad: float) -> None:
    with pytest.raises(ValueError, match="time_scale"):
        heygen_policy(time_scale=bad)


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


def test_a_webhook_receiver_makes_every_poll_a_safety_net_from_the_start() -> None:
    source = FakeSource()
    source.script("j", pending("j"))
    h = Harness(source, policy=Fixed(2.0), config=SchedulerConfig(pushed_min_delay=10.0))
    h.scheduler.expect_pushes()
    start = h.clock()
    h.track("j")
    h.run_until(start + 45.0)
    times = h.poll_times("j")
    # The first poll too waits for the floor; then max(4 x 2 s, 10 s) apart.
    assert times == pytest.approx([start + 10.0, start + 20.0, start + 30.0, start + 40.0])


def test_the_safety_net_lapses_when_no_webhook_comes() -> None:
    source = FakeSource()
    source.script("j", pending("j"))
    h = Harness(source, policy=Fixed(2.0), config=SchedulerConfig(pushed_recent=30.0))
    start = h.clock()
    h.scheduler.expect_pushes()
    h.track("j")
    h.run_until(start + 60.0)
    times = h.poll_times("j")
    early = [b - a for a, b in itertools.pairwise(t for t in times if t <= start + 30.0)]
    late = [b - a for a, b in itertools.pairwise(t for t in times if t >= start + 40.0)]
    assert early == pytest.approx([8.0] * len(early))
    assert late == pytest.approx([2.0] * len(late))
    assert early
    assert late


@pytest.mark.parametrize(("pushes", "together"), [(True, True), (False, False)])
def test_while_webhooks_flow_bulk_polls_gather_further_ahead(pushes: bool, together: bool) -> None:
    source = FakeSource(Capabilities(batch_max_ids=100))
    for name in "ab":
        source.script(name, pending(name))
    h = Harness(source, policy=Fixed(10.0), config=SchedulerConfig(batch_gather=2.0))
    if pushes:
        h.scheduler.expect_pushes()  # polls 40 s apart; jobs due within 8 s go along
    start = h.clock()
    h.track("a")
    h.run_until(start + 5.0)
    h.track("b")  # due 5 s after "a", always: too far for a 2 s gather
    h.run_until(start + 200.0)
    last = [r for _, r in h.requests if r.kind != "capabilities"][-3:]
    assert all(len(r.jobs) == 2 for r in last) is together
