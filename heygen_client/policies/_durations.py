"""Durations: the sample of job durations the learned policies read."""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

__all__ = ["Durations"]


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
