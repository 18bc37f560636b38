"""Live-server helper for the tests: now public as :mod:`mock_server.testing`.

Re-exported here so that ``from tests._live import LiveServer`` keeps working;
the interface is unchanged (see ``mock_server/testing.py``).
"""

from __future__ import annotations

from mock_server.testing import (
    HOST,
    START_TIMEOUT,
    STOP_TIMEOUT,
    LiveServer,
    LiveServerError,
    _flag_value,
    free_port,
    live_server,
)

__all__ = [
    "HOST",
    "START_TIMEOUT",
    "STOP_TIMEOUT",
    "LiveServer",
    "LiveServerError",
    "_flag_value",
    "free_port",
    "live_server",
]
