"""The command line's parsing, URL choice and exit codes, with no server running."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from heygen_client import __version__
from heygen_client._cli import DEFAULT_URL, URL_ENV, build_parser, main
from heygen_client._commands import MAX_CREATE_PAUSES, REACH_BUDGET, Reached, reach
from heygen_client._exit_codes import (
    COMMAND_CODES,
    EXIT_CODES,
    PRECEDENCE,
    ExitCode,
    exit_code_of,
    state_of,
    worst,
)
from heygen_client.errors import (
    ClientClosed,
    DeadlineExceeded,
    HTTPStatusError,
    JobNotFound,
    MalformedResponse,
    RateLimited,
    TranslationFailed,
    TransportError,
    TransportTimeout,
)
from heygen_client.models import JobResult, JobStatus
from mock_server import FakeClock
from mock_server.testing import free_port
from tests.cli.conftest import CountingServer, SilentServer

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``main(argv)``, expect argparse's usage error (exit 2); return stderr."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "usage: heygen-client" in err
    return err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"heygen-client {__version__}\n"


@pytest.mark.parametrize("command", [[], ["wait"], ["submit"]])
def test_help_lists_every_exit_code_and_the_env_var(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for code in ExitCode:
        assert re.search(rf"^  {int(code)}\s", out, re.MULTILINE), f"exit {int(code)} missing"
    assert URL_ENV in out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert "a command is required" in usage_error([], capsys)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["wait", "--timeout", "0"], "expected a positive number"),
        (["wait", "--timeout", "nan"], "expected a positive number"),
        (["wait", "--timeout", "soon"], "not a number of seconds"),
        (["submit", "--delay", "-1"], "expected a non-negative number"),
        (["submit", "--video-length", "0"], "expected a positive number"),
        (["submit", "--count", "0"], "expected 1 to 1000"),
        (["submit", "-n", "1001"], "expected 1 to 1000"),
        (["submit", "--count", "two"], "not a whole number"),
        (["submit", "--outcome", "maybe"], "invalid choice"),
        (["status", "--url", "localhost:5000"], "expected http://HOST[:PORT]"),
        (["wait", "--url", "ftp://example.com"], "expected http://HOST[:PORT]"),
        (["status", "a", "b"], "unrecognized arguments"),
        (["wait", "--bogus"], "unrecognized arguments"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert message in usage_error(argv, capsys)


def test_submit_options_parse() -> None:
    args = build_parser().parse_args(
        ["submit", "-n", "3", "--delay", "0.5", "--outcome", "error", "--video-length", "90"]
    )
    assert (args.count, args.delay, args.outcome, args.video_length) == (3, 0.5, "error", 90.0)
    assert args.url is None  # resolved after parsing: --url, then $HEYGEN_URL, then default


def test_a_bad_url_in_the_environment_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(URL_ENV, "localhost:5000")
    assert f"${URL_ENV}: expected http://HOST[:PORT]" in usage_error(["status"], capsys)


def unreachable_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.mark.parametrize(
    "argv",
    [
        ["status"],
        ["status", "j1", "--json"],
        ["wait", "j1", "j2"],
        ["wait"],
        ["submit", "-n", "2"],
    ],
)
def test_server_down_exits_4_at_once(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = unreachable_url()
    monkeypatch.setenv(URL_ENV, url)
    started = time.monotonic()
    assert main(argv) == ExitCode.UNREACHABLE
    assert time.monotonic() - started < 5  # not the ~2 minutes of tracking's retries
    out, err = capsys.readouterr()
    if "--json" in argv:  # still one record, saying why there is no status
        record = json.loads(out)
        assert (record["job_id"], record["result"]) == ("j1", None)
        assert record["error"] == f"cannot connect to {url} (connection refused)"
    else:
        assert out == ""
    assert err.startswith("heygen-client: ")
    assert f"cannot connect to {url} (connection refused)" in err
    assert "NewConnectionError" not in err
    if argv[0] == "wait":
        assert f"cannot reach {url}" in err


def test_url_flag_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("heygen_client._commands.REACH_RETRY_DELAYS", ())
    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:1")
    url = unreachable_url()
    assert main(["wait", "j1", "--url", url]) == ExitCode.UNREACHABLE
    assert f"cannot reach {url}" in capsys.readouterr().err


def test_the_default_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    parser = build_parser()
    from heygen_client._cli import _url_from_env

    assert _url_from_env(parser) == DEFAULT_URL == "http://127.0.0.1:5000"
    monkeypatch.setenv(URL_ENV, "  ")
    assert _url_from_env(parser) == DEFAULT_URL


FAILED_STATUS = JobStatus("j1", JobResult.ERROR)


@pytest.mark.parametrize(
    ("error", "state", "code"),
    [
        (None, "completed", ExitCode.OK),
        (TranslationFailed("j1", FAILED_STATUS), "error", ExitCode.JOB_ERROR),
        (DeadlineExceeded("j1", 5.0), "timeout", ExitCode.TIMEOUT),
        (TransportError("refused"), "unreachable", ExitCode.UNREACHABLE),
        (TransportTimeout("read timeout"), "timeout", ExitCode.TIMEOUT),
        (JobNotFound("404", status_code=404), "failed", ExitCode.SERVER_ERROR),
        (RateLimited("429", status_code=429), "failed", ExitCode.SERVER_ERROR),
        (HTTPStatusError("503", status_code=503), "failed", ExitCode.SERVER_ERROR),
        (MalformedResponse("html"), "failed", ExitCode.SERVER_ERROR),
        (ClientClosed("closed"), "failed", ExitCode.SERVER_ERROR),
        (RuntimeError("a bug"), "failed", ExitCode.SERVER_ERROR),
    ],
)
def test_each_outcome_has_its_state_and_exit_code(
    error: BaseException | None, state: str, code: ExitCode
) -> None:
    assert state_of(error) == state
    assert exit_code_of(error) == code


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([], ExitCode.OK),
        ([ExitCode.OK, ExitCode.OK], ExitCode.OK),
        ([ExitCode.OK, ExitCode.JOB_ERROR], ExitCode.JOB_ERROR),
        ([ExitCode.JOB_ERROR, ExitCode.TIMEOUT, ExitCode.OK], ExitCode.TIMEOUT),
        ([ExitCode.TIMEOUT, ExitCode.SERVER_ERROR], ExitCode.SERVER_ERROR),
        ([ExitCode.SERVER_ERROR, ExitCode.UNREACHABLE, ExitCode.JOB_ERROR], ExitCode.UNREACHABLE),
    ],
)
def test_the_most_serious_outcome_wins(codes: list[ExitCode], expected: ExitCode) -> None:
    assert worst(codes) == expected


def test_precedence_covers_every_job_outcome() -> None:
    assert set(PRECEDENCE) == {
        ExitCode.OK,
        ExitCode.JOB_ERROR,
        ExitCode.TIMEOUT,
        ExitCode.UNREACHABLE,
        ExitCode.SERVER_ERROR,
    }


def test_the_docs_exit_code_table_matches_the_code() -> None:
    """docs/cli.md's table lists exactly the codes of ExitCode, in order."""
    text = DOCS.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\d+)` \|", text, re.MULTILINE)
    assert [int(r) for r in rows] == [int(code) for code in EXIT_CODES]
    assert list(EXIT_CODES) == list(ExitCode)
    assert URL_ENV in text


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:99999", "port out of range"),
        ("http://127.0.0.1:http", "port could not be cast"),
        ("http://127.0.0.1:0", "port 0 cannot be connected to"),
        ("http://[::1", "invalid ipv6 url"),
        ("http://:5000", "expected http://HOST[:PORT]"),
        ("http://exa mple.com", "white space"),
    ],
)
@pytest.mark.parametrize("command", ["status", "wait"])
def test_a_url_that_cannot_be_parsed_is_a_usage_error(
    command: str,
    url: str,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    err = usage_error([command, "--url", url], capsys)
    assert message in err
    assert "_url" not in err  # no private function name in the message
    monkeypatch.setenv(URL_ENV, url)
    assert message in usage_error([command], capsys)


def test_wait_timeout_bounds_a_server_that_never_answers(
    silent_server: SilentServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The connection is accepted, no answer comes: --timeout 1 is exit 3 after ~1 s."""
    started = time.monotonic()
    argv = ["wait", "j1", "j2", "--url", silent_server.url, "--timeout", "1", "--json"]
    assert main(argv) == ExitCode.TIMEOUT
    assert time.monotonic() - started < 3  # was 31.5 s, and exit 4
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["job_id"], r["state"]) for r in records] == [("j1", "timeout"), ("j2", "timeout")]
    assert all(r["elapsed"] == pytest.approx(1.0, abs=0.5) for r in records)
    assert err == ""


def test_the_reach_check_does_not_retry_a_read_timeout(
    silent_server: SilentServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read timeout means the server accepted: it is there, tracking waits for it."""
    monkeypatch.setattr("heygen_client._commands.REACH_TRY_TIMEOUT", 0.3)
    started = time.monotonic()
    assert reach(silent_server.url, "j1", REACH_BUDGET) == Reached()
    assert time.monotonic() - started < 1.5
    assert len(silent_server.accepted) == 1


@pytest.mark.parametrize(
    ("budget", "sleeps"),
    [
        # FakeClock records positive sleeps: the first try's 0 s is not among them.
        (0.2, []),  # the first retry would end at 0.25 s, past the budget
        (0.5, [0.25]),  # a second retry would end at 0.75 s
        (0.75, [0.25]),  # ... not before the budget ends
        (0.76, [0.25, 0.5]),
        (REACH_BUDGET, [0.25, 0.5]),  # every retry there is
    ],
)
def test_the_reach_check_keeps_to_its_budget(budget: float, sleeps: list[float]) -> None:
    """Connection refused is tried again, but only within the budget (--timeout)."""
    clock = FakeClock()
    reached = reach(unreachable_url(), "j1", budget, clock=clock, sleep=clock.sleep)
    assert isinstance(reached.problem, TransportError)
    assert reached.status is None
    assert clock.sleeps == sleeps


def test_wait_json_when_the_server_is_down_prints_a_record_per_job(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = unreachable_url()
    assert main(["wait", "j1", "j2", "--json", "--url", url]) == ExitCode.UNREACHABLE
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["job_id"], r["state"], r["polls"]) for r in records] == [
        ("j1", "unreachable", 0),
        ("j2", "unreachable", 0),
    ]
    assert all(r["error"] == f"cannot connect to {url} (connection refused)" for r in records)
    assert f"cannot reach {url}" in err


def test_submit_gives_up_on_a_server_that_always_says_429(
    always_429: CountingServer, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert main(["submit", "-n", "2", "--url", always_429.url]) == ExitCode.SERVER_ERROR
    assert time.monotonic() - started < 5
    assert always_429.requests == MAX_CREATE_PAUSES + 1  # the first try, then 10 more
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("heygen-client: cannot create a job: POST /jobs: HTTP 429")


def test_submit_rate_limit_pauses_end_at_the_timeout(
    always_429: CountingServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # Requests at 0, 0.6 and 1.2 s; the pause after the third would end at 1.8 s,
    # past the timeout. The second pause ends at 1.2 s: 0.5 s to spare on a busy machine.
    always_429.retry_after = "0.6"
    started = time.monotonic()
    argv = ["submit", "--timeout", "1.7", "--url", always_429.url]
    assert main(argv) == ExitCode.SERVER_ERROR
    assert time.monotonic() - started < 2.2
    assert always_429.requests == 3
    assert "HTTP 429" in capsys.readouterr().err


def test_ctrl_c_during_the_reach_check_still_prints_a_record_per_job(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("heygen_client._commands.reach", interrupted)
    argv = ["wait", "j1", "j2", "--json", "--url", unreachable_url()]
    assert main(argv) == ExitCode.INTERRUPTED
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["job_id"], r["state"], r["polls"], r["error"]) for r in records] == [
        ("j1", "waiting", 0, "interrupted"),
        ("j2", "waiting", 0, "interrupted"),
    ]
    assert err == "heygen-client: interrupted\n"


@pytest.mark.parametrize("no_wait", [False, True])
def test_ctrl_c_while_submit_creates_jobs_names_those_created(
    no_wait: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    made = iter([JobStatus("j1", JobResult.PENDING, progress=0.1, remaining_seconds=9.0)])

    def create_job(self: object, **options: object) -> JobStatus:
        for status in made:
            return status
        raise KeyboardInterrupt  # the second job

    monkeypatch.setattr("heygen_client._commands.TranslationClient.create_job", create_job)
    argv = ["submit", "-n", "3", "--json", "--url", unreachable_url()]
    assert main([*argv, *(["--no-wait"] if no_wait else [])]) == ExitCode.INTERRUPTED
    out, err = capsys.readouterr()
    assert err == ("heygen-client: interrupted\nheygen-client: created 1 of 3 before that: j1\n")
    if no_wait:
        assert out == ""
        return
    (record,) = map(json.loads, out.splitlines())
    assert record["job_id"] == "j1"
    assert (record["state"], record["result"], record["polls"]) == ("pending", "pending", 0)
    assert (record["progress"], record["remaining_seconds"]) == (0.1, 9.0)
    assert record["error"] == "interrupted"


def test_status_gives_up_on_a_silent_server_after_its_timeout(
    silent_server: SilentServer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["status", "j1", "--url", silent_server.url, "--timeout", "0.3", "--json"]
    assert main(argv) == ExitCode.TIMEOUT
    record = json.loads(capsys.readouterr().out)
    assert record["job_id"] == "j1"
    assert record["error"] == f"GET {silent_server.url}/status: no answer within the read timeout"
    assert len(silent_server.accepted) == 1  # one request, not retried


def test_a_missing_server_extra_says_what_to_install() -> None:
    """Without Flask the demo and the pytest fixture say which extra to install."""
    code = (
        "import sys; sys.modules['flask'] = None\n"
        "from heygen_client._cli import main\n"
        "sys.exit(main(['demo']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == ExitCode.USAGE
    assert "pip install 'heygen-client[server]'" in done.stderr
    assert "Traceback" not in done.stderr
    code = (
        "import sys; sys.modules['werkzeug'] = None\n"
        "from mock_server.testing import LiveServer, LiveServerError\n"
        "try:\n"
        "    LiveServer().start()\n"
        "except LiveServerError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.stdout.strip() == (
        "the mock server needs the 'server' extra (werkzeug is missing): "
        "pip install 'heygen-client[server]'"
    )


@pytest.mark.parametrize("command", ["status", "wait", "submit", "demo"])
def test_each_commands_help_lists_only_its_exit_statuses(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    listed = {int(code) for code in re.findall(r"^  (\d+) +\S", capsys.readouterr().out, re.M)}
    assert listed == {int(code) for code in COMMAND_CODES[command]}
