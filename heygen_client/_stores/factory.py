"""``store=``: a URL or an object becomes the client's :class:`~heygen_client._stores.Store`."""

from __future__ import annotations

import time
from collections.abc import Callable

from heygen_client._stores import Store
from heygen_client._stores.memory import MemoryStore
from heygen_client.errors import StoreError

__all__ = ["open_store"]


def open_store(
    spec: Store | str | None,
    *,
    cache_ttl: float,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[Store, bool]:
    """The store ``spec`` names, and whether the client owns it (and closes it).

    Args:
        spec: None (in memory), ``"sqlite:///path.db"``, ``"redis://host:port/db"``,
            or a store object (the caller's: the client does not close it).
        cache_ttl: seconds a pending status stays fresh.
        clock: the monotonic clock of the cache's TTL.

    Raises:
        StoreError: an unknown or malformed URL, redis-py missing, or a SQLite
            file that cannot be used.
    """
    if spec is None:
        return MemoryStore(cache_ttl=cache_ttl, clock=clock), True
    if not isinstance(spec, str):
        return spec, False
    scheme = spec.partition(":")[0].lower()
    if scheme == "sqlite":
        from heygen_client._stores.sqlite import SqliteStore

        return SqliteStore.from_url(spec, cache_ttl=cache_ttl, clock=clock), True
    if scheme in ("redis", "rediss", "unix"):
        try:
            from heygen_client._stores.redis import RedisStore
        except ImportError as exc:
            raise StoreError(
                f"store={spec!r} needs redis-py: pip install 'heygen-client[redis]'"
            ) from exc
        return RedisStore(spec, cache_ttl=cache_ttl, clock=clock), True
    raise StoreError(
        f"unknown store {spec!r}: want None, sqlite:///path/to/file.db, "
        "redis://host:port/db or a Store object"
    )
