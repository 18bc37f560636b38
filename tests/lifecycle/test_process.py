"""The client's life inside a process: garbage collection, fork, Ctrl-C, exit.

Each scenario runs in a child Python process against a live server, so that a
deadlock or a stuck collector takes down the child, never the test run. The
child prints one JSON line of what it saw; the test asserts on it and on how
the child ended.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

from mock_server.testing import LiveServer
from tests.chaos._support import ServerProbe
from tests.lifecycle._children import end_child

pytestmark = pytest.mark.live

#: A child that does not finish its scenario in this long is hung.
CHILD_LIMIT = 30.0
#: A process told to stop must be gone within this.
EXIT_LIMIT = 5.0


def run_child(code: str, *args: str, timeout: float = CHILD_LIMIT) -> dict[str, Any]:
    """Run ``code`` in a child Python; return the JSON object it printed last."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


LIBRARY_THREADS = """
    import threading, time

    def library_threads():
        return [t for t in threading.enumerate() if t.name.startswith("heygen-client")]

    def wait_for_no_library_thread(limit):
        give_up = time.monotonic() + limit
        while library_threads() and time.monotonic() < give_up:
            time.sleep(0.05)
        return len(library_threads())
"""

CYCLES = (
    LIBRARY_THREADS
    + """
    import gc, json, sys, weakref
    from heygen_client import TranslationClient

    url, job = sys.argv[1], sys.argv[2]
    # Collect often, and only when allocation triggers it (no gc.collect() here),
    # so that collections start on the library's threads too, where one may hold
    # the scheduler's or the pool's lock.
    gc.set_threshold(50, 2, 2)
    for _ in range(50):
        client = TranslationClient(url)
        client.self_ref = client  # only the cyclic collector can free it
        client.track(job)
        del client
        time.sleep(0.02)  # the client's threads start and poll meanwhile
    gc.set_threshold(700, 10, 10)
    gc.collect()
    left = wait_for_no_library_thread(10)

    class Cycle:
        pass

    cycle = Cycle()
    cycle.me = cycle
    alive = weakref.ref(cycle)
    del cycle
    collected = gc.collect()
    print(json.dumps({"left": left, "collected": collected, "cycle_freed": alive() is None}))
"""
)


def test_clients_dropped_in_reference_cycles_never_stop_the_collector(
    server: LiveServer, probe: ServerProbe
) -> None:
    [job] = probe.create_jobs(1, seed=1, delay=(60.0, 60.0))
    seen = run_child(CYCLES, server.url, job.job_id)
    # Before: a finalizer closing the client on a library thread that held the
    # lock it needed deadlocked; every later collection returned 0, and the
    # threads of every client dropped afterwards stayed (100 here).
    assert seen["cycle_freed"], seen
    assert seen["collected"] > 0, seen
    # Each dropped client stops its own threads (a scheduler and a worker).
    assert seen["left"] == 0, seen


FORK = """
    import json, os, sys, time, urllib.request, warnings
    from heygen_client import ClientClosed, TranslationClient

    warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads, 3.12+
    url, slow, quick = sys.argv[1:4]

    def long_polls():
        with urllib.request.urlopen(url + "/stats", timeout=5) as answer:
            return json.load(answer)["long_polls_active"]

    client = TranslationClient(url)
    future = client.track(slow)
    give_up = time.monotonic() + 10
    while long_polls() < 1 and time.monotonic() < give_up:
        time.sleep(0.02)
    assert long_polls() >= 1, "no long-poll in flight"

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's long-poll socket is open here too
        os.close(read)
        started = time.monotonic()
        try:
            client.track(slow)
            child = {"track": "returned a future"}
        except ClientClosed as exc:
            child = {"track": "ClientClosed", "message": str(exc)}
        child["took"] = time.monotonic() - started
        client.close()  # a with block would, and the atexit hook at exit
        os.write(write, json.dumps(child).encode())
        sys.exit(0)  # a normal exit: atexit hooks run
    os.close(write)
    _, status = os.waitpid(pid, 0)
    child = json.loads(os.read(read, 65536))
    time.sleep(0.3)  # a long-poll cut by the child would have failed by now
    requests = client.stats().requests
    quick_result = client.track(quick).result(timeout=10).result
    print(json.dumps({"child": child, "child_status": status, "requests": requests,
                      "slow_done": future.done(), "quick": quick_result}))
    client.close()
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork() on this platform")
def test_a_forked_child_gets_a_clear_error_and_leaves_the_parents_requests_alone(
    server: LiveServer, probe: ServerProbe
) -> None:
    [slow] = probe.create_jobs(1, seed=2, delay=(60.0, 60.0))
    quick = next(
        j for j in probe.create_jobs(2, seed=3, delay=(1.0, 1.0)) if j.outcome == "completed"
    )
    seen = run_child(FORK, server.url, slow.job_id, quick.job_id)
    child = seen["child"]
    # Before: track() in the child returned a future that never resolved.
    assert child["track"] == "ClientClosed", seen
    assert "os.fork()" in child["message"]
    assert "create a new TranslationClient" in child["message"]
    assert child["took"] < 0.5
    assert seen["child_status"] == 0
    # Before: the child's close() shut the shared socket down under the parent's
    # long-poll, which failed with a transport error.
    assert seen["requests"].get("transport", 0) == 0, seen
    assert not seen["slow_done"]
    assert seen["quick"] == "completed"


def wait_for_long_polls(probe: ServerProbe) -> None:
    give_up = time.monotonic() + 10
    while int(probe.stats()["long_polls_active"]) < 1:
        assert time.monotonic() < give_up, "no long-poll in flight"
        time.sleep(0.02)


def start_child(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


INTERRUPTED = """
    import sys
    from heygen_client import TranslationClient

    client = TranslationClient(sys.argv[1])
    future = client.track(sys.argv[2])
    print("waiting", flush=True)
    try:
        future.result()  # no timeout: only Ctrl-C ends this
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    # No close(): the atexit hook closes the client, with its long-poll in flight.
"""


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="POSIX signals")
def test_ctrl_c_in_result_interrupts_it_and_the_process_exits_promptly(
    server: LiveServer, probe: ServerProbe
) -> None:
    [job] = probe.create_jobs(1, seed=4, delay=(60.0, 60.0))
    child = start_child(INTERRUPTED, server.url, job.job_id)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "waiting"
        wait_for_long_polls(probe)
        interrupted = time.monotonic()
        child.send_signal(signal.SIGINT)
        assert child.stdout.readline().strip() == "interrupted"
        code = child.wait(timeout=EXIT_LIMIT)
        took = time.monotonic() - interrupted
    finally:
        end_child(child)
    assert code == 0
    assert took < EXIT_LIMIT


#: Jobs, and futures per job, pending when the process exits.
PENDING_JOBS, FUTURES_PER_JOB = 200, 5

PENDING_AT_EXIT = f"""
    import sys, time
    from heygen_client import TranslationClient

    client = TranslationClient(sys.argv[1])
    futures = [client.track(job) for job in sys.argv[2:] for _ in range({FUTURES_PER_JOB})]
    for future in futures:
        # At exit, close() fails them all: each callback then blocks its thread.
        future.add_done_callback(lambda _: time.sleep(60))
    print("tracking", len(futures), flush=True)
    sys.stdin.readline()
"""


def test_exit_with_a_thousand_pending_futures_and_blocking_callbacks_is_prompt(
    server: LiveServer, probe: ServerProbe
) -> None:
    jobs = probe.create_jobs(PENDING_JOBS, seed=5, delay=(60.0, 60.0))
    child = start_child(PENDING_AT_EXIT, server.url, *(job.job_id for job in jobs))
    try:
        assert child.stdout is not None
        assert child.stdin is not None
        assert child.stdout.readline().split() == ["tracking", str(PENDING_JOBS * FUTURES_PER_JOB)]
        wait_for_long_polls(probe)
        left = time.monotonic()
        child.stdin.write("go\n")
        child.stdin.flush()
        code = child.wait(timeout=EXIT_LIMIT)
        took = time.monotonic() - left
        assert child.stderr is not None
        errors = child.stderr.read()
    finally:
        end_child(child)
    assert code == 0, errors
    assert took < EXIT_LIMIT
