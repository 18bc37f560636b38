"""What the v3 routes remember in this process, beyond the job ids.

A v3 translation is a mock job: its id carries its schedule (see ``jobs``),
so any process with the secret answers for it, after a restart too. What
does not fit in the id is kept here, in memory and bounded:

- each translation's extras: the full title and languages, ``callback_id``,
  ``translate_audio_only`` (after a restart, or once evicted, the answer
  falls back to what the id holds: text cut to fit, ``callback_id`` null);
- the unfinished translations that ``--concurrency-limit`` counts;
- the answers of ``Idempotency-Key`` requests, for 24 hours;
- the registered webhook endpoints.
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from mock_server.webhooks import Endpoint

#: Seconds an ``Idempotency-Key``'s answer is replayed.
IDEMPOTENCY_TTL = 24 * 3600.0
#: Translations whose extras are kept; the oldest are forgotten first.
TRANSLATIONS_KEPT = 100_000
#: Idempotency keys kept; beyond it the oldest answered ones are forgotten.
KEYS_KEPT = 100_000
#: Most registered webhook endpoints.
MAX_ENDPOINTS = 1000


@dataclass(frozen=True)
class TranslationInfo:
    """A v3 translation's fields that its id may not hold in full.

    Attributes:
        title: As given at creation.
        output_language: Its target language.
        input_language: As given at creation.
        callback_id: Echoed in its status and webhook.
        translate_audio_only: As given at creation.
    """

    title: str | None
    output_language: str
    input_language: str | None
    callback_id: str | None
    translate_audio_only: bool


@dataclass
class _KeyRecord:
    stored_at: float
    answer: dict[str, Any] | None = None  # None while the first request runs


Claim = Literal["new", "in_progress", "replay"]


class Translations:
    """Thread-safe memory of the v3 routes (one per app).

    Args:
        kept: Translations whose extras are kept.
        keys_kept: Idempotency keys kept.
    """

    def __init__(self, kept: int = TRANSLATIONS_KEPT, keys_kept: int = KEYS_KEPT) -> None:
        self._kept = kept
        self._keys_kept = keys_kept
        self._lock = threading.Lock()
        # Held from counting the running translations to recording the new
        # ones, so two creates cannot both squeeze under the limit.
        self._admission = threading.Lock()
        self._info: collections.OrderedDict[str, TranslationInfo] = collections.OrderedDict()
        self._ends: list[float] = []  # heap of unfinished translations' ends
        self._keys: collections.OrderedDict[str, _KeyRecord] = collections.OrderedDict()
        self._endpoints: dict[str, Endpoint] = {}

    # -- translations ---------------------------------------------------------

    @contextlib.contextmanager
    def admission(self) -> Iterator[None]:
        """Hold while checking ``running`` and then ``add``-ing new translations."""
        with self._admission:
            yield

    def running(self, now: float) -> tuple[int, float | None]:
        """Unfinished translations created here, and the soonest end among them."""
        with self._lock:
            self._forget_ended(now)
            return len(self._ends), (self._ends[0] if self._ends else None)

    def add(self, job_id: str, finishes_at: float, info: TranslationInfo, now: float) -> None:
        """Remember a translation just created (at ``now``)."""
        with self._lock:
            self._forget_ended(now)
            heapq.heappush(self._ends, finishes_at)
            self._info[job_id] = info
            if len(self._info) > self._kept:
                self._info.popitem(last=False)

    def _forget_ended(self, now: float) -> None:
        while self._ends and self._ends[0] <= now:
            heapq.heappop(self._ends)

    def info(self, job_id: str) -> TranslationInfo | None:
        """The extras of a translation created here, if still kept."""
        with self._lock:
            return self._info.get(job_id)

    # -- idempotency ------------------------------------------------------------

    def claim(self, key: str, now: float) -> tuple[Claim, dict[str, Any] | None]:
        """Start a request under ``key``, or learn it was already made.

        Returns:
            ``("new", None)``: go ahead, then ``complete`` or ``release`` the key;
            ``("in_progress", None)``: the first request has not answered yet;
            ``("replay", answer)``: answer this again.
        """
        with self._lock:
            self._expire(now)
            record = self._keys.get(key)
            if record is None:
                self._keys[key] = _KeyRecord(stored_at=now)
                return "new", None
            if record.answer is None:
                return "in_progress", None
            return "replay", record.answer

    def complete(self, key: str, answer: dict[str, Any], now: float) -> None:
        """Keep ``answer`` for repeats of ``key`` during ``IDEMPOTENCY_TTL``."""
        with self._lock:
            self._keys.pop(key, None)
            self._keys[key] = _KeyRecord(stored_at=now, answer=answer)
            if len(self._keys) > self._keys_kept:
                oldest = next((k for k, r in self._keys.items() if r.answer is not None), None)
                if oldest is not None:
                    del self._keys[oldest]

    def release(self, key: str) -> None:
        """Forget a key whose request failed, so a retry can succeed."""
        with self._lock:
            record = self._keys.get(key)
            if record is not None and record.answer is None:
                del self._keys[key]

    def _expire(self, now: float) -> None:
        # Answered keys are re-inserted at completion, so the dict runs oldest first.
        while self._keys:
            key, record = next(iter(self._keys.items()))
            if record.answer is None or now - record.stored_at < IDEMPOTENCY_TTL:
                return
            del self._keys[key]

    # -- webhook endpoints ---------------------------------------------------------

    def add_endpoint(self, endpoint: Endpoint) -> bool:
        """Register ``endpoint``; ``False`` when ``MAX_ENDPOINTS`` are already registered."""
        with self._lock:
            if len(self._endpoints) >= MAX_ENDPOINTS:
                return False
            self._endpoints[endpoint.endpoint_id] = endpoint
            return True

    def endpoints(self) -> list[Endpoint]:
        """The registered endpoints, oldest first."""
        with self._lock:
            return list(self._endpoints.values())
