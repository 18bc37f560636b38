"""The mock server under load: ``python -m benchmarks.load`` (``make bench-server``).

One fresh mock server (default flags, so ``--max-wait 30``) goes through a
ladder of steps. In every step ``--stream-users`` locust users send
``GET /status?job_id=...`` back to back, and ``N`` more hold long-polls
(``GET /status?job_id=...&wait=W``, sent again as each returns), ``N`` taken
in turn from ``--long-polls``. A step starts once the server's ``/stats``
shows its long-polls held and lasts ``--seconds``. It passes when every
long-poll was held, no stream request failed and the stream's p95 latency was
at most 100 ms; the ladder stops after a step that fails.

Reported per step: the stream's throughput, latency p50/p95/p99/max and
errors; the long-polls held (sampled every half second); the server's own
``/stats`` counts, threads and memory. A request counts in a step when it was
sent and answered within it, so the load side never counts one that the
server's ``/stats`` delta missed; a long-poll sent before the step is not
among its answers. So one run answers how many status
requests per second the server sustains (the step with no long-poll), how
many long-polls it holds while others are still answered promptly (the
highest step that passed), and both at once.

The users are locust's (``benchmarks/_swarm.py``), in a child process: one
gevent loop, so the load side takes one core at most and the server the
other. Both share the machine over loopback, so the throughput is a floor
for the server alone. Every step is bounded in time, and the server is
always stopped.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._report import machine
from benchmarks._server import MockServer, exit_on_sigterm
from benchmarks.harness import RESULTS

#: Long-polls held in each step, by default.
LADDER = (0, 1000, 3000)
#: Jobs the stream cycles through (all pending for the whole run).
STREAM_JOBS = 50
#: Time for the swarm to start, reach its long-polls and stop, besides the steps.
OVERHEAD = 120.0


def run(
    long_polls: tuple[int, ...] = LADDER,
    seconds: float = 10.0,
    stream_users: int = 8,
    wait: float = 30.0,
) -> dict[str, Any]:
    """Start a server, run the ladder on it, return the figures."""
    _raise_fd_limit(max(long_polls, default=0) + 256)  # the server inherits it, as the swarm
    with MockServer() as server:
        plan = {
            "url": server.url,
            "server_pid": server.pid,
            "held_job": server.post_json("/jobs", {"delay": 3600})["job_id"],
            "stream_jobs": [
                server.post_json("/jobs", {"delay": 3600})["job_id"] for _ in range(STREAM_JOBS)
            ],
            "stream_users": stream_users,
            "long_polls": list(long_polls),
            "seconds": seconds,
            "wait": wait,
        }
        swarm = subprocess.run(
            [sys.executable, "-m", "benchmarks._swarm", json.dumps(plan)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            timeout=len(long_polls) * (seconds + 30) + OVERHEAD,
            check=True,
        )
        faults = server.stats()["faults_injected"]
    steps: list[dict[str, Any]] = json.loads(swarm.stdout)
    passed = [step["long_polls"] for step in steps if step["ok"]]
    return {
        "stream_users": stream_users,
        "seconds": seconds,
        "wait": wait,
        "steps": steps,
        "max_held_under_100ms": max(passed, default=0),
        "faults_injected": faults,
    }


def _raise_fd_limit(want: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, want), hard))


def report(fig: dict[str, Any]) -> str:
    """The figures as Markdown: a headline, then one row per step."""
    steps = fig["steps"]
    lines = [
        f"**Long-polls held with the stream's p95 under 100 ms: {fig['max_held_under_100ms']:,}**"
        f" ({fig['stream_users']} stream users, {fig['seconds']:g} s a step, "
        f"long-poll wait {fig['wait']:g} s)",
        "",
        "| long-polls | held: at start, min / mean / max | stream req/s | latency p50 / p95 "
        "/ p99 / max ms | stream errors | long-polls sent and answered in the step "
        "| server `/status` counted "
        "| server threads, RSS MB | ok |",
        "|---:|---|---:|---|---|---|---:|---|---|",
    ]
    for step in steps:
        s, h, v = step["stream"], step["held"], step["server"]
        errors = {**s["errors"], **s["non_200"]}
        lines.append(
            f"| {step['long_polls']:,} | {h['at_start']:,}; {h['min']:,} / {h['mean']:,.0f} / "
            f"{h['max']:,} | {s['requests_per_second']:.0f} | {_ms(s['latency_p50_ms'])} / "
            f"{_ms(s['latency_p95_ms'])} / {_ms(s['latency_p99_ms'])} / "
            f"{_ms(s['latency_max_ms'])} | {_counts(errors)} | "
            f"{_counts(step['long_poll_answers'])} | "
            f"{v['status_requests']:,} ({v['status_requests'] / step['elapsed']:.0f}/s) | "
            f"{v['threads_max']:,}, {v['rss_mb_max']:.0f} | {'yes' if step['ok'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}"


def _counts(counts: dict[str, int]) -> str:
    """``{"200": 3, "timeout": 1}`` as ``3 x 200, 1 x timeout``; ``0`` for none."""
    return ", ".join(f"{n:,} x {what}" for what, n in sorted(counts.items())) or "0"


def main(argv: list[str] | None = None) -> int:
    """Run the ladder; print the Markdown report and write it, with the JSON, to ``--out``."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__)
    p.add_argument(
        "--long-polls",
        default=",".join(map(str, LADDER)),
        help="long-polls held in each step, comma-separated (%(default)s)",
    )
    p.add_argument("--seconds", type=float, default=10.0, help="length of a step (%(default)s)")
    p.add_argument("--stream-users", type=int, default=8, help="status-stream users (%(default)s)")
    p.add_argument("--wait", type=float, default=30.0, help="long-poll wait, s (%(default)s)")
    p.add_argument("--out", type=Path, default=None, help="directory for load.md and load.json")
    args = p.parse_args(argv)
    try:
        ladder = tuple(int(n) for n in args.long_polls.split(","))
    except ValueError:
        p.error("--long-polls takes counts separated by commas, such as 0,1000,3000")
    if min(ladder) < 0 or args.stream_users < 1 or not 0 < args.seconds <= 600:
        p.error("need --long-polls >= 0, --stream-users >= 1, 0 < --seconds <= 600")
    exit_on_sigterm()
    out: Path = args.out or RESULTS / ("load-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    print(f"load: long-polls {args.long_polls}, {args.stream_users} stream users", flush=True)
    fig = run(ladder, args.seconds, args.stream_users, args.wait)
    command = "python -m benchmarks.load " + " ".join(argv if argv is not None else sys.argv[1:])
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    text = (
        f"# Load benchmark {date}\n\n- command: `{command.strip()}`\n"
        f"- machine: {machine()}\n\n" + report(fig)
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.md").write_text(text)
    (out / "load.json").write_text(json.dumps(fig, indent=1))
    print(text, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
