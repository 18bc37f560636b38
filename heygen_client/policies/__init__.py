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

from heygen_client.policies._durations import Durations
from heygen_client.policies._learned import Learned, VideoDuration
from heygen_client.policies._presets import default_policy, economical_policy, heygen_policy
from heygen_client.policies._protocol import Decision, PollPolicy, PollState
from heygen_client.policies._retry import RetryPolicy
from heygen_client.policies._schedules import (
    Backoff,
    Capped,
    Chain,
    ExpectedDuration,
    Fixed,
    ServerHinted,
)

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
