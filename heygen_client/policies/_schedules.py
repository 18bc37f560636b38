"""The poll policies that need nothing learned, and the two that compose others."""

from __future__ import annotations

from dataclasses import dataclass

from heygen_client.policies._protocol import Decision, PollPolicy, PollState, jittered

__all__ = ["Backoff", "Capped", "Chain", "ExpectedDuration", "Fixed", "ServerHinted"]


@dataclass(frozen=True, slots=True)
class Fixed:
    """Poll every ``interval`` seconds (the first poll at once), ± ``jitter`` (a fraction)."""

    interval: float = 1.0
    jitter: float = 0.0

    def next_delay(self, state: PollState) -> Decision:
        if state.polls == 0:
            return Decision(0.0, "first poll")
        return Decision(jittered(state.rng, self.interval, self.jitter), "fixed interval")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped, jittered, growing with the job's age past ``hold`` seconds:
    ``clamp(growth * (elapsed - hold), initial, maximum)``.

    Growing with elapsed time (not with the poll count) keeps the lateness a bounded
    fraction of the job's duration.  The first poll is at once (within ``first_jitter``
    seconds, so jobs tracked together do not poll in lockstep).  Always has an opinion.

    The defaults poll every 0.6-0.75 s (``initial``, jittered) until the interval
    grows past it, about 11.5 s in, then grow fast: with nothing learned, a
    single job is learned sooner than by a fixed 1 s poller when it takes a few
    seconds, and with fewer requests when it takes half a minute or more
    (``python -m benchmarks.cold_start``).
    """

    initial: float = 0.75
    growth: float = 0.3
    maximum: float = 5.0
    jitter: float = 0.2
    first_jitter: float = 0.02
    hold: float = 9.0

    def next_delay(self, state: PollState) -> Decision:
        if state.polls == 0:
            return Decision(state.rng.uniform(0.0, self.first_jitter), "first poll")
        grown = self.growth * max(0.0, state.elapsed - self.hold)
        base = min(self.maximum, max(self.initial, grown))
        # Jitter downwards only, so that jobs at the cap do not all land on it together.
        return Decision(base * state.rng.uniform(1.0 - self.jitter, 1.0), "backoff")


@dataclass(frozen=True, slots=True)
class ServerHinted:
    """Follow the server's hints on a pending answer.

    ``remaining_seconds`` (a float) is preferred to ``Retry-After`` (whole seconds,
    advice on a pending answer).  The poll comes ``stretch`` (a fraction) plus
    ``margin`` seconds after the estimate runs out: the estimate is noisy (and more
    accurate near the end), and a poll a little late usually finds the job done,
    where one a little early costs another request.  An estimate over
    ``refine_above`` seconds is asked again at ``refine_at`` of it, since its error
    grows with it.  Hints are clamped to ``[min_delay, max_delay]``, so absurd ones
    do no harm.  A hint that keeps proving wrong (``0 s left``, again and again)
    is followed no sooner than ``miss_floor * 2**(misses - 1)`` seconds, up to
    ``miss_floor_max``: a server that always says "now" is not polled in a loop.
    """

    min_delay: float = 0.02
    max_delay: float = 60.0
    stretch: float = 0.03
    margin: float = 0.015
    jitter: float = 0.01
    refine_above: float = 6.0
    refine_at: float = 0.85
    miss_floor: float = 0.1
    miss_floor_max: float = 5.0

    def next_delay(self, state: PollState) -> Decision | None:
        last = state.last
        if last is None or last.is_final:
            return None
        if last.remaining_seconds is not None:
            remaining = max(0.0, last.remaining_seconds)
            if remaining > self.refine_above:
                # An estimate's error grows with what is left: 10 % of ten minutes is
                # a minute late. Ask again before it runs out, for a closer one.
                delay = jittered(state.rng, remaining * self.refine_at, self.jitter)
                reason = "server remaining_seconds (ask again early)"
            else:
                delay = jittered(state.rng, remaining * (1.0 + self.stretch), self.jitter)
                delay += self.margin
                reason = "server remaining_seconds"
        elif last.retry_after is not None:
            delay = last.retry_after
            reason = "server Retry-After"
        else:
            return None
        if state.hint_misses > 0:
            floor = min(self.miss_floor_max, self.miss_floor * 2.0 ** (state.hint_misses - 1))
            if delay < floor:
                delay, reason = floor, f"{reason}, wrong {state.hint_misses}x: backing off"
        return Decision(min(self.max_delay, max(self.min_delay, delay)), reason)


@dataclass(frozen=True, slots=True)
class ExpectedDuration:
    """Use the caller's ``expected_duration``: sleep until ``start`` of it, then poll densely.

    Before ``start * expected`` the delay skips ahead; then it polls every
    ``step * expected`` (clamped to ``[min_step, max_step]``) until ``give_up * expected``,
    after which it has no opinion (the next policy takes over).
    """

    start: float = 0.8
    step: float = 0.08
    min_step: float = 0.1
    max_step: float = 2.0
    give_up: float = 2.0
    jitter: float = 0.05

    def next_delay(self, state: PollState) -> Decision | None:
        expected = state.expected_duration
        if expected is None or expected <= 0 or state.elapsed > self.give_up * expected:
            return None
        first = self.start * expected
        step = min(self.max_step, max(self.min_step, self.step * expected))
        if state.elapsed < first:
            delay = (first - state.elapsed) * state.rng.uniform(1.0, 1.0 + self.jitter)
            return Decision(delay, "expected duration: skip")
        return Decision(jittered(state.rng, step, self.jitter), "expected duration: near end")


@dataclass(frozen=True, slots=True)
class Chain:
    """Ask each policy in turn; the first one with an opinion wins."""

    policies: tuple[PollPolicy, ...]

    def __init__(self, *policies: PollPolicy) -> None:
        object.__setattr__(self, "policies", tuple(policies))

    def next_delay(self, state: PollState) -> Decision | None:
        for policy in self.policies:
            decision = policy.next_delay(state)
            if decision is not None:
                return decision
        return None


@dataclass(frozen=True, slots=True)
class Capped:
    """Clamp another policy's delay to ``[min_delay, max_delay]``."""

    policy: PollPolicy
    min_delay: float = 0.0
    max_delay: float = 30.0

    def next_delay(self, state: PollState) -> Decision | None:
        decision = self.policy.next_delay(state)
        if decision is None:
            return None
        delay = min(self.max_delay, max(self.min_delay, decision.delay))
        if delay == decision.delay:
            return decision
        return Decision(delay, f"{decision.reason} (capped)")
