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
import re
import secrets
import time
from typing import Any, NoReturn

from flask import Blueprint, Response, g, jsonify, request

from mock_server.jobs import MAX_VIDEO_LENGTH, Job
from mock_server.routes import ServerState, as_float, check_rate_limit, json_object_or_none, state
from mock_server.translations import TranslationInfo
from mock_server.webhooks import Endpoint, Event, new_endpoint_secret

v3_bp = Blueprint("heygen_v3", __name__, url_prefix="/v3")

PREFIX = "/v3/"
#: Most ids in one bulk status request.
MAX_STATUS_IDS = 100
#: Most output languages in one create request.
MAX_OUTPUT_LANGUAGES = 20
#: Video length assumed when the create request gives no ``duration``.
DEFAULT_DURATION = 60.0
#: Share of a translation's time spent ``pending`` (queued) before ``running``.
QUEUED_SHARE = 0.1
#: Presigned URLs are valid this long from the status call that made them.
URL_LIFETIME = 7 * 86400
#: Where the mock's (unfetchable: ``.invalid``) result files "are".
MEDIA_BASE = "https://files.heygen-mock.invalid/video-translations"
FAILURE_MESSAGE = "Translation failed: the mock server drew this job to fail (--error-rate)."
#: Longest ``Idempotency-Key``.
MAX_KEY_LENGTH = 255
#: An http(s) URL with a host: what ``callback_url`` and endpoint URLs must match.
#: (Not ``\s``: Python's and JSON Schema's disagree on what it covers.)
URL_PATTERN = r"^https?://[^/?#\x00-\x20\x7f]+"
#: Ids in the bulk query: 1 to 100 non-empty, comma-separated.
IDS_PATTERN = rf"^[^,]+(,[^,]+){{0,{MAX_STATUS_IDS - 1}}}$"
#: The single-status path's id: what a mock or HeyGen id looks like.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
BULK_STATUS = {
    "pending": "queued",
    "running": "processing",
    "completed": "completed",
    "failed": "failed",
}
#: Webhook event types an endpoint may subscribe to (HeyGen's list).
EVENT_TYPES: tuple[str, ...] = (
    "avatar_video.success",
    "avatar_video.fail",
    "avatar_video_gif.success",
    "avatar_video_gif.fail",
    "video_translate.success",
    "video_translate.fail",
    "personalized_video",
    "instant_avatar.success",
    "instant_avatar.fail",
    "photo_avatar_generation.success",
    "photo_avatar_generation.fail",
    "photo_avatar_train.success",
    "photo_avatar_train.fail",
    "photo_avatar_add_motion.success",
    "photo_avatar_add_motion.fail",
    "proofread_creation.success",
    "proofread_creation.fail",
    "live_avatar.success",
    "live_avatar.fail",
    "avatar_video_caption.success",
    "avatar_video_caption.fail",
    "video_agent.success",
    "video_agent.fail",
)
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

#: One output language.
LANGUAGE_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 64}
#: Optional create fields checked by schema alone: the server validates with
#: these very schemas and the OpenAPI document publishes them, so the two
#: cannot disagree. ``video`` and ``output_languages`` are checked by hand.
CREATE_FIELDS: dict[str, dict[str, Any]] = {
    "title": {"type": "string", "nullable": True, "maxLength": 500},
    "mode": {"type": "string", "enum": ["speed", "precision"]},
    "callback_url": {
        "type": "string",
        "nullable": True,
        "maxLength": 1000,
        "pattern": URL_PATTERN,
        "description": "Gets this translation's webhook, signed with --webhook-secret.",
    },
    "callback_id": {"type": "string", "nullable": True, "maxLength": 500},
    "input_language": {"type": "string", "nullable": True, "maxLength": 64},
    "translate_audio_only": {"type": "boolean"},
    "enable_caption": {"type": "boolean"},
    "disable_music_track": {"type": "boolean"},
    "enable_dynamic_duration": {"type": "boolean"},
    "enable_speech_enhancement": {"type": "boolean"},
    "enable_watermark": {"type": "boolean"},
    "keep_the_same_format": {"type": "boolean", "nullable": True},
    "speaker_num": {"type": "integer", "nullable": True, "minimum": 1},
    "brand_voice_id": {"type": "string", "nullable": True, "maxLength": 200},
    "folder_id": {"type": "string", "nullable": True, "maxLength": 200},
    "start_time": {"type": "number", "nullable": True, "minimum": 0},
    "end_time": {"type": "number", "nullable": True, "minimum": 0},
    "duration": {
        "type": "number",
        "nullable": True,
        "minimum": 0,
        "exclusiveMinimum": True,
        "maximum": MAX_VIDEO_LENGTH,
        "description": "Mock only: seconds of video (HeyGen reads it from the video). "
        "Translation time is about twice it, ±30 %, over --time-scale; "
        f"default {DEFAULT_DURATION:g}.",
    },
}
VIDEO_SCHEMAS: dict[str, dict[str, Any]] = {
    "url": {"type": "string", "minLength": 1, "maxLength": 1000},
    "asset_id": {"type": "string", "minLength": 1, "maxLength": 200},
}
ENDPOINT_FIELDS: dict[str, dict[str, Any]] = {
    "url": {"type": "string", "maxLength": 1000, "pattern": URL_PATTERN},
    "events": {
        "type": "array",
        "nullable": True,
        "items": {"type": "string", "enum": list(EVENT_TYPES)},
        "description": "Event types to receive; null or absent: all.",
    },
    "entity_id": {"type": "string", "nullable": True, "maxLength": 200},
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
    fields = _parse_create(payload)
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


def _create(st: ServerState, fields: dict[str, Any]) -> dict[str, Any]:
    languages: list[str] = fields["output_languages"]
    limit = st.config.concurrency_limit
    if limit is not None and len(languages) > limit:
        _invalid(
            f"{len(languages)} output languages exceed the concurrency limit of {limit}",
            "output_languages",
        )
    duration = fields.get("duration") or DEFAULT_DURATION
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
            for name, text_field in (("source_language", "input_language"), ("title", "title")):
                if fields.get(text_field) is not None:
                    texts[name] = fields[text_field]
            job_id, job = st.store.create(
                delay=st.store.translation_delay(duration), video_length=duration, texts=texts
            )
            info = TranslationInfo(
                title=fields.get("title"),
                output_language=language,
                input_language=fields.get("input_language"),
                callback_id=fields.get("callback_id"),
                translate_audio_only=bool(fields.get("translate_audio_only")),
            )
            st.translations.add(job_id, job.finishes_at, info, now)
            st.webhooks.schedule(job.finishes_at, _event(job_id, job, info, fields))
            ids.append(job_id)
    st.stats.record_job_created(len(ids))
    g.job_id = ids[0] if len(ids) == 1 else f"{ids[0]} (+{len(ids) - 1})"
    return {"data": {"video_translation_ids": ids}}


def _event(job_id: str, job: Job, info: TranslationInfo, fields: dict[str, Any]) -> Event:
    succeeded = job.outcome == "completed"
    return Event(
        video_translate_id=job_id,
        succeeded=succeeded,
        detail=_media_url(job_id, "video.mp4", job.finishes_at) if succeeded else FAILURE_MESSAGE,
        callback_id=info.callback_id,
        output_language=info.output_language,
        callback_url=fields.get("callback_url"),
    )


def _parse_create(payload: dict[str, Any]) -> dict[str, Any]:
    allowed = {"video", "output_languages", *CREATE_FIELDS}
    for name in payload:
        if name not in allowed:
            _invalid(f"unknown field {name!r}", name)
    if "video" not in payload:
        _invalid("video is required", "video")
    _check_video(payload["video"])
    languages = payload.get("output_languages")
    if not isinstance(languages, list) or not 1 <= len(languages) <= MAX_OUTPUT_LANGUAGES:
        _invalid(
            f"output_languages must be a list of 1 to {MAX_OUTPUT_LANGUAGES} languages",
            "output_languages",
        )
    for language in languages:
        check_value("output_languages", language, LANGUAGE_SCHEMA)
    for name, schema in CREATE_FIELDS.items():
        if name in payload:
            check_value(name, payload[name], schema)
    return payload


def _check_video(video: object) -> None:
    kind = video.get("type") if isinstance(video, dict) else None
    if not isinstance(video, dict) or not isinstance(kind, str) or kind not in VIDEO_SCHEMAS:
        _invalid('video must be {"type": "url", "url": ...} or {"type": "asset_id", ...}', "video")
    if set(video) != {"type", kind}:
        _invalid(f'a video of type "{kind}" has exactly the fields type and {kind}', "video")
    check_value("video", video[kind], VIDEO_SCHEMAS[kind])


def check_value(name: str, value: object, schema: dict[str, Any]) -> None:
    """Raise a 400 unless ``value`` matches ``schema`` (the OpenAPI subset used here)."""
    if value is None:
        if not schema.get("nullable"):
            _invalid(f"{name} must not be null", name)
        return
    kind = schema["type"]
    if kind == "string":
        if not isinstance(value, str):
            _invalid(f"{name} must be a string", name)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, e.g. "\ud800" in the JSON
            _invalid(f"{name} must be valid Unicode text (no lone surrogates)", name)
        if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", math.inf):
            _invalid(f"{name} has the wrong length", name)
        if "pattern" in schema and not re.search(schema["pattern"], value):
            _invalid(f"{name} must match {schema['pattern']}", name)
    elif kind == "boolean":
        if not isinstance(value, bool):
            _invalid(f"{name} must be true or false", name)
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            _invalid(f"{name} must be an integer", name)
    elif kind == "number":
        if as_float(value) is None:
            _invalid(f"{name} must be a number", name)
    elif kind == "array":
        if not isinstance(value, list):
            _invalid(f"{name} must be a list", name)
        for item in value:
            check_value(name, item, schema["items"])
    if "enum" in schema and value not in schema["enum"]:
        _invalid(f"{name} must be one of {', '.join(map(str, schema['enum']))}", name)
    if kind in ("integer", "number"):
        number = as_float(value)
        assert number is not None  # checked above
        low = schema.get("minimum", -math.inf)
        if number < low or (schema.get("exclusiveMinimum") and number <= low):
            _invalid(f"{name} is too small", name)
        if number > schema.get("maximum", math.inf):
            _invalid(f"{name} is too large", name)


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
    if not re.search(IDS_PATTERN, raw[0]):
        _invalid(
            f"video_translation_ids must be 1 to {MAX_STATUS_IDS} non-empty ids, comma-separated",
            "video_translation_ids",
        )
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
    for name in payload:
        if name not in ENDPOINT_FIELDS:
            _invalid(f"unknown field {name!r}", name)
    if "url" not in payload:
        _invalid("url is required", "url")
    for name, schema in ENDPOINT_FIELDS.items():
        if name in payload:
            check_value(name, payload[name], schema)
    events = payload.get("events")
    now = st.clock.now()
    endpoint = Endpoint(
        endpoint_id="ep_" + secrets.token_hex(16),
        url=payload["url"],
        events=None if events is None else tuple(events),
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
