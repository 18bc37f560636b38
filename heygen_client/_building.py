"""How a :class:`~heygen_client.TranslationClient` is put together from its options.

The API's defaults (``"mock"`` or ``"heygen"``) and the checks across options,
the key, the transport, the scheduler's knobs and policy, the backend.  The
client calls these once, at construction, before it opens anything.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from heygen_client._backends import Backend, BackendFactory
from heygen_client._backends.heygen import API_HOST, HeyGenBackend
from heygen_client._backends.mock import MockBackend
from heygen_client._config import SchedulerConfig
from heygen_client._options import Limits, Polling, Timeouts
from heygen_client._transport import Transport
from heygen_client._validate import check_number
from heygen_client.policies import PollPolicy, default_policy, heygen_policy

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


def api_defaults(api: str | BackendFactory, time_scale: float) -> ApiDefaults:
    """The defaults of ``api`` (a factory's are the mock's) at ``time_scale``.

    Raises:
        ValueError: an API we do not speak, or a time scale for another API than HeyGen's.
    """
    if not callable(api) and api not in APIS:
        raise ValueError(
            f"api must be one of {', '.join(map(repr, APIS))} or a backend factory, not {api!r}"
        )
    check_number("time_scale", time_scale, above=0)
    if time_scale != 1.0 and api != "heygen":
        raise ValueError('time_scale is for api="heygen" (the mock\'s v3 --time-scale)')
    return scaled(API_DEFAULTS["heygen" if api == "heygen" else "mock"], time_scale)


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
    check_number("lease_ttl", lease_ttl, above=0)
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


def poll_policy(api: str | BackendFactory, pace: Polling, time_scale: float) -> PollPolicy:
    """The poll policy given, else the API's: HeyGen's pace (scaled) or the default."""
    if pace.policy is not None:
        return pace.policy
    return heygen_policy(time_scale) if api == "heygen" else default_policy()


def make_backend(api: str | BackendFactory, transport: Transport, *, discover: bool) -> Backend:
    """The backend for ``api``: a name (checked already), or a factory given the transport."""
    if callable(api):
        return api(transport)
    if api == "heygen":
        return HeyGenBackend(transport)
    return MockBackend(transport, discover=discover)


def as_hooks(value: Any) -> tuple[Any, ...]:
    """One hook, several, or None, as a tuple."""
    if value is None:
        return ()
    if callable(value):
        return (value,)
    return tuple(value)
