"""The built-in chains: the mock's default, the economical one, and HeyGen's."""

from __future__ import annotations

import math

from heygen_client.policies._learned import Learned, VideoDuration
from heygen_client.policies._protocol import PollPolicy
from heygen_client.policies._schedules import (
    Backoff,
    Capped,
    Chain,
    ExpectedDuration,
    ServerHinted,
)

__all__ = ["default_policy", "economical_policy", "heygen_policy"]


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
