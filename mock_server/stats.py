"""Per-process request counters behind ``GET /stats`` and ``GET /jobs/ID``.

Counters live in memory and belong to one server process: under gunicorn,
each worker counts only the requests it answered. ``/stats`` needs no
authentication, so it shows aggregates only; per-job records are seen one
job at a time, through ``GET /jobs/ID``.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
from array import array
from collections.abc import Iterable, Iterator
from typing import Any

#: How many of a job's latest status requests ``GET /jobs/ID`` lists.
LOG_KEPT = 32
#: How many jobs' request records are kept; the least recently polled go first.
JOBS_KEPT = 100_000


class _JobRequests:
    """One job's status-request count and its latest ``LOG_KEPT`` requests.

    Anyone may poll any number of jobs, so a record is kept small: a ring of
    arrival times and answer numbers in flat arrays (about 300 bytes when
    full), not a list of objects.
    """

    __slots__ = ("answers", "count", "times")

    def __init__(self) -> None:
        self.count = 0
        self.times = array("d")
        # Index into ``Stats._answer_names``; answers are a small fixed set.
        self.answers = array("H")

    def add(self, at: float, answer: int) -> None:
        if len(self.times) < LOG_KEPT:
            self.times.append(at)
            self.answers.append(answer)
        else:
            slot = self.count % LOG_KEPT
            self.times[slot] = at
            self.answers[slot] = answer
        self.count += 1

    def log(self) -> list[tuple[float, int]]:
        """The kept requests, oldest first."""
        start = self.count % LOG_KEPT if len(self.times) == LOG_KEPT else 0
        pairs = list(zip(self.times, self.answers, strict=True))
        return pairs[start:] + pairs[:start]


class Stats:
    """Thread-safe counters of requests, status requests per job and long-polls.

    Args:
        started_at: Server-clock time the app was created.
        jobs_kept: Per-job records kept; beyond it the least recently polled
            job's record is dropped (its counts start again from zero).
    """

    def __init__(self, started_at: float, jobs_kept: int = JOBS_KEPT) -> None:
        self.started_at = started_at
        self._jobs_kept = jobs_kept
        self._lock = threading.Lock()
        self._requests: dict[str, collections.Counter[str]] = {}
        self._status_total = 0
        # Ordered by last poll, so a long benchmark's memory stays bounded.
        self._jobs: collections.OrderedDict[str, _JobRequests] = collections.OrderedDict()
        self._answer_names: list[str] = []
        self._answer_numbers: dict[str, int] = {}
        self._faults: collections.Counter[str] = collections.Counter()
        self._long_polls = 0
        self._long_polls_peak = 0
        self._jobs_created = 0
        self._webhooks: collections.Counter[str] = collections.Counter()

    def record_request(self, endpoint: str, status: str) -> None:
        """Count one answered HTTP request, e.g. ``("GET /status", "200")``."""
        with self._lock:
            self._requests.setdefault(endpoint, collections.Counter())[status] += 1

    def record_status_request(self, job_ids: Iterable[str], at: float, status: str) -> None:
        """Count one status request (single or batch) and log it against each job.

        Args:
            job_ids: The known jobs it asked about (one per listed job for a batch).
            at: Server-clock time the request arrived.
            status: What was answered: an HTTP status code, or a fault kind
                such as ``"drop"``.
        """
        with self._lock:
            self._status_total += 1
            answer = self._answer_numbers.get(status)
            if answer is None:
                answer = self._answer_numbers[status] = len(self._answer_names)
                self._answer_names.append(status)
            for job_id in job_ids:
                record = self._jobs.get(job_id)
                if record is None:
                    record = self._jobs[job_id] = _JobRequests()
                    if len(self._jobs) > self._jobs_kept:
                        self._jobs.popitem(last=False)
                else:
                    self._jobs.move_to_end(job_id)
                record.add(at, answer)

    def record_fault(self, kind: str) -> None:
        """Count one injected fault (``"500"``, ``"drop"``, ``"429"``, ...)."""
        with self._lock:
            self._faults[kind] += 1

    def record_job_created(self, count: int = 1) -> None:
        """Count jobs created (``POST /jobs``: one; a v3 create: one per language)."""
        with self._lock:
            self._jobs_created += count

    def record_webhook(self, outcome: str) -> None:
        """Count one webhook ``"sent"`` (a POST made), ``"failed"`` or ``"dropped"``."""
        with self._lock:
            self._webhooks[outcome] += 1

    @contextlib.contextmanager
    def long_poll(self) -> Iterator[None]:
        """Count a long-poll as held for the duration of the ``with`` block."""
        with self._lock:
            self._long_polls += 1
            self._long_polls_peak = max(self._long_polls_peak, self._long_polls)
        try:
            yield
        finally:
            with self._lock:
                self._long_polls -= 1

    def reset(self) -> None:
        """Zero every counter, as if the server had just started (``DELETE /admin/stats``).

        Long-polls held now stay counted as active, so the gauge still goes
        back to zero when they end; the peak starts again from them.
        """
        with self._lock:
            self._requests.clear()
            self._status_total = 0
            self._jobs.clear()
            self._faults.clear()
            self._long_polls_peak = self._long_polls
            self._jobs_created = 0
            self._webhooks.clear()

    def job_requests(self, job_id: str) -> dict[str, Any]:
        """``status_requests``, ``status_request_times`` and ``status_request_log`` for a job."""
        with self._lock:
            record = self._jobs.get(job_id, _JobRequests())
            log = [(at, self._answer_names[answer]) for at, answer in record.log()]
            count = record.count
        return {
            "status_requests": count,
            "status_request_times": [at for at, _ in log],
            "status_request_log": [{"at": at, "status": status} for at, status in log],
        }

    def snapshot(self, now: float) -> dict[str, Any]:
        """The ``GET /stats`` document."""
        with self._lock:
            return {
                "pid": os.getpid(),
                "started_at": self.started_at,
                "server_time": now,
                "requests": {
                    endpoint: dict(sorted(codes.items()))
                    for endpoint, codes in sorted(self._requests.items())
                },
                "status_requests_total": self._status_total,
                "jobs_polled": len(self._jobs),
                "faults_injected": dict(sorted(self._faults.items())),
                "long_polls_active": self._long_polls,
                "long_polls_peak": self._long_polls_peak,
                "jobs_created": self._jobs_created,
                "webhooks_sent": self._webhooks["sent"],
                "webhooks_failed": self._webhooks["failed"],
                "webhooks_dropped": self._webhooks["dropped"],
            }
