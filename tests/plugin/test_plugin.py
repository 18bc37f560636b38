"""The pytest plugin, used as a user would: test files run by ``pytester``.

Each run is in-process (``pytester.runpytest``) under a strict ini
(``--strict-markers``, ``--strict-config``, warnings as errors), with the
plugin loaded from its ``pytest11`` entry point as in any user's environment.
The complete example of docs/testing.md is run as written, so the page cannot
drift from the plugin.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mock_server.pytest_plugin import HeyGenServer, HeyGenServerError, marker_flags
from mock_server.testing import LiveServer
from tests.docs._markdown import parse

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "testing.md"
#: The line before the complete example's fence in docs/testing.md.
EXAMPLE_MARKER = "<!-- example: test_example.py -->"

STRICT_INI = """\
[pytest]
addopts = --strict-markers --strict-config -p no:cacheprovider
filterwarnings = error
"""

#: Records every server a test got (its URL and pid), so the outer test can
#: check they are all gone after the run. Overrides the plugin's fixture with
#: one that uses it, as a user's conftest may.
RECORDING_CONFTEST = """\
import json
from pathlib import Path

import pytest

@pytest.fixture
def heygen_server(heygen_server):
    record = {"url": heygen_server.url, "pid": heygen_server.stats()["pid"]}
    with Path(__file__).with_name("servers.jsonl").open("a") as out:
        out.write(json.dumps(record) + "\\n")
    return heygen_server
"""


def documented_example() -> str:
    """The Python block that follows ``EXAMPLE_MARKER`` in docs/testing.md."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    assert lines.count(EXAMPLE_MARKER) == 1, f"{EXAMPLE_MARKER} must appear once in {DOC}"
    fence = lines.index(EXAMPLE_MARKER) + 2  # 1-based: the line after the marker
    following = [block for block in parse(DOC).blocks if block.line == fence]
    assert [block.lang for block in following] == ["python"], (
        f"{DOC}:{fence}: the example's python fence must follow"
    )
    return following[0].body


def recorded_servers(pytester: pytest.Pytester) -> list[dict[str, Any]]:
    path = pytester.path / "servers.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_stopped(url: str, pid: int) -> None:
    """The process has exited and been reaped, and nothing listens on its port."""
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=2).close()


@pytest.fixture
def strict(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory with the strict ini."""
    pytester.makeini(STRICT_INI)
    return pytester


@pytest.mark.live
def test_the_documented_example_passes_and_its_servers_stop(strict: pytest.Pytester) -> None:
    strict.makeconftest(RECORDING_CONFTEST)
    strict.makepyfile(test_example=documented_example())
    result = strict.runpytest("-q")
    result.assert_outcomes(passed=5)
    servers = recorded_servers(strict)
    assert len(servers) == 5
    # One shared server for the unmarked tests, one for the plain marker.
    assert len({server["pid"] for server in servers}) == 2
    for server in servers:
        assert_stopped(server["url"], server["pid"])


ISOLATION_TESTS = """\
import urllib.error
import urllib.request

import pytest

from mock_server.pytest_plugin import HeyGenServerError

PIDS = []


def status_of(url):
    try:
        with urllib.request.urlopen(url + "/status", timeout=5) as response:
            return response.status, None
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.headers.get("Retry-After")


def test_faults_left_on(heygen_server):
    PIDS.append(heygen_server.stats()["pid"])
    switch = heygen_server.faults(kinds="503", retry_after=3)
    assert switch.settings["fault_kinds"] == ["503"]
    assert status_of(heygen_server.url) == (503, "3")
    assert heygen_server.stats()["faults_injected"] == {"503": 1}


def test_the_next_test_starts_clean(heygen_server):
    PIDS.append(heygen_server.stats()["pid"])
    assert PIDS[0] == PIDS[1]  # the same process
    assert heygen_server.fault_settings()["fault_rate"] == 0.0
    stats = heygen_server.stats()
    assert stats["faults_injected"] == {}
    assert stats["status_requests_total"] == 0
    assert status_of(heygen_server.url) == (200, None)


def test_switches_nest_and_restore(heygen_server):
    with heygen_server.faults(rate=0.5, kinds=["500"]):
        with heygen_server.faults(kinds=["drop"], latency=0.01) as inner:
            assert heygen_server.fault_settings() == inner.settings
            assert inner.settings["latency"] == 0.01
        assert heygen_server.fault_settings()["fault_kinds"] == ["500"]
    assert heygen_server.fault_settings()["fault_rate"] == 0.0
    heygen_server.faults(kinds=["500"])
    heygen_server.clear_faults()
    assert status_of(heygen_server.url) == (200, None)


def test_refused_values(heygen_server):
    with pytest.raises(ValueError, match="fault_kinds"):
        heygen_server.faults(kinds=["teapot"])
    with pytest.raises(ValueError, match="fault_rate"):
        heygen_server.faults(rate=1.5)
    with pytest.raises(ValueError, match="delay"):
        heygen_server.create_job(delay=-1)
    with pytest.raises(HeyGenServerError) as info:
        heygen_server.job("nope")
    assert info.value.status == 404
    assert heygen_server.fault_settings()["fault_rate"] == 0.0


def test_jobs_and_their_records(heygen_server):
    job_id = heygen_server.create_job(delay=5, outcome="error", video_length=3, title="Intro")
    record = heygen_server.job(job_id)
    assert (record["delay"], record["result"], record["title"]) == (5, "pending", "Intro")
    assert heygen_server.stats()["jobs_created"] == 1
"""


@pytest.mark.live
def test_each_test_gets_a_clean_handle_on_one_server(strict: pytest.Pytester) -> None:
    strict.makepyfile(test_isolation=ISOLATION_TESTS)
    result = strict.runpytest("-q")
    result.assert_outcomes(passed=5)


FLAG_TESTS = """\
import os

import pytest

EXPECTED_DELAY = float(os.environ["EXPECTED_DELAY"])


def test_configured_flags(heygen_server):
    job = heygen_server.job(heygen_server.create_job())
    assert job["delay"] == EXPECTED_DELAY
    capabilities = heygen_server.server.get_json("/capabilities")
    assert capabilities["hints"] is True


@pytest.mark.heygen_server("--no-batch", plain=True, delay=0.2, fault_kinds=["500", "drop"])
def test_marker_flags(heygen_server):
    flags = heygen_server.server.flags
    assert flags[0] == "--admin"
    assert flags[-6:] == ("--no-batch", "--plain", "--delay", "0.2", "--fault-kinds", "500,drop")
    assert heygen_server.job(heygen_server.create_job())["delay"] == 0.2
    assert heygen_server.server.get_json("/capabilities")["error"]["code"] == "not_found"
    assert heygen_server.fault_settings()["fault_kinds"] == ["500", "drop"]
"""


@pytest.mark.live
def test_ini_option_command_line_and_marker(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(STRICT_INI + "heygen_server_flags = --delay 0.3 --seed 5\n")
    pytester.makepyfile(test_flags=FLAG_TESTS)
    monkeypatch.setenv("EXPECTED_DELAY", "0.3")
    pytester.runpytest("-q").assert_outcomes(passed=2)
    # The command-line option replaces the ini option's flags.
    monkeypatch.setenv("EXPECTED_DELAY", "0.4")
    result = pytester.runpytest("-q", "-k", "configured", "--heygen-server-flags=--delay 0.4")
    result.assert_outcomes(passed=1, deselected=1)


@pytest.mark.live
def test_a_server_that_cannot_start_errors_the_test(strict: pytest.Pytester) -> None:
    strict.makepyfile(
        test_bad="""
        import pytest

        @pytest.mark.heygen_server(delay=-1)
        def test_never_runs(heygen_server):
            raise AssertionError("unreachable")
        """
    )
    result = strict.runpytest("-q")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*LiveServerError*", "*--delay: Input should be greater than or equal to 0*"]
    )


def test_the_marker_is_registered(strict: pytest.Pytester) -> None:
    result = strict.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.heygen_server(*flags, **options):*"])
    help_text = strict.runpytest("--help")
    help_text.stdout.fnmatch_lines(["*--heygen-server-flags=FLAGS*", "*heygen_server_flags*"])


@pytest.mark.parametrize(
    ("args", "kwargs", "flags"),
    [
        ((), {}, ()),
        (("--rate-limit", "5"), {}, ("--rate-limit", "5")),
        ((), {"plain": True, "no_batch": False, "seed": None}, ("--plain",)),
        ((), {"delay": 0.2, "max_batch": 10}, ("--delay", "0.2", "--max-batch", "10")),
        ((), {"fault_kinds": ["500", "drop"]}, ("--fault-kinds", "500,drop")),
        (("--plain",), {"delay_max": 3}, ("--plain", "--delay-max", "3")),
    ],
)
def test_marker_flags(
    args: tuple[str, ...], kwargs: dict[str, Any], flags: tuple[str, ...]
) -> None:
    assert marker_flags(*args, **kwargs) == flags


def test_marker_flags_are_strings() -> None:
    with pytest.raises(TypeError, match="strings"):
        marker_flags("--delay", 1)


@pytest.mark.live
def test_the_handle_needs_an_admin_server(live_server: LiveServer) -> None:
    handle = HeyGenServer(live_server)
    # Jobs need no admin routes...
    assert handle.job(handle.create_job(delay=0.1))["delay"] == 0.1
    with pytest.raises(ValueError, match="outcome"):
        handle.create_job(outcome="cancelled")  # type: ignore[arg-type]
    # ...faults and the counter reset do.
    with pytest.raises(HeyGenServerError, match="--admin") as info:
        handle.faults(kinds=["503"])
    assert info.value.status == 404
    assert info.value.body["error"]["code"] == "not_found"
    with pytest.raises(HeyGenServerError, match="--admin"):
        handle.reset()


def test_loading_the_plugin_is_cheap() -> None:
    """pytest loads it in every run: no Flask, no server helper, no HTTP machinery."""
    code = (
        "import sys, mock_server.pytest_plugin; "
        "heavy = {'flask', 'werkzeug', 'mock_server.testing', 'mock_server.app', "
        "'urllib.request', 'requests'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert out.stdout.strip() == "[]"
