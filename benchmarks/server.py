"""Mock-server capacity: ``python -m benchmarks.server``.

Two numbers, on this machine:

1. **Sustained status requests per second**: a few load processes, each with
   a few threads on keep-alive ``requests.Session`` s, send
   ``GET /status?job_id=...`` for a fixed duration. The rate is the server's
   own ``status_requests_total`` delta over that duration.
2. **Concurrent long-polls held** while other requests still answer within
   100 ms: raw sockets each send ``GET /status?job_id=...&wait=W`` and are
   never read (no thread per long-poll on the load side). At each step of N
   the benchmark waits until ``/stats`` shows ``long_polls_active >= N``, then
   times probe requests on fresh connections. It steps N up until the probes'
   p95 passes 100 ms or the ladder ends.

Everything is bounded: durations are fixed, each wait has a deadline, the
server process is always stopped.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import multiprocessing
import resource
import socket
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import requests

from benchmarks._server import MockServer, exit_on_sigterm, status_requests
from benchmarks._stats import percentile

LADDER = (100, 250, 500, 1000, 1500, 2000, 3000)
PROBE_LIMIT = 0.100
PROBES = 20
LONG_WAIT = 120.0


def hammer(url: str, job_ids: list[str], seconds: float, threads: int) -> dict[str, Any]:
    """One load process: ``threads`` keep-alive sessions sending status requests."""

    def loop(offset: int) -> tuple[int, int, list[float]]:
        ok = errors = 0
        lat: list[float] = []
        end = time.monotonic() + seconds
        i = offset
        with requests.Session() as session:
            while (now := time.monotonic()) < end:
                job_id = job_ids[i % len(job_ids)]
                i += 1
                try:
                    resp = session.get(f"{url}/status", params={"job_id": job_id}, timeout=10)
                    if resp.status_code == 200:
                        ok += 1
                    else:
                        errors += 1
                except requests.RequestException:
                    errors += 1
                if ok % 10 == 0:
                    lat.append(time.monotonic() - now)
        return ok, errors, lat

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(loop, [t * 7 for t in range(threads)]))
    return {
        "ok": sum(p[0] for p in parts),
        "errors": sum(p[1] for p in parts),
        "latencies": [x for p in parts for x in p[2]],
    }


def throughput(seconds: float, processes: int, threads: int) -> dict[str, Any]:
    """Sustained status requests per second on a fresh default server."""
    with MockServer("--seed", "1") as server:
        ids = [server.post_json("/jobs", {"delay": 3600})["job_id"] for _ in range(50)]
        before = status_requests(server.stats())
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(processes, mp_context=ctx) as pool:
            # Warm the workers up (spawn + imports) before the clock starts.
            list(pool.map(_noop, range(processes)))
            before = status_requests(server.stats())
            t0 = time.monotonic()
            futures = [
                pool.submit(hammer, server.url, ids, seconds, threads) for _ in range(processes)
            ]
            parts = [f.result(timeout=seconds + 60) for f in futures]
            elapsed = time.monotonic() - t0
        after = status_requests(server.stats())
    lat = [x for p in parts for x in p["latencies"]]
    return {
        "seconds": seconds,
        "processes": processes,
        "threads_per_process": threads,
        "server_counted": after - before,
        "requests_per_second": (after - before) / elapsed,
        "client_ok": sum(p["ok"] for p in parts),
        "client_errors": sum(p["errors"] for p in parts),
        "latency_p50_ms": percentile(lat, 50) * 1000 if lat else None,
        "latency_p99_ms": percentile(lat, 99) * 1000 if lat else None,
    }


def _noop(_: int) -> None:
    return None


def _probe(host: str, port: int, job_id: str) -> float:
    """One status request on a fresh connection; its latency in seconds (inf on failure)."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", f"/status?job_id={job_id}")
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            return float("inf")
    except OSError:
        return float("inf")
    finally:
        conn.close()
    return time.perf_counter() - t0


def long_polls(ladder: tuple[int, ...] = LADDER) -> dict[str, Any]:
    """The largest number of held long-polls with probes still under 100 ms."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(ladder) + 200
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, want), hard))
    steps: list[dict[str, Any]] = []
    socks: list[socket.socket] = []
    with MockServer("--seed", "1", "--max-wait", str(LONG_WAIT)) as server:
        host, port = server.url.removeprefix("http://").rsplit(":", 1)
        held = server.post_json("/jobs", {"delay": 3600})["job_id"]
        probe_id = server.post_json("/jobs", {"delay": 3600})["job_id"]
        sproc = psutil.Process(server.pid)
        request = (
            f"GET /status?job_id={held}&wait={LONG_WAIT:g} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n"
        ).encode()
        started = time.monotonic()
        try:
            for n in ladder:
                # Every long-poll must still be held when the step is measured.
                if time.monotonic() - started > LONG_WAIT * 0.8:
                    steps.append({"n": n, "skipped": "long-polls would expire"})
                    break
                while len(socks) < n:
                    s = socket.create_connection((host, int(port)), timeout=10)
                    s.sendall(request)
                    socks.append(s)
                active = 0
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    active = int(server.stats()["long_polls_active"])
                    if active >= n:
                        break
                    time.sleep(0.2)
                lat = []
                for _ in range(PROBES):
                    lat.append(_probe(host, int(port), probe_id))
                    time.sleep(0.05)
                step = {
                    "n": n,
                    "long_polls_active": active,
                    "probe_p50_ms": percentile(lat, 50) * 1000,
                    "probe_p95_ms": percentile(lat, 95) * 1000,
                    "probe_max_ms": max(lat) * 1000,
                    "server_threads": sproc.num_threads(),
                    "server_rss_mb": sproc.memory_info().rss / 2**20,
                }
                step["ok"] = active >= n and step["probe_p95_ms"] <= PROBE_LIMIT * 1000
                steps.append(step)
                print(f"  long-polls {json.dumps(step)}", flush=True)
                if not step["ok"]:
                    break
        finally:
            for s in socks:
                s.close()
    passed = [s["n"] for s in steps if s.get("ok")]
    return {"steps": steps, "max_held_under_100ms": max(passed) if passed else 0}


def report(tp: dict[str, Any], lp: dict[str, Any]) -> str:
    """Markdown for both measurements."""
    lines = [
        f"**Sustained status requests/s: {tp['requests_per_second']:.0f}** "
        f"({tp['processes']} load processes x {tp['threads_per_process']} keep-alive threads, "
        f"{tp['seconds']:g} s; client-side latency p50 {tp['latency_p50_ms']:.1f} ms, "
        f"p99 {tp['latency_p99_ms']:.1f} ms; {tp['client_errors']} errors)",
        "",
        f"**Concurrent long-polls held with probes under 100 ms (p95): "
        f"{lp['max_held_under_100ms']}** (target: at least 1,000)",
        "",
        "| long-polls opened | `long_polls_active` | probe p50 ms | p95 ms | max ms "
        "| server threads | server RSS MB | ok |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in lp["steps"]:
        if "skipped" in s:
            lines.append(f"| {s['n']} | skipped: {s['skipped']} |||||||")
            continue
        lines.append(
            f"| {s['n']} | {s['long_polls_active']} | {s['probe_p50_ms']:.1f} "
            f"| {s['probe_p95_ms']:.1f} | {s['probe_max_ms']:.1f} | {s['server_threads']} "
            f"| {s['server_rss_mb']:.0f} | {'yes' if s['ok'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and write ``server.md`` / ``server.json``."""
    from benchmarks._report import machine
    from benchmarks.harness import RESULTS

    p = argparse.ArgumentParser(prog="python -m benchmarks.server", description=__doc__)
    p.add_argument("--seconds", type=float, default=10.0, help="throughput duration (10)")
    p.add_argument("--processes", type=int, default=2, help="load processes (2)")
    p.add_argument("--threads", type=int, default=4, help="threads per load process (4)")
    p.add_argument("--max-long-polls", type=int, default=max(LADDER))
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    exit_on_sigterm()
    out: Path = args.out or RESULTS / ("server-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"throughput: {args.processes} x {args.threads} threads for {args.seconds:g} s", flush=True
    )
    tp = throughput(min(args.seconds, 60.0), args.processes, args.threads)
    print(f"  {json.dumps(tp)}", flush=True)
    print("long-polls:", flush=True)
    lp = long_polls(tuple(n for n in LADDER if n <= args.max_long_polls))
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text = f"# Server benchmark {date}\n\n- machine: {machine()}\n\n" + report(tp, lp)
    (out / "server.md").write_text(text)
    (out / "server.json").write_text(json.dumps({"throughput": tp, "long_polls": lp}, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
