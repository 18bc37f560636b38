"""HeyGen's v3 video-translation dialect, over the mock's own jobs.

Routes (all under ``/v3``):

- ``POST /video-translations``: one job per output language;
  ``Idempotency-Key`` honoured; ``--concurrency-limit`` answered with 429.
- ``GET /video-translations/<id>``: ``pending``, ``running``, ``completed``
  or ``failed``, with HeyGen's fields.
- ``GET /video-translations/statuses?video_translation_ids=a,b``: up to 100
  ids, in the bulk vocabulary (``queued``, ``processing``, ``completed``,
  ``failed``, ``not_found``).
- ``POST /webhooks/endpoints``: registers a receiver and returns its secret.

A v3 id *is* a mock job id, so ``GET /jobs/ID`` and ``GET /status`` answer
for it, and any job id answers here. Translation time is about twice the
video's ``duration`` (a mock-only create field; 60 s when absent), ±30 %,
divided by ``--time-scale``; the first ``QUEUED_SHARE`` of it is ``pending``.

Every error on these routes is HeyGen's envelope,
``{"error": {"code", "message", "param", "doc_url"}}``; ``app`` renders
the framework's own errors (404 route, 405, 413, malformed JSON) the same
way under ``/v3/``. With ``--api-key``, every route here needs the key.
"""

from __future__ import annotations

import hmac
import math
import secrets
import time
from typing import Any, NoReturn

from flask import Blueprint, Response, g, jsonify, request

from mock_server.contract import (
    DEFAULT_DURATION,
    MAX_KEY_LENGTH,
    MAX_STATUS_IDS,
    V3CreateRequest,
    V3EndpointRequest,
    V3StatusesQuery,
    parse,
)
from mock_server.jobs import Job
from mock_server.routes import ServerState, check_rate_limit, json_object_or_none, state
from mock_server.translations import TranslationInfo
from mock_server.webhooks import Endpoint, Event, new_endpoint_secret

v3_bp = Blueprint("heygen_v3", __name__, url_prefix="/v3")

PREFIX = "/v3/"
#: Share of a translation's time spent ``pending`` (queued) before ``running``.
QUEUED_SHARE = 0.1
#: Presigned URLs are valid this long from the status call that made them.
URL_LIFETIME = 7 * 86400
#: Where the mock's (unfetchable: ``.invalid``) result files "are".
MEDIA_BASE = "https://files.heygen-mock.invalid/video-translations"
FAILURE_MESSAGE = "Translation failed: the mock server drew this job to fail (--error-rate)."
BULK_STATUS = {
    "pending": "queued",
    "running": "processing",
    "completed": "completed",
    "failed": "failed",
}
#: Error codes by HTTP status, for errors raised without one of their own.
ERROR_CODES = {
    400: "invalid_parameter",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "rate_limit_exceeded",
    500: "internal_error",
}


class ApiError(Exception):
    """Raised to answer with HeyGen's error envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or ERROR_CODES.get(status, "error")
        self.message = message
        self.param = param
        self.headers = headers or {}


def is_v3_request() -> bool:
    """Whether the current request is on a v3 path (so errors take HeyGen's envelope)."""
    return request.path.startswith(PREFIX) or request.path == PREFIX.rstrip("/")


def error_response(
    status: int,
    code: str,
    message: str,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """HeyGen's error envelope: ``{"error": {"code", "message", "param", "doc_url"}}``."""
    response = jsonify(
        {"error": {"code": code, "message": message, "param": param, "doc_url": None}}
    )
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _invalid(message: str, param: str | None) -> NoReturn:
    raise ApiError(400, message, param=param)


# -- authentication ------------------------------------------------------------


@v3_bp.before_request
def require_api_key() -> None:
    """With ``--api-key``, only a request carrying it gets past this."""
    key = state().config.api_key
    if key is None:
        return
    given = [request.headers.get("X-Api-Key")]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        given.append(token.strip())
    expected = key.encode("utf-8", "surrogateescape")
    if not any(
        hmac.compare_digest(value.encode("utf-8", "surrogateescape"), expected)
        for value in given
        if value is not None
    ):
        # Never echo what was sent: it may be a real key sent to the wrong place.
        raise ApiError(401, "missing or invalid API key: send it in the X-Api-Key header")


# -- create ----------------------------------------------------------------------


@v3_bp.post("/video-translations")
def create_translations() -> Response:
    """One job per output language; the answer lists their ids in order."""
    st = state()
    check_rate_limit(st)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= MAX_KEY_LENGTH:
        _invalid(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters", "Idempotency-Key")
    payload = json_object_or_none()
    if payload is None:
        _invalid("body must be a JSON object with video and output_languages", None)
    fields = parse(V3CreateRequest, payload, st.config)
    if key is None:
        return jsonify(_create(st, fields))
    claim, answer = st.translations.claim(key, st.clock.now())
    if claim == "in_progress":
        raise ApiError(
            409,
            "a request with this Idempotency-Key is still in progress",
            code="request_in_progress",
            param="Idempotency-Key",
        )
    if claim == "replay":
        return jsonify(answer)
    try:
        answer = _create(st, fields)
    except BaseException:
        st.translations.release(key)  # a failed create may be retried with the same key
        raise
    st.translations.complete(key, answer, st.clock.now())
    return jsonify(answer)


def _create(st: ServerState, fields: V3CreateRequest) -> dict[str, Any]:
    languages = fields.output_languages
    limit = st.config.concurrency_limit
    if limit is not None and len(languages) > limit:
        _invalid(
            f"{len(languages)} output languages exceed the concurrency limit of {limit}",
            "output_languages",
        )
    duration = fields.duration or DEFAULT_DURATION
    ids: list[str] = []
    with st.translations.admission():
        now = st.clock.now()
        if limit is not None:
            running, soonest = st.translations.running(now)
            if running + len(languages) > limit:
                retry = max(1, math.ceil((soonest or now) - now))
                raise ApiError(
                    429,
                    f"concurrency limit reached: {running} of {limit} translations running",
                    headers={"Retry-After": str(retry)},
                )
        for language in languages:
            texts = {"target_language": language}
            if fields.input_language is not None:
                texts["source_language"] = fields.input_language
            if fields.title is not None:
                texts["title"] = fields.title
            job_id, job = st.store.create(
                delay=st.store.translation_delay(duration), video_length=duration, texts=texts
            )
            info = TranslationInfo(
                title=fields.title,
                output_language=language,
                input_language=fields.input_language,
                callback_id=fields.callback_id,
                translate_audio_only=bool(fields.translate_audio_only),
            )
            st.translations.add(job_id, job.finishes_at, info, now)
            st.webhooks.schedule(job.finishes_at, _event(job_id, job, info, fields))
            ids.append(job_id)
    st.stats.record_job_created(len(ids))
    g.job_id = ids[0] if len(ids) == 1 else f"{ids[0]} (+{len(ids) - 1})"
    return {"data": {"video_translation_ids": ids}}


def _event(job_id: str, job: Job, info: TranslationInfo, fields: V3CreateRequest) -> Event:
    succeeded = job.outcome == "completed"
    return Event(
        video_translate_id=job_id,
        succeeded=succeeded,
        detail=_media_url(job_id, "video.mp4", job.finishes_at) if succeeded else FAILURE_MESSAGE,
        callback_id=info.callback_id,
        output_language=info.output_language,
        callback_url=fields.callback_url,
    )


# -- status ------------------------------------------------------------------------


@v3_bp.get("/video-translations/<video_translation_id>")
def get_translation(video_translation_id: str) -> Response:
    """One translation's status and fields, as HeyGen's single GET."""
    st = state()
    job = st.store.get(video_translation_id)
    g.job_id = video_translation_id
    # Logged against the job before the rate limit, as GET /status does.
    g.status_job_ids = [video_translation_id] if job is not None else []
    check_rate_limit(st)
    if job is None:
        raise ApiError(
            404,
            f"video translation {video_translation_id[:128]!r} not found",
            param="video_translation_id",
        )
    return jsonify({"data": _translation(st, video_translation_id, job, st.clock.now())})


@v3_bp.get("/video-translations/statuses")
def get_statuses() -> Response:
    """Up to 100 translations' statuses, in the bulk vocabulary."""
    st = state()
    raw = request.args.getlist("video_translation_ids")
    if len(raw) == 1:
        # Logged against the known jobs before the rate limit (validated below).
        listed = list(dict.fromkeys(raw[0].split(",")))[:MAX_STATUS_IDS]
        g.status_job_ids = [i for i in listed if i and st.store.get(i) is not None]
    check_rate_limit(st)
    if "batch_ids" in request.args:
        _invalid("batch_ids: batches are not simulated by the mock server", "batch_ids")
    if len(raw) != 1:
        _invalid(
            "give video_translation_ids once, as a comma-separated list", "video_translation_ids"
        )
    parse(V3StatusesQuery, {"video_translation_ids": raw[0]}, st.config)
    now = st.clock.now()
    entries: list[dict[str, Any]] = []
    for job_id in dict.fromkeys(raw[0].split(",")):
        job = st.store.get(job_id)
        if job is None:
            entries.append({"video_id": job_id, "status": "not_found", "error": None})
            continue
        status = translation_status(job, now)
        error = None
        if status == "failed":
            error = {"code": "translation_failed", "message": FAILURE_MESSAGE}
        entries.append({"video_id": job_id, "status": BULK_STATUS[status], "error": error})
    return jsonify({"data": entries, "has_more": False, "next_token": None})


def translation_status(job: Job, now: float) -> str:
    """``pending`` (queued), ``running``, then ``completed`` or ``failed``."""
    if now >= job.finishes_at:
        return "completed" if job.outcome == "completed" else "failed"
    if now < job.created_at + QUEUED_SHARE * job.delay:
        return "pending"
    return "running"


def _translation(st: ServerState, job_id: str, job: Job, now: float) -> dict[str, Any]:
    info = st.translations.info(job_id)
    status = translation_status(job, now)
    body: dict[str, Any] = {
        "id": job_id,
        "status": status,
        "title": info.title if info else job.title,
        "output_language": info.output_language if info else job.target_language,
        "input_language": info.input_language if info else job.source_language,
        "duration": job.video_length,
        "created_at": int(job.created_at),
        "callback_id": info.callback_id if info else None,
        "translate_audio_only": info.translate_audio_only if info else None,
    }
    if status == "completed":
        # Presigned URLs are made afresh on each call, as HeyGen's are.
        body["video_url"] = _media_url(job_id, "video.mp4", now)
        body["audio_url"] = _media_url(job_id, "audio.mp3", now)
        body["srt_caption_url"] = _media_url(job_id, "caption.srt", now)
        body["vtt_caption_url"] = _media_url(job_id, "caption.vtt", now)
    elif status == "failed":
        body["failure_message"] = FAILURE_MESSAGE
    return body


def _media_url(job_id: str, name: str, now: float) -> str:
    return f"{MEDIA_BASE}/{job_id}/{name}?Expires={int(now) + URL_LIFETIME}"


# -- webhook endpoints ------------------------------------------------------------------


@v3_bp.post("/webhooks/endpoints")
def create_endpoint() -> Response:
    """Register a receiver for events; the answer holds its signing secret."""
    st = state()
    payload = json_object_or_none()
    if payload is None:
        _invalid('body must be a JSON object like {"url": "https://..."}', None)
    fields = parse(V3EndpointRequest, payload, st.config)
    now = st.clock.now()
    endpoint = Endpoint(
        endpoint_id="ep_" + secrets.token_hex(16),
        url=fields.url,
        events=None if fields.events is None else tuple(fields.events),
        secret=new_endpoint_secret(),
        created_at=now,
    )
    if not st.translations.add_endpoint(endpoint):
        raise ApiError(409, "too many webhook endpoints are registered", param="url")
    return jsonify(
        {
            "data": {
                "endpoint_id": endpoint.endpoint_id,
                "url": endpoint.url,
                "status": "enabled",
                "events": None if endpoint.events is None else list(endpoint.events),
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                "secret": endpoint.secret,
            }
        }
    )
