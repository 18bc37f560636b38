"""The poll policies paced by what jobs seen finishing took."""

from __future__ import annotations

import math
from dataclasses import dataclass

from heygen_client.policies._protocol import Decision, PollState, jittered

__all__ = ["Learned", "VideoDuration"]


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
        return Decision(jittered(state.rng, interval, self.jitter), "learned schedule")


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
        return Decision(jittered(state.rng, interval, self.jitter), reason)
