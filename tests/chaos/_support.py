"""Helpers for the chaos tests: forced jobs, server-side records, and the checks.

The tests look at what happened from the server's side. Jobs are created
with ``POST /jobs {"delay": ..., "outcome": ...}``, so each one's true outcome
is known in advance; ``GET /jobs/ID`` gives the arrival time and answer of
every status request made for it (``status_request_log``), which is how
"no poll sooner than ``Retry-After``" is checked without trusting the client.

These helpers talk to the server with a plain ``requests.Session``, never
through the client under test. ``POST /jobs`` and ``GET /jobs/ID`` are never
faulted, but they are rate limited, so they wait out 429s themselves.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
import requests.adapters

from mock_server.testing import LiveServer

#: Slack when comparing server arrival times with a Retry-After. The gap we
#: measure is arrival-to-arrival on the server's clock; the client starts its
#: wait only when the answer reaches it, later than the first arrival, so a
#: well-behaved client always shows a gap of at least Retry-After. The slack
#: only absorbs clock granularity.
RETRY_AFTER_SLACK = 0.02
#: How long a helper request may wait out 429s before giving up.
HELPER_PATIENCE = 20.0


@dataclass(frozen=True, slots=True)
class ForcedJob:
    """A job whose delay and outcome we chose."""

    job_id: str
    delay: float
    outcome: str
    #: When the job ends, on the server's (wall) clock.
    finishes_at: float


#: The probe's source addresses. The server rate-limits per client address;
#: spreading the probe's requests over loopback addresses of its own means it
#: neither spends the client's tokens nor waits for its own.
PROBE_ADDRESSES = tuple(f"127.0.0.{i}" for i in range(2, 18))


class _SourceAddressAdapter(requests.adapters.HTTPAdapter):
    """Connects from ``address`` instead of the default loopback address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class ServerProbe:
    """The test's own view of a live server (never faulted, waits out 429s).

    Args:
        server: The running server.
    """

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.sessions = []
        for address in PROBE_ADDRESSES:
            session = requests.Session()
            session.mount("http://", _SourceAddressAdapter(address))
            self.sessions.append(session)
        self._next = itertools.cycle(self.sessions)

    def close(self) -> None:
        """Close the sessions' connections."""
        for session in self.sessions:
            session.close()

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        deadline = time.monotonic() + HELPER_PATIENCE
        while True:
            session = next(self._next)
            response = session.request(method, self.server.url + path, json=body, timeout=10)
            if response.status_code != 429 or time.monotonic() > deadline:
                response.raise_for_status()
                return response.json()
            time.sleep(float(response.headers.get("Retry-After", "1")))

    def create_jobs(
        self,
        count: int,
        *,
        seed: int,
        delay: tuple[float, float] = (0.5, 2.5),
        error_share: float = 0.3,
    ) -> list[ForcedJob]:
        """Create ``count`` jobs with seeded delays and outcomes (about ``error_share`` errors)."""
        rng = random.Random(seed)
        jobs = []
        for i in range(count):
            # At least one of each outcome whatever the draw.
            outcome = "error" if i == 0 or (i > 1 and rng.random() < error_share) else "completed"
            job_delay = round(rng.uniform(*delay), 3)
            record = self._call("POST", "/jobs", {"delay": job_delay, "outcome": outcome})
            jobs.append(ForcedJob(record["job_id"], job_delay, outcome, record["finishes_at"]))
        return jobs

    def record(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/ID``: the job's record with its status request log."""
        result: dict[str, Any] = self._call("GET", f"/jobs/{job_id}")
        return result

    def stats(self) -> dict[str, Any]:
        """``GET /stats`` (never rate limited)."""
        result: dict[str, Any] = self._call("GET", "/stats")
        return result


def retry_after_violations(
    job_id: str, log: list[dict[str, Any]], retry_after: Mapping[str, float]
) -> list[str]:
    """Polls that came sooner than the ``Retry-After`` of the answer before them.

    Args:
        job_id: For the messages.
        log: The job's ``status_request_log``.
        retry_after: The ``Retry-After`` the server sends with each status
            that carries one, e.g. ``{"503": 1.0, "429": 1.0}``.
    """
    # The log is written when each answer is sent; sort by arrival.
    entries = sorted(log, key=lambda entry: entry["at"])
    violations = []
    for before, after in itertools.pairwise(entries):
        wait = retry_after.get(before["status"])
        if wait is None:
            continue
        gap = after["at"] - before["at"]
        if gap < wait - RETRY_AFTER_SLACK:
            violations.append(
                f"{job_id}: polled {gap:.3f}s after a {before['status']} "
                f"with Retry-After {wait:g}s"
            )
    return violations


def rate_limit_retry_after(rate: float) -> float:
    """The ``Retry-After`` of the server's 429s at ``--rate-limit rate``.

    The server sends the whole seconds until a token is back, at least 1. At
    ``rate >= 1`` a token is never more than a second away, so it is exactly 1.
    """
    assert rate >= 1, "the checks assume Retry-After is always 1 s"
    return 1.0
