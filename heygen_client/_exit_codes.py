"""The exit statuses of ``heygen-client``, and how an outcome picks one.

Each job ends in a final state (:func:`state_of`), each state has an exit
status (:data:`STATE_CODES`), and with several jobs the most serious one wins
(:func:`worst`, by :data:`PRECEDENCE`).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from heygen_client.errors import (
    DeadlineExceeded,
    TranslationFailed,
    TransportError,
    TransportTimeout,
)

__all__ = [
    "COMMAND_CODES",
    "EXIT_CODES",
    "PRECEDENCE",
    "STATE_CODES",
    "ExitCode",
    "exit_code_of",
    "state_of",
    "worst",
]


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
