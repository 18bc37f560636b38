"""How ``heygen-client wait`` and ``submit`` show their jobs.

Four reporters share one small interface; the command picks one:

- :class:`LiveTable`: a live table redrawn in place, one line per job, when
  stdout is a terminal and the optional ``rich`` package is installed
  (``pip install 'heygen-client[cli]'``). ``rich`` is imported only here, and
  only then.
- :class:`PlainLog`: one plain line per change of state, then a summary line;
  for pipes, files and CI logs, for ``-v``/``--no-live``, and on a terminal
  without ``rich``.
- :class:`JsonLines`: ``--json``, one JSON object per job as it finishes.
- :class:`Silent`: ``--quiet``.

Reporters only render :class:`JobView` snapshots; they know nothing of the
client. The command calls them from its own (main) thread, never from the
client's threads, so none of them needs a lock.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Self

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

__all__ = [
    "STATES",
    "JobView",
    "JsonLines",
    "LiveTable",
    "PlainLog",
    "Reporter",
    "Silent",
    "Summary",
    "estimate_text",
    "make_reporter",
    "plain_line",
]

#: Every state a job can be shown in. ``waiting``: no answer yet;
#: ``listening``: the server holds a long-poll open for the job (it answers when
#: the job changes: no news is no change); ``pending``: the server says it is
#: running; the rest are
#: final: ``completed``, ``error``
#: (the job ended in error), ``timeout`` (still pending after ``--timeout``),
#: ``unreachable`` (no answer from the server, retries spent) and ``failed``
#: (the server answered with an error, e.g. an unknown job id).
STATES = (
    "waiting",
    "listening",
    "pending",
    "completed",
    "error",
    "timeout",
    "unreachable",
    "failed",
)
FINAL_STATES = STATES[3:]

_STYLES = {
    "waiting": "dim",
    "listening": "cyan",
    "pending": "yellow",
    "completed": "green",
    "error": "bold red",
    "timeout": "magenta",
    "unreachable": "red",
    "failed": "red",
}


@dataclass(frozen=True, slots=True)
class JobView:
    """What is shown about one job at one moment.

    Attributes:
        job_id: the job, or None for the seed server's single job.
        state: one of :data:`STATES`.
        elapsed: seconds since the command started (frozen once the job is done).
        polls: status requests made for the job so far.
        result: the latest result the server gave (None before the first answer).
        progress: the server's progress estimate, 0 to 1, when it gave one.
        remaining_seconds: the server's estimate of time left, when it gave one.
        error: why tracking ended, for ``timeout``, ``unreachable`` and ``failed``.
    """

    job_id: str | None
    state: str
    elapsed: float
    polls: int
    result: str | None = None
    progress: float | None = None
    remaining_seconds: float | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        """True once the job's state is final."""
        return self.state in FINAL_STATES

    @property
    def estimate(self) -> str:
        """The server's estimate while the job runs (see :func:`estimate_text`)."""
        return "" if self.done else estimate_text(self.progress, self.remaining_seconds)

    @property
    def label(self) -> str:
        """The job id as shown to people."""
        return self.job_id if self.job_id is not None else "(default job)"

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` object of a finished job (see docs/cli.md)."""
        return {
            "job_id": self.job_id,
            "state": self.state,
            "result": self.result,
            "elapsed": round(self.elapsed, 3),
            "polls": self.polls,
            "progress": self.progress,
            "remaining_seconds": self.remaining_seconds,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Summary:
    """The whole run, for the last line."""

    views: Sequence[JobView]
    elapsed: float
    interrupted: bool = False
    #: HTTP status requests the client made (a batch request counts once).
    requests: int | None = None

    def text(self) -> str:
        """E.g. ``50 jobs in 9.6 s: 50 completed; 46 status requests (1142 job polls)``.

        What the server was asked (and pays for) comes first; the jobs' polls
        count a batch request once for every job it covered.
        """
        counts = Counter(view.state for view in self.views)
        parts = ", ".join(f"{counts[state]} {state}" for state in STATES if counts[state])
        jobs = f"{len(self.views)} job" + ("" if len(self.views) == 1 else "s")
        polls = sum(view.polls for view in self.views)
        head = "interrupted: " if self.interrupted else ""
        cost = _plural(polls, "poll")
        if self.requests is not None:
            cost = f"{_plural(self.requests, 'status request')} ({_plural(polls, 'job poll')})"
        text = f"{head}{jobs} in {self.elapsed:.1f} s: {parts}; {cost}"
        left = [view.job_id for view in self.views if not view.done and view.job_id]
        if self.interrupted and left:
            # Full ids: the live table shows them cut, and these are what to go on with.
            text += f"\nto go on: heygen-client wait {' '.join(left)}"
        return text


class Reporter:
    """Shows jobs as they progress; the default does nothing (``--quiet``).

    The command calls :meth:`start` once, then :meth:`changed` when a job's
    result changes while it is still running, :meth:`finished` once per job,
    :meth:`tick` about every :attr:`tick_seconds`, and :meth:`close` at the
    end (also after Ctrl-C). Use it as a context manager so that a live
    display is taken down whatever happens.
    """

    #: How often the command calls :meth:`tick` and looks for changes of state (a
    #: job that is pending for less than this may go straight to its final state).
    tick_seconds = 0.1

    def start(self, views: Sequence[JobView]) -> None:
        """Tracking begins."""

    def changed(self, view: JobView) -> None:
        """A running job's result changed (e.g. ``waiting`` to ``pending``)."""

    def finished(self, view: JobView) -> None:
        """A job is done; ``view.state`` is final."""

    def tick(self, views: Sequence[JobView]) -> None:
        """Time passed; ``views`` is every job, in the order given."""

    def close(self, summary: Summary) -> None:
        """Tracking ended (every job done, or interrupted)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class Silent(Reporter):
    """``--quiet``: nothing; the exit status tells."""


class PlainLog(Reporter):
    """Plain lines: one per job at the start, one per change of state, a summary line.

    No escape sequences, no colour: for pipes, files and CI logs.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def start(self, views: Sequence[JobView]) -> None:
        for view in views:
            self._line(f"{view.label}: tracking")

    def changed(self, view: JobView) -> None:
        self._line(plain_line(view))

    def finished(self, view: JobView) -> None:
        self._line(plain_line(view))

    def close(self, summary: Summary) -> None:
        self._line(summary.text())


class JsonLines(Reporter):
    """``--json``: one JSON object per line for each job, as it finishes.

    Interrupted, it still prints one for each job not finished, with the state
    it was in (``waiting`` or ``pending``) and ``"error": "interrupted"``, so a
    script reading the lines gets one per job whatever happens.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def finished(self, view: JobView) -> None:
        print(json.dumps(view.as_json()), file=self.stream, flush=True)

    def close(self, summary: Summary) -> None:
        if not summary.interrupted:
            return  # every job was printed as it finished
        for view in summary.views:
            if not view.done:
                record = view.as_json()
                record["error"] = "interrupted"
                print(json.dumps(record), file=self.stream, flush=True)


class LiveTable(Reporter):
    """A table redrawn in place on a terminal, one line per job (needs ``rich``).

    The table is redrawn by :meth:`tick` from the command's thread (rich's own
    refresh thread is not used). It is transient: at the end it is replaced by
    the final table printed in full (a live region is cut to the terminal's
    height) and the summary line.
    """

    def __init__(self, console: Console) -> None:
        from rich.live import Live

        self.console = console
        self._live: Live = Live(
            console=console,
            auto_refresh=False,
            transient=True,
            # Library warnings printed while the table is up go above it.
            redirect_stdout=True,
            redirect_stderr=True,
        )
        self._started = False

    def start(self, views: Sequence[JobView]) -> None:
        self._live.start()
        self._started = True
        self.tick(views)

    def tick(self, views: Sequence[JobView]) -> None:
        limit = max(3, self.console.size.height - 6)
        self._live.update(_table(views, limit), refresh=True)

    def close(self, summary: Summary) -> None:
        self._stop()
        self.console.print(_table(summary.views, None))
        self.console.print(summary.text(), highlight=False)

    def _stop(self) -> None:
        if self._started:
            self._started = False
            self._live.stop()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()


#: Said once on a terminal without ``rich``, where plain lines stand in for the table.
LIVE_TABLE_HINT = "heygen-client: plain lines; for a live table: pip install 'heygen-client[cli]'"


def make_reporter(
    stream: IO[str], *, json_lines: bool = False, quiet: bool = False, live: bool = True
) -> Reporter:
    """The reporter for these options and this ``stream``.

    Args:
        stream: where to write (stdout).
        json_lines: ``--json``; wins over everything else.
        quiet: ``--quiet``: nothing (unless ``json_lines``).
        live: allow the live table (False for ``-v`` and ``--no-live``); it is
            used only when ``stream`` is a terminal and ``rich`` is installed.
    """
    if json_lines:
        return JsonLines(stream)
    if quiet:
        return Silent()
    if live:
        console = _terminal_console(stream)
        if console is not None:
            return LiveTable(console)
    return PlainLog(stream)


def _terminal_console(stream: IO[str]) -> Console | None:
    """A rich console on ``stream`` when it is a capable terminal and rich is installed."""
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):  # no isatty(), or closed
        return None
    try:
        from rich.console import Console
    except ImportError:  # the optional [cli] extra is not installed: say what it gives
        print(LIVE_TABLE_HINT, file=sys.stderr, flush=True)
        return None
    console = Console(file=stream)
    if not console.is_terminal or console.is_dumb_terminal:
        return None
    return console


# -- formatting ------------------------------------------------------------------


def plain_line(view: JobView) -> str:
    """E.g. ``jAB12: pending after 0.1 s, 1 poll; server: 31% done, ~7.1 s left``."""
    text = f"{view.label}: {view.state} after {view.elapsed:.1f} s, {_plural(view.polls, 'poll')}"
    if view.estimate:
        text += f"; server: {view.estimate}"
    if view.error:
        text += f": {view.error}"
    return text


def estimate_text(progress: float | None, remaining_seconds: float | None) -> str:
    """The server's estimate, e.g. ``31% done, ~7.1 s left``, or ``""`` when it gave none."""
    parts = []
    if progress is not None:
        parts.append(f"{progress:.0%} done")
    if remaining_seconds is not None:
        parts.append(f"~{max(0.0, remaining_seconds):.1f} s left")
    return ", ".join(parts)


def short_id(job_id: str | None, width: int = 22) -> str:
    """A job id cut to ``width`` in the middle (ids that share a prefix stay apart)."""
    if job_id is None:
        return "(default job)"
    if len(job_id) <= width:
        return job_id
    tail = (width - 1) // 2
    return f"{job_id[: width - 1 - tail]}…{job_id[-tail:]}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _table(views: Sequence[JobView], limit: int | None) -> RenderableType:
    """The live table; with ``limit``, running jobs first and at most that many rows."""
    from rich import box
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    shown = list(views)
    hidden = 0
    if limit is not None and len(shown) > limit:
        shown = [v for v in shown if not v.done] + [v for v in shown if v.done]
        hidden = len(shown) - limit
        shown = shown[:limit]
    done = sum(1 for view in views if view.done)
    caption = f"{done}/{len(views)} done"
    if hidden:
        caption += f" ({hidden} more not shown)"
    table = Table(box=box.SIMPLE_HEAD, caption=caption, caption_justify="left")
    table.add_column("job", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("elapsed", justify="right", no_wrap=True)
    table.add_column("polls", justify="right", no_wrap=True)
    table.add_column("progress", no_wrap=True)
    table.add_column("server estimate", overflow="fold")
    for view in shown:
        if view.state == "completed":
            fraction: float | None = 1.0
        elif view.done:
            fraction = None
        else:
            fraction = view.progress
        bar: RenderableType = (
            ProgressBar(total=1.0, completed=fraction, width=12)
            if fraction is not None
            else Text("")
        )
        table.add_row(
            short_id(view.job_id),
            Text(view.state, style=_STYLES.get(view.state, "")),
            f"{view.elapsed:.1f} s",
            str(view.polls),
            bar,
            view.error or view.estimate,
        )
    return table
