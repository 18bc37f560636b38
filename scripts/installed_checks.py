"""The installed package, checked by pytest with the python of the quickstart's fresh venv.

``scripts/package_check.py`` copies this file there as ``test_installed.py``,
beside an ``expected.json`` that holds the checkout's view (version, public
names, entry points, extras). It is not part of the repository's test suite.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import heygen_client
import mock_server
import mock_server.testing
from heygen_client import TranslationClient
from mock_server.pytest_plugin import HeyGenServer

EXPECTED: dict[str, Any] = json.loads(Path(__file__).with_name("expected.json").read_text())


def test_the_code_comes_from_the_venv() -> None:
    for module in (heygen_client, mock_server):
        assert str(module.__file__).startswith(sys.prefix), module.__file__


def test_one_version_everywhere() -> None:
    version = EXPECTED["version"]
    assert heygen_client.__version__ == md.version("heygen-client") == version
    shown = subprocess.run(["heygen-client", "--version"], capture_output=True, text=True)
    assert shown.stdout.strip() == f"heygen-client {version}"


def test_the_server_command_answers() -> None:
    assert subprocess.run(["heygen-mock-server", "--help"], capture_output=True).returncode == 0


def test_the_public_names_are_the_checkouts() -> None:
    assert sorted(heygen_client.__all__) == EXPECTED["client_all"]
    assert sorted(mock_server.__all__) == EXPECTED["server_all"]
    assert sorted(mock_server.testing.__all__) == EXPECTED["testing_all"]


def test_entry_points_and_extras_are_the_checkouts() -> None:
    distribution = md.distribution("heygen-client")
    installed = sorted([ep.group, ep.name, ep.value] for ep in distribution.entry_points)
    assert installed == EXPECTED["entry_points"]
    assert set(EXPECTED["extras"]) <= set(distribution.metadata.get_all("Provides-Extra") or [])


def test_the_plugin_serves_a_job(heygen_server: HeyGenServer) -> None:
    """The ``heygen_server`` fixture is there: pytest loaded the plugin by its entry point."""
    job_id = heygen_server.create_job(delay=0.5)
    with TranslationClient(heygen_server.url) as client:
        assert client.track(job_id).result(timeout=30).result == "completed"
