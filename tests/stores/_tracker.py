"""A process that tracks jobs through a store, for the tests that SIGKILL it.

``python -m tests.stores._tracker URL STORE LEASE_TTL ID...`` tracks the jobs
in one batch and prints ``tracked`` once the store has them, then
``reported ID RESULT`` (flushed) as each outcome reaches its callback, as an
application would report it.  It runs until killed.
"""

from __future__ import annotations

import concurrent.futures
import sys
import threading

from heygen_client import JobStatus, TranslationClient, TranslationFailed


def main(argv: list[str]) -> None:
    url, store, lease_ttl, *ids = argv
    client = TranslationClient(url, store=store, lease_ttl=float(lease_ttl))
    lock = threading.Lock()

    def report(future: concurrent.futures.Future[JobStatus]) -> None:
        try:
            status = future.result()
            job_id, result = str(status.job_id), status.result.value
        except TranslationFailed as exc:
            job_id, result = str(exc.job_id), "error"
        with lock:
            print("reported", job_id, result, flush=True)

    batch = client.track_many(ids)
    print("tracked", flush=True)
    for future in batch:
        future.add_done_callback(report)
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1:])
