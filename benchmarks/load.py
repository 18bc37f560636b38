"""The server's load run: ``python -m benchmarks.load``.

One fresh mock server (default flags, so ``--max-wait 30``) is put under, at
the same time and for ``--duration`` seconds:

- ``--long-polls`` held long-polls, ``GET /status?job_id=...&wait=W`` on raw
  sockets that one selector thread watches (no thread per long-poll on the load
  side). The job pends for an hour, so each long-poll is held until its wait
  runs out; when one returns, the same request is sent again at once, so the
  count stays up for the whole run. ``/stats`` ``long_polls_active`` is
  sampled every half second to show how many were really held.
- a stream of ``GET /status?job_id=...`` from ``--stream-threads`` threads,
  each on its own keep-alive ``requests.Session``, as fast as they go.

The server's werkzeug answers every request with ``Connection: close``
(werkzeug 2.1+ disables HTTP/1.1 keep-alive), so in practice each answered
long-poll is re-sent on a new socket and each stream request opens a new
connection; the code would reuse sockets for a server that kept them open.

The stream's clock starts once the server holds every long-poll. Reported:
the stream's errors by kind, latency p50/p99/max, throughput, the long-polls
held over time and the server's own ``/stats`` totals, as a Markdown table
(``--out`` also writes it to a file).

The load generator runs on the same machine as the server, over loopback, so
both share the CPUs: the throughput is what this machine does with both, a
floor for the server alone. Every loop is bounded in time and count, every
socket is closed and the server is always stopped.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import math
import resource
import selectors
import socket
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import requests

from benchmarks._report import machine
from benchmarks._server import MockServer, exit_on_sigterm, status_requests
from benchmarks.server import _percentile

#: Jobs the stream cycles through (all pending for the whole run).
STREAM_JOBS = 50
#: Seconds between ``/stats`` samples during the run.
SAMPLE_EVERY = 0.5
#: Connect and read timeout of one stream request, in seconds.
STREAM_TIMEOUT = 5.0
#: Hard cap on one stream thread's requests, besides the clock.
MAX_REQUESTS_PER_THREAD = 2_000_000
#: How long the server gets to report every long-poll held before the run.
HOLD_TIMEOUT = 30.0
#: A long-poll not answered this long after its wait ran out counts as overdue.
OVERDUE_GRACE = 10.0
#: Seconds one selector pass waits for a socket to become readable.
SELECT_TIMEOUT = 0.1


@dataclass
class _Conn:
    """One long-poll socket and what it has read of the current answer."""

    sock: socket.socket
    sent_at: float
    buffer: bytes = b""


@dataclass
class LongPollCounts:
    """What happened to the held long-polls."""

    opened: int = 0
    answered: int = 0
    non_200: int = 0
    connection_errors: int = 0
    overdue: int = 0
    reconnects: int = 0


class LongPolls:
    """``count`` long-polls on raw sockets, re-sent as they return, one thread.

    Args:
        host: Server address.
        port: Server port.
        job_id: A job that stays pending for the whole run.
        count: Long-polls to hold.
        wait: The ``wait`` query value in seconds.
    """

    def __init__(self, host: str, port: int, job_id: str, count: int, wait: float) -> None:
        self.host = host
        self.port = port
        self.count = count
        self.wait = wait
        self.counts = LongPollCounts()
        self._request = (
            f"GET /status?job_id={job_id}&wait={wait:g} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n"
        ).encode()
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        # Reconnecting is bounded too, so a server that refuses cannot spin us.
        self._reconnects_left = count * 20

    def open(self) -> None:
        """Open every socket and send its first long-poll (blocking, in this thread)."""
        for _ in range(self.count):
            self._connect()

    def start(self) -> None:
        """Start the thread that reads answers and re-sends the long-polls."""
        self._thread = threading.Thread(target=self._run, name="load-long-polls")
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and close every socket; idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._closed:
            return
        self._closed = True
        for key in list(self._selector.get_map().values()):
            self._selector.unregister(key.fileobj)
            key.data.sock.close()
        self._selector.close()

    def _connect(self) -> None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=5)
        except OSError:
            self.counts.connection_errors += 1
            return
        try:
            sock.sendall(self._request)
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ, _Conn(sock, time.monotonic()))
        except OSError:
            sock.close()
            self.counts.connection_errors += 1
            return
        self.counts.opened += 1

    def _reconnect(self, conn: _Conn) -> None:
        self._selector.unregister(conn.sock)
        conn.sock.close()
        if self._reconnects_left > 0 and not self._stop.is_set():
            self._reconnects_left -= 1
            self.counts.reconnects += 1
            self._connect()

    def _run(self) -> None:
        # Bounded by the stop event and, as a backstop, by a count of passes.
        for _ in range(10_000_000):
            if self._stop.is_set():
                return
            for key, _events in self._selector.select(SELECT_TIMEOUT):
                self._on_readable(key.data)
            self._check_overdue()

    def _on_readable(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            self.counts.connection_errors += 1
            self._reconnect(conn)
            return
        if not data:
            # Closed with a long-poll outstanding and no (complete) answer.
            self.counts.connection_errors += 1
            self._reconnect(conn)
            return
        conn.buffer += data
        answer = _split_response(conn.buffer)
        if answer is None:
            return
        status, keep_alive, rest = answer
        conn.buffer = rest
        self.counts.answered += 1
        if status != 200:
            self.counts.non_200 += 1
        if not keep_alive:
            self._reconnect(conn)
            return
        try:
            conn.sock.sendall(self._request)
        except OSError:
            self.counts.connection_errors += 1
            self._reconnect(conn)
            return
        conn.sent_at = time.monotonic()

    def _check_overdue(self) -> None:
        limit = time.monotonic() - self.wait - OVERDUE_GRACE
        for key in list(self._selector.get_map().values()):
            conn: _Conn = key.data
            if conn.sent_at < limit:
                self.counts.overdue += 1
                self._reconnect(conn)


def _split_response(buffer: bytes) -> tuple[int, bool, bytes] | None:
    """``(status, keep_alive, rest)`` once ``buffer`` holds a whole response, else ``None``.

    Needs ``Content-Length`` for keep-alive; without it the answer ends at EOF,
    so it is taken as complete with the connection to be closed.
    """
    head, sep, body = buffer.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    status = int(rest[:3]) if rest[:3].isdigit() else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    connection = headers.get("connection", "")
    keep_alive = connection != "close" and (version == "HTTP/1.1" or connection == "keep-alive")
    length = headers.get("content-length")
    if length is None or not length.isdigit():
        return status, False, b""
    if len(body) < int(length):
        return None
    return status, keep_alive, body[int(length) :]


@dataclass
class StreamPart:
    """One stream thread's tally."""

    ok: int = 0
    non_200: dict[int, int] = field(default_factory=dict)
    connection_errors: int = 0
    timeouts: int = 0
    other_errors: int = 0
    latencies: list[float] = field(default_factory=list)


def stream(url: str, job_ids: list[str], end: float, offset: int) -> StreamPart:
    """Status requests on one keep-alive session until ``end`` (monotonic).

    Latency is kept for every answered request (200 or not), timed around
    ``session.get``; requests that raised count as errors only.
    """
    part = StreamPart()
    with requests.Session() as session:
        for i in range(offset, offset + MAX_REQUESTS_PER_THREAD):
            if time.monotonic() >= end:
                break
            params = {"job_id": job_ids[i % len(job_ids)]}
            t0 = time.perf_counter()
            try:
                resp = session.get(f"{url}/status", params=params, timeout=STREAM_TIMEOUT)
            except requests.Timeout:
                part.timeouts += 1
                continue
            except requests.ConnectionError:
                part.connection_errors += 1
                continue
            except requests.RequestException:
                part.other_errors += 1
                continue
            part.latencies.append(time.perf_counter() - t0)
            if resp.status_code == 200:
                part.ok += 1
            else:
                part.non_200[resp.status_code] = part.non_200.get(resp.status_code, 0) + 1
    return part


def _raise_fd_limit(want: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, want), hard))


def _wait_held(server: MockServer, count: int, timeout: float) -> int:
    """Poll ``/stats`` until ``long_polls_active >= count`` or ``timeout``; the last count."""
    active = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        active = int(server.stats()["long_polls_active"])
        if active >= count:
            break
        time.sleep(0.1)
    return active


def run(
    long_polls: int = 1000,
    duration: float = 30.0,
    stream_threads: int = 4,
    wait: float = 30.0,
) -> dict[str, Any]:
    """Start a server, put it under both loads for ``duration`` s, return the figures."""
    _raise_fd_limit(long_polls + 256)
    with MockServer() as server:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        held_job = server.post_json("/jobs", {"delay": 3600})["job_id"]
        ids = [server.post_json("/jobs", {"delay": 3600})["job_id"] for _ in range(STREAM_JOBS)]
        sproc = psutil.Process(server.pid)
        polls = LongPolls(host, int(port), held_job, long_polls, wait)
        try:
            polls.open()
            polls.start()
            held_at_start = _wait_held(server, long_polls, HOLD_TIMEOUT)
            before = server.stats()
            samples: list[int] = []
            threads_seen: list[int] = []
            stats_errors = 0
            t0 = time.monotonic()
            end = t0 + duration
            with concurrent.futures.ThreadPoolExecutor(
                stream_threads, thread_name_prefix="load-stream"
            ) as pool:
                futures = [
                    pool.submit(stream, server.url, ids, end, n * 7) for n in range(stream_threads)
                ]
                for _ in range(math.ceil(duration / SAMPLE_EVERY) + 1):
                    if time.monotonic() >= end:
                        break
                    try:
                        samples.append(int(server.stats()["long_polls_active"]))
                        threads_seen.append(sproc.num_threads())
                    except OSError:
                        stats_errors += 1
                    time.sleep(max(0.0, min(SAMPLE_EVERY, end - time.monotonic())))
                parts = [f.result(timeout=duration + STREAM_TIMEOUT + 30) for f in futures]
            elapsed = time.monotonic() - t0
            after = server.stats()
            rss_mb = sproc.memory_info().rss / 2**20
        finally:
            polls.stop()
    return _figures(
        long_polls=long_polls,
        duration=duration,
        stream_threads=stream_threads,
        wait=wait,
        elapsed=elapsed,
        parts=parts,
        polls=polls.counts,
        held_at_start=held_at_start,
        samples=samples,
        stats_errors=stats_errors,
        before=before,
        after=after,
        server_threads_max=max(threads_seen, default=0),
        server_rss_mb=rss_mb,
    )


def _figures(
    *,
    long_polls: int,
    duration: float,
    stream_threads: int,
    wait: float,
    elapsed: float,
    parts: list[StreamPart],
    polls: LongPollCounts,
    held_at_start: int,
    samples: list[int],
    stats_errors: int,
    before: dict[str, Any],
    after: dict[str, Any],
    server_threads_max: int,
    server_rss_mb: float,
) -> dict[str, Any]:
    lat = [x for p in parts for x in p.latencies]
    non_200: dict[int, int] = {}
    for p in parts:
        for code, n in p.non_200.items():
            non_200[code] = non_200.get(code, 0) + n
    ok = sum(p.ok for p in parts)

    def status_codes(stats: dict[str, Any]) -> dict[str, int]:
        return {k: int(v) for k, v in stats["requests"].get("GET /status", {}).items()}

    codes_before, codes_after = status_codes(before), status_codes(after)
    return {
        "long_polls": long_polls,
        "duration": duration,
        "elapsed": elapsed,
        "stream_threads": stream_threads,
        "wait": wait,
        "stream": {
            "ok": ok,
            "answered": len(lat),
            "non_200": {str(k): v for k, v in sorted(non_200.items())},
            "connection_errors": sum(p.connection_errors for p in parts),
            "timeouts": sum(p.timeouts for p in parts),
            "other_errors": sum(p.other_errors for p in parts),
            "requests_per_second": ok / elapsed,
            "latency_p50_ms": _percentile(lat, 50) * 1000 if lat else math.nan,
            "latency_p99_ms": _percentile(lat, 99) * 1000 if lat else math.nan,
            "latency_max_ms": max(lat) * 1000 if lat else math.nan,
        },
        "held": {
            "at_start": held_at_start,
            "min": min(samples, default=0),
            "mean": statistics.fmean(samples) if samples else 0.0,
            "max": max(samples, default=0),
            "samples": len(samples),
            "samples_below_target": sum(1 for n in samples if n < long_polls),
            "stats_errors": stats_errors,
            "long_poll_counts": dataclasses.asdict(polls),
        },
        "server": {
            "status_requests": status_requests(after) - status_requests(before),
            "get_status_by_code": {
                code: n - codes_before.get(code, 0) for code, n in sorted(codes_after.items())
            },
            "long_polls_peak": int(after["long_polls_peak"]),
            "faults_injected": after["faults_injected"],
            "threads_max": server_threads_max,
            "rss_mb": server_rss_mb,
        },
    }


def report(fig: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    s, h, v = fig["stream"], fig["held"], fig["server"]
    lp = h["long_poll_counts"]
    non_200 = ", ".join(f"{n} x {code}" for code, n in s["non_200"].items()) or "0"
    by_code = ", ".join(f"{n} x {code}" for code, n in v["get_status_by_code"].items()) or "0"
    rows = [
        ("run", f"{fig['elapsed']:.1f} s, {fig['stream_threads']} stream threads"),
        ("stream: 200 answers", f"{s['ok']:,}"),
        ("stream: throughput", f"{s['requests_per_second']:.0f} req/s (200 answers)"),
        (
            "stream: latency",
            f"p50 {s['latency_p50_ms']:.1f} ms, p99 {s['latency_p99_ms']:.1f} ms, "
            f"max {s['latency_max_ms']:.1f} ms",
        ),
        (
            "stream: errors",
            f"{s['connection_errors']} connection, {non_200} non-200, "
            f"{s['timeouts']} timeouts ({STREAM_TIMEOUT:g} s), {s['other_errors']} other",
        ),
        (
            "long-polls held (`long_polls_active`)",
            f"target {fig['long_polls']:,}; {h['at_start']:,} at start; during the run "
            f"min {h['min']:,}, mean {h['mean']:,.1f}, max {h['max']:,}; "
            f"{h['samples_below_target']} of {h['samples']} samples (every {SAMPLE_EVERY:g} s) "
            "below target",
        ),
        (
            "long-polls: answered and re-sent",
            f"{lp['answered']:,} answered (wait={fig['wait']:g} s), {lp['non_200']} non-200, "
            f"{lp['connection_errors']} connection errors, {lp['overdue']} overdue, "
            f"{lp['reconnects']} re-sent on a new socket",
        ),
        (
            "server `/stats` during the run",
            f"{v['status_requests']:,} status requests "
            f"({v['status_requests'] / fig['elapsed']:.0f}/s); `GET /status`: {by_code}; "
            f"faults injected: {sum(v['faults_injected'].values())}",
        ),
        ("server: `long_polls_peak`", f"{v['long_polls_peak']:,}"),
        ("server process", f"max {v['threads_max']:,} threads, {v['rss_mb']:.0f} MB RSS at end"),
    ]
    lines = ["| measure | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run once, print the Markdown report and write it to ``--out`` if given."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    p.add_argument("--long-polls", type=int, default=1000, help="long-polls held (1000)")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of load (30)")
    p.add_argument("--stream-threads", type=int, default=4, help="status-stream threads (4)")
    p.add_argument("--wait", type=float, default=30.0, help="long-poll wait, s (30)")
    p.add_argument("--out", type=Path, default=None, help="also write the report here")
    args = p.parse_args(argv)
    if args.long_polls < 0 or args.stream_threads < 1 or not 0 < args.duration <= 600:
        p.error("need --long-polls >= 0, --stream-threads >= 1, 0 < --duration <= 600")
    exit_on_sigterm()
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(
        f"load: {args.long_polls} long-polls + {args.stream_threads} stream threads "
        f"for {args.duration:g} s",
        flush=True,
    )
    fig = run(args.long_polls, args.duration, args.stream_threads, args.wait)
    command = "python -m benchmarks.load " + " ".join(argv if argv is not None else sys.argv[1:])
    text = (
        f"# Load benchmark {date}\n\n- command: `{command.strip()}`\n"
        f"- machine: {machine()}\n\n" + report(fig)
    )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
