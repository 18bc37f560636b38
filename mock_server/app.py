"""The Flask application factory."""

from __future__ import annotations

import logging
import random
import time

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from mock_server.clock import Clock, SystemClock
from mock_server.config import ServerConfig
from mock_server.contract import Invalid
from mock_server.faults import FaultInjector, RateLimiter
from mock_server.framing import RequestFraming, refusal
from mock_server.jobs import MAX_ID_LENGTH
from mock_server.routes import RateLimited, ServerState, bp, error_response
from mock_server.stats import Stats
from mock_server.store import JobStore
from mock_server.translations import Translations
from mock_server.v3 import ERROR_CODES as V3_ERROR_CODES
from mock_server.v3 import ApiError, is_v3_request, v3_bp
from mock_server.v3 import error_response as v3_error_response
from mock_server.webhooks import WebhookDispatcher

logger = logging.getLogger("mock_server")

#: Room every request body has, whatever the batch size: enough for a job's
#: three text fields of 1000 characters even when JSON escapes each as ``\uXXXX``.
BASE_CONTENT_LENGTH = 64 * 1024
#: Bytes a batch body may spend on each id besides its characters: the quotes,
#: a comma, and a pretty-printer's newline and indentation.
ID_OVERHEAD = 16
#: Endpoints that count as status requests in ``/stats``.
STATUS_ENDPOINTS = frozenset(
    {
        "GET /status",
        "POST /status/batch",
        "GET /v3/video-translations/<video_translation_id>",
        "GET /v3/video-translations/statuses",
    }
)
#: Requests to routes under this path are not counted in ``/stats`` (see ``routes``).
ADMIN_PREFIX = "/admin/"


def create_app(config: ServerConfig | None = None, *, clock: Clock | None = None) -> Flask:
    """Build the mock server.

    The default job (``GET /status`` without ``job_id``) starts now, at app
    creation. Under ``gunicorn --preload`` the app is created once, before
    the workers fork, so every worker serves the same default job.

    Args:
        config: Settings; when ``None``, read from ``HEYGEN_MOCK_*``
            environment variables (``ServerConfig.from_env``), which is how
            ``gunicorn 'mock_server:create_app()'`` is configured.
        clock: Time source; the wall clock when ``None``. Pass a
            ``FakeClock`` in tests so long-polls return without sleeping.
            On the wall clock, v3 webhooks are sent by a background thread
            when due; on any other clock time does not pass by itself, so
            nothing is sent until ``state.webhooks.run_due()`` is called.

    Returns:
        The Flask app, with its ``ServerState`` in ``app.extensions["mock_server"]``.
    """
    if config is None:
        config = ServerConfig.from_env()
    if clock is None:
        clock = SystemClock()
    # Separate generators: whether faults are on must not change which jobs
    # end in error under the same seed.
    store = JobStore(config, clock, random.Random(config.seed))
    default_job_id, _ = store.create()
    stats = Stats(started_at=clock.now())
    translations = Translations()
    webhooks = WebhookDispatcher(
        config,
        clock,
        stats,
        random.Random(None if config.seed is None else f"webhooks-{config.seed}"),
        endpoints=translations.endpoints,
    )
    state = ServerState(
        config=config,
        clock=clock,
        store=store,
        stats=stats,
        injector=FaultInjector(
            config, random.Random(None if config.seed is None else f"faults-{config.seed}")
        ),
        limiter=RateLimiter(config.rate_limit) if config.rate_limit else None,
        default_job_id=default_job_id,
        translations=translations,
        webhooks=webhooks,
    )

    app = Flask("mock_server")
    # Werkzeug answers "/jobs//x" with a 308 to "/jobs/x", an HTML page that
    # bypasses the error handlers; no route has an empty segment, so 404 it.
    app.url_map.merge_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = max_content_length(config)
    # Flask bounds a body of declared length; a chunked one is bounded here.
    app.wsgi_app = RequestFraming(  # type: ignore[method-assign]
        app.wsgi_app, max_content_length(config)
    )
    # Clients must see the exact seed body, key order included.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    # OPTIONS would get an empty, undocumented 200; make it a JSON 405 like
    # any other method the routes don't declare (needs Flask 3.1).
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.extensions["mock_server"] = state
    app.register_blueprint(bp)
    app.register_blueprint(v3_bp)

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()
        g.arrived_at = clock.now()
        g.job_id = None
        g.fault = None
        g.status_job_ids = []

    @app.before_request
    def refuse_bad_framing() -> None:
        error = refusal(request.environ)
        if error is not None:
            raise error

    @app.after_request
    def count_and_log(response: Response) -> Response:
        endpoint = _endpoint_name()
        status = str(response.status_code)
        # Admin requests are the test harness talking, not the client under test.
        if not endpoint.split(" ", 1)[1].startswith(ADMIN_PREFIX):
            state.stats.record_request(endpoint, status)
        if endpoint in STATUS_ENDPOINTS:
            answered = g.fault if g.fault in ("garbage", "drop", "unknown-result") else status
            state.stats.record_status_request(g.status_job_ids, g.arrived_at, answered)
        logger.info(
            "%s %s %s %.1fms job=%s%s",
            request.method,
            request.path,
            status,
            (time.perf_counter() - g.started) * 1000,
            g.job_id or "-",
            f" fault={g.fault}" if g.fault else "",
        )
        return response

    @app.errorhandler(RateLimited)
    def rate_limited(exc: RateLimited) -> Response:
        headers = {"Retry-After": str(exc.retry_after)}
        if is_v3_request():
            return v3_error_response(429, "rate_limit_exceeded", str(exc), headers=headers)
        return error_response(429, "rate_limited", str(exc), headers)

    @app.errorhandler(Invalid)
    def invalid_request(exc: Invalid) -> Response:
        if is_v3_request():
            return v3_error_response(400, "invalid_parameter", exc.message, exc.param)
        return error_response(400, "bad_request", exc.message)

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return v3_error_response(exc.status, exc.code, exc.message, exc.param, exc.headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = exc.code or 500
        message = exc.description or exc.name
        if is_v3_request():
            response = v3_error_response(code, V3_ERROR_CODES.get(code, _error_code(exc)), message)
        else:
            response = error_response(code, _error_code(exc), message)
        # Keep headers such as Allow on 405.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception) -> Response:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        if is_v3_request():
            return v3_error_response(500, "internal_error", "internal server error")
        return error_response(500, "internal_error", "internal server error")

    return app


def max_content_length(config: ServerConfig) -> int:
    """Largest accepted request body; larger bodies get a JSON 413.

    64 KiB, plus room for a full batch (``max_batch`` ids of the longest
    length, pretty-printed), so the server never refuses for its size a batch
    that ``GET /capabilities`` says it accepts.
    """
    return BASE_CONTENT_LENGTH + config.max_batch * (MAX_ID_LENGTH + ID_OVERHEAD)


def _endpoint_name() -> str:
    """``"GET /jobs/<job_id>"`` style: the route pattern, so ids don't explode the counters."""
    rule = request.url_rule
    return f"{request.method} {rule.rule if rule is not None else '<unmatched>'}"


def _error_code(exc: HTTPException) -> str:
    codes = {
        400: "bad_request",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
        429: "rate_limited",
        500: "internal_error",
        503: "unavailable",
    }
    return codes.get(exc.code or 500) or exc.name.lower().replace(" ", "_")
