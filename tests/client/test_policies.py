"""Poll and retry policies: tables of inputs, and Hypothesis properties."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heygen_client.models import JobResult, JobStatus
from heygen_client.policies import (
    Backoff,
    Capped,
    Chain,
    Decision,
    Durations,
    ExpectedDuration,
    Fixed,
    Learned,
    PollPolicy,
    PollState,
    RetryPolicy,
    ServerHinted,
    default_policy,
    economical_policy,
)


def state(elapsed: float = 0.0, polls: int = 1, seed: int = 0, **kw: object) -> PollState:
    return PollState(elapsed=elapsed, polls=polls, rng=random.Random(seed), **kw)  # type: ignore[arg-type]


def status(**fields: float) -> JobStatus:
    return JobStatus("j", JobResult.PENDING, **fields)  # type: ignore[arg-type]


LOGNORMAL = Durations(
    [min(15.0, max(1.0, 4 * math.exp(random.Random(i).gauss(0, 0.6)))) for i in range(300)]
)


@pytest.mark.parametrize(
    ("policy", "st_", "expected", "reason"),
    [
        (Fixed(2.0), state(polls=0), 0.0, "first poll"),
        (Fixed(2.0), state(polls=3), 2.0, "fixed interval"),
        (
            ServerHinted(stretch=0.0, margin=0.0, jitter=0.0),
            state(last=status(remaining_seconds=3.0)),
            3.0,
            "server remaining_seconds",
        ),
        (ServerHinted(jitter=0.0), state(last=status(retry_after=4.0)), 4.0, "server Retry-After"),
        (
            ServerHinted(jitter=0.0),
            state(last=status(remaining_seconds=20.0)),
            17.0,
            "server remaining_seconds (ask again early)",
        ),
        (
            ServerHinted(jitter=0.0, max_delay=60.0),
            state(last=status(remaining_seconds=1e12)),
            60.0,
            "server remaining_seconds (ask again early)",
        ),
        (
            ServerHinted(jitter=0.0, min_delay=0.02),
            state(last=status(remaining_seconds=-5.0)),
            0.02,
            "server remaining_seconds",
        ),
        (
            ServerHinted(jitter=0.0),
            state(last=status(remaining_seconds=0.0), hint_misses=1),
            0.1,
            "server remaining_seconds, wrong 1x: backing off",
        ),
        (
            ServerHinted(jitter=0.0),
            state(last=status(retry_after=0.0), hint_misses=4),
            0.8,
            "server Retry-After, wrong 4x: backing off",
        ),
        (
            ServerHinted(jitter=0.0),
            state(last=status(remaining_seconds=0.0), hint_misses=40),
            5.0,
            "server remaining_seconds, wrong 40x: backing off",
        ),
        (
            ServerHinted(jitter=0.0, stretch=0.0, margin=0.0),
            state(last=status(remaining_seconds=3.0), hint_misses=2),
            3.0,
            "server remaining_seconds",
        ),
        (Capped(Fixed(100.0), max_delay=30.0), state(), 30.0, "fixed interval (capped)"),
        (Capped(Fixed(0.0), min_delay=0.5), state(), 0.5, "fixed interval (capped)"),
    ],
)
def test_policy_table(policy: PollPolicy, st_: PollState, expected: float, reason: str) -> None:
    decision = policy.next_delay(st_)
    assert decision is not None
    assert decision.delay == pytest.approx(expected)
    assert decision.reason == reason


def test_no_opinion_cases() -> None:
    assert ServerHinted().next_delay(state()) is None
    assert ServerHinted().next_delay(state(last=status())) is None
    assert ExpectedDuration().next_delay(state()) is None
    assert ExpectedDuration().next_delay(state(elapsed=100, expected_duration=10)) is None
    assert Learned().next_delay(state()) is None
    assert Learned().next_delay(state(durations=Durations([1.0, 2.0]))) is None
    assert Chain().next_delay(state()) is None


def test_chain_takes_the_first_opinion() -> None:
    policy = Chain(ServerHinted(jitter=0.0, stretch=0, margin=0), Fixed(9.0))
    assert policy.next_delay(state(last=status(remaining_seconds=2.0))) == Decision(
        2.0, "server remaining_seconds"
    )
    assert policy.next_delay(state(last=status())) == Decision(9.0, "fixed interval")


def test_expected_duration_skips_then_polls_densely() -> None:
    policy = ExpectedDuration(jitter=0.0)
    skip = policy.next_delay(state(elapsed=0.0, expected_duration=10.0))
    assert skip is not None
    assert skip.delay == pytest.approx(8.0)
    near = policy.next_delay(state(elapsed=8.5, expected_duration=10.0))
    assert near == Decision(pytest.approx(0.8), "expected duration: near end")  # type: ignore[arg-type]


def test_learned_skips_past_the_shortest_jobs_and_is_densest_where_jobs_end() -> None:
    policy = Learned(jitter=0.0)
    skip = policy.next_delay(state(elapsed=0.0, durations=LOGNORMAL))
    assert skip is not None
    assert skip.reason == "learned: skip"
    # The first poll: 0.5 s after the 1 % quantile of the durations seen.
    assert skip.delay == pytest.approx(LOGNORMAL.quantile(0.01) + 0.5)
    just_after_shortest = policy.next_delay(state(elapsed=1.8, durations=LOGNORMAL))
    at_bulk = policy.next_delay(state(elapsed=4.0, durations=LOGNORMAL))
    assert just_after_shortest is not None
    assert at_bulk is not None
    assert at_bulk.reason == just_after_shortest.reason == "learned schedule"
    # Few of the running jobs end just after the shortest ones: wider spacing there.
    # The interval is scale / sqrt(hazard): 0.41 / sqrt(0.31) at 4 s.
    assert at_bulk.delay == pytest.approx(0.41 / math.sqrt(LOGNORMAL.hazard(4.0)))
    assert policy.min_interval <= at_bulk.delay < 0.85 * just_after_shortest.delay
    assert just_after_shortest.delay <= policy.max_interval
    assert policy.next_delay(state(elapsed=1000.0, durations=LOGNORMAL)) is None


def test_hazard_of_an_exponential_sample_is_about_its_rate_even_when_censored() -> None:
    """A constant hazard (exponential durations, rate 0.5/s) is estimated as constant.

    Censoring: of 2,000 jobs, those still running at a random check time contribute
    only their age.  Ignoring them (the finished jobs alone) overestimates the hazard
    of long durations, which made the learned schedule poll long jobs too often.
    """
    rng = random.Random(3)
    ended: list[float] = []
    running: list[float] = []
    for _ in range(2_000):
        duration, age = rng.expovariate(0.5), rng.uniform(0.0, 6.0)
        (ended if duration <= age else running).append(min(duration, age))
    censored = Durations(ended, running)
    naive = Durations(ended)
    for t in (0.2, 0.5, 1.5, 3.0):
        assert censored.hazard(t) == pytest.approx(0.5, rel=0.2), t
    assert naive.hazard(3.0) > 1.5 * censored.hazard(3.0)
    assert Durations([1.0]).hazard(1.0) == 0.0
    assert censored.hazard(100.0) < 0.1  # beyond the samples it decays


def test_backoff_grows_with_age_and_is_capped() -> None:
    policy = Backoff(jitter=0.0)
    delays = [policy.next_delay(state(elapsed=t)).delay for t in (0.0, 5.0, 20.0, 1000.0)]
    assert delays == sorted(delays)
    assert delays[-1] == policy.maximum


@pytest.mark.parametrize(
    ("policy", "elapsed", "expected"),
    [
        (Backoff(jitter=0.0), 0.5, 0.75),  # held at initial for the first 9 s...
        (Backoff(jitter=0.0), 11.0, 0.75),  # ...and until 0.3 * (age - 9) passes it
        (Backoff(jitter=0.0), 15.0, 1.8),
        (Backoff(jitter=0.0), 60.0, 5.0),  # capped
        (Backoff(jitter=0.0, hold=0.0), 5.0, 1.5),  # without the hold it grows at once
    ],
)
def test_backoff_holds_then_grows(policy: Backoff, elapsed: float, expected: float) -> None:
    assert policy.next_delay(state(elapsed=elapsed)).delay == pytest.approx(expected)


def test_durations_statistics() -> None:
    d = Durations([3.0, 1.0, 2.0, -1.0], censored=[5.0, -2.0, 0.5])
    assert d.samples == (1.0, 2.0, 3.0)
    assert d.censored == (0.5, 5.0)
    assert len(d) == 3
    assert d.quantile(0.0) == 1.0
    assert d.quantile(1.0) == 3.0
    with pytest.raises(ValueError, match="no samples"):
        Durations([]).quantile(0.5)


POLICIES: list[PollPolicy] = [
    default_policy(),
    economical_policy(),
    Backoff(),
    Fixed(1.0, jitter=0.1),
    Capped(Chain(ServerHinted(), Learned(), Backoff()), 0.01, 30.0),
]

statuses = st.builds(
    lambda r, ra: status(remaining_seconds=r, retry_after=ra),
    st.none() | st.floats(-1e6, 1e12, allow_nan=False),
    st.none() | st.floats(0, 1e9, allow_nan=False),
)


@settings(max_examples=200, deadline=None)
@given(
    index=st.integers(0, len(POLICIES) - 1),
    elapsed=st.floats(0, 1e6, allow_nan=False),
    polls=st.integers(0, 10_000),
    last=st.none() | statuses,
    expected=st.none() | st.floats(0.01, 1e5),
    seed=st.integers(0, 2**32),
)
def test_delays_are_always_within_bounds(
    index: int,
    elapsed: float,
    polls: int,
    last: JobStatus | None,
    expected: float | None,
    seed: int,
) -> None:
    decision = POLICIES[index].next_delay(
        state(elapsed, polls, seed, last=last, expected_duration=expected, durations=LOGNORMAL)
    )
    assert decision is not None
    assert 0.0 <= decision.delay <= 60.0
    assert math.isfinite(decision.delay)
    assert decision.reason


@settings(max_examples=50, deadline=None)
@given(
    elapsed=st.floats(0, 100),
    polls=st.integers(1, 100),
    seeds=st.lists(st.integers(0, 2**32), min_size=20, max_size=20, unique=True),
)
def test_jobs_created_together_do_not_poll_in_lockstep(
    elapsed: float, polls: int, seeds: list[int]
) -> None:
    """Twenty jobs in the same state, each with its own random stream, get spread delays."""
    for policy in (Backoff(), default_policy(), economical_policy(), Learned(), ServerHinted()):
        delays = set()
        for seed in seeds:
            decision = policy.next_delay(
                state(
                    elapsed, polls, seed, durations=LOGNORMAL, last=status(remaining_seconds=5.0)
                )
            )
            if decision is not None:
                delays.add(decision.delay)
        if delays:
            assert len(delays) >= 18
            assert max(delays) >= min(delays) * 1.005


@settings(max_examples=200, deadline=None)
@given(
    attempt=st.integers(1, 1000),
    retry_after=st.none() | st.floats(0, 1e9, allow_nan=False),
    seed=st.integers(0, 2**32),
)
def test_retry_delay_bounds(attempt: int, retry_after: float | None, seed: int) -> None:
    retry = RetryPolicy()
    delay = retry.delay(attempt, retry_after, random.Random(seed))
    assert 0.0 <= delay <= max(retry.cap, retry.retry_after_max)
    if retry_after is not None:
        assert delay >= min(retry_after, retry.retry_after_max)


def test_retry_exhaustion() -> None:
    retry = RetryPolicy(max_attempts=3, budget=10.0)
    assert not retry.exhausted(2, 1.0)
    assert retry.exhausted(3, 1.0)
    assert retry.exhausted(1, 10.0)


def test_backoff_is_full_jitter() -> None:
    rng = random.Random(1)
    delays = [RetryPolicy(base=1.0, cap=8.0).backoff(4, rng) for _ in range(500)]
    assert min(delays) < 1.0
    assert max(delays) <= 8.0
    assert max(delays) > 6.0


@settings(max_examples=200, deadline=None)
@given(
    elapsed=st.floats(0, 1e5, allow_nan=False),
    polls=st.integers(1, 10_000),
    remaining=st.none() | st.floats(-1e6, 1e12, allow_nan=False),
    retry_after=st.floats(0, 1e9, allow_nan=False),
    expected=st.none() | st.floats(0.01, 1e5),
    seed=st.integers(0, 2**32),
)
def test_economical_policy_follows_hints_and_expected_duration_like_the_default(
    elapsed: float,
    polls: int,
    remaining: float | None,
    retry_after: float,
    expected: float | None,
    seed: int,
) -> None:
    """Only the plain-server pace differs: a hint, or the caller's estimate, decides alike."""
    last = status(remaining_seconds=remaining, retry_after=retry_after)  # type: ignore[arg-type]
    decisions = [
        policy.next_delay(
            state(elapsed, polls, seed, last=last, expected_duration=expected, durations=LOGNORMAL)
        )
        for policy in (economical_policy(), default_policy())
    ]
    assert decisions[0] == decisions[1]


@pytest.mark.parametrize(
    ("elapsed", "low", "high", "reason"),
    [
        # Before the 37 % quantile (3.00 s on LOGNORMAL) plus 0.2 s: skip.
        (0.0, 3.2, 3.2 * 1.05, "learned: skip"),
        (3.5, 0.75 * 0.9, 2.5 * 1.1, "learned schedule"),
        (5.0, 0.75 * 0.9, 2.5 * 1.1, "learned schedule"),
        (12.0, 0.75 * 0.9, 2.5 * 1.1, "learned schedule"),
        # Past 3x the 95 % quantile Learned gives up: clamp(0.3 * age, 2, 10).
        (40.0, 10.0 * 0.8, 10.0, "backoff"),
    ],
)
def test_economical_policy_on_a_plain_server(
    elapsed: float, low: float, high: float, reason: str
) -> None:
    for seed in range(20):
        decision = economical_policy().next_delay(state(elapsed, 1, seed, durations=LOGNORMAL))
        assert decision is not None
        assert low <= decision.delay <= high, (elapsed, seed, decision)
        assert decision.reason == reason


def test_economical_policy_needs_fewer_samples_and_backs_off_wider_with_none() -> None:
    few = Durations([3.0, 4.0, 4.5, 5.0])
    learned = economical_policy().next_delay(state(0.0, 0, durations=few))
    assert learned is not None
    assert learned.reason == "learned: skip"
    first = economical_policy().next_delay(state(0.0, 0))
    assert first is not None
    assert first.reason == "first poll"
    assert first.delay <= 0.02
    later = economical_policy().next_delay(state(1.0, 1))
    assert later is not None
    assert 2.0 * 0.8 <= later.delay <= 2.0


def test_a_weighted_sample_of_censored_ages_counts_like_all_of_them() -> None:
    every = Durations([1.0, 1.1, 2.0], [5.0, 5.0, 5.0, 6.0, 6.0, 6.0])
    sampled = Durations([1.0, 1.1, 2.0], [5.0, 6.0], censored_weight=3.0)
    for t in (0.5, 1.05, 1.5, 2.0, 8.0):
        assert sampled.hazard(t) == pytest.approx(every.hazard(t))
