"""The ``heygen-client`` command line (user's page: docs/cli.md).

::

    heygen-client [--api API] status [JOB_ID]     ask once
    heygen-client [--api API] wait [JOB_ID ...]   track jobs until they are done
    heygen-client submit [--count N] [--delay S]  create jobs (mock server), then wait
    heygen-client demo [--mode MODE]              start a mock server and show polling

``--api heygen`` speaks HeyGen's v3 API, with the key from ``$HEYGEN_API_KEY``.

This module parses the arguments and picks the command; the commands are in
:mod:`heygen_client._commands`, :func:`heygen_client._follow.follow` shows the
jobs of ``wait`` and ``submit``, and the exit status says how it went
(:mod:`heygen_client._exit_codes`).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import textwrap
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

from heygen_client import __version__, _commands
from heygen_client._backends.heygen import API_HOST
from heygen_client._building import API_KEY_ENV, APIS, api_key_of
from heygen_client._commands import print_error
from heygen_client._exit_codes import COMMAND_CODES, EXIT_CODES, PRECEDENCE, ExitCode

__all__ = ["DEFAULT_URL", "URL_ENV", "build_parser", "main"]

#: The server when neither ``--url`` nor :data:`URL_ENV` says otherwise.
DEFAULT_URL = "http://127.0.0.1:5000"
#: The environment variable read when ``--url`` is not given.
URL_ENV = "HEYGEN_URL"
#: How long ``status`` waits for its one answer unless ``--timeout`` says otherwise.
STATUS_TIMEOUT = 10.0
#: The most jobs one ``submit`` creates (a typo should not create a million).
MAX_COUNT = 1000


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


# The one function over ~60 lines, on purpose: it is a declaration, read top to
# bottom like the --help it prints, with no branches. Split into a function per
# command, the options two commands share would be passed around instead of seen.
def build_parser() -> argparse.ArgumentParser:
    """The ``heygen-client`` argument parser."""
    # Long for its declarations: one add_argument per flag, each with its help,
    # which is the CLI's reference; splitting it would scatter that reference.
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
    status.set_defaults(run=_commands.run_status)

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
    wait.set_defaults(run=_commands.run_wait)

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
    submit.set_defaults(run=_commands.run_submit)

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
    demo.set_defaults(run=_commands.run_demo)
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
        print_error("interrupted")
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
        key = api_key_of("heygen", None)  # from the environment
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
