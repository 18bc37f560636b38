"""The seeded workload every strategy runs: when each job arrives, its duration, its end."""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Duration:
    """A job-duration distribution.

    ``lognormal:MEDIAN,SIGMA`` or ``uniform:LOW,HIGH`` (seconds).
    """

    kind: str
    a: float
    b: float

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Parse ``"lognormal:4,0.6"`` or ``"uniform:1,5"``.

        Raises:
            ValueError: Unknown kind or bad numbers.
        """
        kind, _, params = text.partition(":")
        parts = params.split(",")
        if kind not in ("lognormal", "uniform") or len(parts) != 2:
            raise ValueError(f"bad distribution {text!r}: want lognormal:M,S or uniform:A,B")
        a, b = float(parts[0]), float(parts[1])
        if kind == "lognormal" and (a <= 0 or b < 0):
            raise ValueError(f"bad log-normal {text!r}: median > 0 and sigma >= 0")
        if kind == "uniform" and not 0 <= a <= b:
            raise ValueError(f"bad uniform {text!r}: want 0 <= A <= B")
        return cls(kind, a, b)

    def draw(self, rng: random.Random) -> float:
        """One duration in seconds."""
        if self.kind == "lognormal":
            return rng.lognormvariate(math.log(self.a), self.b)
        return rng.uniform(self.a, self.b)

    def __str__(self) -> str:
        return f"{self.kind}:{self.a:g},{self.b:g}"


@dataclass(frozen=True)
class JobSpec:
    """One job of the workload."""

    index: int
    arrival: float
    delay: float
    outcome: str


@dataclass(frozen=True)
class Workload:
    """Parameters of a workload; ``jobs()`` draws the same jobs for the same seed."""

    jobs_count: int = 200
    spread: float = 20.0
    duration: Duration = Duration("lognormal", 4.0, 0.6)
    clip: tuple[float, float] = (1.0, 15.0)
    error_rate: float = 0.1
    seed: int = 1

    def jobs(self) -> list[JobSpec]:
        """Arrivals uniform over ``[0, spread]``, sorted; clipped durations; outcomes."""
        rng = random.Random(self.seed)
        arrivals = sorted(rng.uniform(0.0, self.spread) for _ in range(self.jobs_count))
        lo, hi = self.clip
        jobs = []
        for index, arrival in enumerate(arrivals):
            delay = min(max(self.duration.draw(rng), lo), hi)
            outcome = "error" if rng.random() < self.error_rate else "completed"
            jobs.append(JobSpec(index, round(arrival, 4), round(delay, 4), outcome))
        return jobs

    @property
    def longest(self) -> float:
        """The longest a job can take."""
        return self.clip[1]

    def describe(self) -> str:
        """One line for reports."""
        return (
            f"{self.jobs_count} jobs arriving over {self.spread:g} s, durations {self.duration} "
            f"clipped to {self.clip[0]:g}-{self.clip[1]:g} s, error rate {self.error_rate:g}, "
            f"seed {self.seed}"
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-able description."""
        data = asdict(self)
        data["duration"] = str(self.duration)
        return data
