"""Smoke test of the load benchmark (``benchmarks/load.py``), run tiny.

A real server and the real locust swarm: a step without long-polls, then one
with 20 long-polls of a short wait (so they return and are sent again during
the step), each a second of status stream. It checks that the report has every
field and that the numbers are sane; no assertion is about speed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from benchmarks import load

pytestmark = [pytest.mark.live, pytest.mark.timeout(60)]

LONG_POLLS = 20


def check_step(step: dict[str, Any], long_polls: int) -> None:
    """One step's figures: every request answered 200, counts that add up."""
    assert step["long_polls"] == long_polls
    assert step["elapsed"] >= 1.0
    stream = step["stream"]
    assert stream["ok"] > 0
    assert stream["answered"] == stream["ok"]
    assert stream["non_200"] == stream["errors"] == {}
    assert (
        0
        < stream["latency_p50_ms"]
        <= stream["latency_p95_ms"]
        <= stream["latency_p99_ms"]
        <= stream["latency_max_ms"]
    )
    assert math.isclose(stream["requests_per_second"], stream["ok"] / step["elapsed"])

    held = step["held"]
    assert held["at_start"] == long_polls
    assert held["samples"] >= 1
    assert 0 <= held["samples_below_target"] <= held["samples"]
    assert 0 <= held["min"] <= held["mean"] <= held["max"] <= long_polls

    server = step["server"]
    answered_long_polls = step["long_poll_answers"].get("200", 0)
    # Only 200s: no long-poll failed, none was overdue.
    assert step["long_poll_answers"].keys() <= {"200"}
    # The server counts every stream request and every answered long-poll.
    assert server["status_requests"] >= stream["answered"] + answered_long_polls
    assert server["get_status_by_code"].keys() == {"200"}
    assert server["long_polls_peak"] >= long_polls
    assert server["threads_max"] > 0
    assert server["rss_mb_max"] > 0
    assert step["ok"] is True


def test_tiny_load_run_reports_sane_figures() -> None:
    fig = load.run(long_polls=(0, LONG_POLLS), seconds=1.0, stream_users=2, wait=0.4)

    assert [step["long_polls"] for step in fig["steps"]] == [0, LONG_POLLS]
    without, with_long_polls = fig["steps"]
    check_step(without, 0)
    assert without["long_poll_answers"] == {}
    check_step(with_long_polls, LONG_POLLS)
    # A 0.4 s wait in a step of more than a second: each was answered and sent again.
    assert with_long_polls["long_poll_answers"]["200"] >= LONG_POLLS
    assert fig["max_held_under_100ms"] == LONG_POLLS
    assert fig["faults_injected"] == {}


def test_main_prints_and_writes_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # main() turns SIGTERM into SystemExit for the command line; not in pytest.
    monkeypatch.setattr(load, "exit_on_sigterm", lambda: None)
    argv = ["--long-polls", "5", "--seconds", "0.5", "--stream-users", "1", "--out", str(tmp_path)]

    assert load.main(argv) == 0

    text = (tmp_path / "load.md").read_text()
    assert text in capsys.readouterr().out
    assert "`python -m benchmarks.load --long-polls 5 --seconds 0.5" in text
    assert "Long-polls held with the stream's p95 under 100 ms: 5**" in text
    assert "| long-polls | held: at start" in text
    assert "\n| 5 | 5; " in text  # the step's row
    assert '"long_polls": 5' in (tmp_path / "load.json").read_text()
