"""Every command, run in-process through main() against the real mock server.

stdout is captured (not a terminal), so ``wait`` and ``submit`` print plain
lines; the live display is tested under a pseudo-terminal in test_terminal.py.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from heygen_client import _commands
from heygen_client._cli import URL_ENV, main
from heygen_client._client import TranslationClient
from heygen_client._commands import Reached
from heygen_client._exit_codes import ExitCode
from heygen_client.models import JobStatus
from mock_server.testing import LiveServer

pytestmark = pytest.mark.live

Capture = pytest.CaptureFixture[str]
JOB_ID = r"j[\w-]+"


def create(server: LiveServer, capsys: Capture, *options: str) -> list[str]:
    """Job ids made by ``submit --no-wait``."""
    assert main(["submit", "--no-wait", "--url", server.url, *options]) == ExitCode.OK
    out = capsys.readouterr().out.split()
    assert all(re.fullmatch(JOB_ID, job_id) for job_id in out), out
    return out


def test_status_of_the_seed_job_and_of_a_job(cli_server: LiveServer, capsys: Capture) -> None:
    assert main(["status", "--url", cli_server.url]) == ExitCode.OK
    assert re.fullmatch(r"\(default job\): (pending|completed).*\n", capsys.readouterr().out)
    (job_id,) = create(cli_server, capsys, "--delay", "30")
    assert main(["status", job_id, "--url", cli_server.url]) == ExitCode.OK
    out = capsys.readouterr().out
    assert re.fullmatch(rf"{job_id}: pending; server: \d+% done, ~\d+\.\d s left\n", out)
    assert main(["status", job_id, "--json", "--url", cli_server.url]) == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert data["job_id"] == job_id
    assert data["result"] == "pending"
    assert 0 <= data["progress"] < 0.2
    assert 25 < data["remaining_seconds"] <= 33
    assert main(["status", "nope", "--url", cli_server.url]) == ExitCode.SERVER_ERROR
    out, err = capsys.readouterr()
    assert out == ""
    assert "HTTP 404" in err


def test_url_from_the_environment(
    cli_server: LiveServer, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, cli_server.url)
    assert main(["status", "--json"]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["result"] in ("pending", "completed")


def test_submit_waits_and_logs_plain_lines(cli_server: LiveServer, capsys: Capture) -> None:
    argv = ["submit", "-n", "2", "--delay", "0.5", "--title", "Intro", "--url", cli_server.url]
    created = cli_server.stats()["jobs_created"]
    assert main(argv) == ExitCode.OK
    out = capsys.readouterr().out.splitlines()
    # Between tracking and the end a job may show as listening (its first
    # long-poll is held: 0 polls) or pending (an answer came), as timing has it.
    between = [line for line in out if ": listening after" in line or ": pending after" in line]
    assert all(
        re.fullmatch(rf"{JOB_ID}: (listening after 0\.\d s, 0 polls|pending after .*)", line)
        for line in between
    )
    lines = [line for line in out if line not in between]
    assert len(lines) == 5, lines
    assert all(re.fullmatch(rf"{JOB_ID}: tracking", line) for line in lines[:2])
    for line in lines[2:4]:
        assert re.fullmatch(rf"{JOB_ID}: completed after 0\.\d s, [12] polls?", line)
    summary = re.fullmatch(
        r"2 jobs in 0\.\d s: 2 completed; (\d+) status requests? \((\d) job polls\)", lines[4]
    )
    assert summary, lines[4]
    # A batch request counts once: fewer requests than the jobs' polls.
    assert 1 <= int(summary[1]) <= int(summary[2]) <= 4
    assert cli_server.stats()["jobs_created"] == created + 2


def test_submit_no_wait_json_prints_the_records(cli_server: LiveServer, capsys: Capture) -> None:
    argv = ["submit", "--no-wait", "--json", "-n", "2", "--video-length", "10"]
    assert main([*argv, "--source-language", "en", "--url", cli_server.url]) == ExitCode.OK
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 2
    for record in records:
        assert record["result"] == "pending"
        assert record["extra"]["source_language"] == "en"
        assert record["extra"]["video_length"] == 10


@pytest.mark.live
def test_submit_waits_out_a_rate_limit(
    live_server_factory: Callable[..., LiveServer], capsys: Capture
) -> None:
    server = live_server_factory("--rate-limit", "4", "--delay", "5")
    argv = ["submit", "--no-wait", "-n", "10", "--url", server.url]
    assert main(argv) == ExitCode.OK
    assert len(capsys.readouterr().out.split()) == 10
    stats = server.stats()
    assert stats["jobs_created"] == 10
    assert stats["requests"]["POST /jobs"].get("429", 0) > 0  # the server did say 429


def test_a_job_error_exits_1_and_json_says_why(cli_server: LiveServer, capsys: Capture) -> None:
    argv = ["submit", "--outcome", "error", "--delay", "0.3", "--json", "-n", "2"]
    assert main([*argv, "--url", cli_server.url]) == ExitCode.JOB_ERROR
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 2
    for record in records:
        assert set(record) == {
            "job_id",
            "state",
            "result",
            "elapsed",
            "polls",
            "progress",
            "remaining_seconds",
            "error",
        }
        assert record["state"] == record["result"] == "error"
        assert record["error"] == "the job ended in error"
        assert 0.2 < record["elapsed"] < 1.5
        assert record["polls"] >= 1


def test_wait_many_with_a_timeout(cli_server: LiveServer, capsys: Capture) -> None:
    """One quick job, one that fails, one too slow: exit 3 (a timeout beats a job error)."""
    quick = create(cli_server, capsys, "--delay", "0.2")
    failing = create(cli_server, capsys, "--delay", "0.2", "--outcome", "error")
    slow = create(cli_server, capsys, "--delay", "30")
    ids = [*quick, *failing, *slow]
    argv = ["wait", *ids, *quick, "--timeout", "1", "--json", "--url", cli_server.url]
    assert main(argv) == ExitCode.TIMEOUT
    records = {r["job_id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert list(records) == ids  # each job once (quick was given twice), slow one last
    assert records[quick[0]]["state"] == "completed"
    assert records[failing[0]]["state"] == "error"
    assert records[slow[0]]["state"] == "timeout"
    assert records[slow[0]]["error"] == "still pending"
    assert records[slow[0]]["elapsed"] == pytest.approx(1.0, abs=0.3)


def test_wait_for_an_unknown_job_exits_5(cli_server: LiveServer, capsys: Capture) -> None:
    (job_id,) = create(cli_server, capsys, "--delay", "0.2")
    assert main(["wait", job_id, "nope", "--url", cli_server.url]) == ExitCode.SERVER_ERROR
    out = capsys.readouterr().out
    assert f"{job_id}: completed after" in out
    # Known unknown when the batch long-poll that asked about both comes back.
    assert re.search(
        r"\nnope: failed after 0\.\d s, 1 poll: job nope is unknown to the server\n", out
    )
    assert re.search(
        r"\n2 jobs in 0\.\d s: 1 completed, 1 failed; \d+ status requests? \([23] job polls\)\n$",
        out,
    )


def test_wait_for_the_seed_job(cli_server: LiveServer, capsys: Capture) -> None:
    assert main(["wait", "--url", cli_server.url, "--timeout", "10"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert out.startswith("(default job): tracking\n")
    assert "(default job): completed after" in out


def test_pending_lines_on_a_plain_server(
    live_server_factory: Callable[..., LiveServer], capsys: Capture
) -> None:
    """A plain server answers 'pending' at once: the change is logged, with no estimate."""
    server = live_server_factory("--plain", "--delay", "0.6")
    assert main(["wait", "--url", server.url]) == ExitCode.OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "(default job): tracking"
    assert re.fullmatch(r"\(default job\): pending after 0\.\d s, 1 poll", lines[1])
    assert lines[2].startswith("(default job): completed after")
    assert lines[3].startswith("1 job in ")


def test_quiet_and_verbose(cli_server: LiveServer, capsys: Capture) -> None:
    library = logging.getLogger("heygen_client")
    handlers, level = list(library.handlers), library.level
    argv = ["submit", "--delay", "0.2", "--url", cli_server.url]
    assert main([*argv, "-q"]) == ExitCode.OK
    assert capsys.readouterr() == ("", "")
    assert main([*argv, "-v"]) == ExitCode.OK
    out, err = capsys.readouterr()
    assert "completed after" in out
    assert re.search(rf"poll job={JOB_ID} n=1 .*result=completed", err)
    assert (library.handlers, library.level) == (handlers, level)  # -v cleans up


def test_the_server_rejects_a_job(cli_server: LiveServer, capsys: Capture) -> None:
    argv = ["submit", "-n", "2", "--delay", "100000", "--url", cli_server.url]
    assert main(argv) == ExitCode.SERVER_ERROR
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("heygen-client: cannot create a job: POST /jobs: HTTP 400")
    assert len(err.splitlines()) == 1  # the first was refused: none was created


def test_demo_still_runs(capsys: Capture) -> None:
    assert main(["demo", "--mode", "batch", "--scale", "0.05"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert re.match(r"mock server \(batch mode\) at http://127\.0\.0\.1:\d+\n", out)
    assert "1s poller" in out
    assert "batch mode: " in out


def test_wait_on_a_finished_job_counts_its_poll(cli_server: LiveServer, capsys: Capture) -> None:
    """The reachability check's request is not tracking's: the job is polled once."""
    (job_id,) = create(cli_server, capsys, "--delay", "0")
    assert main(["wait", job_id, "--url", cli_server.url]) == ExitCode.OK
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(rf"{job_id}: completed after 0\.\d s, 1 poll", lines[1]), lines
    assert lines[2].endswith("; 1 status request (1 job poll)")


def test_quiet_prints_nothing_in_every_command(cli_server: LiveServer, capsys: Capture) -> None:
    argv = ["--url", cli_server.url, "-q"]
    assert main(["submit", "--no-wait", "--delay", "0", *argv]) == ExitCode.OK
    assert capsys.readouterr() == ("", "")
    assert main(["status", *argv]) == ExitCode.OK
    assert capsys.readouterr() == ("", "")
    assert main(["status", "nope", *argv]) == ExitCode.SERVER_ERROR
    out, err = capsys.readouterr()
    assert out == ""
    assert "HTTP 404" in err  # errors still go to stderr


def test_status_json_of_an_unknown_job_is_a_record_with_the_error(
    cli_server: LiveServer, capsys: Capture
) -> None:
    assert main(["status", "nope", "--json", "--url", cli_server.url]) == ExitCode.SERVER_ERROR
    record = json.loads(capsys.readouterr().out)
    assert record["job_id"] == "nope"
    assert record["result"] is None
    assert "HTTP 404" in record["error"]
    assert main(["status", "--json", "--url", cli_server.url]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out)["error"] is None


def test_submit_timeout_counts_from_the_start(
    cli_server: LiveServer, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Creating the jobs spends part of --timeout: tracking only gets what is left."""
    create_job = TranslationClient.create_job
    started = time.monotonic()

    def slow_create_job(self: TranslationClient, **options: Any) -> JobStatus:
        status = create_job(self, **options)
        time.sleep(max(0.0, started + 1.0 - time.monotonic()))  # creating takes 1 s
        return status

    monkeypatch.setattr(TranslationClient, "create_job", slow_create_job)
    argv = ["submit", "--delay", "30", "--timeout", "1.5", "--json", "--url", cli_server.url]
    assert main(argv) == ExitCode.TIMEOUT
    assert time.monotonic() - started < 2.3  # not 1 s of creating + 1.5 s of tracking
    (record,) = map(json.loads, capsys.readouterr().out.splitlines())
    assert record["state"] == "timeout"
    assert record["elapsed"] == pytest.approx(1.5, abs=0.3)  # creating included


def test_wait_reports_what_the_reach_check_found_when_it_used_the_timeout(
    cli_server: LiveServer, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job already done is completed, not timeout, though the check spent --timeout."""
    (done,) = create(cli_server, capsys, "--delay", "0")
    (failed,) = create(cli_server, capsys, "--delay", "0", "--outcome", "error")
    reach = _commands.reach

    def slow_reach(url: str, job_id: str | None, budget: float, **options: Any) -> Reached:
        reached = reach(url, job_id, budget, **options)
        time.sleep(budget)  # a slow server: the check takes all of --timeout
        return reached

    monkeypatch.setattr(_commands, "reach", slow_reach)
    for job_id, state, code in (
        (done, "completed", ExitCode.OK),
        (failed, "error", ExitCode.JOB_ERROR),
    ):
        argv = ["wait", job_id, "--timeout", "0.5", "--json", "--url", cli_server.url]
        assert main(argv) == code
        (record,) = map(json.loads, capsys.readouterr().out.splitlines())
        assert (record["job_id"], record["state"], record["polls"]) == (job_id, state, 1)
        assert record["result"] == state
    before = cli_server.get_json(f"/jobs/{done}")["status_requests"]
    argv = ["wait", done, failed, "--timeout", "0.5", "--json", "--url", cli_server.url]
    assert main(argv) == ExitCode.TIMEOUT  # the second job was not checked: no time left
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["job_id"], r["state"]) for r in records] == [
        (done, "completed"),
        (failed, "timeout"),
    ]
    assert cli_server.get_json(f"/jobs/{done}")["status_requests"] == before + 1  # the check's
