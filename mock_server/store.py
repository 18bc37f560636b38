"""Creating and finding jobs: the random draws, the clock and the id codec.

The store keeps no table of jobs (ids carry their schedule, see ``jobs``);
what it owns is the randomness that decides a job's delay and outcome once,
at creation, and the noise of the server's time estimates.
"""

from __future__ import annotations

import math
import random
import threading

from mock_server.clock import Clock
from mock_server.config import ServerConfig
from mock_server.jobs import Job, JobCodec, Outcome

# Real translation time is not proportional to video length: this is the
# relative spread of the per-second part of the delay.
VIDEO_DELAY_SPREAD = 0.2
# Share of ``estimate_noise`` that changes on every request; the rest is a
# per-job bias fixed at creation, the way a real estimator is consistently
# early or late for a given job.
REQUEST_NOISE_SHARE = 0.25
# HeyGen translations take roughly twice the video's length (its guidance:
# 5-30 minutes for long videos), give or take 30 %.
TRANSLATION_SECONDS_PER_VIDEO_SECOND = 2.0
TRANSLATION_SPREAD = 0.3


class JobStore:
    """Creates jobs with decided schedules and looks them up by id.

    Args:
        config: Delays, error rate, noise and the id secret.
        clock: Source of creation times.
        rng: The seeded generator for every random draw (shared with the
            rest of the app; calls are serialised by the store's lock).
    """

    def __init__(self, config: ServerConfig, clock: Clock, rng: random.Random) -> None:
        self._config = config
        self._clock = clock
        self._rng = rng
        self._lock = threading.Lock()
        self._codec = JobCodec(config.secret)

    def create(
        self,
        *,
        delay: float | None = None,
        outcome: Outcome | None = None,
        video_length: float | None = None,
        texts: dict[str, str] | None = None,
    ) -> tuple[str, Job]:
        """Create a job starting now; its delay and outcome are drawn here, once.

        Args:
            delay: Seconds until it finishes; drawn from the config when ``None``.
            outcome: Forced outcome; drawn from ``error_rate`` when ``None``.
            video_length: Seconds of video; lengthens a drawn delay.
            texts: Descriptive fields (``title``, ``source_language``, ``target_language``).

        Returns:
            The job's id and the job as recorded in it.
        """
        config = self._config
        with self._lock:
            if delay is None:
                delay = config.delay
                if config.delay_max is not None:
                    delay = self._rng.uniform(config.delay, config.delay_max)
                if video_length is not None:
                    spread = self._rng.uniform(1 - VIDEO_DELAY_SPREAD, 1 + VIDEO_DELAY_SPREAD)
                    delay += video_length * config.delay_per_video_second * spread
                delay = min(delay, config.max_delay)
            if outcome is None:
                outcome = "error" if self._rng.random() < config.error_rate else "completed"
            nonce = self._rng.getrandbits(32)
        texts = texts or {}
        job = Job(
            created_at=self._clock.now(),
            delay=delay,
            outcome=outcome,
            nonce=nonce,
            video_length=video_length,
            source_language=texts.get("source_language"),
            target_language=texts.get("target_language"),
            title=texts.get("title"),
        )
        return self._codec.encode(job)

    def translation_delay(self, duration: float) -> float:
        """A v3 translation's time for ``duration`` seconds of video, drawn once.

        About ``TRANSLATION_SECONDS_PER_VIDEO_SECOND`` times the duration,
        ±``TRANSLATION_SPREAD``, divided by ``--time-scale`` and capped at
        ``--max-delay``.
        """
        with self._lock:
            spread = self._rng.uniform(1 - TRANSLATION_SPREAD, 1 + TRANSLATION_SPREAD)
        delay = duration * TRANSLATION_SECONDS_PER_VIDEO_SECOND * spread / self._config.time_scale
        return min(delay, self._config.max_delay)

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or ``None`` when the id is unknown or forged."""
        return self._codec.decode(job_id)

    def estimate_remaining(self, job: Job, now: float) -> float:
        """The server's noisy estimate of seconds left (0 once finished).

        The error is relative to the true remaining time: a per-job bias
        derived from the job's nonce (so every worker agrees on it) plus a
        small per-request jitter from the seeded generator.
        """
        remaining = max(0.0, job.finishes_at - now)
        noise = self._config.estimate_noise
        if remaining == 0.0 or noise == 0.0:
            return remaining
        # Spread the nonce over [-1, 1) with a multiplicative hash.
        unit = ((job.nonce * 2654435761) % 2**32) / 2**31 - 1.0
        bias = unit * noise * (1 - REQUEST_NOISE_SHARE)
        with self._lock:
            jitter = self._rng.uniform(-1.0, 1.0) * noise * REQUEST_NOISE_SHARE
        return max(0.0, remaining * (1.0 + bias + jitter))


def progress(job: Job, now: float) -> float:
    """Fraction of the delay elapsed, in [0, 1]; 1 once finished."""
    if job.delay <= 0 or now >= job.finishes_at:
        return 1.0
    return min(1.0, max(0.0, (now - job.created_at) / job.delay))


def retry_after_hint(estimate: float) -> int:
    """Suggested seconds until the next poll of a pending job (RFC 9110 delay-seconds).

    Half the estimated time left, so a client polls about twice more before
    the estimate runs out and is not hurt much by a late estimate; at least
    1 s, and at most 300 s so a very long job still gets looked at.
    """
    return max(1, min(300, math.ceil(estimate / 2)))
