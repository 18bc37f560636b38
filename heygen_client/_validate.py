"""Argument checks shared by the client's entry points: a ValueError where a value is given."""

from __future__ import annotations

import math
import re
import urllib.parse

__all__ = [
    "MAX_JOB_ID_LENGTH",
    "check_count",
    "check_job_id",
    "check_number",
    "check_seconds",
    "check_url",
]

#: The longest job id :meth:`TranslationClient.track` accepts (HeyGen's and the
#: mock server's are far shorter: the mock's are at most 128 characters).
MAX_JOB_ID_LENGTH = 256

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_seconds(name: str, value: float | None) -> None:
    """Raise ValueError unless ``value`` is None or a finite number of seconds >= 0."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number of seconds or None, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0 seconds, not {value!r}")


def check_job_id(job_id: object) -> None:
    """Raise ValueError unless ``job_id`` is None or a valid job id (see ``track``)."""
    if job_id is None:
        return
    if not isinstance(job_id, str):
        raise ValueError(f"a job id must be a str, not {type(job_id).__name__} ({job_id!r:.80})")
    if not job_id:
        raise ValueError("a job id must not be empty")
    if len(job_id) > MAX_JOB_ID_LENGTH:
        raise ValueError(
            f"a job id has at most {MAX_JOB_ID_LENGTH} characters, not {len(job_id)} "
            f"({job_id[:40]!r}...)"
        )
    if _CONTROL_CHARACTERS.search(job_id):
        raise ValueError(f"a job id must not contain control characters: {job_id!r:.80}")


def check_url(base_url: object) -> None:
    """Raise ValueError unless ``base_url`` is an http(s) URL with a host."""
    if not isinstance(base_url, str):
        raise ValueError(f"base_url must be a str, not {base_url!r}")
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be an http:// or https:// URL with a host: {base_url!r}")


def check_count(name: str, value: object, minimum: int) -> None:
    """Raise ValueError unless ``value`` is an int (not a bool) >= ``minimum``."""
    # bool is an int, but max_workers=True is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, not {value!r}")


def check_number(
    name: str, value: object, *, above: float | None = None, at_least: float | None = None
) -> None:
    """Raise ValueError unless ``value`` is a finite number above/at least the bound."""
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int | float)
        and math.isfinite(value)
        and (above is None or value > above)
        and (at_least is None or value >= at_least)
    )
    if not ok:
        bound = f"> {above:g}" if above is not None else f">= {at_least:g}"
        raise ValueError(f"{name} must be a finite number {bound}, not {value!r}")
