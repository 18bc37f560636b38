"""How each strategy tracks a job, written the way its users would write it.

Each strategy is a ``Tracker``: ``track(job_id, done)`` starts tracking and
returns at once; ``done(job_id, outcome)`` is called once, from whichever
thread learned the outcome (``"completed"``, ``"error"``, or
``"exception:Name"`` when the strategy itself failed).

The baselines use plain ``requests.get`` for each status request (what a user
writing a polling loop writes) and one thread per job, or the library's own
thread per job (google-api-core starts one in ``add_done_callback``). They do
not read hints, so the harness runs them against a plain server only.

Imports of the baseline libraries and of our client happen inside the
factories, so a child process loads only what its strategy needs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import requests

Done = Callable[[str, str], None]

#: Connect and read timeouts of the baselines' status requests.
TIMEOUT = (3.05, 30.0)

#: Every strategy, in report order.
STRATEGIES = (
    "ours",
    "ours-economical",
    "fixed-1s",
    "fixed-0.1s",
    "google",
    "tenacity",
    "polling2",
    "backoff",
)
#: Server modes each strategy runs in: the baselines do not use hints, and
#: ``ours-economical`` differs from ``ours`` only in its plain-server pace.
STRATEGY_MODES: dict[str, tuple[str, ...]] = {
    name: (("plain", "hints", "long-poll", "batch") if name == "ours" else ("plain",))
    for name in STRATEGIES
}

#: How each baseline is configured, for the report.
SETTINGS: dict[str, str] = {
    "ours": "`TranslationClient(url)` with default options; `track(id)` + `add_done_callback`",
    "ours-economical": "`TranslationClient(url, policy=policies.economical_policy())`: "
    "the same chain paced for fewer requests; `track(id)` + `add_done_callback`",
    "fixed-1s": "`while` loop: `requests.get`, `time.sleep(1.0)`; a thread per job",
    "fixed-0.1s": "`while` loop: `requests.get`, `time.sleep(0.1)`; a thread per job",
    "google": "`PollingFuture` subclass (`done()` = one status request), `DEFAULT_POLLING` "
    "(1 s initial, x1.5, 20 s max, jittered); `add_done_callback` starts its thread",
    "tenacity": "`Retrying(wait=wait_exponential(multiplier=1, min=1, max=10), "
    "retry=retry_if_result(pending) | retry_if_exception_type(RequestException))`; "
    "a thread per job",
    "polling2": "`poll(step=1, step_function=step_linear_double, "
    "ignore_exceptions=(RequestException,))`; a thread per job",
    "backoff": "`@on_predicate(backoff.expo, pending, max_time=...)`: 1, 2, 4, 8... s "
    "with default full jitter, no cap; a thread per job",
}


class Tracker(Protocol):
    """Tracks jobs and reports each outcome through ``done``."""

    def track(self, job_id: str, done: Done) -> None:
        """Start tracking ``job_id``; return at once."""

    def close(self) -> None:
        """Release resources (threads may be left to die with the process)."""


def get_status(url: str, job_id: str) -> str:
    """One status request, as a user would write it.

    Raises:
        requests.RequestException: Transport failure or a non-2xx answer.
    """
    resp = requests.get(f"{url}/status", params={"job_id": job_id}, timeout=TIMEOUT)
    resp.raise_for_status()
    result: str = resp.json()["result"]
    return result


def _is_pending(result: str) -> bool:
    return result == "pending"


def _thread(name: str, target: Callable[[], None]) -> None:
    threading.Thread(target=target, name=name, daemon=True).start()


class _ThreadPerJob:
    """A thread per job running ``wait_for(job_id) -> outcome``."""

    def __init__(self, name: str, wait_for: Callable[[str], str]) -> None:
        self._name = name
        self._wait_for = wait_for

    def track(self, job_id: str, done: Done) -> None:
        def run() -> None:
            try:
                outcome = self._wait_for(job_id)
            except Exception as exc:
                outcome = f"exception:{type(exc).__name__}"
            done(job_id, outcome)

        _thread(f"{self._name}-{job_id}", run)

    def close(self) -> None:
        pass


def fixed_interval(url: str, interval: float, give_up: float) -> Tracker:
    """The trivial client: poll every ``interval`` seconds until the job is not pending."""

    def wait_for(job_id: str) -> str:
        deadline = time.monotonic() + give_up
        while time.monotonic() < deadline:
            try:
                result = get_status(url, job_id)
            except requests.RequestException:
                result = "pending"
            if not _is_pending(result):
                return result
            time.sleep(interval)
        return "exception:GaveUp"

    return _ThreadPerJob(f"fixed-{interval:g}s", wait_for)


def tenacity_tracker(url: str, give_up: float) -> Tracker:
    """tenacity's ``wait_exponential`` with settings chosen for jobs of seconds to minutes.

    ``min=1`` because the first answer comes back at once and a job takes at
    least about a second; ``max=10`` so a job of minutes is never learned more
    than ten seconds late (the tenacity docs' example is ``min=4, max=10``).
    """
    import tenacity

    retrying = tenacity.Retrying(
        wait=tenacity.wait_exponential(multiplier=1, min=1, max=10),
        retry=(
            tenacity.retry_if_result(_is_pending)
            | tenacity.retry_if_exception_type(requests.RequestException)
        ),
        stop=tenacity.stop_after_delay(give_up),
    )

    def wait_for(job_id: str) -> str:
        result: str = retrying(get_status, url, job_id)
        return result

    return _ThreadPerJob("tenacity", wait_for)


def polling2_tracker(url: str, give_up: float) -> Tracker:
    """polling2's ``step_linear_double``: waits 1, 2, 4, 8... s, uncapped."""
    import polling2

    def wait_for(job_id: str) -> str:
        result: str = polling2.poll(
            target=lambda: get_status(url, job_id),
            check_success=lambda r: not _is_pending(r),
            step=1,
            step_function=polling2.step_linear_double,
            ignore_exceptions=(requests.RequestException,),
            timeout=give_up,
        )
        return result

    return _ThreadPerJob("polling2", wait_for)


def backoff_tracker(url: str, give_up: float) -> Tracker:
    """backoff's ``on_predicate(expo)`` with its default full jitter."""
    import backoff

    @backoff.on_exception(backoff.expo, requests.RequestException, max_time=give_up)
    @backoff.on_predicate(backoff.expo, _is_pending, max_time=give_up)
    def poll_status(job_id: str) -> str:
        return get_status(url, job_id)

    def wait_for(job_id: str) -> str:
        result: str = poll_status(job_id)
        return result

    return _ThreadPerJob("backoff", wait_for)


class JobFailedError(Exception):
    """The job ended in error (google baseline)."""


def google_tracker(url: str, give_up: float) -> Tracker:
    """google-api-core's ``PollingFuture`` with ``DEFAULT_POLLING``, via ``add_done_callback``."""
    from google.api_core.future import polling

    class JobOperation(polling.PollingFuture):
        """A long-running operation whose ``done()`` is one status request."""

        def __init__(self, job_id: str) -> None:
            super().__init__(polling=polling.DEFAULT_POLLING.with_timeout(give_up))  # type: ignore[no-untyped-call]
            self.job_id = job_id

        def done(self, retry: Any = None) -> bool:
            if self._result_set:
                return True
            try:
                result = get_status(url, self.job_id)
            except requests.RequestException:
                return False
            if result == "error":
                self.set_exception(JobFailedError(self.job_id))  # type: ignore[no-untyped-call]
            elif not _is_pending(result):
                self.set_result(result)  # type: ignore[no-untyped-call]
            return bool(self._result_set)

        def cancel(self) -> bool:
            return False

        def cancelled(self) -> bool:
            return False

    class GoogleTracker:
        def __init__(self) -> None:
            self.futures: list[Any] = []

        def track(self, job_id: str, done: Done) -> None:
            future = JobOperation(job_id)

            def callback(fut: Any) -> None:
                exc = fut.exception()
                done(job_id, "error" if isinstance(exc, JobFailedError) else "completed")

            future.add_done_callback(callback)  # type: ignore[no-untyped-call]
            self.futures.append(future)

        def close(self) -> None:
            pass

    return GoogleTracker()


def ours_tracker(url: str, give_up: float, economical: bool = False) -> Tracker:
    """Our client: one client, ``track`` + ``add_done_callback``.

    With default options, or with ``policy=economical_policy()`` when ``economical``.
    """
    from heygen_client import TranslationClient
    from heygen_client.policies import default_policy, economical_policy

    policy = economical_policy() if economical else default_policy()

    class OursTracker:
        def __init__(self) -> None:
            self.client = TranslationClient(url, policy=policy)
            self.futures: list[Any] = []

        def track(self, job_id: str, done: Done) -> None:
            future = self.client.track(job_id)

            def callback(fut: Any) -> None:
                done(job_id, outcome_of_future(fut))

            future.add_done_callback(callback)
            self.futures.append(future)

        def close(self) -> None:
            self.client.close()

    return OursTracker()


def outcome_of_future(fut: Any) -> str:
    """``"completed"``/``"error"`` from a finished ``JobFuture``; ``exception:X`` otherwise."""
    if fut.cancelled():
        return "exception:Cancelled"
    exc = fut.exception()
    if exc is None:
        result = fut.result().result
        return str(getattr(result, "value", result))
    if type(exc).__name__ == "TranslationFailed":
        return "error"
    return f"exception:{type(exc).__name__}"


def make_tracker(name: str, url: str, give_up: float) -> Tracker:
    """Build the named strategy's tracker.

    Raises:
        ValueError: Unknown strategy.
        ImportError: Its library is not installed (or our client not built yet).
    """
    factories: dict[str, Callable[[], Tracker]] = {
        "ours": lambda: ours_tracker(url, give_up),
        "ours-economical": lambda: ours_tracker(url, give_up, economical=True),
        "fixed-1s": lambda: fixed_interval(url, 1.0, give_up),
        "fixed-0.1s": lambda: fixed_interval(url, 0.1, give_up),
        "google": lambda: google_tracker(url, give_up),
        "tenacity": lambda: tenacity_tracker(url, give_up),
        "polling2": lambda: polling2_tracker(url, give_up),
        "backoff": lambda: backoff_tracker(url, give_up),
    }
    if name not in factories:
        raise ValueError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
    return factories[name]()
