"""The demo end to end: a real server process, one client, futures and callbacks.

The rest of the command line is tested in tests/cli.
"""

from __future__ import annotations

import io
import re

import pytest

from heygen_client import _demo

pytestmark = pytest.mark.live

JOBS = ((0.6, None), (1.0, None), (1.4, "error"), (2.0, None))


@pytest.mark.parametrize("mode", ["plain", "hints", "batch"])
def test_demo_tracks_every_job_to_its_true_outcome(mode: str) -> None:
    out = io.StringIO()
    rows = _demo.run(mode, jobs=JOBS, out=out)
    assert [r.result for r in rows] == ["completed", "completed", "error", "completed"]
    text = out.getvalue()
    events = [line for line in text.splitlines() if re.match(r" *\d+\.\d{3}s  \.\.", line)]
    # One line per event: every poll and every finished job, with a short id.
    assert sum(" #" in line for line in events) == sum(r.polls for r in rows)
    assert sum(" done: " in line for line in events) == len(rows)
    assert any(line.endswith("done: error") for line in events)
    assert all(len(line) < 120 for line in events)
    assert "1s poller: " in text  # the legend
    for row in rows:
        assert row.lateness >= -0.05
        assert row.lateness < 1.0
        assert row.polls <= row.fixed_poller_polls + 1
    if mode == "hints":
        assert sum(r.polls for r in rows) < sum(r.fixed_poller_polls for r in rows)
    if mode == "batch":
        # Held batch long-polls: the server answers as a job ends, so each is
        # learned within the half-second a 1 s poller is late on average.
        assert max(r.lateness for r in rows) < 0.5
