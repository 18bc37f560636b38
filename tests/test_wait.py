"""The test helper that waits on live servers: it returns once true, and fails in time."""

from __future__ import annotations

import itertools
import time

import pytest

from tests._wait import wait_until


def test_returns_once_the_predicate_holds() -> None:
    calls = itertools.count(1)
    wait_until(lambda: next(calls) >= 3, 5, interval=0.001)
    assert next(calls) == 4


def test_fails_after_the_timeout_with_the_state_at_the_end() -> None:
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"after 0\.05 s: held 7"):
        wait_until(lambda: False, 0.05, interval=0.01, message=lambda: "held 7")
    assert 0.05 <= time.monotonic() - started < 2
