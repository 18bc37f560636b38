"""A Flask app that simulates HeyGen's video-translation backend.

Public surface: ``create_app``, ``ServerConfig`` and the clocks
(``Clock``, ``SystemClock``, ``FakeClock``) for tests.
"""

try:
    import flask  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without the extra installed
    raise ImportError("mock_server needs Flask: pip install 'heygen-client[server]'") from exc

from mock_server.app import create_app
from mock_server.clock import Clock, FakeClock, SystemClock
from mock_server.config import ServerConfig

__all__ = ["Clock", "FakeClock", "ServerConfig", "SystemClock", "create_app"]
