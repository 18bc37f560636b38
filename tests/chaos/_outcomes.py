"""The outcome check of the chaos tests: did every future end with the truth?"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from typing import Any

from heygen_client.errors import TranslationFailed
from tests.chaos._support import ForcedJob


def outcome_problems(
    jobs: Iterable[ForcedJob],
    futures: Mapping[str, Future[Any]],
    *,
    allowed_errors: tuple[type[BaseException], ...] = (),
) -> list[str]:
    """Every way a future disagrees with its job's true outcome.

    A ``completed`` job's future must return a status whose ``result`` is
    ``"completed"``; an ``error`` job's must raise ``TranslationFailed`` for
    that job. ``allowed_errors`` are the documented errors a test accepts
    instead (e.g. ``DeadlineExceeded`` when the deadline is part of the test).
    """
    problems = []
    for job in jobs:
        future = futures[job.job_id]
        if not future.done():
            problems.append(f"{job.job_id}: still pending")
            continue
        if future.cancelled():
            problems.append(f"{job.job_id}: cancelled")
            continue
        error = future.exception(timeout=0)
        if error is None:
            status = future.result(timeout=0)
            if job.outcome != "completed" or status.result != "completed":
                problems.append(f"{job.job_id}: true outcome {job.outcome}, got {status!r}")
        elif isinstance(error, TranslationFailed):
            if job.outcome != "error" or error.job_id != job.job_id:
                problems.append(f"{job.job_id}: true outcome {job.outcome}, got {error!r}")
        elif not isinstance(error, allowed_errors):
            problems.append(f"{job.job_id}: true outcome {job.outcome}, got {error!r}")
    return problems
