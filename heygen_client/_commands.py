"""The commands of ``heygen-client``: ``status``, ``wait``, ``submit`` and ``demo``.

Each ``run_*`` function takes the parsed arguments (:mod:`heygen_client._cli`)
and returns the exit status (:class:`~heygen_client._exit_codes.ExitCode`).
``wait`` first checks that the server can be reached (:func:`reach`), so that
a server that is down fails fast; ``wait`` and ``submit`` then track every job
with one :class:`TranslationClient` (``track_many``) and show them with
:func:`heygen_client._follow.follow`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any

from heygen_client._batch import JobBatch
from heygen_client._client import TranslationClient
from heygen_client._exit_codes import ExitCode, exit_code_of, state_of
from heygen_client._follow import failure_text, follow, status_fields
from heygen_client._futures import JobFuture
from heygen_client._progress import (
    JobView,
    JsonLines,
    Reporter,
    Summary,
    estimate_text,
    make_reporter,
)
from heygen_client.errors import (
    HeyGenError,
    RateLimited,
    ReadTimeout,
    TransportError,
    TransportTimeout,
)
from heygen_client.models import JobResult, JobStatus

__all__ = [
    "Reached",
    "error_json",
    "print_error",
    "reach",
    "run_demo",
    "run_status",
    "run_submit",
    "run_wait",
    "status_json",
]

#: The longest ``submit`` waits out a ``Retry-After`` between two jobs it creates.
MAX_CREATE_PAUSE = 30.0
#: The most rate-limit pauses ``submit`` makes in a row, and the most seconds
#: it goes on pausing, without creating a job; past either (or past
#: ``--timeout`` in all) it gives up with the rate limit's error (exit 5).
MAX_CREATE_PAUSES = 10
MAX_CREATE_STALL = 60.0
#: Seconds ``wait`` sleeps before trying its first request again, when the
#: connection failed (refused, reset); after the last, the server is unreachable
#: (exit 4).
REACH_RETRY_DELAYS = (0.25, 0.5)
#: The longest ``wait`` spends on that first request and its tries, before
#: tracking starts (less when ``--timeout`` is shorter).
REACH_BUDGET = 3.0
#: The connect and read timeouts of each of those tries. A server that accepted
#: the connection but has not answered yet is there: tracking waits for it.
REACH_TRY_TIMEOUT = 2.0


def print_error(message: str) -> None:
    """``message`` on stderr, after the command's name."""
    print(f"heygen-client: {message}", file=sys.stderr, flush=True)


# -- status -------------------------------------------------------------------------


def run_status(args: argparse.Namespace) -> int:
    """``status``: ask once for a job's status and print it."""
    # One request, on this thread: a read timeout is not retried, so --timeout
    # bounds the whole command (a refused connection fails at once).
    timeouts = {"connect_timeout": args.timeout, "read_timeout": args.timeout}
    with TranslationClient(args.url, discover=False, **timeouts, **args.client) as client:
        try:
            status = client.get_status(args.job_id)
        except HeyGenError as exc:
            print_error(str(exc))
            if args.json:  # a record even so: scripts read one object per job
                print(json.dumps(error_json(args.job_id, exc)), flush=True)
            return exit_code_of(exc)
    if args.json:
        print(json.dumps(status_json(status)), flush=True)
    elif not args.quiet:
        name = args.job_id or "(default job)"
        line = f"{name}: {status.result.value}"
        if status.result is JobResult.ERROR:
            line = f"{name}: {failure_text(status)}"  # with HeyGen's failure_message
        estimate = estimate_text(status.progress, status.remaining_seconds)
        print(f"{line}; server: {estimate}" if estimate else line, flush=True)
    return ExitCode.OK


def status_json(status: JobStatus) -> dict[str, Any]:
    """A status as the JSON object of ``status --json`` and ``submit --no-wait --json``."""
    data: dict[str, Any] = {f.name: getattr(status, f.name) for f in fields(status)}
    data["result"] = status.result.value
    data["extra"] = dict(status.extra)
    data["error"] = failure_text(status) if status.result == "error" else None
    return data


def error_json(job_id: str | None, error: HeyGenError) -> dict[str, Any]:
    """The ``status --json`` object when there is no status: the keys of
    :func:`status_json`, ``null`` but ``job_id`` and ``error``."""
    data: dict[str, Any] = {f.name: None for f in fields(JobStatus)}
    data.update(job_id=job_id, extra={}, error=str(error))
    return data


# -- wait and submit ----------------------------------------------------------------


def run_wait(args: argparse.Namespace) -> int:
    """``wait``: check that the server is there, then track the jobs until they are done."""
    ids: list[str | None] = list(dict.fromkeys(args.job_ids)) or [None]
    started = time.monotonic()
    budget = REACH_BUDGET if args.timeout is None else min(args.timeout, REACH_BUDGET)

    def not_tracked() -> list[JobView]:
        return [JobView(job_id, "waiting", time.monotonic() - started, 0) for job_id in ids]

    with contextlib.ExitStack() as stack:
        # Ctrl-C before follow() has the display up still gives every job its record.
        try:
            stack.enter_context(_verbose_logging(args.verbose))
            reached = reach(args.url, ids[0], budget, client_options=args.client)
            if reached.problem is not None:
                print_error(f"cannot reach {args.url}: {reached.problem}")
                if args.json:
                    _unreached_json(ids, reached.problem, time.monotonic() - started)
                return ExitCode.UNREACHABLE
            futures: list[JobFuture] = []
            todo = ids
            if reached.status is not None and reached.status.is_final:
                # The check's answer is the first job's outcome (its one poll):
                # tracking could only ask again, maybe with no --timeout left.
                done = JobFuture(ids[0])
                done.resolve(reached.status, 1)
                futures.append(done)
                todo = ids[1:]
            client = stack.enter_context(TranslationClient(args.url, **args.client))
            # --timeout counts from the start: the check above spent part of it.
            deadline = _remaining(args.timeout, started)
            if todo == [None]:
                futures.append(client.track(deadline=deadline))
            elif todo:
                tracked = client.track_many([i for i in todo if i is not None], deadline=deadline)
                futures.extend(tracked)
            batch = JobBatch(futures)
        except KeyboardInterrupt:
            return _interrupted(args, not_tracked(), time.monotonic() - started)
        # The reachability check's answered request counts too: the server served it.
        checked = 0 if reached.status is None else 1
        return follow(
            batch, _reporter(args), started=started, requests=_requests_of(client, checked)
        )


def _remaining(timeout: float | None, started: float) -> float | None:
    """What is left of ``--timeout`` (None: no limit), counted from ``started``."""
    if timeout is None:
        return None
    return max(0.0, timeout - (time.monotonic() - started))


def _interrupted(args: argparse.Namespace, views: Sequence[JobView], elapsed: float) -> ExitCode:
    """Ctrl-C before tracking showed anything: with ``--json``, still a record per job."""
    print_error("interrupted")
    if args.json:
        JsonLines(sys.stdout).close(Summary(views, elapsed, interrupted=True))
    return ExitCode.INTERRUPTED


@dataclass(frozen=True, slots=True)
class Reached:
    """What the reachability check learned: at most one of the two is set."""

    #: Why the server cannot be reached.
    problem: TransportError | None = None
    #: The first job's status, when the server gave it.
    status: JobStatus | None = None


def reach(
    url: str,
    job_id: str | None,
    budget: float,
    *,
    client_options: dict[str, Any] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] = time.sleep,
) -> Reached:
    """Ask about the first job, so that a server that is down fails fast.

    Tracking retries a failed request for up to ~2 minutes (the retry policy);
    a server that cannot be reached at all before we start is an answer now.
    Any HTTP answer, even an error, shows the server is there (errors are
    reported by tracking), and so does a read timeout: the connection was
    accepted. Only a failed connection is tried again, and all within
    ``budget`` seconds. The request goes through a client of its own, with
    short timeouts (and ``client_options``: the API and its key). The status
    it got is returned: when it is final, it is the job's outcome; otherwise
    tracking's client asks again. ``clock`` and ``sleep`` time the tries
    (tests pass fakes).
    """
    deadline = clock() + budget
    each = min(REACH_TRY_TIMEOUT, budget)
    last: TransportError | None = None
    with TranslationClient(
        url, connect_timeout=each, read_timeout=each, discover=False, **(client_options or {})
    ) as probe:
        for delay in (0.0, *REACH_RETRY_DELAYS):
            if delay and clock() + delay >= deadline:
                break
            sleep(delay)
            try:
                return Reached(status=probe.get_status(job_id))
            except TransportError as exc:
                if isinstance(exc, ReadTimeout):
                    return Reached()  # connected, no answer yet: the server is there
                last = exc
                if isinstance(exc, TransportTimeout) or not exc.retryable:
                    break  # the time is spent, or trying again cannot help
            except HeyGenError:
                return Reached()  # an answer, so the server is there; tracking reports it
    return Reached(problem=last)


def _unreached_json(ids: Sequence[str | None], problem: HeyGenError, elapsed: float) -> None:
    """``--json`` when no job could be tracked: still one record per job."""
    reporter = JsonLines(sys.stdout)
    state = state_of(problem)
    for job_id in ids:
        reporter.finished(JobView(job_id, state, elapsed, 0, error=str(problem)))


#: The ``submit`` options passed on to ``create_job`` when given.
_CREATE_OPTIONS = (
    "delay",
    "outcome",
    "video_length",
    "title",
    "source_language",
    "target_language",
)


def run_submit(args: argparse.Namespace) -> int:
    """``submit``: create jobs on the mock server, then track them like ``wait``."""
    options: dict[str, Any] = {
        name: value for name in _CREATE_OPTIONS if (value := getattr(args, name)) is not None
    }
    # create_job(), not submit(): --no-wait must not start tracking, and with one
    # way to create jobs both paths then wait exactly like `wait`.
    created: list[JobStatus] = []
    started = time.monotonic()
    # Each create is bounded by --timeout too, not only by the 10 s read timeout.
    bound = {} if args.timeout is None else {"read_timeout": min(10.0, args.timeout)}
    client_options = {**args.client, **bound}
    with _verbose_logging(args.verbose), TranslationClient(args.url, **client_options) as client:
        try:
            _create_jobs(client, args, options, created, started)
            if not args.no_wait:
                ids = [str(status.job_id) for status in created]
                # --timeout counts from the start: creating the jobs spent part of it.
                batch = client.track_many(ids, deadline=_remaining(args.timeout, started))
        except HeyGenError as exc:
            print_error(f"cannot create a job: {exc}")
            _name_created(created, args.count)
            return exit_code_of(exc)
        except KeyboardInterrupt:
            return _submit_interrupted(args, created, time.monotonic() - started)
        if args.no_wait:
            _print_created(args, created)
            return ExitCode.OK
        return follow(batch, _reporter(args), started=started, requests=_requests_of(client))


def _create_jobs(
    client: TranslationClient,
    args: argparse.Namespace,
    options: dict[str, Any],
    created: list[JobStatus],
    started: float,
) -> None:
    """Create ``args.count`` jobs into ``created``, waiting out rate limits within bounds."""
    # A server that always says 429 must not keep us here: the pauses since the
    # last job created are bounded in number and in time, and all by --timeout.
    progress_at = started
    pauses = 0
    while len(created) < args.count:
        try:
            created.append(client.create_job(**options))
            progress_at, pauses = time.monotonic(), 0
        except RateLimited as exc:
            # The client's request budget or the server's 429: wait as told.
            pause = exc.retry_after
            resume = time.monotonic() + (pause or 0.0)
            if (
                pause is None
                or pause > MAX_CREATE_PAUSE
                or pauses >= MAX_CREATE_PAUSES
                or resume - progress_at > MAX_CREATE_STALL
                or (args.timeout is not None and resume - started > args.timeout)
            ):
                raise
            pauses += 1
            time.sleep(pause)


def _submit_interrupted(
    args: argparse.Namespace, created: Sequence[JobStatus], elapsed: float
) -> ExitCode:
    """Ctrl-C while ``submit`` created its jobs: name those created."""
    if args.no_wait:  # its --json prints statuses, not these records
        print_error("interrupted")
        code = ExitCode.INTERRUPTED
    else:
        code = _interrupted(args, [_created_view(s, elapsed) for s in created], elapsed)
    _name_created(created, args.count)
    return code


def _print_created(args: argparse.Namespace, created: Sequence[JobStatus]) -> None:
    """``submit --no-wait``: the new job ids, or with ``--json`` their statuses."""
    for status in created:
        if args.json:
            print(json.dumps(status_json(status)), flush=True)
        elif not args.quiet:
            print(status.job_id, flush=True)


def _requests_of(client: TranslationClient, before: int = 0) -> Callable[[], int]:
    """The status requests made so far (what the server counts): ``client``'s,
    and ``before`` made elsewhere."""
    return lambda: before + client.stats().status_requests


def _name_created(created: Sequence[JobStatus], count: int) -> None:
    """On stderr, the jobs ``submit`` created before it stopped."""
    if created:
        made = " ".join(str(s.job_id) for s in created)
        print_error(f"created {len(created)} of {count} before that: {made}")


def _created_view(status: JobStatus, elapsed: float) -> JobView:
    """A job ``submit`` created but did not track yet: pending, with no poll."""
    return JobView(status.job_id, "pending", elapsed, 0, **status_fields(status))


def _reporter(args: argparse.Namespace) -> Reporter:
    return make_reporter(
        sys.stdout,
        json_lines=args.json,
        quiet=args.quiet,
        live=not (args.verbose or args.no_live),
    )


@contextlib.contextmanager
def _verbose_logging(verbose: bool) -> Iterator[None]:
    """With ``-v``, the library's log (every poll) goes to stderr while the command runs."""
    if not verbose:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    library = logging.getLogger("heygen_client")
    old_level = library.level
    library.addHandler(handler)
    library.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        library.removeHandler(handler)
        library.setLevel(old_level)


# -- demo ---------------------------------------------------------------------------


def run_demo(args: argparse.Namespace) -> int:
    """``demo``: start a mock server, track a few jobs, log every poll."""
    from heygen_client import _demo
    from mock_server.testing import LiveServerError, require_server_extra

    try:
        require_server_extra()
    except LiveServerError as exc:
        print_error(str(exc))
        return ExitCode.USAGE
    try:
        rows = _demo.run(args.mode, scale=args.scale)
    except KeyboardInterrupt:
        print("interrupted; the mock server was stopped", file=sys.stderr)
        return ExitCode.INTERRUPTED
    return ExitCode.OK if rows else ExitCode.JOB_ERROR
