"""``heygen-client demo``: start the mock server, track a few jobs, show every poll.

The demo needs the ``[server]`` extra (Flask) for the mock server it starts.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from heygen_client._client import TranslationClient
from heygen_client._futures import JobFuture
from heygen_client.errors import TranslationFailed
from heygen_client.models import PollEvent

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


def _short(job_id: str | None) -> str:
    """The last six characters of an id: enough to tell the demo's jobs apart."""
    return f"..{job_id[-6:]}" if job_id else "(default)"


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
        log: print a line for every poll and every finished job.
    """
    stream = out if out is not None else sys.stdout
    start = time.time()
    with mock_server(*MODES[mode], "--seed", "7") as url:
        print(f"mock server ({mode} mode) at {url}", file=stream)
        return _track(url, mode, scale, jobs, stream, start, log)


def _track(
    url: str,
    mode: str,
    scale: float,
    jobs: Sequence[tuple[float, str | None]],
    stream: IO[str],
    start: float,
    log: bool,
) -> list[DemoRow]:
    def on_poll(event: PollEvent) -> None:
        if not log:
            return
        seen = event.result.value if event.result is not None else type(event.error).__name__
        then = "stop" if event.next_delay is None else f"next in {event.next_delay:5.2f}s"
        print(
            f"{time.time() - start:7.3f}s  {_short(event.job_id)}  {event.kind:<15}"
            f" #{event.poll:<2} {seen:<9} {then}  ({event.reason})",
            file=stream,
            flush=True,
        )

    def on_done(future: JobFuture) -> None:
        try:
            future.result()
            outcome = "completed"
        except TranslationFailed:
            outcome = "error"
        except Exception as exc:
            outcome = f"failed: {exc}"
        now = time.time() - start
        if log:
            print(
                f"{now:7.3f}s  {_short(future.job_id)}  done: {outcome}", file=stream, flush=True
            )

    rows: list[DemoRow] = []
    with TranslationClient(url, seed=7, on_poll=on_poll) as client:
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
            rows.append(_row(client, future, delay, tracked_at))
        stats = client.stats()
    _print_table(rows, stream, mode, stats.status_requests)
    return rows


def _row(client: TranslationClient, future: JobFuture, delay: float, tracked_at: float) -> DemoRow:
    """The summary of a finished job, from its future and the server's record."""
    assert future.job_id is not None
    record = client.get_job(future.job_id)
    status = future.status
    assert status is not None
    finishes_at = float(record["finishes_at"])
    return DemoRow(
        job_id=future.job_id,
        delay=delay,
        result=status.result.value,
        polls=future.polls,
        lateness=status.received_at - finishes_at,
        # A poller asking every second: at 0 s, 1 s, ..., the first ask after the end.
        fixed_poller_polls=max(1, math.ceil(finishes_at - tracked_at)) + 1,
    )


def _print_table(rows: Sequence[DemoRow], stream: IO[str], mode: str, requests_: int) -> None:
    print(file=stream)
    header = (
        f"{'job':<12} {'delay':>6} {'result':<10} {'polls':>5} {'late ms':>8} {'1s poller':>9}"
    )
    print(header, file=stream)
    print("-" * len(header), file=stream)
    for number, row in enumerate(rows, 1):
        name = f"#{number} {_short(row.job_id)}"
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
    print(
        "polls: status requests about the job (a batch request counts for each job in it);"
        "\nlate ms: from the job's end on the server to the client learning it;"
        "\n1s poller: the requests a loop polling every second would have made.",
        file=stream,
    )
