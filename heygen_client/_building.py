"""How a :class:`~heygen_client.TranslationClient` is put together from its options.

The API's defaults (``"mock"`` or ``"heygen"``), the key, the transport, the
scheduler's knobs, the backend, and the checks of what callers attach to a
job (tags).  The client calls these once, at construction.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from heygen_client._backends import Backend, BackendFactory
from heygen_client._backends.heygen import API_HOST, HeyGenBackend
from heygen_client._backends.mock import MockBackend
from heygen_client._config import SchedulerConfig
from heygen_client._options import Limits, Polling, Timeouts
from heygen_client._transport import Transport

if TYPE_CHECKING:
    import requests

__all__ = ["APIS", "API_DEFAULTS", "API_KEY_ENV", "ApiDefaults"]


#: The environment variable ``api="heygen"`` reads when no ``api_key`` is given.
API_KEY_ENV = "HEYGEN_API_KEY"


#: The APIs a client speaks by name: ``"mock"`` (the default) and ``"heygen"``.
APIS = ("mock", "heygen")


#: The header that carries the API key.
API_KEY_HEADER = "X-Api-Key"


@dataclass(frozen=True, slots=True)
class ApiDefaults:
    """What differs between the APIs when the caller does not say."""

    base_url: str
    max_requests_per_second: float
    burst: float
    batch_gather: float
    pushed_min_delay: float


# HeyGen publishes concurrency limits but no request rate for its status
# routes: two requests a second is the HeyGen CLI's busiest pace (a poll every
# 2 s) for four jobs, and the bulk route asks about 100 jobs in one.  A bulk
# request takes the jobs due in the next 20 s along (their polls come early,
# never late), and while webhooks flow a job is polled at most once a minute,
# HeyGen's own guidance for its jobs of minutes.
API_DEFAULTS = {
    "mock": ApiDefaults("http://127.0.0.1:5000", 200.0, 50.0, 0.0, 0.0),
    "heygen": ApiDefaults(API_HOST, 2.0, 10.0, 20.0, 60.0),
}


def api_key_of(api: str, api_key: str | None) -> str | None:
    """The key to send: the argument, else (for HeyGen) ``$HEYGEN_API_KEY``.

    Raises:
        ValueError: HeyGen without a key, or a key no HTTP header can carry.
            The message never shows the key.
    """
    if api_key is None and api == "heygen":
        api_key = os.environ.get(API_KEY_ENV) or None
        if api_key is None:
            raise ValueError(
                f'api="heygen" needs an API key: pass api_key=... or set ${API_KEY_ENV}'
            )
    if api_key is not None and (
        not isinstance(api_key, str)
        or not api_key
        or not all(33 <= ord(char) <= 126 for char in api_key)
    ):
        raise ValueError("the API key must be printable ASCII without spaces (not shown here)")
    return api_key


def make_transport(
    base_url: str,
    times: Timeouts,
    bounds: Limits,
    key: str | None,
    headers: Mapping[str, str] | None,
    session: requests.Session | None,
) -> Transport:
    """The HTTP plumbing for these options (the key goes as ``X-Api-Key``)."""
    sent = dict(headers or {})
    if key is not None:
        sent[API_KEY_HEADER] = key
    return Transport(
        base_url,
        connect_timeout=times.connect,
        read_timeout=times.read,
        pool_size=bounds.max_workers + bounds.max_long_polls + 4,
        max_response_bytes=bounds.max_response_bytes,
        headers=sent,
        session=session,
    )


def scaled(defaults: ApiDefaults, time_scale: float) -> ApiDefaults:
    """The API's defaults for a server whose jobs run ``time_scale`` times faster."""
    return replace(
        defaults,
        max_requests_per_second=defaults.max_requests_per_second * time_scale,
        batch_gather=defaults.batch_gather / time_scale,
        pushed_min_delay=defaults.pushed_min_delay / time_scale,
    )


def scheduler_config(
    times: Timeouts,
    bounds: Limits,
    pace: Polling,
    defaults: ApiDefaults,
    lease_ttl: float,
    time_scale: float,
) -> SchedulerConfig:
    """The scheduler's knobs from the option groups, with the API's defaults."""
    rate = bounds.max_requests_per_second
    return SchedulerConfig(
        max_workers=bounds.max_workers,
        max_long_polls=bounds.max_long_polls,
        long_poll_wait=times.long_poll_wait,
        batch_linger=pace.batch_linger,
        max_requests_per_second=defaults.max_requests_per_second if rate is None else rate,
        burst=defaults.burst if bounds.burst is None else bounds.burst,
        batch_gather=defaults.batch_gather,
        pushed_min_delay=defaults.pushed_min_delay,
        pushed_recent=SchedulerConfig().pushed_recent / time_scale,
        lease_ttl=lease_ttl,
    )


def make_backend(api: str | BackendFactory, transport: Transport, *, discover: bool) -> Backend:
    """The backend for ``api``: a name (checked already), or a factory given the transport."""
    if callable(api):
        return api(transport)
    if api == "heygen":
        return HeyGenBackend(transport)
    return MockBackend(transport, discover=discover)


AGE_MAX = 7 * 86400.0  # a record's clock may be off (another machine): bounded


TAGS_MAX = 4096  # bytes of JSON: tags label a job, they are not its payload


# Shared by every job tracked without tags or options: nothing per job.
NO_TAGS: Mapping[str, Any] = MappingProxyType({})


def check_tags(tags: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """``tags`` as a read-only copy, checked to be a small JSON object."""
    if not tags:
        return NO_TAGS
    if not isinstance(tags, Mapping) or not all(isinstance(k, str) for k in tags):
        raise ValueError("tags must be a dict with string keys")
    try:
        size = len(json.dumps(dict(tags)))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"tags must be JSON-serializable: {exc}") from exc
    if size > TAGS_MAX:
        raise ValueError(f"tags take {size} bytes as JSON; at most {TAGS_MAX}")
    return MappingProxyType(dict(tags))


def as_hooks(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if callable(value):
        return (value,)
    return tuple(value)
