"""follow() and the reporters, with futures settled by hand: no server, no client."""

from __future__ import annotations

import io
import json
import re
import sys
import threading
from collections.abc import Sequence

import pytest

from heygen_client._batch import JobBatch
from heygen_client._exit_codes import ExitCode
from heygen_client._follow import counted_down, follow
from heygen_client._futures import JobFuture
from heygen_client._progress import (
    STATES,
    JobView,
    JsonLines,
    LiveTable,
    PlainLog,
    Reporter,
    Silent,
    Summary,
    make_reporter,
    plain_line,
    short_id,
)
from heygen_client.errors import DeadlineExceeded, JobNotFound, TransportError
from heygen_client.models import JobResult, JobStatus

ANSI = re.compile(r"\x1b\[")


def completed(job_id: str | None) -> JobStatus:
    return JobStatus(job_id or "", JobResult.COMPLETED)


def settled(
    job_id: str | None,
    status: JobStatus | None = None,
    error: BaseException | None = None,
    polls: int = 1,
) -> JobFuture:
    future = JobFuture(job_id)
    if error is not None:
        future.fail(error, polls)
    elif status is not None:
        future.resolve(status, polls)
    return future


def running(job_id: str, status: JobStatus | None, polls: int) -> JobFuture:
    """A future whose job is still being polled, with its latest status."""
    future = JobFuture(job_id)
    future.observe(status, polls)
    return future


class Recorder(Reporter):
    """Remembers every call."""

    tick_seconds = 0.02

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.started: list[list[JobView]] = []
        self.changes: list[JobView] = []
        self.finishes: list[JobView] = []
        self.summaries: list[Summary] = []
        self.entered = self.exited = False

    def start(self, views: Sequence[JobView]) -> None:
        self.calls.append("start")
        self.started.append(list(views))

    def changed(self, view: JobView) -> None:
        self.calls.append("changed")
        self.changes.append(view)

    def finished(self, view: JobView) -> None:
        self.calls.append("finished")
        self.finishes.append(view)

    def close(self, summary: Summary) -> None:
        self.calls.append("close")
        self.summaries.append(summary)

    def __enter__(self) -> Recorder:
        self.entered = True
        return self

    def __exit__(self, *exc: object) -> None:
        self.exited = True


def mixed_batch() -> JobBatch:
    return JobBatch(
        [
            settled("ok", completed("ok"), polls=3),
            settled("bad", JobStatus("bad", JobResult.ERROR), polls=2),
            settled("slow", None, DeadlineExceeded("slow", 5.0), polls=4),
            settled("gone", None, JobNotFound("job gone is unknown", status_code=404)),
        ]
    )


def test_follow_reports_each_finished_job_and_returns_the_worst_exit_code() -> None:
    reporter = Recorder()
    assert follow(mixed_batch(), reporter) == ExitCode.SERVER_ERROR
    assert reporter.entered
    assert reporter.exited
    assert reporter.calls == ["start", "finished", "finished", "finished", "finished", "close"]
    finished = reporter.finishes
    assert [(v.job_id, v.state, v.polls) for v in finished] == [
        ("ok", "completed", 3),
        ("bad", "error", 2),
        ("slow", "timeout", 4),
        ("gone", "failed", 1),
    ]
    by_id = {v.job_id: v for v in finished}
    assert by_id["slow"].error == "no answer from the server in time"  # no status seen
    assert by_id["gone"].error == "job gone is unknown"
    assert by_id["ok"].error is None
    assert by_id["bad"].error == "the job ended in error"
    (summary,) = reporter.summaries
    assert not summary.interrupted
    assert summary.text().startswith("4 jobs in ")
    assert summary.text().endswith(": 1 completed, 1 error, 1 timeout, 1 failed; 10 polls")
    counted = Summary(summary.views, summary.elapsed, requests=3)
    assert counted.text().endswith("1 failed; 3 status requests (10 job polls)")


@pytest.mark.parametrize(
    ("errors", "code"),
    [
        ([None, None], ExitCode.OK),
        ([None, "error"], ExitCode.JOB_ERROR),
        (["error", DeadlineExceeded("b", 1.0)], ExitCode.TIMEOUT),
        ([DeadlineExceeded("a", 1.0), TransportError("refused")], ExitCode.UNREACHABLE),
    ],
)
def test_follow_exit_code_precedence(errors: list[object], code: ExitCode) -> None:
    futures = []
    for n, error in enumerate(errors):
        job = f"j{n}"
        if error is None:
            futures.append(settled(job, completed(job)))
        elif error == "error":
            futures.append(settled(job, JobStatus(job, JobResult.ERROR)))
        else:
            assert isinstance(error, BaseException)
            futures.append(settled(job, None, error))
    assert follow(JobBatch(futures), Silent()) == code


def test_follow_reports_a_running_job_that_turns_pending_then_finishes() -> None:
    pending = JobStatus("j1", JobResult.PENDING, progress=0.25, remaining_seconds=3.0)
    future = running("j1", None, polls=0)
    reporter = Recorder()

    def answer_then_finish() -> None:
        future.observe(pending, 1)
        threading.Event().wait(0.15)
        future.resolve(completed("j1"), 2)

    # Answers arrive on another thread, as they do from the scheduler.
    worker = threading.Timer(0.1, answer_then_finish)
    worker.start()
    try:
        assert follow(JobBatch([future]), reporter) == ExitCode.OK
    finally:
        worker.join()
    (start,) = reporter.started
    assert [v.state for v in start] == ["waiting"]
    (changed,) = reporter.changes
    assert (changed.state, changed.polls, changed.progress) == ("pending", 1, 0.25)
    assert changed.estimate == "25% done, ~3.0 s left"
    (finished,) = reporter.finishes
    assert (finished.state, finished.polls, finished.estimate) == ("completed", 2, "")
    assert finished.elapsed >= changed.elapsed > 0


def test_ctrl_c_closes_the_reporter_then_goes_on() -> None:
    class Interrupted(Recorder):
        def tick(self, views: Sequence[JobView]) -> None:
            raise KeyboardInterrupt

    reporter = Interrupted()
    with pytest.raises(KeyboardInterrupt):
        follow(JobBatch([running("j1", None, 0)]), reporter)
    (summary,) = reporter.summaries
    assert summary.interrupted
    assert summary.text().startswith("interrupted: 1 job in ")
    # The full ids of the jobs not done, to go on with.
    assert summary.text().endswith("\nto go on: heygen-client wait j1")
    assert reporter.exited


# -- the reporters -----------------------------------------------------------------


def view(state: str, **fields: object) -> JobView:
    values: dict[str, object] = {"job_id": "jABC", "elapsed": 1.25, "polls": 2, **fields}
    return JobView(state=state, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("shown", "line"),
    [
        (view("completed"), "jABC: completed after 1.2 s, 2 polls"),
        (view("error", polls=1), "jABC: error after 1.2 s, 1 poll"),
        (
            view("pending", progress=0.314, remaining_seconds=7.08),
            "jABC: pending after 1.2 s, 2 polls; server: 31% done, ~7.1 s left",
        ),
        (
            view("pending", remaining_seconds=-0.5),
            "jABC: pending after 1.2 s, 2 polls; server: ~0.0 s left",
        ),
        (
            view("timeout", progress=0.5, error="still pending"),
            "jABC: timeout after 1.2 s, 2 polls: still pending",
        ),
        (view("completed", job_id=None), "(default job): completed after 1.2 s, 2 polls"),
    ],
)
def test_plain_lines(shown: JobView, line: str) -> None:
    assert plain_line(shown) == line


def test_plain_log_prints_a_line_per_job_and_change_and_no_escapes() -> None:
    out = io.StringIO()
    log = PlainLog(out)
    with log:
        log.start([view("waiting"), view("waiting", job_id="jXYZ")])
        log.changed(view("pending", progress=0.5))
        log.tick([view("pending")])
        log.finished(view("completed"))
        log.close(Summary([view("completed"), view("error", job_id="jXYZ")], 2.0))
    assert out.getvalue().splitlines() == [
        "jABC: tracking",
        "jXYZ: tracking",
        "jABC: pending after 1.2 s, 2 polls; server: 50% done",
        "jABC: completed after 1.2 s, 2 polls",
        "2 jobs in 2.0 s: 1 completed, 1 error; 4 polls",
    ]
    assert not ANSI.search(out.getvalue())


def test_json_lines_prints_one_object_per_finished_job_only() -> None:
    out = io.StringIO()
    reporter = JsonLines(out)
    reporter.start([view("waiting")])
    reporter.changed(view("pending"))
    reporter.finished(view("timeout", elapsed=10.00049, progress=0.9, error="still pending"))
    reporter.close(Summary([view("timeout")], 10.0))
    (line,) = out.getvalue().splitlines()
    assert json.loads(line) == {
        "job_id": "jABC",
        "state": "timeout",
        "result": None,
        "elapsed": 10.0,
        "polls": 2,
        "progress": 0.9,
        "remaining_seconds": None,
        "error": "still pending",
    }


def test_short_ids_keep_both_ends() -> None:
    long_id = "jAQBB2sBiEs" + "x" * 30 + "PPXXKJpxig"
    short = short_id(long_id)
    assert len(short) == 22
    assert short.startswith("jAQBB2sBiEs")
    assert short.endswith("PPXXKJpxig")
    assert short_id("j1") == "j1"
    assert short_id(None) == "(default job)"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment in which rich treats a tty as a capable terminal."""
    monkeypatch.setenv("TERM", "xterm-256color")
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("terminal_env")
def test_make_reporter_chooses_by_options_and_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rich")
    pipe, tty = io.StringIO(), FakeTerminal()
    assert type(make_reporter(pipe)) is PlainLog
    assert type(make_reporter(tty)) is LiveTable
    assert type(make_reporter(tty, live=False)) is PlainLog
    assert type(make_reporter(tty, quiet=True)) is Silent
    assert type(make_reporter(tty, json_lines=True)) is JsonLines
    assert type(make_reporter(pipe, json_lines=True, quiet=True)) is JsonLines
    monkeypatch.setenv("TERM", "dumb")
    assert type(make_reporter(tty)) is PlainLog
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setitem(sys.modules, "rich.console", None)  # rich not installed
    assert type(make_reporter(tty)) is PlainLog


@pytest.mark.usefixtures("terminal_env")
def test_live_table_redraws_in_place_and_leaves_the_full_table() -> None:
    pytest.importorskip("rich")
    from rich.console import Console

    out = FakeTerminal()
    console = Console(file=out, width=110, height=14, color_system="standard")
    table = LiveTable(console)
    many = [
        view("pending", job_id=f"job{n:02}", progress=0.5, remaining_seconds=2.0)
        for n in range(20)
    ]
    with table:
        table.start([view("waiting", job_id=f"job{n:02}") for n in range(20)])
        table.tick(many)
        live = out.getvalue()
        done = [view("completed", job_id=f"job{n:02}") for n in range(19)]
        table.close(Summary([*done, view("error", job_id="job19")], 3.0))
    text = out.getvalue()
    assert "\x1b[?25l" in live  # cursor hidden while the table is live
    assert "\x1b[1A" in live  # ...and redrawn in place
    assert "more not shown" in live  # cut to the terminal's height
    assert "50% done, ~2.0 s left" in live
    assert "\x1b[?25h" in text  # cursor back
    final = text.rpartition("\x1b[?25h")[2]  # after the live region was taken down
    for n in range(20):
        assert f"job{n:02}" in final  # the final table is complete
    assert "more not shown" not in final
    assert "20/20 done" in final
    assert "20 jobs in 3.0 s: 19 completed, 1 error; 40 polls" in final


def test_states_are_the_documented_ones() -> None:
    assert STATES == (
        "waiting",
        "listening",
        "pending",
        "completed",
        "error",
        "timeout",
        "unreachable",
        "failed",
    )


@pytest.mark.parametrize(
    ("progress", "remaining", "age", "expected"),
    [
        (0.5, 4.0, 0.0, (0.5, 4.0)),
        (0.5, 4.0, 1.0, (0.625, 3.0)),
        (0.5, 4.0, 9.0, (1.0, 0.0)),  # late: 0 s left, never negative
        (None, 4.0, 1.0, (None, 3.0)),
        (0.5, None, 1.0, (0.5, None)),  # nothing to count down
        (0.2, 0.0, 1.0, (0.2, 0.0)),
    ],
)
def test_the_estimate_is_counted_down_between_answers(
    progress: float | None,
    remaining: float | None,
    age: float,
    expected: tuple[float | None, float | None],
) -> None:
    status = JobStatus(
        "j1",
        JobResult.PENDING,
        progress=progress,
        remaining_seconds=remaining,
        received_at=1_000.0,
    )
    assert counted_down(status, 1_000.0 + age) == pytest.approx(expected)
    never_received = JobStatus(
        "j1", JobResult.PENDING, progress=progress, remaining_seconds=remaining
    )
    assert counted_down(never_received, 1_000.0 + age) == (progress, remaining)


def test_json_lines_interrupted_prints_the_jobs_not_finished() -> None:
    """Ctrl-C: one record for every job still, those not finished with their state."""
    out = io.StringIO()
    reporter = JsonLines(out)
    reporter.finished(view("completed"))
    views = [view("completed"), view("pending", job_id="jXYZ", progress=0.5)]
    reporter.close(Summary(views, 3.0, interrupted=True))
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["job_id"], r["state"], r["error"]) for r in records] == [
        ("jABC", "completed", None),
        ("jXYZ", "pending", "interrupted"),
    ]
    assert records[1]["progress"] == 0.5
