"""Flags, environment variables and validation of ``ServerConfig``."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import click
import pytest
from pydantic import ValidationError

from mock_server import FakeClock, ServerConfig, create_app
from mock_server.config import COMMAND, DEFAULT_SECRET, env_name


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
    ctx = click.Context(COMMAND, auto_envvar_prefix="HEYGEN_MOCK")
    options = [p for p in COMMAND.get_params(ctx) if isinstance(p, click.Option)]
    flags = [option.opts[0] for option in options if option.opts[0] != "-h"]
    assert len(flags) == 36
    for option in options:
        if option.opts[0] != "-h":
            assert option.name is not None
            assert (
                env_name(option.name)
                == "HEYGEN_MOCK_" + option.opts[0][2:].replace("-", "_").upper()
            )
            record = option.get_help_record(ctx)
            assert record is not None
            assert f"env var: {env_name(option.name)}" in record[1]


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
    assert "Usage:" in capsys.readouterr().err


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
    bad: dict[str, Any] = {"delay": -1, "fault_kinds": ("nope",), "max_batch": 0}
    with pytest.raises(ValidationError) as info:
        ServerConfig(**bad)
    assert isinstance(info.value, ValueError)
    assert {error["loc"][0] for error in info.value.errors()} == {
        "delay",
        "fault_kinds",
        "max_batch",
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"delay": 5, "max_delay": 4}, "delay must be at most max_delay"),
        ({"delay": 5, "delay_max": 4}, "delay_max must be in [delay, max_delay]"),
        ({"webhook_delay": 100, "max_delay": 50}, "webhook_delay must be at most max_delay"),
    ],
)
def test_fields_that_depend_on_each_other(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        ServerConfig(**fields)


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


def test_the_docs_table_lists_every_flag_with_its_variable() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "server.md").read_text("utf-8")
    rows = re.findall(r"^\| `(--[a-z-]+)[^`]*` \| `(HEYGEN_MOCK_[A-Z_]+)` \|", text, re.MULTILINE)
    # The declared options (click adds --help itself, with no variable).
    options = [p for p in COMMAND.params if isinstance(p, click.Option)]
    flags = [(o.opts[0], env_name(o.name or "")) for o in options]
    assert rows == flags


@pytest.mark.parametrize(
    ("value", "on"),
    [
        *[(word, True) for word in ("1", "true", "yes", "on", "TRUE")],
        *[(word, False) for word in ("0", "false", "no", "off", "")],
    ],
)
def test_switches_read_boolean_words(value: str, on: bool) -> None:
    config = ServerConfig.from_args([], environ={"HEYGEN_MOCK_ADMIN": value})
    assert config.admin is on
    config = ServerConfig.from_args([], environ={"HEYGEN_MOCK_NO_BATCH": value})
    assert config.batch is not on


def test_help_shows_each_flag_with_its_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        ServerConfig.from_args(["--help"], environ={})
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: heygen-mock-server [OPTIONS]")
    for flag, variable in [
        ("--delay-max", "HEYGEN_MOCK_DELAY_MAX"),
        ("--no-hints", "HEYGEN_MOCK_NO_HINTS"),
    ]:
        assert flag in out
        assert variable in out


@pytest.mark.parametrize(
    "argv", [["--latency", "3601"], ["--fault-retry-after", "86401"], ["--fault-rate", "1.01"]]
)
def test_flags_share_the_admin_routes_ranges(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        ServerConfig.from_args(argv, environ={})
