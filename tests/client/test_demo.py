"""The demo end to end: a real server process, one client, futures and callbacks.

The rest of the command line is tested in tests/cli.
"""

from __future__ import annotations

import io

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
    assert "-> completed after" in text
    assert "-> error after" in text
    assert "callback: job" in text
    assert "1s poller" in text
    for row in rows:
        assert row.lateness >= -0.05
        assert row.lateness < 1.0
        assert row.polls <= row.fixed_poller_polls + 1
    if mode == "hints":
        assert sum(r.polls for r in rows) < sum(r.fixed_poller_polls for r in rows)
    if mode == "batch":
        assert max(r.lateness for r in rows) < 0.2
