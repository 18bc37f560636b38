"""A server started by ``LiveServer`` never outlives its parent (``--exit-on-stdin-eof``).

The parent holds the only write end of a pipe on the server's stdin; however
the parent dies, the kernel closes it, and the server sees end of file.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mock_server import ServerConfig
from mock_server.__main__ import watch_stdin
from mock_server.serving import bind_socket
from mock_server.testing import HOST, LiveServer

#: How long a server may take to stop once its stdin ended: it should take
#: about half a second (serve_forever's poll interval); generous for a loaded CI box.
EXIT_DEADLINE = 5.0

# The intermediate parent: starts a server, says which, then waits to be killed
# (or, should the test itself die, for its own stdin to end).
PARENT_SCRIPT = """
import json, sys
from mock_server.testing import LiveServer
server = LiveServer("--delay", "1")
print(json.dumps({"pid": server.stats()["pid"], "port": server.port}), flush=True)
sys.stdin.read()
"""


def wait_for(condition: Callable[[], bool], timeout: float = EXIT_DEADLINE) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` runs out (False)."""
    deadline = time.monotonic() + timeout
    pause = 0.01
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
    return True


def process_exited(pid: int) -> bool:
    """Whether ``pid`` has exited, counting a zombie (an orphan whose new parent
    has not reaped it: init in some containers never does) as exited."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    else:  # macOS and other systems without /proc
        ps = subprocess.run(
            ["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True, check=False
        )
        state = ps.stdout.strip() or "X"
    return state[0] in "ZX"


def port_is_free(port: int) -> bool:
    """Nothing answers on ``port`` and a new server could listen on it."""
    with socket.socket() as probe:
        if probe.connect_ex((HOST, port)) == 0:
            return False
    with bind_socket(HOST, port, 1):
        return True


def start_by_hand(*flags: str) -> tuple[subprocess.Popen[str], str]:
    """``python -m mock_server --port 0 FLAGS`` with a pipe on stdin; and its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "--port", "0", *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Without the flag's variable a developer may have exported.
        env={
            **{k: v for k, v in os.environ.items() if k != "HEYGEN_MOCK_EXIT_ON_STDIN_EOF"},
            "PYTHONUNBUFFERED": "1",
        },
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.fullmatch(r"heygen-mock-server listening on (\S+)\n", line)
    if match is None:
        reap(proc)
        pytest.fail(f"server did not start, said {line!r}")
    return proc, match.group(1)


@pytest.fixture
def by_hand() -> Iterator[Callable[..., tuple[subprocess.Popen[str], str]]]:
    """``by_hand(*flags)`` starts servers as a user would; all killed at teardown."""
    procs: list[subprocess.Popen[str]] = []

    def start(*flags: str) -> tuple[subprocess.Popen[str], str]:
        proc, url = start_by_hand(*flags)
        procs.append(proc)
        return proc, url

    yield start
    for proc in procs:
        reap(proc)


def reap(proc: subprocess.Popen[str]) -> None:
    """Kill ``proc`` unless it exited, wait for it, close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def test_watch_stdin_calls_back_at_end_of_file() -> None:
    read_end, write_end = os.pipe()
    ended = threading.Event()
    try:
        thread = watch_stdin(ended.set, fd=read_end)
        assert thread.daemon
        os.write(write_end, b"ignored\n")
        assert not ended.wait(0.05)
        os.close(write_end)
        write_end = -1
        assert ended.wait(EXIT_DEADLINE)
        thread.join(EXIT_DEADLINE)
        assert not thread.is_alive()
    finally:
        if write_end != -1:
            os.close(write_end)
        os.close(read_end)


def test_flag_is_off_unless_asked() -> None:
    assert not ServerConfig.from_args([], environ={}).exit_on_stdin_eof
    assert ServerConfig.from_args(["--exit-on-stdin-eof"], environ={}).exit_on_stdin_eof
    environ = {"HEYGEN_MOCK_EXIT_ON_STDIN_EOF": "1"}
    assert ServerConfig.from_args([], environ=environ).exit_on_stdin_eof


@pytest.mark.live
@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is TerminateProcess there (exit 1)")
def test_stdin_end_stops_a_watching_server_cleanly_and_no_other(
    by_hand: Callable[..., tuple[subprocess.Popen[str], str]],
) -> None:
    # Started first, so it has had at least as long to notice its stdin end.
    plain, plain_url = by_hand()
    watching, url = by_hand("--exit-on-stdin-eof")
    port = int(url.rsplit(":", 1)[1])
    for proc in (plain, watching):
        assert proc.stdin is not None
        proc.stdin.close()
    assert watching.stderr is not None
    # Exit status 0 and the log line: the SIGTERM path, not a crash.
    assert watching.wait(EXIT_DEADLINE) == 0, watching.stderr.read()
    assert "stdin closed" in watching.stderr.read()
    assert port_is_free(port)
    # Run by hand, a closed stdin changes nothing.
    assert plain.poll() is None
    with urllib.request.urlopen(plain_url + "/healthz", timeout=5) as response:
        assert response.status == 200
    plain.send_signal(signal.SIGTERM)
    assert plain.wait(EXIT_DEADLINE) == 0


@pytest.mark.live
@pytest.mark.skipif(sys.platform == "win32", reason="checks processes by pid, POSIX-style")
def test_a_killed_parent_leaves_no_server_behind() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT_SCRIPT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    server_pid = None
    try:
        assert parent.stdout is not None
        started = json.loads(parent.stdout.readline())
        server_pid, port = started["pid"], started["port"]
        assert not process_exited(server_pid)
        parent.kill()  # SIGKILL: no cleanup code runs in the parent
        parent.wait(EXIT_DEADLINE)
        assert wait_for(lambda: process_exited(server_pid)), "the server outlived its parent"
        assert port_is_free(port)
    finally:
        reap(parent)
        if server_pid is not None and not process_exited(server_pid):
            os.kill(server_pid, signal.SIGKILL)


@pytest.mark.live
@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is TerminateProcess there (exit 1)")
def test_live_server_stop_still_terminates_it() -> None:
    with LiveServer("--delay", "1") as server:
        proc = server._proc
        assert proc is not None
        assert isinstance(proc.args, list)
        assert "--exit-on-stdin-eof" in proc.args
    # Exit status 0: stopped by SIGTERM (SystemExit(0)), not killed.
    assert proc.returncode == 0
    assert proc.stdin is not None
    assert proc.stdin.closed
    assert port_is_free(server.port)
    server.stop()  # still idempotent


@pytest.mark.parametrize(
    ("stdin", "problem"),
    [(subprocess.DEVNULL, "not a pipe"), (subprocess.PIPE, None)],
)
def test_the_watch_needs_a_pipe_on_stdin(stdin: int, problem: str | None) -> None:
    """On /dev/null (docker, nohup) the server would stop at once: refused, exit 2."""
    code = "import sys; from mock_server.__main__ import stdin_problem; print(stdin_problem())"
    proc = subprocess.run(
        [sys.executable, "-c", code], stdin=stdin, capture_output=True, text=True, timeout=30
    )
    said = proc.stdout.strip()
    assert (said == "None") if problem is None else (problem in said), said


@pytest.mark.live
def test_a_watching_server_without_a_pipe_refuses_to_start() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mock_server", "--port", "0", "--exit-on-stdin-eof"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert "--exit-on-stdin-eof needs a pipe" in proc.stderr
    assert "listening" not in proc.stdout
