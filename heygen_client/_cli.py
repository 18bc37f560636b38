"""The ``heygen-client`` command line (user's page: docs/cli.md).

::

    heygen-client [--api API] status [JOB_ID]     ask once
    heygen-client [--api API] wait [JOB_ID ...]   track jobs until they are done
    heygen-client submit [--count N] [--delay S]  create jobs (mock server), then wait
    heygen-client demo [--mode MODE]              start a mock server and show polling

``--api heygen`` speaks HeyGen's v3 API, with the key from ``$HEYGEN_API_KEY``.

``wait`` and ``submit`` track every job with one :class:`TranslationClient`
(``track_many``) and show them with a reporter from :mod:`heygen_client._progress`.
The exit status says how it went (:class:`ExitCode`); with several jobs the most
serious outcome wins (:data:`PRECEDENCE`).
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import json
import logging
import math
import os
import queue
import sys
import textwrap
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, fields
from typing import Any

from heygen_client import __version__
from heygen_client._backends.heygen import API_HOST
from heygen_client._client import API_KEY_ENV, APIS, TranslationClient, _api_key
from heygen_client._futures import JobBatch, JobFuture
from heygen_client._progress import (
    JobView,
    JsonLines,
    Reporter,
    Summary,
    estimate_text,
    make_reporter,
)
from heygen_client.errors import (
    DeadlineExceeded,
    HeyGenError,
    RateLimited,
    ReadTimeout,
    TranslationFailed,
    TransportError,
    TransportTimeout,
)
from heygen_client.models import JobStatus

__all__ = ["DEFAULT_URL", "EXIT_CODES", "PRECEDENCE", "URL_ENV", "ExitCode", "main"]

#: The server when neither ``--url`` nor :data:`URL_ENV` says otherwise.
DEFAULT_URL = "http://127.0.0.1:5000"
#: The environment variable read when ``--url`` is not given.
URL_ENV = "HEYGEN_URL"
#: How long ``status`` waits for its one answer unless ``--timeout`` says otherwise.
STATUS_TIMEOUT = 10.0
#: The longest ``submit`` waits out a ``Retry-After`` between two jobs it creates.
MAX_CREATE_PAUSE = 30.0
#: The most rate-limit pauses ``submit`` makes in a row, and the most seconds
#: it goes on pausing, without creating a job; past either (or past
#: ``--timeout`` in all) it gives up with the rate limit's error (exit 5).
MAX_CREATE_PAUSES = 10
MAX_CREATE_STALL = 60.0
#: The most jobs one ``submit`` creates (a typo should not create a million).
MAX_COUNT = 1000
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


class ExitCode(enum.IntEnum):
    """The exit status of ``heygen-client``."""

    OK = 0
    JOB_ERROR = 1
    USAGE = 2
    TIMEOUT = 3
    UNREACHABLE = 4
    SERVER_ERROR = 5
    INTERRUPTED = 130
    BROKEN_PIPE = 141


#: What each exit status means; printed by ``--help`` and tabled in docs/cli.md
#: (a test checks that the docs list the same codes).
EXIT_CODES: dict[ExitCode, str] = {
    ExitCode.OK: "every job completed (status: the server gave the job's status)",
    ExitCode.JOB_ERROR: "a job ended in error",
    ExitCode.USAGE: "usage error: unknown option, bad value, invalid URL, "
    "no HEYGEN_API_KEY for --api heygen",
    ExitCode.TIMEOUT: "timeout: a job was still pending after --timeout, or the server did "
    "not answer in time",
    ExitCode.UNREACHABLE: "connection failure: no connection to the server",
    ExitCode.SERVER_ERROR: "the server answered with an error (unknown job id, "
    "rejected request, 5xx after retries) or with something unreadable",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
    ExitCode.BROKEN_PIPE: "stdout was closed early (e.g. piped into head)",
}

#: With several jobs, the first of these that happened is the exit status:
#: outcomes left unknown (no server, a server error, a timeout) come before a
#: job that is known to have ended in error.
PRECEDENCE = (
    ExitCode.UNREACHABLE,
    ExitCode.SERVER_ERROR,
    ExitCode.TIMEOUT,
    ExitCode.JOB_ERROR,
    ExitCode.OK,
)

#: The exit status of each final state (see :data:`heygen_client._progress.STATES`).
STATE_CODES = {
    "completed": ExitCode.OK,
    "error": ExitCode.JOB_ERROR,
    "timeout": ExitCode.TIMEOUT,
    "unreachable": ExitCode.UNREACHABLE,
    "failed": ExitCode.SERVER_ERROR,
}


#: The exit statuses each command can return (its ``--help`` lists only these).
COMMAND_CODES: dict[str, tuple[ExitCode, ...]] = {
    "status": (
        ExitCode.OK,
        ExitCode.USAGE,
        ExitCode.TIMEOUT,
        ExitCode.UNREACHABLE,
        ExitCode.SERVER_ERROR,
        ExitCode.INTERRUPTED,
        ExitCode.BROKEN_PIPE,
    ),
    "wait": tuple(ExitCode),
    "submit": tuple(ExitCode),
    "demo": (ExitCode.OK, ExitCode.JOB_ERROR, ExitCode.USAGE, ExitCode.INTERRUPTED),
}


def _epilog(codes: Sequence[ExitCode] = tuple(ExitCode)) -> str:
    rows = "\n".join(
        textwrap.fill(text, 78, initial_indent=f"  {int(code):<4} ", subsequent_indent=" " * 7)
        for code, text in EXIT_CODES.items()
        if code in codes
    )
    text = f"exit status:\n{rows}\n"
    if ExitCode.JOB_ERROR in codes and ExitCode.UNREACHABLE in codes:
        order = ", ".join(str(int(code)) for code in PRECEDENCE)
        text += f"  With several jobs, the first of {order} that applies.\n"
    return (
        f"{text}\nenvironment:\n"
        f"  {URL_ENV}  the server when --url is not given (default {DEFAULT_URL},\n"
        f"              {API_HOST} with --api heygen)\n"
        f"  {API_KEY_ENV}  the API key of --api heygen"
    )


# -- argument types ----------------------------------------------------------------


def _seconds(positive: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            kind = "positive" if positive else "non-negative"
            raise argparse.ArgumentTypeError(f"expected a {kind} number, got {text!r}")
        return value

    return parse


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_COUNT}, got {value}")
    return value


def _check_url(url: str) -> str | None:
    """Why ``url`` cannot be a server's base URL, or None when it can."""
    expected = f"expected http://HOST[:PORT] or https://..., got {url!r}"
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # parsed lazily: raises for a port that is not 1-65535
    except ValueError as exc:  # e.g. "Invalid IPv6 URL", "Port out of range"
        return f"{expected}: {str(exc).lower()}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return expected
    if port == 0:
        return f"{expected}: port 0 cannot be connected to"
    if any(char.isspace() for char in url):
        return f"{expected}: it contains white space"
    return None


def _url(text: str) -> str:
    problem = _check_url(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


# -- the parser ----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``heygen-client`` argument parser."""
    epilog = _epilog()
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="heygen-client",
        description="Know when HeyGen video-translation jobs are done.",
        epilog=epilog,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"heygen-client {__version__}")
    parser.add_argument(
        "--api",
        choices=APIS,
        default="mock",
        help=f"the API the server speaks: mock (default) or heygen (HeyGen's v3; "
        f"the key from ${API_KEY_ENV})",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    server = argparse.ArgumentParser(add_help=False)
    server.add_argument(
        "--url",
        type=_url,
        default=None,
        help=f"the server (default: ${URL_ENV}, else {DEFAULT_URL})",
    )

    shown = argparse.ArgumentParser(add_help=False)
    shown.add_argument(
        "--timeout",
        type=_seconds(positive=True),
        default=None,
        metavar="SECONDS",
        help="give up on jobs still pending after SECONDS (exit 3)",
    )
    shown.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object per job as it finishes, nothing else",
    )
    shown.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing; the exit status tells"
    )
    shown.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also log every poll to stderr (shows plain lines, not the live table)",
    )
    shown.add_argument(
        "--no-live",
        action="store_true",
        help="plain lines even on a terminal",
    )

    status = commands.add_parser(
        "status",
        parents=[server],
        help="ask once for a job's status",
        description="Ask once for a job's status and print it.",
        epilog=_epilog(COMMAND_CODES["status"]),
        formatter_class=formatter,
    )
    status.add_argument(
        "job_id", nargs="?", help="the job (default: the seed server's single job)"
    )
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing; the exit status tells"
    )
    status.add_argument(
        "--timeout",
        type=_seconds(positive=True),
        default=STATUS_TIMEOUT,
        metavar="SECONDS",
        help="give up when no answer comes within SECONDS (default %(default)s; exit 3)",
    )
    status.set_defaults(run=_status)

    wait = commands.add_parser(
        "wait",
        parents=[server, shown],
        help="wait until jobs are done",
        description="Track jobs until every one is done, showing their progress.",
        epilog=epilog,
        formatter_class=formatter,
    )
    wait.add_argument(
        "job_ids",
        nargs="*",
        metavar="JOB_ID",
        help="the jobs (default: the seed server's single job)",
    )
    wait.set_defaults(run=_wait)

    submit = commands.add_parser(
        "submit",
        parents=[server, shown],
        help="create jobs on the mock server, then wait for them",
        description="Create jobs (POST /jobs), then track them like 'wait'.",
        epilog=epilog,
        formatter_class=formatter,
    )
    submit.add_argument(
        "-n",
        "--count",
        type=_count,
        default=1,
        metavar="N",
        help="how many jobs to create (default %(default)s)",
    )
    submit.add_argument(
        "--delay",
        type=_seconds(positive=False),
        metavar="SECONDS",
        help="each job's duration (default: the server's)",
    )
    submit.add_argument(
        "--outcome",
        choices=["completed", "error"],
        help="force each job's outcome (default: the server's draw)",
    )
    submit.add_argument(
        "--video-length",
        type=_seconds(positive=True),
        metavar="SECONDS",
        help="the video's length; without --delay the server derives the duration",
    )
    submit.add_argument("--title", help="the video's title")
    submit.add_argument("--source-language", metavar="LANG", help="e.g. en")
    submit.add_argument("--target-language", metavar="LANG", help="e.g. fr")
    submit.add_argument(
        "--no-wait",
        action="store_true",
        help="print the new job ids (or with --json their records) and exit",
    )
    submit.set_defaults(run=_submit)

    demo = commands.add_parser(
        "demo",
        help="start the mock server and track a few jobs",
        description="Start a mock server on a free port, track a few jobs, log every poll.",
        epilog=_epilog(COMMAND_CODES["demo"]),
        formatter_class=formatter,
    )
    demo.add_argument(
        "--mode",
        choices=["plain", "hints", "long-poll", "batch"],
        default="hints",
        help="what the server offers (default %(default)s)",
    )
    demo.add_argument("--scale", type=float, default=1.0, help="multiply job delays")
    demo.set_defaults(run=_demo)
    return parser


# -- entry point ----------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``heygen-client`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    Raises:
        SystemExit: from argparse, as usual: ``--help`` and ``--version`` (0) and
            usage errors (2, with the usage and the problem on stderr).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error("a command is required: status, wait, submit or demo")
    if "url" in vars(args):  # a command that talks to a server
        if args.url is None:
            args.url = _url_from_env(parser, API_HOST if args.api == "heygen" else DEFAULT_URL)
        args.client = _client_options(parser, args)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        _error("interrupted")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return ExitCode.BROKEN_PIPE
    return code


def _client_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    """The client's ``api`` and ``api_key`` (``$HEYGEN_API_KEY``), or a usage error."""
    if args.api != "heygen":
        return {}
    if args.command == "submit":
        parser.error("submit creates mock-server jobs: it needs --api mock")
    if not getattr(args, "job_id", None) and not getattr(args, "job_ids", None):
        parser.error("--api heygen has no default job: give the job ids")
    if not os.environ.get(API_KEY_ENV):
        parser.error(f"--api heygen needs an API key: set ${API_KEY_ENV}")
    try:
        key = _api_key("heygen", None)  # from the environment
    except ValueError as exc:
        parser.error(f"${API_KEY_ENV}: {exc}")
    return {"api": "heygen", "api_key": key}


def _url_from_env(parser: argparse.ArgumentParser, default: str = DEFAULT_URL) -> str:
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        return default
    problem = _check_url(url)
    if problem:
        parser.error(f"${URL_ENV}: {problem}")
    return url


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the exit flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (tests)
        pass


def _error(message: str) -> None:
    print(f"heygen-client: {message}", file=sys.stderr, flush=True)


def exit_code_of(error: BaseException | None) -> ExitCode:
    """The exit status for a job or request that ended with ``error`` (None: success)."""
    return STATE_CODES[state_of(error)]


def state_of(error: BaseException | None) -> str:
    """The final state (see :data:`heygen_client._progress.STATES`) for ``error``."""
    if error is None:
        return "completed"
    if isinstance(error, TranslationFailed):
        return "error"
    if isinstance(error, DeadlineExceeded | TransportTimeout):
        return "timeout"  # no answer in time, whichever timeout said so
    if isinstance(error, TransportError):
        return "unreachable"
    return "failed"


def worst(codes: Sequence[ExitCode]) -> ExitCode:
    """The exit status of several outcomes, by :data:`PRECEDENCE`."""
    for code in PRECEDENCE:
        if code in codes:
            return code
    return ExitCode.OK


# -- status -------------------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    # One request, on this thread: a read timeout is not retried, so --timeout
    # bounds the whole command (a refused connection fails at once).
    timeouts = {"connect_timeout": args.timeout, "read_timeout": args.timeout}
    with TranslationClient(args.url, discover=False, **timeouts, **args.client) as client:
        try:
            status = client.get_status(args.job_id)
        except HeyGenError as exc:
            _error(str(exc))
            if args.json:  # a record even so: scripts read one object per job
                print(json.dumps(error_json(args.job_id, exc)), flush=True)
            return exit_code_of(exc)
    if args.json:
        print(json.dumps(status_json(status)), flush=True)
    elif not args.quiet:
        line = f"{args.job_id or '(default job)'}: {status.result.value}"
        estimate = estimate_text(status.progress, status.remaining_seconds)
        print(f"{line}; server: {estimate}" if estimate else line, flush=True)
    return ExitCode.OK


def status_json(status: JobStatus) -> dict[str, Any]:
    """A status as the JSON object of ``status --json`` and ``submit --no-wait --json``."""
    data: dict[str, Any] = {f.name: getattr(status, f.name) for f in fields(status)}
    data["result"] = status.result.value
    data["extra"] = dict(status.extra)
    data["error"] = _failure_text(status) if status.result == "error" else None
    return data


def _failure_text(status: JobStatus) -> str:
    """Why a job ended in error, with the server's reason when it gave one."""
    reason = status.extra.get("failure_message") or status.extra.get("message")
    return f"the job ended in error: {reason}" if reason else "the job ended in error"


def error_json(job_id: str | None, error: HeyGenError) -> dict[str, Any]:
    """The ``status --json`` object when there is no status: the keys of
    :func:`status_json`, ``null`` but ``job_id`` and ``error``."""
    data: dict[str, Any] = {f.name: None for f in fields(JobStatus)}
    data.update(job_id=job_id, extra={}, error=str(error))
    return data


# -- wait and submit ----------------------------------------------------------------


def _wait(args: argparse.Namespace) -> int:
    ids: list[str | None] = list(dict.fromkeys(args.job_ids)) or [None]
    started = time.monotonic()
    budget = REACH_BUDGET if args.timeout is None else min(args.timeout, REACH_BUDGET)

    def not_tracked() -> list[JobView]:
        return [JobView(job_id, "waiting", time.monotonic() - started, 0) for job_id in ids]

    with contextlib.ExitStack() as stack:
        # Ctrl-C before follow() has the display up still gives every job its record.
        try:
            stack.enter_context(_verbose_logging(args.verbose))
            reached = _reach(args.url, ids[0], budget, client_options=args.client)
            if reached.problem is not None:
                _error(f"cannot reach {args.url}: {reached.problem}")
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
    _error("interrupted")
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


def _reach(
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


def _submit(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {
        name: value
        for name in (
            "delay",
            "outcome",
            "video_length",
            "title",
            "source_language",
            "target_language",
        )
        if (value := getattr(args, name)) is not None
    }
    # create_job(), not submit(): --no-wait must not start tracking, and with one
    # way to create jobs both paths then wait exactly like `wait`.
    created: list[JobStatus] = []
    # A server that always says 429 must not keep us here: the pauses since the
    # last job created are bounded in number and in time, and all by --timeout.
    started = progress_at = time.monotonic()
    pauses = 0
    # Each create is bounded by --timeout too, not only by the 10 s read timeout.
    bound = {} if args.timeout is None else {"read_timeout": min(10.0, args.timeout)}
    client_options = {**args.client, **bound}
    with _verbose_logging(args.verbose), TranslationClient(args.url, **client_options) as client:
        try:
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
            if not args.no_wait:
                ids = [str(status.job_id) for status in created]
                # --timeout counts from the start: creating the jobs spent part of it.
                batch = client.track_many(ids, deadline=_remaining(args.timeout, started))
        except HeyGenError as exc:
            _error(f"cannot create a job: {exc}")
            _name_created(created, args.count)
            return exit_code_of(exc)
        except KeyboardInterrupt:
            elapsed = time.monotonic() - started
            if args.no_wait:  # its --json prints statuses, not these records
                _error("interrupted")
                code = ExitCode.INTERRUPTED
            else:
                code = _interrupted(args, [_created_view(s, elapsed) for s in created], elapsed)
            _name_created(created, args.count)
            return code
        if args.no_wait:
            for status in created:
                if args.json:
                    print(json.dumps(status_json(status)), flush=True)
                elif not args.quiet:
                    print(status.job_id, flush=True)
            return ExitCode.OK
        return follow(batch, _reporter(args), started=started, requests=_requests_of(client))


def _requests_of(client: TranslationClient, before: int = 0) -> Callable[[], int]:
    """The status requests made so far (what the server counts): ``client``'s,
    and ``before`` made elsewhere."""
    return lambda: before + client.stats().status_requests


def _name_created(created: Sequence[JobStatus], count: int) -> None:
    """On stderr, the jobs ``submit`` created before it stopped."""
    if created:
        made = " ".join(str(s.job_id) for s in created)
        _error(f"created {len(created)} of {count} before that: {made}")


def _created_view(status: JobStatus, elapsed: float) -> JobView:
    """A job ``submit`` created but did not track yet: pending, with no poll."""
    return JobView(status.job_id, "pending", elapsed, 0, **_status_fields(status))


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


@dataclass(slots=True)
class _Tracked:
    future: JobFuture
    reported: str = "waiting"
    finished_at: float | None = None


def follow(
    batch: JobBatch,
    reporter: Reporter,
    *,
    clock: Callable[[], float] = time.monotonic,
    started: float | None = None,
    requests: Callable[[], int] | None = None,
) -> ExitCode:
    """Show ``batch`` with ``reporter`` until every job is done; returns the exit status.

    Runs on the caller's thread: the futures' done callbacks only queue the
    future (and when), so the reporter is never called from the client's threads.
    On Ctrl-C the reporter is closed with what is known, then the interrupt goes on.
    Elapsed times count from ``started`` (a ``clock()`` reading; default: now).
    ``requests`` gives the status requests made so far, for the summary.
    """
    start = clock() if started is None else started
    tracked = [_Tracked(future) for future in batch]
    index = {id(item.future): item for item in tracked}
    finished: queue.SimpleQueue[tuple[JobFuture, float]] = queue.SimpleQueue()

    def on_done(future: Future[JobStatus]) -> None:
        assert isinstance(future, JobFuture)
        finished.put((future, clock()))

    def views() -> list[JobView]:
        now = clock()
        return [_view(item, start, now) for item in tracked]

    interrupted = True
    with reporter:
        reporter.start(views())
        for item in tracked:
            item.future.add_done_callback(on_done)
        remaining = len(tracked)
        try:
            while remaining:
                try:
                    future, at = finished.get(timeout=reporter.tick_seconds)
                except queue.Empty:
                    pass
                else:
                    item = index[id(future)]
                    item.finished_at = at
                    remaining -= 1
                    reporter.finished(_view(item, start, at))
                    continue  # drain every finished job before redrawing
                # One snapshot per tick, for both the changes and the redraw.
                current = views()
                for item, view in zip(tracked, current, strict=True):
                    if (
                        item.finished_at is None
                        and view.state != item.reported
                        and not item.future.done()
                    ):
                        item.reported = view.state
                        reporter.changed(view)
                reporter.tick(current)
            interrupted = False
        finally:
            made = requests() if requests is not None else None
            reporter.close(Summary(views(), clock() - start, interrupted, made))
    return worst([exit_code_of(_error_of(item.future)) for item in tracked])


def _error_of(future: JobFuture) -> BaseException | None:
    if future.cancelled():  # only our own close() on the way out cancels
        return HeyGenError("tracking was cancelled")
    return future.exception()


def _view(item: _Tracked, start: float, now: float) -> JobView:
    future = item.future
    status = future.status
    common: dict[str, Any] = {"job_id": future.job_id, "polls": future.polls}
    common.update(_status_fields(status))
    if item.finished_at is None:
        if future.listening and future.polls == 0:
            state = "listening"  # its first long-poll is held: no answer yet is no news
        elif status is not None and not status.is_final:
            state = "pending"
            common["progress"], common["remaining_seconds"] = counted_down(status, time.time())
        else:  # no answer yet, or final but not yet handed to us: still running here
            state = item.reported
        return JobView(state=state, elapsed=now - start, **common)
    error = _error_of(future)
    state = state_of(error)
    detail = None
    if state == "timeout" and isinstance(error, DeadlineExceeded):
        last = future.last_error
        if status is not None:
            detail = f"still {status.result.value}"
        elif last is not None:
            detail = f"no answer in time; the last request: {last}"
        else:
            detail = "no answer from the server in time"
    elif state == "timeout":
        detail = str(error)
    elif state == "error" and isinstance(error, TranslationFailed):
        detail = _failure_text(error.status)
    elif state in ("unreachable", "failed"):
        detail = str(error)
    return JobView(state=state, elapsed=item.finished_at - start, error=detail, **common)


def _status_fields(status: JobStatus | None) -> dict[str, Any]:
    """The :class:`JobView` fields a status gives (none before the first answer)."""
    if status is None:
        return {}
    return {
        "result": status.result.value,
        "progress": status.progress,
        "remaining_seconds": status.remaining_seconds,
    }


def counted_down(status: JobStatus, wall_now: float) -> tuple[float | None, float | None]:
    """A pending status's (progress, remaining_seconds), moved on to ``wall_now``.

    The client may not ask again for a while (the server's ``Retry-After``), so
    the last estimate is counted down from when it arrived, and the progress
    moved on at the pace that estimate implies, instead of standing still.
    """
    progress, remaining = status.progress, status.remaining_seconds
    if remaining is None or status.received_at <= 0:
        return progress, remaining
    age = max(0.0, wall_now - status.received_at)
    if progress is not None and remaining > 0:
        progress = min(1.0, progress + (1.0 - progress) * min(age, remaining) / remaining)
    return progress, max(0.0, remaining - age)


# -- demo ---------------------------------------------------------------------------


def _demo(args: argparse.Namespace) -> int:
    from heygen_client import _demo
    from mock_server.testing import LiveServerError, require_server_extra

    try:
        require_server_extra()
    except LiveServerError as exc:
        _error(str(exc))
        return ExitCode.USAGE
    try:
        rows = _demo.run(args.mode, scale=args.scale)
    except KeyboardInterrupt:
        print("interrupted; the mock server was stopped", file=sys.stderr)
        return ExitCode.INTERRUPTED
    return ExitCode.OK if rows else ExitCode.JOB_ERROR
