"""A Flask app that simulates HeyGen's video-translation backend.

Public surface: ``create_app``, ``ServerConfig`` and the clocks
(``Clock``, ``SystemClock``, ``FakeClock``) for tests.

The names are imported on first use, so importing a submodule that needs
neither Flask nor the app (``mock_server.testing``, and the pytest plugin
``mock_server.pytest_plugin`` that every pytest run in an environment with
this package loads) stays cheap and works without the ``server`` extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.app import create_app
    from mock_server.clock import Clock, FakeClock, SystemClock
    from mock_server.config import ServerConfig

__all__ = ["Clock", "FakeClock", "ServerConfig", "SystemClock", "create_app"]

_HOMES = {
    "create_app": "mock_server.app",
    "Clock": "mock_server.clock",
    "FakeClock": "mock_server.clock",
    "SystemClock": "mock_server.clock",
    "ServerConfig": "mock_server.config",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mock_server' has no attribute {name!r}")
    try:
        import flask  # noqa: F401
    except ImportError as exc:  # pragma: no cover - exercised without the extra installed
        raise ImportError("mock_server needs Flask: pip install 'heygen-client[server]'") from exc
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
