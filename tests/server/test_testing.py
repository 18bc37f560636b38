"""``mock_server.testing``: the public live-server helper, shared by tests and the demo."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

from heygen_client import _demo
from mock_server import testing


def test_the_exported_names() -> None:
    assert set(testing.__all__) == {"LiveServer", "LiveServerError", "free_port", "live_server"}


def test_every_exported_name_is_documented() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "server.md").read_text("utf-8")
    for name in testing.__all__:
        assert re.search(rf"`(mock_server\.testing\.)?{name}\b", text), name


@pytest.mark.live
def test_the_demo_starts_its_server_with_it() -> None:
    with _demo.mock_server("--delay", "0.2", timeout=15) as url:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(url + "/stats", timeout=5) as response:
            assert "status_requests_total" in json.loads(response.read())
