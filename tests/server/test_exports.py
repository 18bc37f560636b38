"""The public surface of ``mock_server`` is what docs/server.md promises."""

from __future__ import annotations

import re
import time
from pathlib import Path

import mock_server
from mock_server import Clock, FakeClock, SystemClock

DOCS = Path(__file__).resolve().parents[2] / "docs" / "server.md"


def test_all_matches_the_docs() -> None:
    text = DOCS.read_text(encoding="utf-8")
    promised = re.search(r"public names are (.+?)\.\n\n", text, re.S)
    assert promised is not None
    names = set(re.findall(r"`(\w+)`", promised.group(1)))
    assert names == set(mock_server.__all__)
    assert all(hasattr(mock_server, name) for name in mock_server.__all__)


def test_clocks_satisfy_the_protocol() -> None:
    assert isinstance(SystemClock(), Clock)
    assert isinstance(FakeClock(), Clock)


def test_fake_clock() -> None:
    clock = FakeClock(10.0)
    clock.sleep(2.5)
    clock.sleep(0)
    clock.sleep(-1)
    clock.advance(1)
    assert clock.now() == 13.5
    assert clock.sleeps == [2.5]
    clock.set(100)
    assert clock.now() == 100.0
    assert clock() == 100.0  # the client's ``clock`` callable, as time.monotonic


def test_system_clock_is_wall_time() -> None:
    clock = SystemClock()
    assert abs(clock.now() - time.time()) < 1
    clock.sleep(0)
    clock.sleep(0.001)
