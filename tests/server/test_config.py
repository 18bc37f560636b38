"""Flags, environment variables and validation of ``ServerConfig``."""

from __future__ import annotations

import dataclasses

import pytest

from mock_server import FakeClock, ServerConfig, create_app
from mock_server.config import DEFAULT_SECRET, build_parser, env_name


def test_defaults() -> None:
    config = ServerConfig.from_args([], environ={})
    assert config == ServerConfig()
    assert (config.host, config.port, config.delay, config.delay_max) == (
        "127.0.0.1",
        5000,
        10.0,
        None,
    )
    assert config.secret == DEFAULT_SECRET
    assert config.fault_kinds == ("500", "503")
    assert not config.plain


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ServerConfig().delay = 3  # type: ignore[misc]


def test_flags() -> None:
    config = ServerConfig.from_args(
        [
            "--host", "0.0.0.0", "--port", "0", "--delay", "2", "--delay-max", "5",
            "--error-rate", "0.25", "--seed", "9", "--secret", "s", "--no-hints",
            "--no-batch", "--estimate-noise", "0.3", "--max-wait", "4", "--max-batch", "7",
            "--max-delay", "60", "--fault-rate", "0.5", "--fault-kinds", "garbage,drop",
            "--fault-retry-after", "3", "--rate-limit", "20", "--latency", "0.1",
            "--latency-jitter", "0.2", "--log-level", "debug", "--delay-per-video-second", "1",
            "--backlog", "64", "--exit-on-stdin-eof", "--max-connections", "8",
            "--request-timeout", "2.5",
        ],
        environ={},
    )  # fmt: skip
    assert config == ServerConfig(
        host="0.0.0.0", port=0, delay=2, delay_max=5, error_rate=0.25, seed=9, secret="s",
        hints=False, batch=False, estimate_noise=0.3, max_wait=4, max_batch=7, max_delay=60,
        fault_rate=0.5, fault_kinds=("garbage", "drop"), fault_retry_after=3, rate_limit=20,
        latency=0.1, latency_jitter=0.2, log_level="DEBUG", delay_per_video_second=1,
        backlog=64, exit_on_stdin_eof=True, max_connections=8, request_timeout=2.5,
    )  # fmt: skip


def test_plain_turns_everything_off() -> None:
    config = ServerConfig.from_args(["--plain"], environ={})
    assert config.plain
    assert (config.hints, config.long_poll, config.batch, config.capabilities) == (False,) * 4


def test_environment_variables() -> None:
    environ = {
        "HEYGEN_MOCK_DELAY": "3",
        "HEYGEN_MOCK_DELAY_MAX": "4",
        "HEYGEN_MOCK_NO_LONG_POLL": "yes",
        "HEYGEN_MOCK_NO_CAPABILITIES": "0",
        "HEYGEN_MOCK_FAULT_KINDS": "500, unknown-result",
        "HEYGEN_MOCK_SECRET": "from-env",
    }
    config = ServerConfig.from_args([], environ=environ)
    assert (config.delay, config.delay_max, config.secret) == (3, 4, "from-env")
    assert not config.long_poll
    assert config.capabilities
    assert config.fault_kinds == ("500", "unknown-result")
    # A flag wins over the environment.
    assert ServerConfig.from_args(["--delay", "1"], environ=environ).delay == 1


def test_env_plain() -> None:
    assert ServerConfig.from_args([], environ={"HEYGEN_MOCK_PLAIN": "true"}).plain


def test_every_flag_has_an_env_var_in_its_help() -> None:
    parser = build_parser({})
    flags = [a.option_strings[0] for a in parser._actions if a.option_strings[0] != "-h"]
    assert len(flags) == 36
    for action in parser._actions:
        if action.option_strings[0] != "-h":
            assert env_name(action.option_strings[0]) in (action.help or "")


@pytest.mark.parametrize(
    "argv",
    [
        ["--delay", "-1"],
        ["--delay", "nan"],
        ["--delay", "5", "--delay-max", "4"],
        ["--delay", "100000"],
        ["--error-rate", "1.5"],
        ["--fault-rate", "-0.1"],
        ["--fault-kinds", "500,teapot"],
        ["--fault-kinds", ""],
        ["--port", "70000"],
        ["--port", "http"],
        ["--max-batch", "0"],
        ["--rate-limit", "0"],
        ["--log-level", "LOUD"],
        ["--secret", ""],
        ["--estimate-noise", "2"],
        ["--max-connections", "0"],
        ["--request-timeout", "0"],
        ["--request-timeout", "inf"],
        ["--unknown-flag"],
    ],
)
def test_bad_flags_exit_with_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        ServerConfig.from_args(argv, environ={})
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "environ",
    [{"HEYGEN_MOCK_DELAY": "soon"}, {"HEYGEN_MOCK_NO_HINTS": "perhaps"}],
)
def test_bad_environment_exits_with_usage(
    environ: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        ServerConfig.from_args([], environ=environ)
    assert next(iter(environ)) in capsys.readouterr().err


def test_direct_construction_validates() -> None:
    with pytest.raises(ValueError, match="delay must be") as info:
        ServerConfig(delay=-1, fault_kinds=("nope",), max_batch=0)
    message = str(info.value)
    assert "fault_kinds" in message
    assert "max_batch" in message


def test_from_env() -> None:
    assert ServerConfig.from_env({"HEYGEN_MOCK_DELAY": "2"}).delay == 2
    with pytest.raises(ValueError, match="HEYGEN_MOCK"):
        ServerConfig.from_env({"HEYGEN_MOCK_DELAY": "-2"})


def test_create_app_without_config_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HEYGEN_MOCK_PLAIN", "1")
    client = create_app(clock=FakeClock()).test_client()
    assert client.get("/capabilities").status_code == 404
