"""Fixtures for route tests: an app on a fake clock and its test client.

They compose: ``clock`` -> ``make_app`` -> ``app`` -> ``client``. Nothing here
really sleeps; long-polls advance the fake clock instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mock_server import FakeClock, ServerConfig, create_app
from mock_server.routes import ServerState

START = 1_700_000_000.0

MakeApp = Callable[..., Flask]


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at ``START``."""
    return FakeClock(START)


@pytest.fixture
def make_app(clock: FakeClock) -> MakeApp:
    """``make_app(**config_fields)``: an app on the shared fake clock."""

    def make(**fields: Any) -> Flask:
        fields.setdefault("seed", 1)
        return create_app(ServerConfig(**fields), clock=clock)

    return make


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    """Default settings, ten-second jobs, seeded."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Test client of ``app``."""
    return app.test_client()


def server_state(app: Flask) -> ServerState:
    """The app's shared state (config, store, stats...)."""
    state: ServerState = app.extensions["mock_server"]
    return state


def new_job(client: FlaskClient, **body: Any) -> str:
    """Create a job and return its id."""
    response = client.post("/jobs", json=body)
    assert response.status_code == 201, response.get_json()
    job_id: str = response.get_json()["job_id"]
    return job_id
