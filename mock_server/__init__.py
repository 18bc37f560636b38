"""A Flask app that simulates HeyGen's video-translation backend."""

try:
    import flask  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without the extra installed
    raise ImportError(
        "mock_server needs Flask: pip install 'heygen-client[server]'"
    ) from exc
