"""Immutable values: job statuses, server capabilities, events and counters."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from heygen_client.errors import MalformedResponse

__all__ = [
    "Capabilities",
    "ClientStats",
    "JobResult",
    "JobStatus",
    "PollEvent",
    "PollHook",
    "StateChange",
    "StateChangeHook",
    "WebhookEndpoint",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_KNOWN_KEYS = frozenset({"job_id", "result", "progress", "remaining_seconds"})
_VIDEO_DURATION_KEYS = ("duration", "video_length")


class JobResult(enum.StrEnum):
    """A job's state; compares equal to the strings the server sends."""

    PENDING = "pending"
    COMPLETED = "completed"
    ERROR = "error"

    @property
    def is_final(self) -> bool:
        """True for ``completed`` and ``error``, which never change again."""
        return self is not JobResult.PENDING


@dataclass(frozen=True, slots=True)
class JobStatus:
    """One answer about one job.

    Attributes:
        job_id: the job's id; empty for the seed's single job (``GET /status``
            without an id) when the server does not name it.
        result: ``"pending"``, ``"completed"`` or ``"error"`` (a :class:`JobResult`).
        progress: 0.0 to 1.0 when the server gave it.
        remaining_seconds: the server's estimate of time left, when given.
        retry_after: the ``Retry-After`` of this answer in seconds, when given.
        received_at: wall-clock time (``time.time()``) when the answer arrived.
        extra: any other fields of the answer, read-only.  Against HeyGen, every
            field of its answer: ``status`` (HeyGen's own word), ``video_url``,
            ``srt_caption_url``, ``duration``, ``failure_message``...
    """

    job_id: str
    result: JobResult
    progress: float | None = None
    remaining_seconds: float | None = None
    retry_after: float | None = None
    received_at: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, repr=False)

    @property
    def is_final(self) -> bool:
        """True when the job completed or ended in error."""
        return self.result.is_final

    @property
    def video_duration(self) -> float | None:
        """Seconds of video being translated, when the answer says (HeyGen's
        ``duration``, the mock's ``video_length``); None otherwise."""
        for name in _VIDEO_DURATION_KEYS:
            seconds = _number(self.extra.get(name))
            if seconds is not None and seconds > 0:
                return seconds
        return None

    @property
    def failure_message(self) -> str | None:
        """Why the job failed, when the server said (HeyGen's ``failure_message``)."""
        message = self.extra.get("failure_message")
        return message if isinstance(message, str) and message else None

    @classmethod
    def from_json(
        cls,
        data: object,
        *,
        job_id: str | None = None,
        retry_after: float | None = None,
        received_at: float = 0.0,
    ) -> JobStatus:
        """Parse one status object.

        Raises:
            MalformedResponse: not an object, or an unknown ``result``.
        """
        if not isinstance(data, dict):
            raise MalformedResponse(f"status is not a JSON object: {data!r:.200}")
        try:
            result = JobResult(str(data.get("result")))
        except ValueError as exc:
            raise MalformedResponse(f"unknown result {data.get('result')!r:.100}") from exc
        raw_id = data.get("job_id", job_id)
        if raw_id is None:
            raw_id = ""  # the seed's single job, unnamed
        if not isinstance(raw_id, str):
            raise MalformedResponse(f"job_id is not a string: {raw_id!r:.100}")
        extra = {k: v for k, v in data.items() if k not in _KNOWN_KEYS}
        return cls(
            job_id=raw_id,
            result=result,
            progress=_number(data.get("progress")),
            remaining_seconds=_number(data.get("remaining_seconds")),
            retry_after=retry_after,
            received_at=received_at,
            extra=_shared_extra(extra) if extra else _EMPTY,
        )


_SCALARS = (str, int, float, bool, type(None))
_SHARED_EXTRAS: dict[tuple[object, ...], Mapping[str, Any]] = {}
_SHARED_EXTRAS_MAX = 1024


def _shared_extra(extra: dict[str, Any]) -> Mapping[str, Any]:
    """A read-only view of ``extra``, shared by equal ones made of plain scalars.

    With 10,000 jobs tracked, most answers carry the same extras (say
    ``{"retry_after": 300}``); one mapping each would cost ~220 bytes per job.
    The key holds each value's exact type (and a float's hex, so ``-0.0`` and
    ``0.0`` differ), so a shared mapping always equals the one it stands for.
    """
    if not all(type(v) in _SCALARS for v in extra.values()):
        return MappingProxyType(extra)
    key = tuple((k, type(v), v.hex() if isinstance(v, float) else v) for k, v in extra.items())
    shared = _SHARED_EXTRAS.get(key)
    if shared is None:
        shared = MappingProxyType(extra)
        if len(_SHARED_EXTRAS) < _SHARED_EXTRAS_MAX:  # bounded: unique extras are not kept
            _SHARED_EXTRAS[key] = shared
    return shared


def _number(value: object) -> float | None:
    """A finite float, or None for anything else (hints are advice; junk is ignored)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the server offers (``GET /capabilities``); :data:`PLAIN` when it says nothing."""

    hints: bool = False
    long_poll_max_wait: float | None = None
    batch_max_ids: int | None = None

    @classmethod
    def from_json(cls, data: object) -> Capabilities:
        """Parse the capabilities document; anything unreadable counts as "not offered"."""
        if not isinstance(data, dict):
            return PLAIN
        long_poll = data.get("long_poll")
        batch = data.get("batch")
        max_wait = _number(long_poll.get("max_wait")) if isinstance(long_poll, dict) else None
        max_ids = _number(batch.get("max_ids")) if isinstance(batch, dict) else None
        return cls(
            hints=data.get("hints") is True,
            long_poll_max_wait=max_wait if max_wait and max_wait > 0 else None,
            batch_max_ids=int(max_ids) if max_ids and max_ids >= 1 else None,
        )


PLAIN = Capabilities()


@dataclass(frozen=True, slots=True)
class PollEvent:
    """Sent to ``on_poll`` hooks after every status request about a job.

    Attributes:
        job_id: the job (None for the seed's single job).
        elapsed: seconds since the job was first tracked.
        poll: how many status requests this job has had, this one included.
        result: the job's result, or None when the request failed.
        error: the error when the request failed, else None.
        next_delay: seconds until the next poll, or None when polling stopped.
        reason: why that delay was chosen (e.g. ``"server remaining_seconds"``).
        kind: ``"poll"``, ``"long-poll"``, ``"batch"`` or ``"batch long-poll"``.
    """

    job_id: str | None
    elapsed: float
    poll: int
    result: JobResult | None
    error: BaseException | None
    next_delay: float | None
    reason: str
    kind: str


@dataclass(frozen=True, slots=True)
class StateChange:
    """Sent to ``on_state_change`` hooks when a job's result changes (or first becomes known).

    Attributes:
        job_id: the job (None for the seed's single job).
        old: the previous result, or None for the first answer.
        new: the new result.
        elapsed: seconds since the job was first tracked.
        status: the status that carried the change.
    """

    job_id: str | None
    old: JobResult | None
    new: JobResult
    elapsed: float
    status: JobStatus


class PollHook(Protocol):
    """Called with a :class:`PollEvent` after every poll of a job."""

    def __call__(self, event: PollEvent, /) -> object: ...


class StateChangeHook(Protocol):
    """Called with a :class:`StateChange` when a job's result changes."""

    def __call__(self, event: StateChange, /) -> object: ...


@dataclass(frozen=True, slots=True)
class ClientStats:
    """A snapshot of a client's counters (:meth:`TranslationClient.stats`).

    Attributes:
        requests: HTTP requests by outcome: ``"ok"``, ``"http_3xx"`` (a redirect not
            followed), ``"http_4xx"``, ``"http_429"``, ``"http_5xx"``, ``"transport"``,
            ``"timeout"``, ``"malformed"``.
        polls: status requests per job id (the seed's job is ``""``); a batch request
            counts once for each job in it.
        status_requests: HTTP status requests made (a batch counts once).
        tracked: jobs being polled now.
    """

    requests: Mapping[str, int]
    polls: Mapping[str, int]
    status_requests: int
    tracked: int

    @property
    def total_requests(self) -> int:
        """All HTTP requests made, whatever their outcome."""
        return sum(self.requests.values())


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """A webhook receiver registered with HeyGen (:meth:`TranslationClient.register_webhook`).

    Attributes:
        endpoint_id: HeyGen's id for it.
        url: where HeyGen posts events.
        secret: signs what HeyGen sends it; HeyGen shows it only at creation.
            Kept out of the ``repr``.
        events: the event types it receives; None for all.
        status: HeyGen's word for it (``"enabled"``...), when given.
        extra: every field of HeyGen's answer, the secret included.
    """

    endpoint_id: str
    url: str
    secret: str = field(repr=False)
    events: tuple[str, ...] | None = None
    status: str | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False)
