"""The embedded durable store: one SQLite file, shared by the processes of one machine.

Python's :mod:`sqlite3` in WAL mode: readers never wait for the writer, a commit
costs no fsync (``synchronous=NORMAL``: a committed write survives a crash of the
process, not a power cut), and writers wait for each other up to the busy
timeout.  Tables:

* ``tracked``: job id -> its :class:`~heygen_client._stores.TrackedJob` record;
* ``finals``: job id -> final status, with an increasing ``seq`` that the feed
  reads from (a cheap change check: ``PRAGMA data_version``, then only new rows);
* ``durations``: the learned durations, the last ``history_size`` kept;
* ``leases``: job id -> owner, expiry (wall clock, shared by the machine);
* ``budget``: the GCRA state of the shared request budget.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from heygen_client._budget import TokenBucket
from heygen_client._stores import TrackedJob, status_from_json, status_to_json
from heygen_client._stores._shared import BackedStore, Held, job_key, key_job
from heygen_client.errors import StoreError
from heygen_client.models import JobStatus

__all__ = ["SqliteStore", "parse_sqlite_url"]

logger = logging.getLogger("heygen_client.store")

#: Seconds a final status is kept (then pruned when a store opens the file).
KEEP_FINALS = 7 * 86400.0
#: At most this many ids in one SQL statement (SQLite's variable limit is 32,766).
_CHUNK = 900

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tracked (
    job_id TEXT PRIMARY KEY, record TEXT NOT NULL, added REAL NOT NULL);
CREATE TABLE IF NOT EXISTS finals (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS durations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, seconds REAL NOT NULL);
CREATE TABLE IF NOT EXISTS leases (
    job_id TEXT PRIMARY KEY, owner TEXT NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS budget (
    name TEXT PRIMARY KEY, tat REAL NOT NULL);
"""


def parse_sqlite_url(url: str) -> tuple[str, float]:
    """``sqlite:///jobs.db`` (relative) or ``sqlite:////var/lib/jobs.db`` (absolute).

    Returns:
        The file's path and the busy timeout (``?timeout=SECONDS``, default 5).

    Raises:
        StoreError: not a ``sqlite:///`` URL, or a bad timeout.
    """
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.netloc or not parts.path.startswith("/"):
        raise StoreError(f"not a SQLite store URL: {url!r} (want sqlite:///path/to/file.db)")
    path = parts.path[1:]
    if not path:
        raise StoreError(f"no file in the SQLite store URL {url!r}")
    given = parse_qs(parts.query).get("timeout", ["5"])[-1]
    try:
        timeout = float(given)
    except ValueError:
        timeout = math.nan
    if not 0 <= timeout < math.inf:
        raise StoreError(f"bad timeout {given!r} in the SQLite store URL {url!r}")
    return path, timeout


class SqliteStore(BackedStore):
    """Tracked jobs, outcomes, durations, leases and the budget in one SQLite file.

    Safe for several processes (and several clients) on one machine; not for a
    network file system, where SQLite's locks cannot be trusted.

    Args:
        path: the database file (created if missing).
        timeout: seconds a write waits for another process's (busy timeout).
        cache_ttl: seconds a pending status stays fresh (pending statuses stay in
            this process).
        history_size: how many recent durations are kept.
        clock: the monotonic clock of the cache's TTL.

    Raises:
        StoreError: the file is not a SQLite database (or is corrupt), cannot be
            opened or created, or stays locked by another process past ``timeout``.
    """

    backend_errors = (sqlite3.Error,)

    def __init__(
        self,
        path: str | Path,
        *,
        timeout: float = 5.0,
        cache_ttl: float = 1.0,
        history_size: int = 500,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            f"sqlite:///{path}", cache_ttl=cache_ttl, history_size=history_size, clock=clock
        )
        self.path = str(path)
        self._local_finals = 0  # finals written by this connection (data_version skips them)
        try:
            self._db = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the SQLite store {self.path}: {exc}") from exc
        try:
            self._setup(timeout)
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreError(_explain(self.path, exc, timeout)) from exc

    @classmethod
    def from_url(
        cls, url: str, *, cache_ttl: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> SqliteStore:
        """The store for a ``sqlite:///`` URL (see :func:`parse_sqlite_url`)."""
        path, timeout = parse_sqlite_url(url)
        return cls(path, timeout=timeout, cache_ttl=cache_ttl, clock=clock)

    def _setup(self, timeout: float) -> None:
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        # Reading the schema is what fails on a file that is not a database.
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"cannot switch to WAL mode (got {mode!r})")
        db.execute("PRAGMA synchronous = NORMAL")
        problem = db.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed ({problem})")
        with self._transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("DELETE FROM finals WHERE at < ?", (time.time() - KEEP_FINALS,))
            db.execute("DELETE FROM leases WHERE expires < ?", (time.time(),))

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db, self._lock)

    # -- primitives ------------------------------------------------------------

    def _b_add_tracked(self, jobs: Sequence[TrackedJob]) -> None:
        now = time.time()
        rows = [(job_key(job.job_id), job.to_json(), now) for job in jobs]
        with self._transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO tracked (job_id, record, added) VALUES (?, ?, ?)", rows
            )

    def _b_remove_tracked(self, job_ids: Sequence[str | None], owner: str) -> None:
        keys = [(job_key(k),) for k in job_ids]
        with self._transaction():
            self._db.executemany("DELETE FROM tracked WHERE job_id = ?", keys)
            self._db.executemany(
                "DELETE FROM leases WHERE job_id = ? AND owner = ?",
                [(key, owner) for (key,) in keys],
            )

    def _b_tracked(self) -> list[TrackedJob]:
        with self._lock:
            rows = self._db.execute(
                "SELECT job_id, record FROM tracked WHERE job_id NOT IN "
                "(SELECT job_id FROM finals) ORDER BY added, rowid"
            ).fetchall()
        return [TrackedJob.from_json(key_job(key), record) for key, record in rows]

    def _b_put_finals(self, statuses: Sequence[JobStatus], owner: str) -> None:
        now = time.time()
        keys = [job_key(s.job_id) for s in statuses]
        with self._transaction():
            # The first outcome recorded stays: it is the one every process was told.
            self._db.executemany(
                "INSERT OR IGNORE INTO finals (job_id, status, at) VALUES (?, ?, ?)",
                [(key, status_to_json(s), now) for key, s in zip(keys, statuses, strict=True)],
            )
            self._db.executemany("DELETE FROM tracked WHERE job_id = ?", [(k,) for k in keys])
            self._db.executemany(
                "DELETE FROM leases WHERE job_id = ? AND owner = ?", [(k, owner) for k in keys]
            )
            self._local_finals += 1

    def _b_finals(self, job_ids: Sequence[str | None]) -> dict[str | None, JobStatus]:
        found: dict[str | None, JobStatus] = {}
        keys = [job_key(k) for k in job_ids]
        with self._lock:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT job_id, status FROM finals WHERE job_id IN ({marks})", chunk
                ).fetchall()
                for key, text in rows:
                    found[key_job(key)] = status_from_json(text)
        return found

    def _b_record_durations(self, seconds: Sequence[float]) -> None:
        with self._transaction():
            self._db.executemany(
                "INSERT INTO durations (seconds) VALUES (?)", [(s,) for s in seconds]
            )
            self._db.execute(
                "DELETE FROM durations WHERE seq <= (SELECT max(seq) FROM durations) - ?",
                (self.history_size,),
            )

    def _b_durations(self) -> list[float]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seconds FROM durations ORDER BY seq DESC LIMIT ?", (self.history_size,)
            ).fetchall()
        return [float(s) for (s,) in reversed(rows)]

    def _b_claim(
        self, job_ids: Sequence[str | None], owner: str, ttl: float
    ) -> dict[str | None, Held]:
        now = time.time()
        keys = [job_key(k) for k in job_ids]
        held: dict[str | None, Held] = {}
        with self._transaction():
            self._db.executemany(
                "INSERT INTO leases (job_id, owner, expires) VALUES (?, ?, ?) "
                "ON CONFLICT (job_id) DO UPDATE SET owner = excluded.owner, "
                "expires = excluded.expires "
                "WHERE leases.owner = excluded.owner OR leases.expires <= ?",
                [(key, owner, now + ttl, now) for key in keys],
            )
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    "SELECT job_id, expires, owner FROM leases "
                    f"WHERE owner != ? AND job_id IN ({marks})",
                    [owner, *chunk],
                ).fetchall()
                for key, expires, holder in rows:
                    held[key_job(key)] = (max(0.0, expires - now), holder)
        return held

    def _b_steal(
        self, job_ids: Sequence[str | None], holder: str, owner: str, ttl: float
    ) -> list[str | None]:
        expires = time.time() + ttl
        stolen: list[str | None] = []
        with self._transaction():
            for job_id in job_ids:
                cursor = self._db.execute(
                    "UPDATE leases SET owner = ?, expires = ? WHERE job_id = ? AND owner = ?",
                    (owner, expires, job_key(job_id), holder),
                )
                if cursor.rowcount:
                    stolen.append(job_id)
        return stolen

    def _b_release(self, job_ids: Sequence[str | None], owner: str) -> None:
        with self._transaction():
            self._db.executemany(
                "DELETE FROM leases WHERE job_id = ? AND owner = ?",
                [(job_key(k), owner) for k in job_ids],
            )

    def _b_close(self) -> None:
        with self._lock:
            self._db.close()

    # -- the feed and the budget -----------------------------------------------

    def feed(self) -> SqliteFeed:
        """Final statuses recorded from now on, by any process."""
        return SqliteFeed(self)

    def limiter(self, rate: float, burst: float) -> SqliteLimiter:
        """The request budget shared by every client of this file."""
        return SqliteLimiter(self, rate, burst)

    def _finals_since(self, seq: int) -> tuple[int, dict[str | None, JobStatus]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, job_id, status FROM finals WHERE seq > ? ORDER BY seq", (seq,)
            ).fetchall()
        found = {key_job(key): status_from_json(text) for _, key, text in rows}
        return (rows[-1][0] if rows else seq), found

    def _change_mark(self) -> tuple[int, int]:
        """Changes by other connections (``data_version``), and finals written by ours."""
        with self._lock:
            version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
            return version, self._local_finals

    def _last_seq(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT max(seq) FROM finals").fetchone()
        return int(row[0] or 0)


class SqliteFeed:
    """New rows of ``finals``, looked for only when the file changed."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._mark: tuple[int, int] | None = None
        self._seq = store._guard("reading outcomes", store._last_seq, 0)[1]

    def poll(self) -> dict[str | None, JobStatus] | None:
        """Final statuses recorded since the last call; None if some may have been missed."""
        store = self._store
        ok, mark = store._guard("checking for outcomes", store._change_mark, (0, 0))
        if not ok:
            return {}
        if mark == self._mark:
            return {}
        none: dict[str | None, JobStatus] = {}
        ok, (seq, found) = store._guard(
            "reading outcomes", lambda: store._finals_since(self._seq), (self._seq, none)
        )
        if ok:
            self._mark, self._seq = mark, seq
            store.ended(found)
        return found

    def close(self) -> None:
        """Nothing to release (it reads through the store's connection)."""


class SqliteLimiter:
    """GCRA in one row of ``budget``, on the machine's wall clock.

    Each request moves the row's theoretical arrival time (TAT) on by
    ``1 / rate``; a request is allowed when TAT is within ``burst / rate`` of
    now, so any window of ``T`` seconds holds at most ``rate * T + burst``
    requests, whichever process makes them.
    """

    def __init__(self, store: SqliteStore, rate: float, burst: float) -> None:
        self._store = store
        self._interval = 1.0 / rate
        self._tolerance = max(0.0, burst - 1.0) * self._interval
        self._wait = 0.0
        self._fallback = TokenBucket(rate, burst, time.monotonic())

    def _take(self) -> float:
        """One GCRA step: 0 when allowed, else the seconds to wait."""
        store = self._store
        now = time.time()
        with store._transaction():
            row = store._db.execute("SELECT tat FROM budget WHERE name = 'requests'").fetchone()
            tat = max(float(row[0]) if row else now, now)
            if tat - self._tolerance > now:
                return tat - self._tolerance - now
            store._db.execute(
                "INSERT OR REPLACE INTO budget (name, tat) VALUES ('requests', ?)",
                (tat + self._interval,),
            )
        return 0.0

    def take(self, now: float) -> bool:
        ok, wait = self._store._guard("taking from the shared budget", self._take, -1.0)
        if not ok:
            return self._fallback.take(time.monotonic())
        self._wait = wait
        return wait == 0.0

    def next_token_at(self, now: float) -> float:
        if not self._store.reachable:
            return now + self._fallback.next_token_at(time.monotonic()) - time.monotonic()
        return now + self._wait


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error), under the store's lock."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self._db.execute("COMMIT")
            else:
                self._db.execute("ROLLBACK")
        finally:
            self._lock.release()


def _explain(path: str, exc: sqlite3.Error, timeout: float) -> str:
    """A message that says what is wrong with the file, and what to do."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return (
            f"the SQLite store {path} is locked by another process (waited {timeout:g} s): "
            "a process holding a write transaction open, or a file on a network file "
            "system; raise the wait with ?timeout=SECONDS"
        )
    if "not a database" in text or "malformed" in text or "encrypted" in text:
        return (
            f"the SQLite store {path} is not a SQLite database or is corrupt ({text}); "
            "move it aside: a new file is created in its place"
        )
    return f"cannot use the SQLite store {path}: {text}"
