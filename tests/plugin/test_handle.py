"""The ``HeyGenServer`` handle on its own, over one ``--admin`` server: faults and errors."""

from __future__ import annotations

import urllib.error
from collections.abc import Iterator
from typing import cast

import pytest

from mock_server.pytest_plugin import HeyGenServer, HeyGenServerError
from mock_server.testing import LiveServer, free_port

pytestmark = pytest.mark.live

START_UP = {
    "fault_rate": 0.0,
    "fault_kinds": ["500", "503"],
    "fault_retry_after": 1,
    "latency": 0.0,
    "latency_jitter": 0.0,
}


@pytest.fixture(scope="module")
def admin_server() -> Iterator[LiveServer]:
    with LiveServer("--admin", "--delay", "1") as server:
        yield server


@pytest.fixture
def handle(admin_server: LiveServer) -> HeyGenServer:
    """A handle with the start-up faults, as the plugin's fixture gives one."""
    server = HeyGenServer(admin_server)
    server.reset()
    assert server.fault_settings() == START_UP
    return server


def test_latency_alone_leaves_faults_off(handle: HeyGenServer) -> None:
    switch = handle.faults(latency=0.05)
    assert switch.settings == {**START_UP, "latency": 0.05}
    # Off means off: a status request is slowed down, not failed.
    assert handle.server.get_json("/status")["result"] in {"pending", "completed"}


def test_latency_alone_leaves_faults_on(handle: HeyGenServer) -> None:
    handle.faults(rate=0.3, kinds=["drop"], retry_after=4)
    settings = handle.faults(latency_jitter=0.1).settings
    assert settings == {
        **START_UP,
        "fault_rate": 0.3,
        "fault_kinds": ["drop"],
        "fault_retry_after": 4,
        "latency_jitter": 0.1,
    }


def test_arguments_left_out_keep_the_settings_in_force(handle: HeyGenServer) -> None:
    handle.faults(kinds=["garbage"], retry_after=5, latency=0.01)
    settings = handle.faults(rate=0.5).settings
    assert settings == {
        **START_UP,
        "fault_rate": 0.5,
        "fault_kinds": ["garbage"],
        "fault_retry_after": 5,
        "latency": 0.01,
    }


@pytest.mark.parametrize(
    ("kwargs", "changed"),
    [
        ({}, {"fault_rate": 1.0}),
        ({"kinds": "503"}, {"fault_rate": 1.0, "fault_kinds": ["503"]}),
        ({"retry_after": 0}, {"fault_rate": 1.0, "fault_retry_after": 0}),
        ({"rate": 0.0, "latency": 0.2}, {"latency": 0.2}),
    ],
)
def test_rate_left_out_switches_faults_on(
    handle: HeyGenServer, kwargs: dict[str, object], changed: dict[str, object]
) -> None:
    assert handle.faults(**kwargs).settings == {**START_UP, **changed}  # type: ignore[arg-type]


def test_a_switch_restores_what_was_in_force(handle: HeyGenServer) -> None:
    handle.faults(latency=0.02)
    with handle.faults(kinds=["500"]) as switch:
        assert switch.previous == {**START_UP, "latency": 0.02}
    assert handle.fault_settings() == {**START_UP, "latency": 0.02}


def test_error_answers_chain_their_cause(handle: HeyGenServer) -> None:
    with pytest.raises(HeyGenServerError) as info:
        handle.job("nope")
    assert info.value.status == 404
    assert isinstance(info.value.__cause__, urllib.error.HTTPError)
    with pytest.raises(ValueError, match="fault_rate") as refused:
        handle.faults(rate=2.0)
    assert isinstance(refused.value.__cause__, urllib.error.HTTPError)


class _Gone:
    """Stands in for a ``LiveServer`` whose port nothing listens on."""

    url = f"http://127.0.0.1:{free_port()}"


def test_no_answer_is_a_heygen_server_error() -> None:
    handle = HeyGenServer(cast(LiveServer, _Gone()))
    with pytest.raises(HeyGenServerError, match="no answer from the mock server") as info:
        handle.fault_settings()
    assert info.value.status is None
    assert info.value.body is None
    assert isinstance(info.value.__cause__, urllib.error.URLError)
    assert _Gone.url in str(info.value)
