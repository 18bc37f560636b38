"""Smoke test of the load benchmark (``benchmarks/load.py``), run tiny.

A real server, 20 long-polls with a short wait (so they return and are sent
again during the run) and a one-second status stream. It checks that the
report has every field and that the numbers are sane; no assertion is about
speed.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks import load

pytestmark = [pytest.mark.live, pytest.mark.timeout(30)]

LONG_POLLS = 20


def test_tiny_load_run_reports_sane_figures() -> None:
    fig = load.run(long_polls=LONG_POLLS, duration=1.0, stream_threads=2, wait=0.4)

    assert fig["elapsed"] >= 1.0
    stream = fig["stream"]
    assert stream["ok"] > 0
    assert stream["answered"] == stream["ok"] + sum(stream["non_200"].values())
    assert stream["connection_errors"] == stream["timeouts"] == stream["other_errors"] == 0
    assert stream["non_200"] == {}
    assert 0 < stream["latency_p50_ms"] <= stream["latency_p99_ms"] <= stream["latency_max_ms"]
    assert math.isclose(stream["requests_per_second"], stream["ok"] / fig["elapsed"])

    held = fig["held"]
    assert held["at_start"] == LONG_POLLS
    assert held["samples"] >= 1
    assert 0 <= held["samples_below_target"] <= held["samples"]
    assert 0 <= held["min"] <= held["mean"] <= held["max"] <= LONG_POLLS
    counts = held["long_poll_counts"]
    assert counts["opened"] >= LONG_POLLS
    # A 0.4 s wait in a run of more than a second: each was answered and sent again.
    assert counts["answered"] >= LONG_POLLS
    assert counts["non_200"] == counts["connection_errors"] == counts["overdue"] == 0

    server = fig["server"]
    # The server counts every stream request and every answered long-poll.
    assert server["status_requests"] >= stream["answered"]
    assert server["get_status_by_code"].keys() == {"200"}
    assert server["long_polls_peak"] >= LONG_POLLS
    assert server["faults_injected"] == {}


def test_main_prints_and_writes_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # main() turns SIGTERM into SystemExit for the command line; not in pytest.
    monkeypatch.setattr(load, "exit_on_sigterm", lambda: None)
    out = tmp_path / "load.md"
    argv = ["--long-polls", "5", "--duration", "0.5", "--stream-threads", "1", "--out", str(out)]

    assert load.main(argv) == 0

    text = out.read_text()
    assert text in capsys.readouterr().out
    assert "`python -m benchmarks.load --long-polls 5 --duration 0.5" in text
    for row in ("stream: throughput", "stream: latency", "stream: errors", "long-polls held"):
        assert f"| {row}" in text
