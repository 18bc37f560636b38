"""Stores and fleets: ``python -m benchmarks.fleet [SCENARIO ...] [--out FILE]``.

Every client here is a separate process (``python -m benchmarks.fleet --child
SPEC``) against a real mock server and, for fleets, a real ``redis-server``
(``mock_server.redis_server.RedisServer``).  Scenarios:

* ``dedup``: 4 processes track the same jobs (plain server, shared Redis)
  against one process alone: status requests, outcomes, lateness.
* ``failover``: 4 processes on Redis; the one holding the most leases is
  SIGKILLed at a random moment; how long until its jobs are polled again.
* ``budget``: 8 processes, each wanting 50 req/s (50 jobs polled every second),
  sharing ``max_requests_per_second=40``, against ``--rate-limit 44``: 429s and
  the peak request rate over any 1 s window, as the server logged it.
* ``restart``: one process on SQLite, workload W, SIGKILLed at 5 s; a new one
  calls ``resume()``: outcomes, and the lateness of the resumed jobs.
* ``warm``: a single 10 s job on a plain server, tracked by a fresh process
  with learned durations in the store (SQLite), against a cold process and a
  fixed 1 s loop, 10 runs each.
* ``cost``: 10,000 one-hour jobs tracked with the SQLite store:
  ``track_many()`` and a ``track()`` loop timed, added RSS, file size.

Each child prints JSON lines (``ready``, ``tracked``, ``learned`` per outcome,
``done``); the parent reads the server's per-job request log (``GET
/jobs/ID``) for when each job was polled.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks._report import machine
from benchmarks._server import MockServer, exit_on_sigterm, status_requests
from benchmarks._stats import percentile
from benchmarks._workload import Workload
from benchmarks.scale import create_jobs
from mock_server.redis_server import RedisServer

SCENARIOS = ("dedup", "failover", "budget", "restart", "warm", "cost")
LEASE_TTL = 5.0
#: The client process's longest run.
CHILD_LIMIT = 120.0


# -- the client process --------------------------------------------------------


def child(spec: dict[str, Any]) -> None:
    """Track (or resume) jobs as ``spec`` says; print JSON lines; exit when all are learned."""
    from heygen_client import TranslationClient
    from heygen_client.policies import Fixed

    printing = threading.Lock()  # callbacks run on several threads

    def say(event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, **fields})
        with printing:
            print(line, flush=True)

    ids: list[str] = json.loads(Path(spec["ids"]).read_text()) if spec.get("ids") else []
    rss0 = _rss()
    options: dict[str, Any] = {
        "store": spec.get("store"),
        "lease_ttl": spec.get("lease_ttl", LEASE_TTL),
        "max_requests_per_second": spec.get("rate", 200.0),
        "burst": spec.get("burst", 50.0),
    }
    if spec.get("fixed"):
        options["policy"] = Fixed(spec["fixed"])
    client = TranslationClient(spec["url"], **options)
    store = client._store
    say("ready", owner=getattr(store, "owner", None), rss=rss0, pid=os.getpid(), at=time.time())
    learned: dict[str, float] = {}
    lock = threading.Lock()
    all_done = threading.Event()

    def on_done(future: Any) -> None:
        at = time.time()
        if all_done.is_set():
            return  # the futures close() fails at the end
        try:
            outcome = str(future.result().result)
        except Exception as exc:
            outcome = "error" if type(exc).__name__ == "TranslationFailed" else repr(exc)
        say("learned", job=future.job_id, at=at, outcome=outcome)
        with lock:
            learned[future.job_id] = at
            if len(learned) == expected:
                all_done.set()

    t0 = time.perf_counter()
    if spec.get("resume"):
        futures = list(client.resume())
    elif spec.get("one_by_one"):
        futures = [client.track(job_id) for job_id in ids]
    else:
        futures = list(client.track_many(ids))
    say("tracked", n=len(futures), seconds=time.perf_counter() - t0, rss=_rss())
    if spec.get("later"):
        # A worker that also follows jobs it did not start: tracked after its own.
        time.sleep(spec["later_after"])
        futures += list(client.track_many(json.loads(Path(spec["later"]).read_text())))
    expected = len(futures)
    for future in futures:
        future.add_done_callback(on_done)
    if not futures:
        all_done.set()
    all_done.wait(spec.get("limit", CHILD_LIMIT))
    all_done.set()  # what close() fails is not learned
    say("done", status_requests=client.stats().status_requests, rss=_rss())
    client.close()
    os._exit(0)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Child:
    """A client process and the JSON lines it printed."""

    def __init__(self, spec: dict[str, Any], log: Path) -> None:
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.fleet", "--child", json.dumps(spec)],
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith('{"event"'):
                try:
                    event = json.loads(line)
                except ValueError as exc:
                    raise RuntimeError(f"{self.log}: unreadable line {line[:300]!r}") from exc
                if kind is None or event["event"] == kind:
                    found.append(event)
        return found

    def wait_for(self, kind: str, timeout: float = CHILD_LIMIT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.events(kind)
            if got:
                return got[0]
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"child exited before {kind!r}:\n{self.log.read_text()[-2000:]}"
                )
            time.sleep(0.05)
        raise RuntimeError(f"no {kind!r} from the child in {timeout} s")

    def finish(self, timeout: float = CHILD_LIMIT) -> None:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._out.close()

    def kill(self) -> float:
        at = time.time()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._out.close()
        return at


# -- helpers -------------------------------------------------------------------


@contextmanager
def servers(*flags: str, redis: bool = False) -> Iterator[tuple[MockServer, RedisServer | None]]:
    server = MockServer(*flags)
    rs = RedisServer() if redis else None
    try:
        server.start()
        yield server, rs
    finally:
        server.stop()
        if rs is not None:
            rs.stop()


def make_jobs(
    url: str, delays: list[float], outcomes: list[str] | None = None
) -> list[dict[str, Any]]:
    """``POST /jobs`` for each delay; returns each job's record (``job_id``, ``finishes_at``)."""

    def make(i: int) -> dict[str, Any]:
        body: dict[str, Any] = {"delay": round(delays[i], 3)}
        if outcomes is not None:
            body["outcome"] = outcomes[i]
        conn = http.client.HTTPConnection(url.split("//")[1], timeout=30)
        try:
            conn.request("POST", "/jobs", json.dumps(body), {"Content-Type": "application/json"})
            record: dict[str, Any] = json.loads(conn.getresponse().read())
        finally:
            conn.close()
        return record

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(make, range(len(delays))))


def poll_times(server: MockServer, ids: list[str]) -> dict[str, list[float]]:
    """When the server answered a status request for each job (its per-job log).

    Each request comes from its own loopback address (127.0.x.y), so that a
    server with ``--rate-limit`` counts none of them against the clients.
    """

    def fetch(n: int) -> tuple[str, list[float]]:
        job_id = ids[n]
        source = f"127.0.{1 + n // 250}.{1 + n % 250}"
        conn = http.client.HTTPConnection(
            server.host, server.port, timeout=30, source_address=(source, 0)
        )
        try:
            conn.request("GET", f"/jobs/{job_id}")
            record = json.loads(conn.getresponse().read())
        finally:
            conn.close()
        return job_id, [float(t) for t in record["status_request_times"]]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return dict(pool.map(fetch, range(len(ids))))


def write_ids(tmp: Path, name: str, ids: list[str]) -> str:
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(ids))
    return str(path)


def lateness(events: list[dict[str, Any]], ends: dict[str, float]) -> list[float]:
    return [e["at"] - ends[e["job"]] for e in events if e["job"] in ends]


def workload_delays(count: int, seed: int) -> list[float]:
    """Workload W's jobs, all created now: each ends at its arrival plus its duration."""
    jobs = Workload(jobs_count=count, seed=seed).jobs()
    return [job.arrival + job.delay for job in jobs]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


# -- scenarios -------------------------------------------------------------------


def dedup(tmp: Path, jobs: int = 1000, processes: int = 4, seed: int = 1) -> dict[str, Any]:
    """One process alone, then ``processes`` sharing Redis, on the same kind of jobs."""
    out: dict[str, Any] = {"jobs": jobs, "processes": processes}
    with servers("--plain", "--seed", str(seed), redis=True) as (server, rs):
        assert rs is not None
        for label, count, store in (("alone", 1, None), ("fleet", processes, rs.url)):
            records = make_jobs(server.url, workload_delays(jobs, seed))
            ids = [r["job_id"] for r in records]
            ends = {r["job_id"]: float(r["finishes_at"]) for r in records}
            before = status_requests(server.stats())
            spec = {"url": server.url, "store": store, "ids": write_ids(tmp, label, ids)}
            children = [Child(spec, tmp / f"dedup-{label}-{i}.log") for i in range(count)]
            for c in children:
                c.finish()
            requests = status_requests(server.stats()) - before
            late: list[float] = []
            wrong = missing = 0
            for c in children:
                learned = c.events("learned")
                missing += len(ids) - len({e["job"] for e in learned})
                wrong += sum(1 for e in learned if e["outcome"] != "completed")
                late += lateness(learned, ends)
            out[label] = {
                "status_requests": requests,
                "requests_per_job": round(requests / jobs, 2),
                "missing": missing,
                "wrong": wrong,
                "lateness_median_ms": ms(percentile(late, 50)),
                "lateness_p95_ms": ms(percentile(late, 95)),
            }
    out["ratio"] = round(out["fleet"]["status_requests"] / out["alone"]["status_requests"], 3)
    out["p95_difference_ms"] = round(
        out["fleet"]["lateness_p95_ms"] - out["alone"]["lateness_p95_ms"], 1
    )
    return out


def _leases(rs: RedisServer) -> dict[str, str]:
    """Job id -> owner, of every lease in Redis."""
    import redis

    client = redis.Redis.from_url(rs.url, decode_responses=True)
    try:
        keys = [str(k) for k in client.scan_iter("heygen:lease:*", count=1000)]
        owners: list[Any] = client.mget(keys) if keys else []
        return {
            k.removeprefix("heygen:lease:"): str(v)
            for k, v in zip(keys, owners, strict=True)
            if v is not None
        }
    finally:
        client.close()


def failover(tmp: Path, jobs: int = 400, processes: int = 4, seed: int = 2) -> dict[str, Any]:
    """Kill the process holding the most leases at a random moment; who polls its jobs next."""
    rng = random.Random(seed)
    out: dict[str, Any] = {"jobs": jobs, "processes": processes, "lease_ttl": LEASE_TTL}
    with servers("--plain", "--seed", str(seed), redis=True) as (server, rs):
        assert rs is not None
        records = make_jobs(server.url, [10.0 + 10.0 * rng.random() for _ in range(jobs)])
        ids = [r["job_id"] for r in records]
        ends = {r["job_id"]: float(r["finishes_at"]) for r in records}
        spec = {"url": server.url, "store": rs.url}
        # Each worker tracks the jobs it started, then follows everyone else's too.
        start = time.time()
        children = []
        for i in range(processes):
            own = ids[i::processes]
            others = [j for j in ids if j not in set(own)]
            one = {
                **spec,
                "ids": write_ids(tmp, f"failover-own-{i}", own),
                "later": write_ids(tmp, f"failover-others-{i}", others),
                "later_after": 1.0,
            }
            children.append(Child(one, tmp / f"failover-{i}.log"))
        owners = {c.wait_for("ready")["owner"]: n for n, c in enumerate(children)}
        time.sleep(rng.uniform(2.0, 6.0))
        held = _leases(rs)
        counts = {n: sum(1 for o in held.values() if owners.get(o) == n) for n in owners.values()}
        victim = max(counts, key=lambda n: counts[n])
        victim_owner = next(o for o, n in owners.items() if n == victim)
        victim_jobs = [j for j, o in held.items() if o == victim_owner]
        killed_at = children[victim].kill()
        # Adopted: another owner holds the lease (looked at every 20 ms).
        adopted_at: dict[str, float] = {}
        while len(adopted_at) < len(victim_jobs) and time.time() < killed_at + 3 * LEASE_TTL:
            now, owners_now = time.time(), _leases(rs)
            for job_id in victim_jobs:
                owner = owners_now.get(job_id)
                if job_id not in adopted_at and owner is not None and owner != victim_owner:
                    adopted_at[job_id] = now
            time.sleep(0.02)
        for n, c in enumerate(children):
            if n != victim:
                c.finish()
        times = poll_times(server, victim_jobs)
        adopted = [at - killed_at for at in adopted_at.values()]
        polled = []
        for job_id in victim_jobs:
            after = [t for t in times[job_id] if t > killed_at]
            if after and ends[job_id] > killed_at:
                polled.append(after[0] - killed_at)
        survivors = [c for n, c in enumerate(children) if n != victim]
        missing = sum(len(ids) - len({e["job"] for e in c.events("learned")}) for c in survivors)
        late = [x for c in survivors for x in lateness(c.events("learned"), ends)]
        out.update(
            leases_per_process=list(counts.values()),
            killed_at_s=round(killed_at - start, 2),
            victim_leases=len(victim_jobs),
            adopted=len(adopted),
            adopted_max_s=round(max(adopted), 2) if adopted else None,
            adopted_p50_s=round(percentile(adopted, 50), 2) if adopted else None,
            polled_again_max_s=round(max(polled), 2) if polled else None,
            polled_again_p50_s=round(percentile(polled, 50), 2) if polled else None,
            missing=missing,
            lateness_p95_ms=ms(percentile(late, 95)),
        )
    return out


def budget(
    tmp: Path, processes: int = 8, jobs_each: int = 50, rate: float = 40.0, seconds: float = 20.0
) -> dict[str, Any]:
    """Processes that want more than the budget, sharing it: what the server sees."""
    out: dict[str, Any] = {"processes": processes, "wanted_each": jobs_each, "budget": rate}
    server_limit = rate * 1.1
    with servers("--plain", "--rate-limit", f"{server_limit:g}", redis=True) as (server, rs):
        assert rs is not None
        records: list[dict[str, Any]] = []
        per_second = max(1, int(server_limit) - 1)  # paced under the server's limit
        while True:
            records += make_jobs(server.url, [3600.0] * per_second)
            if len(records) >= processes * jobs_each:
                break
            time.sleep(1.0)
        ids = [r["job_id"] for r in records][: processes * jobs_each]
        time.sleep(1.5)  # the server's bucket refills
        before = server.stats()
        start = time.time()
        children = []
        for i in range(processes):
            part = ids[i * jobs_each : (i + 1) * jobs_each]
            spec = {
                "url": server.url,
                "store": rs.url,
                "ids": write_ids(tmp, f"budget-{i}", part),
                "fixed": 1.0,
                "rate": rate,
                "burst": 2,
                "limit": seconds,
            }
            children.append(Child(spec, tmp / f"budget-{i}.log"))
        for c in children:
            c.finish(seconds + 30)
        after = server.stats()
        faults = after["faults_injected"].get("429", 0) - before["faults_injected"].get("429", 0)
        times = sorted(t for ts in poll_times(server, ids).values() for t in ts if t >= start)
        peak = _peak(times, 1.0)
        out.update(
            status_requests=len(times),
            run_seconds=round(times[-1] - times[0], 1) if times else 0,
            mean_rate=round(len(times) / max(1e-9, times[-1] - times[0]), 1) if times else 0,
            peak_1s=peak,
            server_rate_limit=server_limit,
            server_429=faults,
        )
    return out


def _peak(times: list[float], window: float) -> int:
    """Most requests in any ``window`` seconds (sliding)."""
    best = lo = 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def restart(tmp: Path, jobs: int = 200, kill_at: float = 5.0, seed: int = 1) -> dict[str, Any]:
    """W on SQLite, SIGKILLed at ``kill_at`` s and resumed by a new process; and the
    same jobs tracked by one process that is not killed, for comparison."""
    out: dict[str, Any] = {"jobs": jobs, "killed_at_s": kill_at}
    w = Workload(jobs_count=jobs, seed=seed).jobs()
    outcomes = [spec.outcome for spec in w]
    delays = [j.arrival + j.delay for j in w]
    with servers("--plain", "--seed", str(seed)) as (server, _):
        # Uninterrupted: which jobs were still pending at kill_at, and how late they were learned.
        records = make_jobs(server.url, delays, outcomes)
        ends0 = {r["job_id"]: float(r["finishes_at"]) for r in records}
        spec = {
            "url": server.url,
            "store": f"sqlite:///{tmp / 'baseline.db'}",
            "ids": write_ids(tmp, "w0", [r["job_id"] for r in records]),
        }
        baseline = Child(spec, tmp / "restart-0.log")
        started0 = baseline.wait_for("ready")["at"]
        baseline.finish()
        learned0 = baseline.events("learned")

        records = make_jobs(server.url, delays, outcomes)
        ids = [r["job_id"] for r in records]
        ends = {r["job_id"]: float(r["finishes_at"]) for r in records}
        expected = dict(zip(ids, outcomes, strict=True))
        db = tmp / "restart.db"
        spec = {"url": server.url, "store": f"sqlite:///{db}", "ids": write_ids(tmp, "w", ids)}
        first = Child(spec, tmp / "restart-1.log")
        started = first.wait_for("ready")["at"]
        time.sleep(max(0.0, started + kill_at - time.time()))
        killed_at = first.kill()
        second = Child({**spec, "ids": None, "resume": True}, tmp / "restart-2.log")
        back_at = second.wait_for("ready")["at"]
        second.finish()
        before = first.events("learned")
        after = second.events("learned")
        got = {e["job"]: e["outcome"] for e in before + after}
        twice = len({e["job"] for e in before} & {e["job"] for e in after})
        unreported = [e for e in after if ends[e["job"]] <= killed_at]
        in_gap = [e for e in after if killed_at < ends[e["job"]] <= back_at]
        late = lateness([e for e in after if ends[e["job"]] > back_at], ends)
        # The same jobs (by their place in W), learned by the process never killed.
        since = back_at - started
        late0 = [e["at"] - ends0[e["job"]] for e in learned0 if ends0[e["job"]] > started0 + since]
        out.update(
            learned_before_kill=len(before),
            resumed=second.events("tracked")[0]["n"],
            learned_after=len(after),
            missing=len(set(ids) - got.keys()),
            wrong=sum(1 for j, o in got.items() if o != expected[j]),
            reported_twice=twice,
            restart_gap_s=round(back_at - killed_at, 2),
            ended_before_kill_unreported=len(unreported),
            ended_in_gap=len(in_gap),
            gap_lateness_max_s=round(max(lateness(unreported + in_gap, ends), default=0), 2),
            after_resume_jobs=len(late),
            after_resume_lateness_median_ms=ms(percentile(late, 50)),
            after_resume_lateness_p95_ms=ms(percentile(late, 95)),
            uninterrupted_lateness_median_ms=ms(percentile(late0, 50)),
            uninterrupted_lateness_p95_ms=ms(percentile(late0, 95)),
        )
    return out


def warm(tmp: Path, runs: int = 10, duration: float = 10.0, seed: int = 3) -> dict[str, Any]:
    """A single job of 10-11 s: warm store, cold process, fixed 1 s loop."""
    rng = random.Random(seed)
    out: dict[str, Any] = {"runs": runs, "job_seconds": duration}
    db = tmp / "warm.db"
    with servers("--plain", "--seed", str(seed)) as (server, _):
        # Learned durations in the store: one earlier process saw 40 such jobs end.
        records = make_jobs(server.url, [duration + rng.uniform(-0.5, 1.5) for _ in range(40)])
        spec = {"url": server.url, "store": f"sqlite:///{db}"}
        Child(
            {**spec, "ids": write_ids(tmp, "learn", [r["job_id"] for r in records])},
            tmp / "warm-learn.log",
        ).finish()
        rows: dict[str, list[tuple[int, float]]] = {"warm": [], "cold": [], "fixed 1 s": []}
        for run in range(runs):
            # About 10 s, not exactly: a 1 s loop started with the job would
            # otherwise see the end at once (its phase is the job's own).
            seconds = duration + rng.random()
            for label in rows:
                (record,) = make_jobs(server.url, [seconds])
                job_id, end = record["job_id"], float(record["finishes_at"])
                if label == "fixed 1 s":
                    learned_at = _fixed_loop(server.url, job_id, 1.0)
                else:
                    store = spec["store"] if label == "warm" else None
                    one = {
                        "url": server.url,
                        "store": store,
                        "ids": write_ids(tmp, "one", [job_id]),
                    }
                    c = Child(one, tmp / f"warm-{label}-{run}.log")
                    c.finish()
                    learned_at = c.events("learned")[0]["at"]
                polls = len(poll_times(server, [job_id])[job_id])
                rows[label].append((polls, learned_at - end))
        for label, results in rows.items():
            out[label] = {
                "requests_mean": round(sum(p for p, _ in results) / runs, 2),
                "lateness_mean_ms": ms(sum(x for _, x in results) / runs),
                "lateness_max_ms": ms(max(x for _, x in results)),
            }
    return out


def _fixed_loop(url: str, job_id: str, interval: float) -> float:
    """The plainest poller: ``GET /status`` every ``interval`` s until it is final."""
    conn = http.client.HTTPConnection(url.split("//")[1], timeout=30)
    try:
        while True:
            conn.request("GET", f"/status?job_id={job_id}")
            result = json.loads(conn.getresponse().read())["result"]
            if result != "pending":
                return time.time()
            time.sleep(interval)
    finally:
        conn.close()


def cost(tmp: Path, jobs: int = 10_000) -> dict[str, Any]:
    """10,000 one-hour jobs on SQLite: time to track, added RSS, size on disk."""
    out: dict[str, Any] = {"jobs": jobs}
    with servers("--seed", "1") as (server, _):
        ids = create_jobs(server.url, jobs, 3600.0)
        for label, store, one_by_one in (
            ("memory, track_many()", None, False),
            ("sqlite, track_many()", "sqlite", False),
            ("sqlite, track() each", "sqlite", True),
        ):
            db = tmp / f"cost-{len(out)}.db"
            spec = {
                "url": server.url,
                "store": f"sqlite:///{db}" if store else None,
                "ids": write_ids(tmp, "cost", ids),
                "one_by_one": one_by_one,
                "limit": 10.0,
            }
            c = Child(spec, tmp / f"cost-{len(out)}.log")
            c.finish(60)
            ready, tracked, done = (
                c.events("ready")[0],
                c.events("tracked")[0],
                c.events("done")[0],
            )
            size = sum(p.stat().st_size for p in tmp.glob(f"{db.name}*")) if store else 0
            out[label] = {
                "track_seconds": round(tracked["seconds"], 3),
                "added_rss_mb": round(
                    (max(tracked["rss"], done["rss"]) - ready["rss"]) / 2**20, 1
                ),
                "disk_mb": round(size / 2**20, 2),
            }
    return out


RUNNERS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "dedup": dedup,
    "failover": failover,
    "budget": budget,
    "restart": restart,
    "warm": warm,
    "cost": cost,
}


def main(argv: list[str] | None = None) -> int:
    """Run the scenarios; print their figures as JSON and write them to ``--out``."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.fleet", description=__doc__)
    p.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (all)")
    p.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if args.child is not None:
        child(json.loads(args.child))
        return 0
    exit_on_sigterm()
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
    }
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        for name in args.scenarios or SCENARIOS:
            print(f"{name}...", file=sys.stderr, flush=True)
            results[name] = RUNNERS[name](Path(tmp))
            print(json.dumps({name: results[name]}), flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
