"""Many caller threads on one client, through server faults: ``python -m benchmarks.threads``.

20 threads (``--threads``) share one :class:`TranslationClient` for
``--seconds`` (30) against a mock server that answers 20 % of status requests
with a 500 or 503 (``--fault-rate``). Each thread loops: track a job from a
shared pool of ids (so futures of one job overlap across threads), sometimes
cancel it, sometimes wait for its result, with short deadlines now and then.

At the end every job is asked once more on a fault-free path (``GET /jobs/ID``,
the server's own record), and the run checks:

- every future that was not cancelled and did not pass its deadline got the
  job's real outcome (``completed`` or ``error``, as the server decided);
- no library thread is left once the client is closed.

It prints one line of counts and exits 1 if anything was wrong.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import CancelledError

from heygen_client import DeadlineExceeded, TranslationClient, TranslationFailed
from heygen_client._futures import JobFuture
from mock_server.testing import LiveServer


def _worker(
    client: TranslationClient,
    ids: list[str],
    until: float,
    seed: int,
    seen: list[tuple[str, JobFuture]],
    lock: threading.Lock,
) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        job_id = rng.choice(ids)
        deadline = 0.2 if rng.random() < 0.1 else None
        future = client.track(job_id, deadline=deadline)
        action = rng.random()
        if action < 0.2:
            future.cancel()
        elif action < 0.6:
            with contextlib.suppress(TranslationFailed, DeadlineExceeded, CancelledError):
                future.result(timeout=10)
        with lock:
            seen.append((job_id, future))


def _library_threads(before: set[int | None]) -> list[str]:
    """Names of the library's threads started since ``before`` and still alive."""
    return [
        t.name
        for t in threading.enumerate()
        if t.ident not in before and t.is_alive() and t.name.startswith("heygen-client")
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--longest", type=float, default=4.0, help="longest job, seconds")
    args = parser.parse_args(argv)
    delays = ("--delay", str(min(0.5, args.longest)), "--delay-max", str(args.longest))
    flags = (*delays, "--error-rate", "0.2", "--seed", "3")
    faults = ("--fault-rate", str(args.fault_rate), "--fault-kinds", "500,503")
    before = {t.ident for t in threading.enumerate()}
    with LiveServer(*flags, *faults) as server:
        with TranslationClient(server.url) as creator:
            ids = [creator.create_job().job_id for _ in range(args.jobs)]
        seen: list[tuple[str, JobFuture]] = []
        lock = threading.Lock()
        started = time.monotonic()
        with TranslationClient(server.url) as client:
            until = started + args.seconds
            threads = [
                threading.Thread(target=_worker, args=(client, ids, until, n, seen, lock))
                for n in range(args.threads)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            concurrent.futures.wait([f for _, f in seen], timeout=60)
            client.track_many(ids).wait(60)  # every job over, so each has its outcome
            truth = {job_id: str(client.get_job(job_id)["outcome"]) for job_id in set(ids)}
    counts: Counter[str] = Counter()
    wrong = 0
    for job_id, future in seen:
        if future.cancelled():
            counts["cancelled"] += 1
            continue
        error = future.exception(timeout=0)
        if isinstance(error, DeadlineExceeded):
            counts["deadline"] += 1
            continue
        got = (
            "error"
            if isinstance(error, TranslationFailed)
            else "completed"
            if error is None
            else "failed"
        )
        counts[got] += 1
        wrong += got != truth[job_id]
    library = _library_threads(before)
    give_up = time.monotonic() + 10.0
    while library and time.monotonic() < give_up:  # the callback thread leaves when idle
        time.sleep(0.05)
        library = _library_threads(before)
    print(
        f"{args.threads} threads, {args.seconds:g} s, {args.fault_rate:.0%} faults: "
        f"{len(seen)} futures ({dict(counts)}), {wrong} wrong, "
        f"library threads left: {library or 'none'}"
    )
    return 1 if wrong or library else 0


if __name__ == "__main__":
    sys.exit(main())
