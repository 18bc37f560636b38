"""The fleet store: a Redis server shared by processes on any number of machines.

redis-py against a real Redis (``pip install heygen-client[redis]``).  Keys,
under a prefix (``heygen:`` by default):

* ``tracked``: a hash, job id -> its :class:`~heygen_client._stores.TrackedJob` record;
* ``final:ID``: the final status (kept ``KEEP_FINALS`` seconds); each one
  recorded is also published on the ``finals`` channel, which every client's
  feed listens to;
* ``durations``: a list of the last ``history_size`` durations;
* ``lease:ID``: the owner of the job's lease, expiring after its TTL
  (``SET NX PX`` to take it, a compare-and-``PEXPIRE`` script to renew it);
* ``budget``: the GCRA state of the shared request budget, moved by a script
  on Redis's own clock.

Scripts run atomically on one Redis; a Redis Cluster is not supported (the
lease script touches many keys).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from heygen_client._budget import TokenBucket
from heygen_client._stores import TrackedJob, status_from_json, status_to_json
from heygen_client._stores._shared import BackedStore, Held, job_key, key_job
from heygen_client.errors import StoreError
from heygen_client.models import JobStatus

__all__ = ["RedisStore"]

logger = logging.getLogger("heygen_client.store")

#: Seconds a final status is kept.
KEEP_FINALS = 7 * 86400
#: Seconds to connect, and to wait for an answer: a gone Redis must not stall the scheduler.
CONNECT_TIMEOUT = 0.5
SOCKET_TIMEOUT = 1.0
#: Ids per script call or MGET.
_CHUNK = 1000

# Take or renew each lease: renew when this owner holds it (compare-and-PEXPIRE),
# take it when free (SET NX PX); otherwise answer the holder's time left (ms)
# and the holder.
_CLAIM = """
local out = {}
for i, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    out[i] = -1
  elseif redis.call('SET', key, ARGV[1], 'NX', 'PX', ARGV[2]) then
    out[i] = -1
  else
    out[i] = {redis.call('PTTL', key), holder}
  end
end
return out
"""

# Take each lease that ARGV[1] (a process found dead) still holds (compare-and-SET).
_STEAL = """
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('SET', key, ARGV[2], 'PX', ARGV[3])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
"""

# Delete each lease this owner holds (compare-and-DEL).
_RELEASE = """
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0
"""

# GCRA on Redis's clock: ARGV[1] = 1 / rate, ARGV[2] = (burst - 1) / rate, in
# microseconds.  Answers 0 when the request is allowed, else the microseconds to
# wait.  Integers all the way: Lua numbers leave a script as integers.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - tolerance > now then return tat - tolerance - now end
redis.call('SET', KEYS[1], string.format('%.0f', tat + interval),
           'PX', math.ceil((tat + interval - now) / 1000) + 1000)
return 0
"""


class RedisStore(BackedStore):
    """Tracked jobs, outcomes, durations, leases and the budget on a Redis server.

    Args:
        url: ``redis://host:port/db`` (``rediss://`` for TLS, a password as
            ``redis://:password@host``), as redis-py's ``from_url`` reads it.
        prefix: the prefix of every key and channel (several fleets on one Redis).
        cache_ttl: seconds a pending status stays fresh (pending statuses stay in
            this process).
        history_size: how many recent durations are kept.
        clock: the monotonic clock of the cache's TTL.

    A Redis that cannot be reached, now or later, is no error: the store
    carries on in memory, logs a WARNING, and writes what it kept when Redis
    answers again.

    Raises:
        StoreError: a URL redis-py cannot read.
    """

    backend_errors = (redis.RedisError,)

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "heygen:",
        cache_ttl: float = 1.0,
        history_size: int = 500,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        try:
            self._redis = redis.Redis.from_url(
                url,
                socket_connect_timeout=CONNECT_TIMEOUT,
                socket_timeout=SOCKET_TIMEOUT,
                # One retry: a pooled connection that a restarted Redis closed fails
                # once, and the next one works.
                retry=Retry(NoBackoff(), 1),
            )
        except ValueError as exc:
            raise StoreError(f"cannot read the Redis store URL {url!r}: {exc}") from exc
        kwargs = self._redis.get_connection_kwargs()
        where = (
            f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
        )
        super().__init__(where, cache_ttl=cache_ttl, history_size=history_size, clock=clock)
        self.prefix = prefix
        self._claim = self._redis.register_script(_CLAIM)
        self._steal = self._redis.register_script(_STEAL)
        self._release = self._redis.register_script(_RELEASE)
        self._gcra = self._redis.register_script(_GCRA)
        self._guard("connecting", self._redis.ping, None)

    def _key(self, name: str) -> str:
        return self.prefix + name

    @property
    def channel(self) -> str:
        """The pub/sub channel on which final statuses are announced."""
        return self._key("finals")

    # -- primitives ------------------------------------------------------------

    def _b_add_tracked(self, jobs: Sequence[TrackedJob]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for job in jobs:
            pipe.hsetnx(self._key("tracked"), job_key(job.job_id), job.to_json())
        pipe.execute()

    def _b_remove_tracked(self, job_ids: Sequence[str | None], owner: str) -> None:
        keys = [job_key(k) for k in job_ids]
        pipe = self._redis.pipeline(transaction=True)
        pipe.hdel(self._key("tracked"), *keys)
        self._release(keys=[self._key("lease:" + k) for k in keys], args=[owner], client=pipe)
        pipe.execute()

    def _b_tracked(self) -> list[TrackedJob]:
        records: dict[bytes, bytes] = self._redis.hgetall(self._key("tracked"))  # type: ignore[assignment]
        ids = [key_job(k.decode()) for k in records]
        ended = self._b_finals(ids)
        return [
            TrackedJob.from_json(job_id, record)
            for job_id, record in zip(ids, records.values(), strict=True)
            if job_id not in ended
        ]

    def _b_put_finals(self, statuses: Sequence[JobStatus], owner: str) -> None:
        pipe = self._redis.pipeline(transaction=True)
        keys = [job_key(s.job_id) for s in statuses]
        for key, status in zip(keys, statuses, strict=True):
            text = status_to_json(status)
            # NX: the first outcome recorded stays, the one every process was told.
            pipe.set(self._key("final:" + key), text, ex=KEEP_FINALS, nx=True)
            pipe.publish(self.channel, text)
        pipe.hdel(self._key("tracked"), *keys)
        self._release(keys=[self._key("lease:" + k) for k in keys], args=[owner], client=pipe)
        pipe.execute()

    def _b_finals(self, job_ids: Sequence[str | None]) -> dict[str | None, JobStatus]:
        found: dict[str | None, JobStatus] = {}
        ids = list(job_ids)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            keys = [self._key("final:" + job_key(k)) for k in chunk]
            values: list[Any] = self._redis.mget(keys)
            for job_id, text in zip(chunk, values, strict=True):
                if text is not None:
                    found[job_id] = status_from_json(text)
        return found

    def _b_record_durations(self, seconds: Sequence[float]) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.rpush(self._key("durations"), *[repr(float(s)) for s in seconds])
        pipe.ltrim(self._key("durations"), -self.history_size, -1)
        pipe.execute()

    def _b_durations(self) -> list[float]:
        values: list[bytes] = self._redis.lrange(self._key("durations"), 0, -1)  # type: ignore[assignment]
        return [float(v) for v in values]

    def _b_claim(
        self, job_ids: Sequence[str | None], owner: str, ttl: float
    ) -> dict[str | None, Held]:
        held: dict[str | None, Held] = {}
        ids = list(job_ids)
        ttl_ms = max(1, round(ttl * 1000))
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            keys = [self._key("lease:" + job_key(k)) for k in chunk]
            answers: list[Any] = self._claim(keys=keys, args=[owner, ttl_ms])
            for job_id, answer in zip(chunk, answers, strict=True):
                if answer != -1:
                    left_ms, holder = answer
                    # -2 (gone meanwhile) or no expiry: look again soon.
                    held[job_id] = (max(0.0, int(left_ms) / 1000), _text(holder))
        return held

    def _b_steal(
        self, job_ids: Sequence[str | None], holder: str, owner: str, ttl: float
    ) -> list[str | None]:
        ids = list(job_ids)
        keys = [self._key("lease:" + job_key(k)) for k in ids]
        ttl_ms = max(1, round(ttl * 1000))
        answers: list[int] = self._steal(keys=keys, args=[holder, owner, ttl_ms])
        return [job_id for job_id, took in zip(ids, answers, strict=True) if took == 1]

    def _b_release(self, job_ids: Sequence[str | None], owner: str) -> None:
        keys = [self._key("lease:" + job_key(k)) for k in job_ids]
        for start in range(0, len(keys), _CHUNK):
            self._release(keys=keys[start : start + _CHUNK], args=[owner])

    def _b_close(self) -> None:
        self._redis.close()

    # -- the feed and the budget -----------------------------------------------

    def feed(self) -> RedisFeed:
        """Final statuses announced from now on, by any process."""
        return RedisFeed(self)

    def limiter(self, rate: float, burst: float) -> RedisLimiter:
        """The request budget shared by every client of this Redis (and prefix)."""
        return RedisLimiter(self, rate, burst)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisFeed:
    """A subscription to the ``finals`` channel, read without blocking.

    Messages sent while the subscription was broken are lost: :meth:`poll` says
    so (None) once it is back, and the caller reads every job's final status.
    """

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._pubsub = store._redis.pubsub(ignore_subscribe_messages=True)
        self._subscribed = False
        self._subscribe()

    def _subscribe(self) -> bool:
        ok, _ = self._store._guard(
            "subscribing to outcomes", lambda: self._pubsub.subscribe(self._store.channel), None
        )
        self._subscribed = ok
        return ok

    def poll(self) -> dict[str | None, JobStatus] | None:
        """Final statuses announced since the last call; None if some may have been missed."""
        if not self._subscribed:
            return None if self._subscribe() else {}
        found: dict[str | None, JobStatus] = {}

        def drain() -> None:
            while (message := self._pubsub.get_message(timeout=0.0)) is not None:
                if message.get("type") == "message":
                    status = status_from_json(message["data"])
                    found[key_job(status.job_id)] = status

        ok, _ = self._store._guard("reading outcomes", drain, None)
        self._store.ended(found)
        if not ok:
            self._subscribed = False
            self._pubsub.reset()
            self._pubsub = self._store._redis.pubsub(ignore_subscribe_messages=True)
        return found

    def close(self) -> None:
        """Unsubscribe and free the connection."""
        self._pubsub.close()


class RedisLimiter:
    """GCRA in a Lua script on Redis's clock: one budget for every process.

    Any window of ``T`` seconds holds at most ``rate * T + burst`` requests, from
    all the processes together.  While Redis is unreachable, each process
    falls back on a budget of its own (the same rate).
    """

    def __init__(self, store: RedisStore, rate: float, burst: float) -> None:
        self._store = store
        self._interval_us = max(1, round(1_000_000 / rate))
        self._tolerance_us = round(max(0.0, burst - 1.0) * 1_000_000 / rate)
        self._wait = 0.0
        self._fallback = TokenBucket(rate, burst, time.monotonic())

    def take(self, now: float) -> bool:
        store = self._store
        ok, wait_us = store._guard(
            "taking from the shared budget",
            lambda: store._gcra(
                keys=[store._key("budget")], args=[self._interval_us, self._tolerance_us]
            ),
            -1,
        )
        if not ok:
            return self._fallback.take(time.monotonic())
        self._wait = int(wait_us) / 1_000_000
        return self._wait == 0.0

    def next_token_at(self, now: float) -> float:
        if not self._store.reachable:
            return now + self._fallback.next_token_at(time.monotonic()) - time.monotonic()
        return now + self._wait
