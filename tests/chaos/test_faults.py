"""Many jobs, one client, every fault the mock server can inject.

Each test creates jobs whose delay and outcome it forces (``POST /jobs``), so
the truth is known in advance, tracks them all with one ``TranslationClient``
while the server misbehaves, and then checks, in this order:

1. **Nothing hangs**: every future settles within ``SETTLE_TIMEOUT``.
2. **Nothing is lost or wrong**: every future ends with its job's true
   outcome, or with the documented error once a deadline or the retry budget
   is spent (only where the test makes that happen).
3. **Retry-After is honoured**: from the server's own log of each job's
   status requests (``status_request_log``), no request came sooner after a
   429 or 503 than its ``Retry-After`` allowed.
4. **No storm**: the server answered at most ``request_bound()`` status
   requests per job (HTTP requests, a batch counting once; see there for the
   reasoning).

The fault matrix, bounds and figures are in docs/reliability.md.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import Any

import pytest

from heygen_client import ClientStats, TranslationClient
from heygen_client.errors import DeadlineExceeded, TransportError
from heygen_client.policies import RetryPolicy
from mock_server.testing import LiveServer
from tests.chaos._outcomes import outcome_problems
from tests.chaos._support import (
    ForcedJob,
    ServerProbe,
    rate_limit_retry_after,
    retry_after_violations,
)

pytestmark = [pytest.mark.chaos, pytest.mark.live]

#: Jobs per test: enough that faults hit every job several times over.
JOBS = 30
#: Their delays, seconds: short, so the whole suite stays near a minute.
DELAYS = (0.2, 1.5)
#: A hang fails here. Generous for a loaded 2-core machine; a healthy run
#: settles in a few seconds.
SETTLE_TIMEOUT = 40.0
#: Client settings shared by the tests: short timeouts so faults bite fast.
CLIENT_OPTIONS: dict[str, Any] = {"connect_timeout": 1.0, "read_timeout": 2.0}


def request_bound(tracked_seconds: float, failure_rate: float) -> int:
    """Most status requests one job may get: the "no storm" bound.

    Reference: a fixed 1-second poller asks ``ceil(t) + 1`` times while a job
    is tracked for ``t`` seconds. If a fraction ``p`` of requests fail and
    each failure costs one more request, the expected count grows by
    ``1 / (1 - p)``. We allow 1.5 times that, plus 2 (a first poll, and one
    retry started just as the job ended). A client that retries in a tight
    loop, or answers recovery with a burst, makes many times more.
    """
    return math.floor(1.5 * (math.ceil(tracked_seconds) + 1) / (1.0 - failure_rate)) + 2


@dataclass
class ChaosRun:
    """What a run produced, from both sides."""

    jobs: list[ForcedJob]
    futures: dict[str, Future[Any]]
    started: float
    elapsed: float
    client_stats: ClientStats
    records: dict[str, dict[str, Any]]
    server_stats: dict[str, Any]

    def requests_per_job(self) -> dict[str, int]:
        """Status requests this server process answered per job (a batch counts for each)."""
        return {job_id: record["status_requests"] for job_id, record in self.records.items()}

    def summary(self) -> str:
        """One line for the docs' table."""
        server, client = self.server_stats, dict(self.client_stats.requests)
        return (
            f"{len(self.jobs)} jobs, {server['status_requests_total']} status requests,"
            f" faults {server['faults_injected']}, client {client}, {self.elapsed:.1f}s"
        )


@pytest.fixture
def chaos_server(live_server_factory: Callable[..., LiveServer]) -> Callable[..., LiveServer]:
    """``chaos_server(*flags)``: a live server with a fixed seed and the given faults."""

    def start(*flags: str) -> LiveServer:
        return live_server_factory("--seed", "5", "--log-level", "WARNING", *flags)

    return start


@pytest.fixture
def probe_factory() -> Iterator[Callable[[LiveServer], ServerProbe]]:
    """``probe_factory(server)``: a ``ServerProbe``, closed at teardown."""
    probes: list[ServerProbe] = []

    def make(server: LiveServer) -> ServerProbe:
        probe = ServerProbe(server)
        probes.append(probe)
        return probe

    yield make
    for probe in probes:
        probe.close()


def track_all(
    server: LiveServer,
    probe: ServerProbe,
    jobs: list[ForcedJob],
    *,
    deadline: float | None = None,
    during: Callable[[], None] | None = None,
    **options: Any,
) -> ChaosRun:
    """Track ``jobs`` with one client until every future settles (or the test times out)."""
    start = time.monotonic()
    with TranslationClient(server.url, **{**CLIENT_OPTIONS, **options}) as client:
        futures: dict[str, Future[Any]] = {
            job.job_id: client.track(job.job_id, deadline=deadline) for job in jobs
        }
        if during is not None:
            during()
        _, not_done = wait(futures.values(), timeout=SETTLE_TIMEOUT)
        elapsed = time.monotonic() - start
        client_stats = client.stats()
    assert not not_done, f"{len(not_done)} futures still pending after {SETTLE_TIMEOUT}s"
    records = {job.job_id: probe.record(job.job_id) for job in jobs}
    run = ChaosRun(jobs, futures, start, elapsed, client_stats, records, probe.stats())
    print(run.summary())  # shown with -rP: the figures in docs/reliability.md
    return run


def assert_no_storm(run: ChaosRun, failure_rate: float) -> None:
    """The server answered no more status requests than ``request_bound`` allows per job.

    Counted in HTTP requests (a batch is one), from the server's ``/stats``: a
    batch that lists every job is one request, not one per job.
    """
    bound = len(run.jobs) * request_bound(run.elapsed, failure_rate)
    total = run.server_stats["status_requests_total"]
    assert total <= bound, f"{total} status requests for {len(run.jobs)} jobs (bound {bound})"


def assert_client_saw(run: ChaosRun, **outcomes: tuple[str, ...]) -> None:
    """The client counted each injected fault under the right outcome, no more, no less.

    ``outcomes`` maps a client outcome (``ClientStats.requests`` key) to the
    server's fault kinds that must add up to it, e.g. ``malformed=("garbage",)``.
    Only status requests are faulted, and only this client sends them.
    """
    faults = run.server_stats["faults_injected"]
    for outcome, kinds in outcomes.items():
        injected = sum(faults.get(kind, 0) for kind in kinds)
        seen = run.client_stats.requests.get(outcome, 0)
        assert seen == injected, f"client counted {seen} {outcome}, server injected {injected}"


def assert_retry_after_honoured(run: ChaosRun, retry_after: Mapping[str, float]) -> None:
    violations = [
        violation
        for job_id, record in run.records.items()
        for violation in retry_after_violations(job_id, record["status_request_log"], retry_after)
    ]
    assert not violations, violations


#: How the server helps, per test. The client asks ``/capabilities`` and uses
#: what it finds, so each mode drives a different request pattern: one batch
#: long-poll for all jobs, one long-poll per job, or the seed contract only
#: (the client paces every job from its own schedule: the most requests).
BATCH: tuple[str, ...] = ()
PER_JOB = ("--no-batch",)
PLAIN = ("--plain",)


def test_30_percent_500_and_503(
    chaos_server: Callable[..., LiveServer], probe_factory: Callable[[LiveServer], ServerProbe]
) -> None:
    server = chaos_server(
        *PER_JOB, "--fault-rate", "0.3", "--fault-kinds", "500,503", "--fault-retry-after", "1"
    )
    probe = probe_factory(server)
    jobs = probe.create_jobs(JOBS, seed=1, delay=DELAYS)
    run = track_all(server, probe, jobs)

    assert outcome_problems(jobs, run.futures) == []
    assert_retry_after_honoured(run, {"503": 1.0})
    assert_no_storm(run, 0.3)
    faults = run.server_stats["faults_injected"]
    assert faults.get("500", 0) > 0
    assert faults.get("503", 0) > 0
    assert_client_saw(run, http_5xx=("500", "503"))


def test_rate_limit_429_with_retry_after(
    chaos_server: Callable[..., LiveServer], probe_factory: Callable[[LiveServer], ServerProbe]
) -> None:
    # Plain mode: 30 jobs each polled on the client's own schedule is well
    # over 10 requests a second at first, so the limit bites.
    rate = 10.0
    server = chaos_server(*PLAIN, "--rate-limit", f"{rate:g}")
    probe = probe_factory(server)
    jobs = probe.create_jobs(JOBS, seed=2, delay=DELAYS)
    run = track_all(server, probe, jobs)

    assert outcome_problems(jobs, run.futures) == []
    assert_retry_after_honoured(run, {"429": rate_limit_retry_after(rate)})
    assert run.client_stats.requests.get("http_429", 0) > 0, "the limit never bit"
    # Each 429 costs one more request, as a failure does; the bound allows
    # half of all requests to be refused (a client ignoring Retry-After makes
    # far more, and fails the Retry-After check above anyway).
    assert_no_storm(run, 0.5)


def test_latency_beyond_the_read_timeout(
    chaos_server: Callable[..., LiveServer], probe_factory: Callable[[LiveServer], ServerProbe]
) -> None:
    # Long-poll off so every status request is held to the plain read timeout
    # (a long-poll's timeout grows with its wait). Latency 0.2 + U(0, 0.45) s
    # against a 0.5 s read timeout: about a third of requests time out.
    server = chaos_server("--no-long-poll", "--latency", "0.2", "--latency-jitter", "0.45")
    probe = probe_factory(server)
    jobs = probe.create_jobs(JOBS, seed=3, delay=DELAYS)
    run = track_all(server, probe, jobs, read_timeout=0.5)

    assert outcome_problems(jobs, run.futures) == []
    assert run.client_stats.requests.get("timeout", 0) > 0, run.client_stats
    assert_no_storm(run, 0.34)


def test_html_bodies_and_unknown_results(
    chaos_server: Callable[..., LiveServer], probe_factory: Callable[[LiveServer], ServerProbe]
) -> None:
    server = chaos_server(*PLAIN, "--fault-rate", "0.3", "--fault-kinds", "garbage,unknown-result")
    probe = probe_factory(server)
    jobs = probe.create_jobs(JOBS, seed=4, delay=DELAYS)
    run = track_all(server, probe, jobs)

    # outcome_problems also rejects a future that settled on "processing".
    assert outcome_problems(jobs, run.futures) == []
    faults = run.server_stats["faults_injected"]
    assert faults.get("garbage", 0) > 0
    assert faults.get("unknown-result", 0) > 0
    # The client saw each one for what it was: a malformed answer, not a transport error.
    assert_client_saw(run, malformed=("garbage", "unknown-result"))
    assert_no_storm(run, 0.3)


def test_connections_dropped_mid_response(
    chaos_server: Callable[..., LiveServer], probe_factory: Callable[[LiveServer], ServerProbe]
) -> None:
    server = chaos_server(*PER_JOB, "--fault-rate", "0.3", "--fault-kinds", "drop")
    probe = probe_factory(server)
    jobs = probe.create_jobs(JOBS, seed=5, delay=DELAYS)
    run = track_all(server, probe, jobs)

    assert outcome_problems(jobs, run.futures) == []
    assert run.server_stats["faults_injected"].get("drop", 0) > 0
    assert_client_saw(run, transport=("drop",))
    assert_no_storm(run, 0.3)


def test_every_fault_at_once(
    chaos_server: Callable[..., LiveServer], probe_factory: Callable[[LiveServer], ServerProbe]
) -> None:
    # Plain mode for the most requests: 30 % of them faulted with any kind,
    # a rate limit, and latency that sometimes passes the read timeout.
    server = chaos_server(
        *PLAIN,
        "--fault-rate", "0.3",
        "--fault-kinds", "500,503,garbage,unknown-result,drop",
        "--fault-retry-after", "1",
        "--rate-limit", "15",
        "--latency-jitter", "0.4",
    )  # fmt: skip
    probe = probe_factory(server)
    jobs = probe.create_jobs(JOBS, seed=9, delay=DELAYS)
    # About half of all requests fail here (1 - 0.7 x 0.75, plus 429s), so the
    # default budget of 10 consecutive failures would run out for some job in
    # a few percent of runs: give it 20 (0.5^20 per chain), and a 1 s backoff
    # cap so a run of failures does not idle for 8 s.
    retry = RetryPolicy(max_attempts=20, cap=1.0)
    run = track_all(server, probe, jobs, read_timeout=0.3, retry=retry)

    assert outcome_problems(jobs, run.futures) == []
    # 429s are answered on arrival; a 503 comes after the added latency, and
    # one held past the read timeout never reaches the client (it sees a
    # timeout), so 503 pacing is checked in the 500/503 test, without latency.
    assert_retry_after_honoured(run, {"429": rate_limit_retry_after(15)})
    # Failures come from faults (30 %), 429s and timeouts (25 %) together.
    assert_no_storm(run, 0.6)


#: How long the server stays down in the restart test, seconds.
OUTAGE = 1.0


@pytest.mark.parametrize("mode", [BATCH, PER_JOB], ids=["batch-long-poll", "per-job-long-poll"])
def test_server_killed_and_restarted_while_jobs_pend(
    chaos_server: Callable[..., LiveServer],
    probe_factory: Callable[[LiveServer], ServerProbe],
    mode: tuple[str, ...],
) -> None:
    server = chaos_server(*mode)
    probe = probe_factory(server)
    # Longer jobs, so most are still pending when the server goes away and
    # some finish while it is down.
    jobs = probe.create_jobs(JOBS, seed=6, delay=(0.6, 2.5))
    restarted_at: list[float] = []

    def outage() -> None:
        time.sleep(0.5)  # let long-polls get in flight
        server.stop()  # SIGTERM: in-flight requests die with the process
        time.sleep(OUTAGE)
        server.start()  # same port, same secret: the jobs are still there
        restarted_at.append(time.monotonic())

    run = track_all(server, probe, jobs, during=outage)

    assert outcome_problems(jobs, run.futures) == []
    # The restarted process counts only what came after the restart. Each job
    # needs one answer to learn its outcome; the bound allows a full
    # fixed-poller's worth for the rest of the run, so a burst of retries
    # queued during the outage would show.
    after = run.started + run.elapsed - restarted_at[0]
    total_after = run.server_stats["status_requests_total"]
    assert total_after <= JOBS * request_bound(after, 0.0), total_after
    # While the server was down, every attempt failed; the retry budget caps
    # them (max_attempts consecutive failures per job), whatever the backoff drew.
    failed = run.client_stats.requests.get("transport", 0)
    assert failed <= JOBS * RetryPolicy().max_attempts, failed


def test_server_down_when_tracking_starts(
    chaos_server: Callable[..., LiveServer], probe_factory: Callable[[LiveServer], ServerProbe]
) -> None:
    # The client's first requests, discovery included, meet a closed port;
    # a failed discovery is transient (the server is treated as plain only until
    # it answers), so the client polls on and picks the jobs up once it is back.
    server = chaos_server(*BATCH)
    probe = probe_factory(server)
    jobs = probe.create_jobs(JOBS, seed=10, delay=DELAYS)
    server.stop()

    def back_up() -> None:
        time.sleep(OUTAGE)
        server.start()

    run = track_all(server, probe, jobs, during=back_up)

    assert outcome_problems(jobs, run.futures) == []
    assert_no_storm(run, 0.0)
    failed = run.client_stats.requests.get("transport", 0)
    assert failed <= JOBS * RetryPolicy().max_attempts, failed


def test_server_gone_for_good_spends_the_retry_budget(
    chaos_server: Callable[..., LiveServer], probe_factory: Callable[[LiveServer], ServerProbe]
) -> None:
    server = chaos_server()
    probe = probe_factory(server)
    jobs = probe.create_jobs(10, seed=7, delay=(30.0, 30.0))
    server.stop()
    retry = RetryPolicy(max_attempts=4, base=0.05, cap=0.2, budget=5.0)
    with TranslationClient(server.url, **CLIENT_OPTIONS, retry=retry) as client:
        futures = [client.track(job.job_id) for job in jobs]
        _, not_done = wait(futures, timeout=SETTLE_TIMEOUT)
        stats = client.stats()
    assert not not_done
    for future in futures:
        error = future.exception(timeout=0)
        assert isinstance(error, TransportError), error
        assert error.__cause__ is not None
    # Spent means spent: no job got more attempts than the budget allows.
    assert all(n <= retry.max_attempts for n in stats.polls.values()), stats.polls


def test_server_gone_for_good_hits_the_deadline(
    chaos_server: Callable[..., LiveServer], probe_factory: Callable[[LiveServer], ServerProbe]
) -> None:
    server = chaos_server()
    probe = probe_factory(server)
    jobs = probe.create_jobs(10, seed=8, delay=(30.0, 30.0))
    server.stop()
    # A retry budget that outlasts the deadline whatever the backoff draws,
    # so the deadline decides.
    retry = RetryPolicy(max_attempts=1000, budget=600.0)
    with TranslationClient(server.url, **CLIENT_OPTIONS, retry=retry) as client:
        futures = [client.track(job.job_id, deadline=1.0) for job in jobs]
        _, not_done = wait(futures, timeout=SETTLE_TIMEOUT)
    assert not not_done
    for future in futures:
        error = future.exception(timeout=0)
        assert isinstance(error, DeadlineExceeded), error
        assert isinstance(error, TimeoutError)
