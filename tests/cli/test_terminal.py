"""The real ``heygen-client`` console script, on a pseudo-terminal and piped.

On a terminal (with rich installed) it draws a live table redrawn in place;
piped, it prints plain lines with no escape sequences; ``--json`` prints JSON
lines either way. The pseudo-terminal comes from the standard library
(``os.openpty``), so the test needs nothing new.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from heygen_client._exit_codes import ExitCode
from heygen_client._progress import LIVE_TABLE_HINT
from mock_server.testing import LiveServer
from tests._wait import wait_until

pytestmark = pytest.mark.live

SCRIPT = Path(sys.executable).parent / "heygen-client"
ESCAPE = "\x1b["
HIDE_CURSOR, SHOW_CURSOR, CURSOR_UP = "\x1b[?25l", "\x1b[?25h", "\x1b[1A"
TIMEOUT = 20.0


@pytest.fixture(scope="module")
def hints_server() -> Iterator[LiveServer]:
    """A server that answers at once with estimates (no long-poll holding answers back)."""
    with LiveServer("--delay", "1", "--seed", "1", "--no-long-poll", "--no-batch") as server:
        yield server


@pytest.fixture(autouse=True)
def console_script() -> None:
    if not SCRIPT.exists():
        pytest.skip(f"the console script is not installed at {SCRIPT} (pip install -e .)")


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(TERM="xterm-256color", COLUMNS="120", LINES="40", PYTHONUNBUFFERED="1")
    env.pop("HEYGEN_URL", None)
    env.update(extra)
    return env


def run_on_terminal(
    *args: str, env: dict[str, str] | None = None, interrupt_on: str | None = None
) -> Run:
    """Run the console script with a pseudo-terminal as stdin, stdout and stderr.

    With ``interrupt_on``, send SIGINT once that text has appeared in the output
    (not after a fixed time: under load the signal could land during imports).
    """
    primary, secondary = os.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    try:
        process = subprocess.Popen(
            [str(SCRIPT), *args],
            stdin=secondary,
            stdout=secondary,
            stderr=secondary,
            env=env or environment(),
            close_fds=True,
        )
    finally:
        os.close(secondary)
    chunks: list[bytes] = []
    started = time.monotonic()
    try:
        while True:
            if interrupt_on is not None and interrupt_on in b"".join(chunks).decode(
                errors="replace"
            ):
                process.send_signal(signal.SIGINT)
                interrupt_on = None
            if time.monotonic() - started > TIMEOUT:
                pytest.fail(f"still running after {TIMEOUT} s: {b''.join(chunks)!r}")
            ready, _, _ = select.select([primary], [], [], 0.05)
            if ready:
                try:
                    data = os.read(primary, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        os.close(primary)
    return Run(process.returncode, b"".join(chunks).decode("utf-8", "replace"))


def run_piped(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=environment(),
        stdin=subprocess.DEVNULL,
        timeout=TIMEOUT,
        check=False,
    )


def test_live_table_on_a_terminal(hints_server: LiveServer) -> None:
    pytest.importorskip("rich")
    run = run_on_terminal("submit", "-n", "3", "--delay", "0.8", "--url", hints_server.url)
    assert run.returncode == ExitCode.OK, run.output
    out = run.output
    assert HIDE_CURSOR in out
    assert CURSOR_UP in out  # redrawn in place
    assert out.rfind(SHOW_CURSOR) > out.rfind(HIDE_CURSOR)  # the cursor is given back
    for header in ("job", "state", "elapsed", "polls", "progress", "server estimate"):
        assert header in out
    assert "pending" in out
    assert re.search(r"\d+% done, ~\d\.\d s left", out)  # the server's estimate
    assert "0/3 done" in out
    final = out.rpartition(SHOW_CURSOR)[2]
    rows = [line for line in final.splitlines() if re.search(r"\bj[\w-]+…[\w-]+\b", line)]
    assert len(rows) == 3
    assert all("completed" in row for row in rows)
    assert "3/3 done" in final
    assert re.search(
        r"3 jobs in \d\.\d s: 3 completed; \d+ status requests? \(\d+ job polls\)", final
    )


def test_a_terminal_without_rich_gets_plain_lines(
    hints_server: LiveServer, tmp_path: Path
) -> None:
    (tmp_path / "rich").mkdir()
    (tmp_path / "rich" / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    env = environment(PYTHONPATH=str(tmp_path))
    run = run_on_terminal("submit", "--delay", "0.6", "--url", hints_server.url, env=env)
    assert run.returncode == ExitCode.OK, run.output
    assert ESCAPE not in run.output
    lines = run.output.splitlines()
    assert lines.pop(0) == LIVE_TABLE_HINT  # says what the [cli] extra would give
    assert re.fullmatch(r"j[\w-]+: tracking", lines[0])
    assert re.fullmatch(r"j[\w-]+: pending after 0\.\d s, 1 poll; server: .*s left", lines[1])
    assert re.fullmatch(r"j[\w-]+: completed after 0\.\d s, \d polls", lines[2])


def test_no_live_on_a_terminal_gets_plain_lines(hints_server: LiveServer) -> None:
    run = run_on_terminal("submit", "--delay", "0.3", "--no-live", "--url", hints_server.url)
    assert run.returncode == ExitCode.OK, run.output
    assert ESCAPE not in run.output
    assert "completed after" in run.output


def test_piped_output_is_plain_lines(hints_server: LiveServer) -> None:
    done = run_piped("submit", "-n", "2", "--delay", "0.5", "--url", hints_server.url)
    assert done.returncode == ExitCode.OK, done.stderr
    assert ESCAPE not in done.stdout
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert [line.split(": ", 1)[1] for line in lines[:2]] == ["tracking", "tracking"]
    assert sum("pending after" in line for line in lines) == 2
    assert sum("completed after" in line for line in lines) == 2
    assert lines[-1].startswith("2 jobs in ")


def test_json_on_a_terminal_and_piped(hints_server: LiveServer) -> None:
    args = ("submit", "-n", "2", "--delay", "0.3", "--outcome", "error", "--json")
    terminal = run_on_terminal(*args, "--url", hints_server.url)
    piped = run_piped(*args, "--url", hints_server.url)
    assert terminal.returncode == piped.returncode == ExitCode.JOB_ERROR
    assert ESCAPE not in terminal.output  # --json never draws the live table
    for text in (terminal.output, piped.stdout):
        records = [json.loads(line) for line in text.splitlines()]
        assert [r["state"] for r in records] == ["error", "error"]


def test_ctrl_c_on_a_terminal_exits_130_and_restores_the_cursor(
    hints_server: LiveServer,
) -> None:
    pytest.importorskip("rich")
    args = ("submit", "--delay", "30", "--url", hints_server.url)
    # A redraw in place: the display is up and the command is in its loop.
    run = run_on_terminal(*args, interrupt_on=CURSOR_UP)
    assert run.returncode == ExitCode.INTERRUPTED, run.output
    assert run.output.rfind(SHOW_CURSOR) > run.output.rfind(HIDE_CURSOR)
    assert "interrupted: 1 job in" in run.output
    assert "heygen-client: interrupted" in run.output


def test_exit_codes_of_the_console_script(hints_server: LiveServer) -> None:
    assert run_piped("--version").stdout.startswith("heygen-client ")
    usage = run_piped("wait", "--timeout", "-1")
    assert usage.returncode == ExitCode.USAGE
    assert "usage: heygen-client wait" in usage.stderr
    timeout = run_piped("submit", "--delay", "30", "--timeout", "0.3", "--url", hints_server.url)
    assert timeout.returncode == ExitCode.TIMEOUT
    assert "timeout after 0.3 s" in timeout.stdout


def test_a_reader_that_leaves_early_is_not_a_traceback(hints_server: LiveServer) -> None:
    """``heygen-client submit --no-wait -n 3 | head -1``: exit 141, quietly."""
    process = subprocess.Popen(
        [str(SCRIPT), "submit", "--no-wait", "-n", "3", "--url", hints_server.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=environment(),
    )
    assert process.stdout is not None
    process.stdout.close()  # before the command has printed anything
    _, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == ExitCode.BROKEN_PIPE
    assert err == b""


def test_ctrl_c_with_json_still_prints_a_record_per_job(hints_server: LiveServer) -> None:
    def counted(*endpoints: str) -> int:
        requests = hints_server.stats()["requests"]
        return sum(sum(requests.get(endpoint, {}).values()) for endpoint in endpoints)

    def created() -> int:
        return int(hints_server.stats()["requests"].get("POST /jobs", {}).get("201", 0))

    def polled() -> int:
        return counted("GET /status", "POST /status/batch")

    before, polls_before = created(), polled()
    process = subprocess.Popen(
        [str(SCRIPT), "submit", "-n", "2", "--delay", "30", "--json", "--url", hints_server.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=environment(),
    )
    try:
        # --json shows nothing until a job ends: wait until the server has made
        # both jobs and has been asked about them (tracking has started). A
        # signal before that gets the same records (test_parsing checks it).
        wait_until(
            lambda: created() >= before + 2 and polled() >= polls_before + 2,
            TIMEOUT,
            interval=0.05,
            message="the jobs were never created and polled",
        )
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == ExitCode.INTERRUPTED, err
    records = [json.loads(line) for line in out.decode().splitlines()]
    assert [(r["state"], r["error"]) for r in records] == [("pending", "interrupted")] * 2
