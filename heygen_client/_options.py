"""The client's options in typed groups, each default defined once.

:class:`TranslationClient` takes the groups (``timeouts=Timeouts(read=30)``),
as httpx takes ``Timeout`` and ``Limits``, or the same options flat
(``read_timeout=30``); a flat option given wins over its group's field.
:class:`ClientOptions` types the flat keywords for
:class:`~heygen_client.AsyncTranslationClient`, which passes them on.
Every value is checked where it is given: a group's constructor raises
:class:`ValueError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from heygen_client._validate import check_count, check_number, check_seconds

if TYPE_CHECKING:
    import requests

    from heygen_client._backends import BackendFactory
    from heygen_client._stores import Store
    from heygen_client.models import PollHook, StateChangeHook
    from heygen_client.policies import PollPolicy, RetryPolicy

__all__ = ["ClientOptions", "Limits", "Polling", "Timeouts"]

#: The largest answer read, by default (a batch answer for 1,000 jobs is ~200 KB).
MAX_RESPONSE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Timeouts:
    """How long to wait, in seconds.

    Attributes:
        connect: to connect.
        read: for an answer (a long-poll adds its ``long_poll_wait``); a request
            ends within ``connect + read`` in all, however slowly it drips.
        long_poll_wait: how long a long-poll asks the server to hold (clamped to
            the server's ``max_wait``).
    """

    connect: float = 3.05
    read: float = 10.0
    long_poll_wait: float = 20.0

    def __post_init__(self) -> None:
        check_number("connect_timeout", self.connect, above=0)
        check_number("read_timeout", self.read, above=0)
        check_seconds("long_poll_wait", self.long_poll_wait)


@dataclass(frozen=True)
class Limits:
    """How much the client may ask of the server and of the process.

    Attributes:
        max_workers: HTTP worker threads for polls and batches.
        max_long_polls: extra workers for per-job long-polls (only against a
            server with long-poll and no batch).
        max_requests_per_second: the client-wide request budget; None is the
            API's default (200 for the mock, 2 for HeyGen).
        burst: how many requests the budget allows at once; None: the API's.
        max_response_bytes: the largest answer read.
    """

    max_workers: int = 6
    max_long_polls: int = 64
    max_requests_per_second: float | None = None
    burst: float | None = None
    max_response_bytes: int = MAX_RESPONSE_BYTES

    def __post_init__(self) -> None:
        check_count("max_workers", self.max_workers, 1)
        check_count("max_long_polls", self.max_long_polls, 0)
        check_count("max_response_bytes", self.max_response_bytes, 1)
        if self.max_requests_per_second is not None:
            check_number("max_requests_per_second", self.max_requests_per_second, above=0)
        if self.burst is not None:
            check_number("burst", self.burst, at_least=1)


@dataclass(frozen=True)
class Polling:
    """When to ask again, and what to remember.

    Attributes:
        policy: the poll policy (pace while pending); None: the API's default.
        retry: the retry policy (after a failed request); None: ``RetryPolicy()``.
        batch_linger: seconds between batch long-polls of the same jobs.
        cache_ttl: seconds a pending status stays fresh for ``get_status``.
        discover: ask the mock's ``GET /capabilities``; False: a plain server.
    """

    policy: PollPolicy | None = None
    retry: RetryPolicy | None = None
    batch_linger: float = 0.05
    cache_ttl: float = 1.0
    discover: bool = True

    def __post_init__(self) -> None:
        check_seconds("batch_linger", self.batch_linger)
        check_seconds("cache_ttl", self.cache_ttl)


class ClientOptions(TypedDict, total=False):
    """Every keyword option of :class:`~heygen_client.TranslationClient`, typed."""

    api: str | BackendFactory
    api_key: str | None
    timeouts: Timeouts | None
    limits: Limits | None
    polling: Polling | None
    policy: PollPolicy | None
    retry: RetryPolicy | None
    connect_timeout: float | None
    read_timeout: float | None
    long_poll_wait: float | None
    max_workers: int | None
    max_long_polls: int | None
    max_requests_per_second: float | None
    burst: float | None
    batch_linger: float | None
    cache_ttl: float | None
    store: Store | str | None
    lease_ttl: float
    max_response_bytes: int | None
    discover: bool | None
    on_poll: PollHook | Sequence[PollHook] | None
    on_state_change: StateChangeHook | Sequence[StateChangeHook] | None
    headers: Mapping[str, str] | None
    session: requests.Session | None
    webhook_secret: str | Sequence[str] | None
    webhook_scheme: str
    webhook_tolerance: float
    clock: Callable[[], float]
    time_scale: float
    seed: int | None


_G = TypeVar("_G", "Timeouts", "Limits", "Polling")


def merged(group: _G, **flat: Any) -> _G:
    """``group`` with the flat options that were given (not None) put over it."""
    given = {name: value for name, value in flat.items() if value is not None}
    return replace(group, **given) if given else group
