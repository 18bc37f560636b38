"""The HTTP endpoints, in one blueprint.

Request flow for status requests (``GET /status``, ``POST /status/batch``):
rate limit, added latency, injected fault, validation, long-poll wait, answer.
Every status request, whatever its answer, is logged against the jobs it
named (see ``Stats``), so tests can check how clients paced themselves.

The ``/admin/*`` routes exist only on a server started with ``--admin``
(404 otherwise): they change faults at runtime and reset the counters, for
test fixtures such as the pytest plugin's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, NoReturn, cast

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import BadRequest, NotFound

from mock_server import faults
from mock_server.clock import Clock, SystemClock
from mock_server.config import ServerConfig
from mock_server.contract import BatchRequest, FaultSettings, JobRequest, StatusQuery, parse
from mock_server.faults import FaultInjector, RateLimiter
from mock_server.hangup import Hangup
from mock_server.jobs import TEXT_FIELDS, Job
from mock_server.stats import Stats
from mock_server.store import JobStore, progress, retry_after_hint
from mock_server.translations import Translations
from mock_server.webhooks import WebhookDispatcher

bp = Blueprint("mock_server", __name__)

#: RFC 8259 insignificant whitespace: a body of only these counts as empty.
JSON_WHITESPACE = b" \t\n\r"
# Sleeping in a loop guards against a clock that wakes a hair early.
_MAX_WAIT_STEPS = 8


@dataclass(frozen=True)
class ServerState:
    """Everything the routes share, stored in ``app.extensions["mock_server"]``.

    Attributes:
        config: The settings.
        clock: Time source.
        store: Creates and decodes jobs.
        stats: Request counters.
        injector: Fault and latency decisions.
        limiter: Per-client rate limit, when configured.
        default_job_id: The seed job answered by ``GET /status`` without ``job_id``.
        translations: What the v3 routes remember beyond the job ids.
        webhooks: Sends v3 events when translations end.
    """

    config: ServerConfig
    clock: Clock
    store: JobStore
    stats: Stats
    injector: FaultInjector
    limiter: RateLimiter | None
    default_job_id: str
    translations: Translations
    webhooks: WebhookDispatcher


def state() -> ServerState:
    """The current app's ``ServerState``."""
    return cast(ServerState, current_app.extensions["mock_server"])


class RateLimited(Exception):
    """Raised to answer 429 with ``Retry-After``."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limit exceeded; retry after {retry_after} s")
        self.retry_after = retry_after


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The one error shape: ``{"error": {"code": ..., "message": ...}}``."""
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def bad_request(message: str) -> NoReturn:
    """Abort with a JSON 400 (rendered by the app's error handler)."""
    raise BadRequest(message)


# -- status requests ---------------------------------------------------------


@bp.get("/status")
def get_status() -> Response:
    """The seed contract, plus ``job_id``, hints and long-poll."""
    st = state()
    asked = request.args.get("job_id")
    job_id = st.default_job_id if asked is None else asked
    job = st.store.get(job_id)
    g.job_id = job_id
    # Logged against the job before any fault, so faulted requests show too.
    g.status_job_ids = [job_id] if job is not None else []
    early = _status_preamble(st)
    if early is not None:
        return early
    if job is None:
        raise NotFound(f"unknown job id: {job_id!r}")
    wait = 0.0
    if st.config.long_poll:  # a plain server ignores ?wait=, whatever it says
        wait = min(parse(StatusQuery, request.args.to_dict(), st.config).wait, st.config.max_wait)
    if wait > 0 and job.result(st.clock.now()) == "pending":
        with st.stats.long_poll():
            _sleep_until(st.clock, [job.finishes_at], st.clock.now() + wait, _hangup(st))
    now = st.clock.now()
    # The seed contract's answer has no job_id; only echo one that was asked for.
    body, retry_after = _status_body(st, asked, job, now)
    if g.fault == "unknown-result":
        body["result"] = faults.UNKNOWN_RESULT
    response = jsonify(body)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.post("/status/batch")
def post_status_batch() -> Response:
    """Statuses of many jobs in one request, optionally long-polled."""
    st = state()
    if not st.config.batch:
        raise NotFound("batch status requests are disabled on this server")
    payload = json_object_or_none()
    raw_ids = payload.get("job_ids") if payload is not None else None
    if isinstance(raw_ids, list):
        # Logged against the known jobs before any fault, so faulted requests
        # show too (the body is validated properly below).
        listed = list(dict.fromkeys(i for i in raw_ids if isinstance(i, str)))
        listed = listed[: st.config.max_batch]
        g.status_job_ids = [i for i in listed if st.store.get(i) is not None]
    early = _status_preamble(st)
    if early is not None:
        return early
    if payload is None:
        bad_request('body must be a JSON object like {"job_ids": [...]}')
    if not st.config.long_poll:  # ignored, whatever it says, as GET /status ignores ?wait=
        payload = {name: value for name, value in payload.items() if name != "wait"}
    batch = parse(BatchRequest, payload, st.config)
    job_ids = list(dict.fromkeys(batch.job_ids))
    wait = min(batch.wait, st.config.max_wait)
    jobs: dict[str, Job] = {}
    unknown: list[str] = []
    for job_id in job_ids:
        job = st.store.get(job_id)
        if job is None:
            unknown.append(job_id)
        else:
            jobs[job_id] = job
    now = st.clock.now()
    # An unknown id is final news too: answer at once rather than hold it back.
    if (
        wait > 0
        and jobs
        and not unknown
        and all(job.result(now) == "pending" for job in jobs.values())
    ):
        with st.stats.long_poll():
            ends = [job.finishes_at for job in jobs.values()]
            _sleep_until(st.clock, ends, now + wait, _hangup(st))
        now = st.clock.now()
    statuses = []
    for job_id, job in jobs.items():
        body, retry_after = _status_body(st, job_id, job, now)
        if retry_after is not None:
            body["retry_after"] = retry_after
        if g.fault == "unknown-result":
            body["result"] = faults.UNKNOWN_RESULT
        statuses.append(body)
    response = jsonify({"statuses": statuses, "unknown": unknown})
    hints = [s["retry_after"] for s in statuses if "retry_after" in s]
    if hints and len(hints) == len(statuses):
        # Every job still pending: the soonest any of them is worth asking about.
        response.headers["Retry-After"] = str(min(hints))
    return response


def _status_preamble(st: ServerState) -> Response | None:
    """Rate limit, latency and faults shared by both status routes.

    Returns:
        A fault response to send instead of the real answer, or ``None``.
    """
    g.fault = None
    check_rate_limit(st)
    # One snapshot per request: a concurrent PUT /admin/faults can't mix settings.
    settings = st.injector.settings
    latency = st.injector.latency(settings)
    if latency > 0:
        st.clock.sleep(latency)
    fault = st.injector.pick_fault(settings)
    if fault is None:
        return None
    st.stats.record_fault(fault)
    g.fault = fault
    if fault == "500":
        return error_response(500, "internal_error", "injected fault: internal server error")
    if fault == "503":
        retry = str(settings.fault_retry_after)
        return error_response(
            503,
            "unavailable",
            "injected fault: service unavailable",
            {"Retry-After": retry},
        )
    if fault == "garbage":
        return faults.garbage_response()
    if fault == "drop":
        body = {"result": "pending", "job_id": getattr(g, "job_id", None)}
        return faults.dropped_response(body, request.environ)
    # "unknown-result": answered normally, with the result replaced at the end.
    return None


def _status_body(
    st: ServerState, job_id: str | None, job: Job, now: float
) -> tuple[dict[str, Any], int | None]:
    """A status answer for one job, and its ``Retry-After`` hint if any."""
    result = job.result(now)
    body: dict[str, Any] = {}
    if job_id is not None:
        body["job_id"] = job_id
    body["result"] = result
    if not st.config.hints or result != "pending":
        return body, None
    estimate = st.store.estimate_remaining(job, now)
    body["progress"] = round(progress(job, now), 4)
    body["remaining_seconds"] = round(estimate, 3)
    return body, retry_after_hint(estimate)


def _hangup(st: ServerState) -> Hangup | None:
    """A watch for the client hanging up during a long-poll, where there is one to keep."""
    # A fake clock's sleep takes no real time: there is nothing to watch during it.
    return Hangup.of(request.environ) if isinstance(st.clock, SystemClock) else None


def _sleep_until(
    clock: Clock, ends: list[float], deadline: float, hangup: Hangup | None = None
) -> None:
    """Sleep until the earliest of ``ends`` or ``deadline``, or until the client hangs up.

    Schedules are known in advance, so one sleep normally suffices; the loop
    only absorbs a clock that wakes a hair early. No polling either way: a
    hang-up wakes the wait.
    """
    target = min([*ends, deadline])
    for _ in range(_MAX_WAIT_STEPS):
        remaining = target - clock.now()
        if remaining <= 0:
            return
        if hangup is None:
            clock.sleep(remaining)
        elif hangup.wait(remaining):
            return


def check_rate_limit(st: ServerState) -> None:
    """Spend one of the client's tokens (``--rate-limit``); raise ``RateLimited`` when out."""
    if st.limiter is None:
        return
    retry_after = st.limiter.take(request.remote_addr or "unknown", st.clock.now())
    if retry_after is not None:
        st.stats.record_fault("429")
        raise RateLimited(retry_after)


# -- jobs ----------------------------------------------------------------------


@bp.post("/jobs")
def create_job() -> tuple[Response, int, dict[str, str]]:
    """Create a job; its schedule is decided now and carried in its id."""
    st = state()
    check_rate_limit(st)
    options = parse(JobRequest, json_object_or_none() or {}, st.config).model_dump(
        exclude_unset=True
    )
    texts = {name: options.pop(name) for name in TEXT_FIELDS if name in options}
    job_id, job = st.store.create(**options, texts=texts)
    g.job_id = job_id
    st.stats.record_job_created()
    location = f"/jobs/{job_id}"
    return jsonify(_job_record(st, job_id, job)), 201, {"Location": location}


@bp.get("/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    """The job's full record, including how it has been polled."""
    st = state()
    g.job_id = job_id
    check_rate_limit(st)
    job = st.store.get(job_id)
    if job is None:
        raise NotFound(f"unknown job id: {job_id!r}")
    return jsonify(_job_record(st, job_id, job))


def _job_record(st: ServerState, job_id: str, job: Job) -> dict[str, Any]:
    now = st.clock.now()
    result = job.result(now)
    record: dict[str, Any] = {
        "job_id": job_id,
        "result": result,
        "created_at": job.created_at,
        "finishes_at": job.finishes_at,
        "delay": job.delay,
        "server_time": now,
    }
    if result != "pending":
        record["outcome"] = job.outcome
    if job.video_length is not None:
        record["video_length"] = job.video_length
    record.update(job.texts())
    record["truncated_fields"] = list(job.truncated_fields)
    record.update(st.stats.job_requests(job_id))
    return record


def json_object_or_none() -> dict[str, Any] | None:
    """The body as a JSON object; ``None`` when blank. Malformed JSON is a 400.

    The Content-Type is not checked, so ``curl -d '{...}'`` works as is.
    """
    raw = request.get_data(cache=True)
    # Blank means JSON's own whitespace only: bytes.strip() would also pass
    # form feeds and vertical tabs, which are malformed JSON.
    if not raw.strip(JSON_WHITESPACE):
        return None
    try:
        payload = json.loads(raw, parse_constant=_reject_constant, parse_int=_json_int)
    except (ValueError, RecursionError) as exc:
        bad_request(f"malformed JSON body: {exc}")
    if not isinstance(payload, dict):
        bad_request("body must be a JSON object")
    return payload


def _reject_constant(name: str) -> NoReturn:
    # NaN and Infinity are not JSON, though Python's parser accepts them.
    raise ValueError(f"{name} is not valid JSON")


def _json_int(text: str) -> int | float:
    # JSON integers have no size limit. One too big for a float is read as
    # infinity, as 1e999 is: out of range where a number of seconds is asked.
    value = int(text)
    try:
        float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
    return value


# -- discovery and observability ----------------------------------------------


@bp.get("/capabilities")
def get_capabilities() -> Response:
    """What this server offers, so clients can discover it."""
    config = state().config
    if not config.capabilities:
        raise NotFound("capabilities are disabled on this server")
    return jsonify(
        {
            "hints": config.hints,
            "long_poll": {"max_wait": config.max_wait} if config.long_poll else None,
            "batch": {"max_ids": config.max_batch} if config.batch else None,
        }
    )


@bp.get("/healthz")
def get_healthz() -> Response:
    """Liveness: always ``{"status": "ok"}``."""
    return jsonify({"status": "ok"})


@bp.get("/stats")
def get_stats() -> Response:
    """This process's request counters."""
    return jsonify(_stats_document(state()))


def _stats_document(st: ServerState) -> dict[str, Any]:
    """The ``GET /stats`` document: the counters and the seed job's id."""
    snapshot = st.stats.snapshot(st.clock.now())
    snapshot["default_job_id"] = st.default_job_id
    return snapshot


@bp.get("/openapi.json")
def get_openapi() -> Response:
    """The OpenAPI 3 document (identical to ``docs/openapi.json``)."""
    # Imported here so `python -m mock_server.openapi` can run the module
    # as __main__ without it having been imported by the package first.
    from mock_server.openapi import openapi_document

    return jsonify(openapi_document())


# -- admin (only with --admin) -------------------------------------------------


def _admin_state() -> ServerState:
    st = state()
    if not st.config.admin:
        raise NotFound("admin routes are off; start the server with --admin")
    return st


@bp.get("/admin/faults")
def get_faults() -> Response:
    """The fault and latency settings in force now."""
    return jsonify(_admin_state().injector.settings.as_dict())


@bp.put("/admin/faults")
def put_faults() -> Response:
    """Replace the fault settings; fields left out take the server's start-up values."""
    st = _admin_state()
    payload = json_object_or_none()
    if payload is None:
        bad_request('body must be a JSON object like {"fault_rate": 1.0, "fault_kinds": ["503"]}')
    # A field left out takes the start-up value: a PUT replaces, it does not patch.
    settings = parse(FaultSettings, {**st.injector.initial.as_dict(), **payload}, st.config)
    st.injector.set(settings)
    return jsonify(settings.as_dict())


@bp.delete("/admin/faults")
def delete_faults() -> Response:
    """Back to the server's start-up settings (no faults unless the flags asked for them)."""
    return jsonify(_admin_state().injector.reset().as_dict())


@bp.delete("/admin/stats")
def delete_stats() -> Response:
    """Zero the counters of ``/stats`` and ``/jobs/ID``; answer the fresh ``/stats``."""
    st = _admin_state()
    st.stats.reset()
    return jsonify(_stats_document(st))
