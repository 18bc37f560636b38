"""What a poll policy is given, what it answers, and the protocol it implements."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from heygen_client.models import JobStatus
from heygen_client.policies._durations import Durations

__all__ = ["Decision", "PollPolicy", "PollState", "jittered"]


@dataclass(frozen=True, slots=True)
class Decision:
    """A policy's answer: wait ``delay`` seconds, because ``reason``."""

    delay: float
    reason: str


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
    """The protocol every poll policy implements (see :mod:`heygen_client.policies`)."""

    def next_delay(self, state: PollState) -> Decision | None:
        """Seconds until the next poll and why, or None for "no opinion"."""
        ...


def jittered(rng: random.Random, value: float, fraction: float) -> float:
    """``value`` moved by up to ``fraction`` of it either way."""
    if fraction <= 0 or value <= 0:
        return value
    return value * rng.uniform(1.0 - fraction, 1.0 + fraction)
