"""``heygen-client demo``: start the mock server, track a few jobs, show every poll.

The demo needs the ``[server]`` extra (Flask) for the mock server it starts.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from heygen_client._client import TranslationClient
from heygen_client._futures import JobFuture
from heygen_client.errors import TranslationFailed

__all__ = ["DEMO_JOBS", "MODES", "DemoRow", "mock_server", "run"]

#: Server flags for each mode the demo can show.
MODES: dict[str, tuple[str, ...]] = {
    "plain": ("--plain",),
    "hints": ("--no-long-poll", "--no-batch"),
    "long-poll": ("--no-batch",),
    "batch": (),
}

#: (delay in seconds, forced outcome or None) of the jobs the demo submits.
DEMO_JOBS: tuple[tuple[float, str | None], ...] = (
    (2.0, None),
    (3.5, None),
    (5.0, "error"),
    (6.5, None),
    (8.0, None),
    (11.0, None),
)


@dataclass(frozen=True, slots=True)
class DemoRow:
    """One job of the demo's summary."""

    job_id: str
    delay: float
    result: str
    polls: int
    lateness: float
    fixed_poller_polls: int


@contextlib.contextmanager
def mock_server(*flags: str, timeout: float = 15.0) -> Iterator[str]:
    """Run ``python -m mock_server FLAGS`` on a free port and yield its URL once healthy.

    The process is stopped on exit from the block, whatever happens (Ctrl-C too).
    It is :class:`mock_server.testing.LiveServer`, imported here because the
    mock server is an extra.
    """
    from mock_server.testing import LiveServer  # here: the mock server is an extra

    with LiveServer(*flags, start=False, start_timeout=timeout) as server:
        yield server.url


class _Formatter(logging.Formatter):
    def __init__(self, start: float) -> None:
        super().__init__()
        self.start = start

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.created - self.start:7.3f}s  {record.getMessage()}"


def run(
    mode: str = "hints",
    *,
    scale: float = 1.0,
    jobs: Sequence[tuple[float, str | None]] = DEMO_JOBS,
    out: IO[str] | None = None,
    log: bool = True,
) -> list[DemoRow]:
    """Run the demo; returns the summary rows (and prints them to ``out``).

    Args:
        mode: the server mode, one of :data:`MODES`.
        scale: multiplies every job's delay (tests use a smaller one).
        jobs: (delay, forced outcome) of each job.
        out: where to print (default stdout).
        log: print every poll and state change.
    """
    stream = out if out is not None else sys.stdout
    start = time.time()
    handler: logging.Handler | None = None
    library_logger = logging.getLogger("heygen_client")
    old_level = library_logger.level
    if log:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(_Formatter(start))
        library_logger.addHandler(handler)
        library_logger.setLevel(logging.DEBUG)
    try:
        with mock_server(*MODES[mode], "--seed", "7") as url:
            print(f"mock server ({mode} mode) at {url}", file=stream)
            return _track(url, mode, scale, jobs, stream, start)
    finally:
        if handler is not None:
            library_logger.removeHandler(handler)
            library_logger.setLevel(old_level)


def _track(
    url: str,
    mode: str,
    scale: float,
    jobs: Sequence[tuple[float, str | None]],
    stream: IO[str],
    start: float,
) -> list[DemoRow]:
    def on_done(future: object) -> None:
        assert isinstance(future, JobFuture)
        try:
            future.result()
            outcome = "completed"
        except TranslationFailed:
            outcome = "error"
        except Exception as exc:
            outcome = f"failed: {exc}"
        now = time.time() - start
        print(f"{now:7.3f}s  callback: job {future.job_id} {outcome}", file=stream, flush=True)

    rows: list[DemoRow] = []
    with TranslationClient(url, seed=7) as client:
        submitted: list[tuple[JobFuture, float, float]] = []
        for delay, outcome in jobs:
            options: dict[str, object] = {"delay": round(delay * scale, 3)}
            if outcome:
                options["outcome"] = outcome
            tracked_at = time.time()
            future = client.submit(**options)
            future.add_done_callback(on_done)
            submitted.append((future, delay * scale, tracked_at))
        for future, delay, tracked_at in submitted:
            with contextlib.suppress(TranslationFailed):
                future.result(timeout=60)
            assert future.job_id is not None
            record = client.get_job(future.job_id)
            status = future.status
            assert status is not None
            duration = float(record["finishes_at"]) - tracked_at
            rows.append(
                DemoRow(
                    job_id=future.job_id,
                    delay=delay,
                    result=status.result.value,
                    polls=future.polls,
                    lateness=status.received_at - float(record["finishes_at"]),
                    fixed_poller_polls=max(1, math.ceil(duration)) + 1,
                )
            )
        stats = client.stats()
    _print_table(rows, stream, mode, stats.status_requests)
    return rows


def _print_table(rows: Sequence[DemoRow], stream: IO[str], mode: str, requests_: int) -> None:
    print(file=stream)
    header = (
        f"{'job':<12} {'delay':>6} {'result':<10} {'polls':>5} {'late ms':>8} {'1s poller':>9}"
    )
    print(header, file=stream)
    print("-" * len(header), file=stream)
    for number, row in enumerate(rows, 1):
        name = f"#{number} ..{row.job_id[-6:]}"
        print(
            f"{name:<12} {row.delay:>5.1f}s {row.result:<10} {row.polls:>5}"
            f" {row.lateness * 1000:>8.0f} {row.fixed_poller_polls:>9}",
            file=stream,
        )
    total_polls = sum(r.polls for r in rows)
    total_fixed = sum(r.fixed_poller_polls for r in rows)
    print("-" * len(header), file=stream)
    print(
        f"{'total':<12} {'':>6} {'':<10} {total_polls:>5} {'':>8} {total_fixed:>9}",
        file=stream,
    )
    print(
        f"\n{mode} mode: {requests_} status requests for {len(rows)} jobs "
        f"(a fixed 1 s poller: {total_fixed}, and up to 1000 ms late).",
        file=stream,
    )
