"""Polling and retry policies: *when* to ask again.

Two separate knobs, kept apart on purpose:

* A **poll policy** sets the pace while a job is still ``"pending"``.
* A **retry policy** (:class:`RetryPolicy`) decides what happens after a status
  request *failed* (connection error, timeout, 5xx, 429, malformed answer).

The poll-policy protocol
------------------------
A poll policy is any object with one method::

    def next_delay(self, state: PollState) -> Decision | None: ...

It is called before a job's first poll (``state.polls == 0``) and after every
pending answer, and returns how many seconds to wait before the next poll and
why, or ``None`` for "no opinion" (the next policy of a :class:`Chain` answers).
A policy must be pure: no I/O, no sleeping, no mutation; randomness comes only
from ``state.rng``.  The built-in ones are small frozen dataclasses and compose:

* :class:`ServerHinted` - the server's ``remaining_seconds`` and ``Retry-After``;
* :class:`ExpectedDuration` - the caller's ``track(..., expected_duration=)``;
* :class:`VideoDuration` - the job's video length times the translation seconds
  per video second learned from finished jobs;
* :class:`Learned` - the durations of jobs this client saw finish;
* :class:`Backoff` - capped, jittered, growing; answers always;
* :class:`Fixed` - a constant interval (baselines, tests);
* :class:`Chain` - the first policy with an opinion wins;
* :class:`Capped` - clamps another policy's delay to ``[min_delay, max_delay]``.

:func:`default_policy` chains them in that order, best source first (without
:class:`VideoDuration`, which the mock's jobs do not need);
:func:`economical_policy` is the same chain paced for fewer requests, and
:func:`heygen_policy` the chain for HeyGen's minutes-long jobs.  Long-poll
and batch queries are chosen by the scheduler when the server offers them; the
policy still paces polls that are not long-polls.

Whatever a policy says, a ``Retry-After`` on a 429/503 is a hard minimum: the
scheduler never polls sooner (up to :attr:`RetryPolicy.retry_after_max`).
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from heygen_client.errors import (
    ClientClosed,
    HTTPStatusError,
    JobNotFound,
    MalformedResponse,
    TransportError,
)
from heygen_client.models import JobStatus

__all__ = [
    "Backoff",
    "Capped",
    "Chain",
    "Decision",
    "Durations",
    "ExpectedDuration",
    "Fixed",
    "Learned",
    "PollPolicy",
    "PollState",
    "RetryPolicy",
    "ServerHinted",
    "VideoDuration",
    "default_policy",
    "economical_policy",
    "heygen_policy",
]


@dataclass(frozen=True, slots=True)
class Decision:
    """A policy's answer: wait ``delay`` seconds, because ``reason``."""

    delay: float
    reason: str


class Durations:
    """An immutable, sorted sample of job durations the client has seen, and censoring.

    Built by the client from finished jobs (each duration is estimated between the
    last pending poll and the first final one) and, as ``censored``, the ages of the
    jobs it still tracks: a job running for 9 s says its duration is at least 9 s.
    Without them the sample is biased short early on, because short jobs are the
    first seen ending.  ``censored_weight`` is how many jobs each censored age stands
    for (the client passes a sample of at most 1,000 ages when it tracks more jobs).
    Offers the few statistics the :class:`Learned` policy needs, each in O(log n).
    """

    __slots__ = ("_cumulative", "censored", "censored_weight", "samples")

    def __init__(
        self,
        samples: Sequence[float],
        censored: Sequence[float] = (),
        censored_weight: float = 1.0,
    ) -> None:
        self.samples: tuple[float, ...] = tuple(sorted(s for s in samples if s >= 0))
        self.censored: tuple[float, ...] = tuple(sorted(c for c in censored if c >= 0))
        self.censored_weight = censored_weight
        # Nelson-Aalen: the cumulative hazard just after each sample, where the jobs
        # at risk at time t are the samples >= t and the censored ages >= t.
        # _cumulative[i] is the sum over the first i samples.
        n, m = len(self.samples), len(self.censored)
        total = 0.0
        cumulative = [0.0]
        for i, sample in enumerate(self.samples):
            running = m - bisect.bisect_left(self.censored, sample)
            total += 1.0 / ((n - i) + censored_weight * running)
            cumulative.append(total)
        self._cumulative: tuple[float, ...] = tuple(cumulative)

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        return f"Durations(n={len(self.samples)}, censored={len(self.censored)})"

    def quantile(self, q: float) -> float:
        """The q-quantile (0 <= q <= 1) of the samples, by the nearest rank below."""
        if not self.samples:
            raise ValueError("no samples")
        index = min(len(self.samples) - 1, max(0, int(q * len(self.samples))))
        return self.samples[index]

    def _window(self, t: float) -> tuple[int, int, float]:
        """The k samples either side of ``t`` (k = sqrt(n)): their indices and span."""
        n = len(self.samples)
        k = max(2, math.isqrt(n))
        i = bisect.bisect_left(self.samples, t)
        lo = max(0, i - k)
        hi = min(n - 1, i + k - 1)
        return lo, hi, max(self.samples[hi], t) - min(self.samples[lo], t)

    def hazard(self, t: float) -> float:
        """The hazard at ``t``: of the jobs still running at ``t``, the fraction ending per second.

        A nearest-neighbour Nelson-Aalen estimate over the k = sqrt(n) samples either
        side of ``t`` (or over the 0.25 s around ``t`` when they are closer together),
        counting censored ages as at risk; beyond the samples it decays with the
        distance to them.
        """
        if len(self.samples) < 2:
            return 0.0
        lo, hi, span = self._window(t)
        if span >= 0.25:
            # The increments of samples lo+1..hi: hi - lo endings over the span.
            return (self._cumulative[hi + 1] - self._cumulative[lo + 1]) / span
        start = bisect.bisect_left(self.samples, t - 0.125)
        end = bisect.bisect_right(self.samples, t + 0.125)
        return (self._cumulative[end] - self._cumulative[start]) / 0.25


@dataclass(frozen=True, slots=True)
class PollState:
    """What a poll policy may look at.

    Attributes:
        elapsed: seconds since the job was first tracked.
        polls: status requests made for the job so far (0 before the first).
        last: the latest status seen (None before the first answer).
        last_delay: the previous delay chosen, or None.
        hint_misses: pending answers in a row that came after the server's hint
            (``remaining_seconds`` or ``Retry-After``) said the job would be done.
        expected_duration: the caller's ``track(..., expected_duration=)``, or None.
        durations: durations of jobs this client saw finish, or None.
        rng: the only source of randomness a policy may use.
        video_duration: seconds of video the job translates, once an answer
            said (:attr:`JobStatus.video_duration`), or None.
        ratios: translation seconds per second of video, of the jobs this client
            saw finish with a known video duration (censored by the ages of
            those still running, per second of their video), or None.
    """

    elapsed: float
    polls: int = 0
    last: JobStatus | None = None
    last_delay: float | None = None
    hint_misses: int = 0
    expected_duration: float | None = None
    durations: Durations | None = None
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)
    video_duration: float | None = None
    ratios: Durations | None = None


@runtime_checkable
class PollPolicy(Protocol):
    """The protocol every poll policy implements (see the module docstring)."""

    def next_delay(self, state: PollState) -> Decision | None:
        """Seconds until the next poll and why, or None for "no opinion"."""
        ...


def _jitter(rng: random.Random, value: float, fraction: float) -> float:
    if fraction <= 0 or value <= 0:
        return value
    return value * rng.uniform(1.0 - fraction, 1.0 + fraction)


@dataclass(frozen=True, slots=True)
class Fixed:
    """Poll every ``interval`` seconds (the first poll at once), ± ``jitter`` (a fraction)."""

    interval: float = 1.0
    jitter: float = 0.0

    def next_delay(self, state: PollState) -> Decision:
        if state.polls == 0:
            return Decision(0.0, "first poll")
        return Decision(_jitter(state.rng, self.interval, self.jitter), "fixed interval")


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
                delay = _jitter(state.rng, remaining * self.refine_at, self.jitter)
                reason = "server remaining_seconds (ask again early)"
            else:
                delay = _jitter(state.rng, remaining * (1.0 + self.stretch), self.jitter)
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
        return Decision(_jitter(state.rng, step, self.jitter), "expected duration: near end")


@dataclass(frozen=True, slots=True)
class Learned:
    """Poll on a schedule learned from the durations of jobs seen finishing.

    * The first poll comes ``lead`` seconds before the ``skip_quantile`` of the
      durations seen; a negative ``lead`` is that long *after* it (the default: 0.5 s
      after the shortest jobs end, so a job that short is learned at most about 0.5 s
      late and the longer ones spend no request before it).
    * Then the interval at elapsed time ``t`` is ``scale / sqrt(hazard(t))``, clamped to
      ``[min_interval, max_interval]``, where ``hazard(t)`` is how likely a job still
      running at ``t`` is to end in the next second (:meth:`Durations.hazard`, which
      counts the jobs still running, so early short-job samples do not bias it).
      A poll at ``t`` costs a request for every job still running and finds the end
      of ``hazard(t) * interval`` of them; spacing by ``hazard ** -1/2`` minimises the
      mean lateness for the requests spent.  Where jobs rarely end (just after the
      shortest ones, far in the tail) that is ``max_interval``; where they end most
      often, about ``scale / sqrt(peak hazard)``.
    * Past ``give_up`` times the ``tail_quantile`` of durations: no opinion (the next
      policy, usually :class:`Backoff`, answers).

    Needs ``min_samples`` durations before it says anything.
    """

    min_samples: int = 5
    skip_quantile: float = 0.01
    lead: float = -0.5
    scale: float = 0.41
    min_interval: float = 0.1
    max_interval: float = 0.95
    tail_quantile: float = 0.95
    give_up: float = 3.0
    jitter: float = 0.1

    def next_delay(self, state: PollState) -> Decision | None:
        durations = state.durations
        if durations is None or len(durations) < self.min_samples:
            return None
        t = state.elapsed
        first = max(0.0, durations.quantile(self.skip_quantile) - self.lead)
        if t < first:
            # Jitter only upwards: a delay that can undershoot would approach `first` forever.
            delay = (first - t) * state.rng.uniform(1.0, 1.0 + self.jitter / 2)
            return Decision(delay, "learned: skip")
        if t > self.give_up * durations.quantile(self.tail_quantile):
            return None
        hazard = durations.hazard(t)
        interval = self.scale / math.sqrt(hazard) if hazard > 0 else self.max_interval
        interval = min(self.max_interval, max(self.min_interval, interval))
        return Decision(_jitter(state.rng, interval, self.jitter), "learned schedule")


@dataclass(frozen=True, slots=True)
class VideoDuration:
    """Pace a job by the length of its video, learning translation seconds per video second.

    A job's video duration ``D`` (HeyGen's ``duration``, in
    ``state.video_duration``) times the ratios of the jobs seen finishing
    (``state.ratios``: translation seconds per video second) predicts when it
    ends, so one learned ratio serves short and long videos alike:

    * no poll before ``D`` times the ``low_quantile`` of the ratios (less
      ``lead``, a fraction of it);
    * then one every ``step`` times the expected translation time (``D`` times
      the median ratio), clamped to ``[min_step, max_step]``;
    * past ``give_up`` times ``D`` times the ``high_quantile``: no opinion.

    With fewer than ``min_samples`` ratios learned it uses ``prior_ratio``, when
    given, as if the ratios spread ``prior_spread`` (a fraction) either side of
    it; otherwise (and for a job whose video duration is unknown) it has no
    opinion.  No prior by default: a guessed speed that is wrong by a factor
    of ten would make the first jobs that much late.
    """

    min_samples: int = 3
    low_quantile: float = 0.0
    high_quantile: float = 0.95
    lead: float = 0.05
    step: float = 0.03
    min_step: float = 0.2
    max_step: float = 25.0
    give_up: float = 1.5
    jitter: float = 0.1
    prior_ratio: float | None = None
    prior_spread: float = 0.5

    def next_delay(self, state: PollState) -> Decision | None:
        video = state.video_duration
        if video is None or video <= 0 or state.polls == 0:
            return None
        ratios = state.ratios
        if ratios is not None and len(ratios) >= self.min_samples:
            low = ratios.quantile(self.low_quantile)
            middle = ratios.quantile(0.5)
            high = ratios.quantile(self.high_quantile)
            source = "learned"
        elif self.prior_ratio is not None:
            middle = self.prior_ratio
            low = middle * (1.0 - self.prior_spread)
            high = middle * (1.0 + self.prior_spread)
            source = "prior"
        else:
            return None
        t = state.elapsed
        first = low * video * (1.0 - self.lead)
        if t < first:
            delay = (first - t) * state.rng.uniform(1.0, 1.0 + self.jitter / 2)
            return Decision(delay, f"video duration ({source} ratio): skip")
        if t > self.give_up * high * video:
            return None
        interval = min(self.max_step, max(self.min_step, self.step * middle * video))
        reason = f"video duration ({source} ratio): near end"
        return Decision(_jitter(state.rng, interval, self.jitter), reason)


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


def default_policy() -> PollPolicy:
    """Server hints, then the caller's expected duration, then learned, then backoff."""
    return Capped(
        Chain(ServerHinted(), ExpectedDuration(), Learned(), Backoff()),
        min_delay=0.0,
        max_delay=30.0,
    )


def economical_policy() -> PollPolicy:
    """The default chain, paced for fewer requests on a plain server, at some lateness.

    Server hints, the caller's expected duration, then the learned schedule and the
    backoff, as in :func:`default_policy`; only the last two are spaced wider:

    * :class:`Learned` trusts fewer samples (4), skips to 0.2 s past the 37 % quantile
      of the durations seen, and spaces polls ``0.75 / sqrt(hazard)`` apart, up to 2.5 s,
      where the default skips to 0.5 s past the 1 % quantile and uses
      ``0.41 / sqrt(hazard)``, up to 0.95 s;
    * :class:`Backoff` (nothing learned yet) is ``clamp(0.3 * age, 2, 10)`` s, where the
      default is ``clamp(0.3 * (age - 9), 0.75, 5)``.

    On workload W (200 jobs over 20 s, log-normal durations, median 4 s, sigma 0.6) in
    the fake-clock simulation, it makes about 3.3 requests per job with a median
    lateness of about 0.84 s, where the default makes 5.9 with 0.38 s and a fixed 1 s
    poller 6.3 with 0.5 s: cheaper and sooner than exponential backoff (google-api-core,
    tenacity, polling2, backoff: 3.9-5.6 requests per job, 1.2-2.1 s late).  Its p95
    lateness (about 2.3 s) is nearly 3 times the default's.  Pick it when a request
    costs you more than a second of waiting.

    Hints and the caller's estimate decide as in the default, but the first poll of a
    job also waits for the 37 % quantile: against a hints server that saves requests
    and learns short jobs later (simulated on W: median lateness 0.19 s, not 0.08 s),
    so keep the default there.
    """
    return Capped(
        Chain(
            ServerHinted(),
            ExpectedDuration(),
            Learned(min_samples=4, skip_quantile=0.37, lead=-0.2, scale=0.75, max_interval=2.5),
            Backoff(initial=2.0, growth=0.3, maximum=10.0, hold=0.0),
        ),
        min_delay=0.0,
        max_delay=30.0,
    )


def heygen_policy(time_scale: float = 1.0) -> PollPolicy:
    """The default for ``api="heygen"``: jobs that take minutes.

    HeyGen gives no hints and no progress, and a translation takes about as
    long as its video, or more; so, best source first:

    * the caller's ``expected_duration``, polled near its end every 8 % of it,
      up to 25 s apart;
    * :class:`VideoDuration`: the job's video length times the translation
      seconds per video second learned from finished jobs;
    * :class:`Learned` on absolute durations (jobs whose length is unknown),
      spaced ``1.5 / sqrt(hazard)``, up to 25 s;
    * with nothing learned, :class:`Backoff` ``clamp(0.5 * age, 1, 35)`` s
      (28-35 s at the cap, about as far apart as HeyGen CLI's polls): a
      20-minute job costs about 50 requests, where the mock's default (capped
      at 5 s) would spend about 290.

    Server hints come first, as in :func:`default_policy`, should a server send
    them.  The delay is capped at 60 s.

    Args:
        time_scale: how many times faster than HeyGen's the server's jobs run
            (the mock server's ``--time-scale``): every interval above is
            divided by it, and ``Learned``'s spacing by its square root (a
            hazard grows by the scale, and the spacing goes as its inverse
            square root), so that the schedule is HeyGen's, sped up.
    """
    if not (math.isfinite(time_scale) and time_scale > 0):
        raise ValueError(f"time_scale must be a positive number, got {time_scale!r}")
    f = time_scale
    return Capped(
        Chain(
            ServerHinted(),
            ExpectedDuration(min_step=0.1 / f, max_step=25.0 / f),
            VideoDuration(min_step=0.2 / f, max_step=25.0 / f),
            Learned(
                lead=-0.5 / f,
                scale=1.5 / math.sqrt(f),
                min_interval=0.2 / f,
                max_interval=25.0 / f,
            ),
            Backoff(
                initial=1.0 / f, growth=0.5, maximum=35.0 / f, hold=0.0, first_jitter=0.02 / f
            ),
        ),
        min_delay=0.0,
        max_delay=60.0 / f,
    )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """What to do after a status request *failed*; separate from the poll policy.

    Transport errors, timeouts, 5xx, 429 and malformed answers are retried with
    full-jitter backoff: ``uniform(0, min(cap, base * 2**attempt))``, but never sooner
    than a ``Retry-After`` the server sent (clamped to ``retry_after_max``).  Other 4xx
    fail at once.  After ``max_attempts`` consecutive failures, or ``budget`` seconds
    since the first of them, the job's futures fail with the last error.

    Attributes:
        max_attempts: consecutive failed requests allowed per job.
        base: the backoff's first step, seconds.
        cap: the largest backoff, seconds.
        budget: seconds of consecutive failure allowed per job.
        retry_after_max: a larger ``Retry-After`` is read as this many seconds.
    """

    max_attempts: int = 10
    base: float = 0.25
    cap: float = 8.0
    budget: float = 120.0
    retry_after_max: float = 120.0

    def is_retryable(self, error: BaseException) -> bool:
        """True when a request that failed with ``error`` is worth retrying.

        Transport errors and timeouts (unless marked ``retryable=False``, like an
        invalid URL), 5xx, 429 and malformed answers are; other 4xx (``JobNotFound``
        included), ``ClientClosed`` and any other exception (a bug) are not.  The
        scheduler asks this; subclass and override it to retry something else.
        """
        if isinstance(error, ClientClosed):
            return False
        if isinstance(error, HTTPStatusError):
            return error.retryable and not isinstance(error, JobNotFound)
        if isinstance(error, TransportError | MalformedResponse):
            return error.retryable
        return False

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter delay before retry number ``attempt`` (1-based)."""
        return rng.uniform(0.0, min(self.cap, self.base * 2.0 ** min(attempt - 1, 30)))

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """The backoff, raised to ``retry_after`` (clamped) when the server sent one."""
        delay = self.backoff(attempt, rng)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry_after_max))
        return delay

    def exhausted(self, attempt: int, failing_for: float) -> bool:
        """True when no retry is left."""
        return attempt >= self.max_attempts or failing_for >= self.budget
