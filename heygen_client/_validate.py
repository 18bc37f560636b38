"""Argument checks shared by the client's entry points: a ValueError where a value is given."""

from __future__ import annotations

import math

__all__ = ["check_seconds"]


def check_seconds(name: str, value: float | None) -> None:
    """Raise ValueError unless ``value`` is None or a finite number of seconds >= 0."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number of seconds or None, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0 seconds, not {value!r}")
