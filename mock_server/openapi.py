"""The OpenAPI 3.1 document of the mock server.

``GET /openapi.json`` serves it, and ``docs/openapi.json`` is generated from
it with::

    python -m mock_server.openapi docs/openapi.json

A test fails when the two differ. Request bodies and query parameters are the
JSON Schema of ``mock_server.contract``'s models, the very ones the routes
validate with; the answers, which the server builds rather than checks, are
described here.

Limits in the document (``max_wait`` 30, ``max_batch`` 1000, ``max_delay``
86400) are the defaults; a server started with other flags enforces its own
values, and ``GET /capabilities`` reports them. Injected faults deliberately
break this contract (HTML bodies, unknown ``result`` values, truncated
bodies); they are off unless ``--fault-rate`` is set or, on a server started
with ``--admin``, ``PUT /admin/faults`` switches them on.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from mock_server.app import max_content_length
from mock_server.config import ServerConfig
from mock_server.contract import (
    ID_PATTERN,
    MAX_KEY_LENGTH,
    MAX_STATUS_IDS,
    BatchRequest,
    FaultSettings,
    JobRequest,
    PublishedSchema,
    StatusQuery,
    V3CreateRequest,
    V3EndpointRequest,
    V3StatusesQuery,
)
from mock_server.stats import JOBS_KEPT, LOG_KEPT
from mock_server.translations import MAX_ENDPOINTS

_DEFAULTS = ServerConfig()

JSON = "application/json"
REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": REF.format(model=name)}


#: Components made from the contract's models: name, model, and whether it is
#: read (a request, "validation") or written (an answer, "serialization").
_MODELS: list[tuple[str, type[BaseModel], JsonSchemaMode]] = [
    ("JobRequest", JobRequest, "validation"),
    ("BatchRequest", BatchRequest, "validation"),
    ("FaultSettingsRequest", FaultSettings, "validation"),
    ("FaultSettings", FaultSettings, "serialization"),
    ("V3CreateRequest", V3CreateRequest, "validation"),
    ("V3EndpointRequest", V3EndpointRequest, "validation"),
]


def _model_schemas() -> dict[str, Any]:
    """The components made from the contract's models (and the models they use)."""
    schemas: dict[str, Any] = {}
    for name, model, mode in _MODELS:
        schema = model.model_json_schema(
            mode=mode, ref_template=REF, schema_generator=PublishedSchema
        )
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    return schemas


def _query(model: type[BaseModel]) -> list[dict[str, Any]]:
    """A query model's fields as OpenAPI query parameters."""
    schema = model.model_json_schema(schema_generator=PublishedSchema)
    parameters = []
    for name, field_schema in schema["properties"].items():
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in schema.get("required", ()),
        }
        if "description" in field_schema:
            parameter["description"] = field_schema.pop("description")
        parameters.append({**parameter, "schema": field_schema})
    return parameters


def _json_response(description: str, schema: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref(schema)}}, **extra}


def _error(description: str, *headers: str) -> dict[str, Any]:
    response = _json_response(description, "Error")
    if headers:
        response["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in headers}
    return response


_NUMBER = {"type": "number"}
_TIME = {"type": "number", "description": "Unix seconds on the server's clock."}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": False,
                "properties": {
                    "code": {
                        "type": "string",
                        "description": "Machine-readable: bad_request, not_found, "
                        "method_not_allowed, payload_too_large, rate_limited, "
                        "internal_error, unavailable.",
                    },
                    "message": {"type": "string", "minLength": 1},
                },
            }
        },
    },
    "Result": {"type": "string", "enum": ["pending", "completed", "error"]},
    "Status": {
        "type": "object",
        "description": "A status answer. In plain mode (hints off) and without job_id "
        'it is exactly {"result": ...}. progress and remaining_seconds appear only '
        "on pending answers with hints on.",
        "required": ["result"],
        "additionalProperties": False,
        "properties": {
            "job_id": {"type": "string", "description": "Present when job_id was asked for."},
            "result": _ref("Result"),
            "progress": {"type": "number", "minimum": 0, "maximum": 1},
            "remaining_seconds": {
                "type": "number",
                "minimum": 0,
                "description": "Noisy estimate of the seconds left.",
            },
        },
    },
    "BatchStatus": {
        "type": "object",
        "required": ["job_id", "result"],
        "additionalProperties": False,
        "properties": {
            "job_id": {"type": "string"},
            "result": _ref("Result"),
            "progress": {"type": "number", "minimum": 0, "maximum": 1},
            "remaining_seconds": {"type": "number", "minimum": 0},
            "retry_after": {
                "type": "integer",
                "minimum": 1,
                "description": "Per-job Retry-After hint (pending, hints on).",
            },
        },
    },
    "BatchAnswer": {
        "type": "object",
        "required": ["statuses", "unknown"],
        "additionalProperties": False,
        "properties": {
            "statuses": {"type": "array", "items": _ref("BatchStatus")},
            "unknown": {"type": "array", "items": {"type": "string"}},
        },
    },
    "JobRecord": {
        "type": "object",
        "required": [
            "job_id",
            "result",
            "created_at",
            "finishes_at",
            "delay",
            "server_time",
            "truncated_fields",
            "status_requests",
            "status_request_times",
            "status_request_log",
        ],
        "additionalProperties": False,
        "properties": {
            "job_id": {"type": "string", "maxLength": 128, "pattern": "^[A-Za-z0-9_.-]+$"},
            "result": _ref("Result"),
            "created_at": _TIME,
            "finishes_at": _TIME,
            "delay": {"type": "number", "minimum": 0},
            "server_time": _TIME,
            "outcome": {
                "type": "string",
                "enum": ["completed", "error"],
                "description": "Present once the job has finished.",
            },
            "video_length": _NUMBER,
            "title": {"type": "string"},
            "source_language": {"type": "string"},
            "target_language": {"type": "string"},
            "truncated_fields": {
                "type": "array",
                "items": {
                    "type": "string",
                    "enum": ["source_language", "target_language", "title"],
                },
            },
            "status_requests": {
                "type": "integer",
                "minimum": 0,
                "description": "Status requests this process answered for the job.",
            },
            "status_request_times": {
                "type": "array",
                "items": _NUMBER,
                "maxItems": LOG_KEPT,
                "description": f"Arrival times of the last {LOG_KEPT} status requests.",
            },
            "status_request_log": {
                "type": "array",
                "maxItems": LOG_KEPT,
                "items": {
                    "type": "object",
                    "required": ["at", "status"],
                    "additionalProperties": False,
                    "properties": {
                        "at": _NUMBER,
                        "status": {
                            "type": "string",
                            "description": "HTTP status sent, or the fault kind "
                            "(garbage, drop, unknown-result).",
                        },
                    },
                },
            },
        },
    },
    "Capabilities": {
        "type": "object",
        "required": ["hints", "long_poll", "batch"],
        "additionalProperties": False,
        "properties": {
            "hints": {"type": "boolean"},
            "long_poll": {
                "type": ["object", "null"],
                "required": ["max_wait"],
                "additionalProperties": False,
                "properties": {"max_wait": {"type": "number", "minimum": 0}},
            },
            "batch": {
                "type": ["object", "null"],
                "required": ["max_ids"],
                "additionalProperties": False,
                "properties": {"max_ids": {"type": "integer", "minimum": 1}},
            },
        },
    },
    "Health": {
        "type": "object",
        "required": ["status"],
        "additionalProperties": False,
        "properties": {"status": {"type": "string", "enum": ["ok"]}},
    },
    "Stats": {
        "type": "object",
        "required": [
            "pid",
            "started_at",
            "server_time",
            "requests",
            "status_requests_total",
            "jobs_polled",
            "faults_injected",
            "long_polls_active",
            "long_polls_peak",
            "jobs_created",
            "webhooks_sent",
            "webhooks_failed",
            "webhooks_dropped",
            "default_job_id",
        ],
        "additionalProperties": False,
        "properties": {
            "pid": {"type": "integer"},
            "started_at": _TIME,
            "server_time": _TIME,
            "requests": {
                "type": "object",
                "description": 'By "METHOD /route" (e.g. "GET /jobs/<job_id>", '
                '"GET <unmatched>"), then by status code: counts.',
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": {"type": "integer", "minimum": 1},
                },
            },
            "status_requests_total": {
                "type": "integer",
                "minimum": 0,
                "description": "GET /status, POST /status/batch and the two v3 status routes' "
                "requests (a batch is one).",
            },
            "jobs_polled": {
                "type": "integer",
                "minimum": 0,
                "maximum": JOBS_KEPT,
                "description": f"Known jobs with status requests on record: the {JOBS_KEPT:,} "
                "most recently polled at most. GET /jobs/ID gives each one's count.",
            },
            "faults_injected": {
                "type": "object",
                "description": "By kind: 500, 503, garbage, unknown-result, drop, 429.",
                "additionalProperties": {"type": "integer", "minimum": 1},
            },
            "long_polls_active": {"type": "integer", "minimum": 0},
            "long_polls_peak": {"type": "integer", "minimum": 0},
            "jobs_created": {
                "type": "integer",
                "minimum": 0,
                "description": "By POST /jobs and POST /v3/video-translations (one per language).",
            },
            "webhooks_sent": {
                "type": "integer",
                "minimum": 0,
                "description": "Webhook POSTs made, whatever the answer.",
            },
            "webhooks_failed": {
                "type": "integer",
                "minimum": 0,
                "description": "Sent webhooks that got no 2xx (or no answer).",
            },
            "webhooks_dropped": {
                "type": "integer",
                "minimum": 0,
                "description": "Webhooks not sent: --webhook-drop-rate, or a full queue.",
            },
            "default_job_id": {"type": "string"},
        },
    },
}

_NULLABLE_STRING = {"type": ["string", "null"]}


def _data(schema: dict[str, Any]) -> dict[str, Any]:
    """HeyGen's success envelope: ``{"data": schema}``."""
    return {
        "type": "object",
        "required": ["data"],
        "additionalProperties": False,
        "properties": {"data": schema},
    }


V3_SCHEMAS: dict[str, Any] = {
    "V3Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "description": "HeyGen's error envelope, on every error under /v3/.",
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "param", "doc_url"],
                "additionalProperties": False,
                "properties": {
                    "code": {
                        "type": "string",
                        "description": "invalid_parameter, unauthorized, not_found, "
                        "method_not_allowed, request_in_progress, conflict, "
                        "payload_too_large, rate_limit_exceeded, internal_error.",
                    },
                    "message": {"type": "string", "minLength": 1},
                    "param": {
                        "type": ["string", "null"],
                        "description": "The field, header or parameter at fault, if one is.",
                    },
                    "doc_url": {"type": ["string", "null"]},
                },
            }
        },
    },
    "V3CreateAnswer": _data(
        {
            "type": "object",
            "required": ["video_translation_ids"],
            "additionalProperties": False,
            "properties": {
                "video_translation_ids": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "description": "One per output language, in order.",
                }
            },
        }
    ),
    "V3Translation": _data(
        {
            "type": "object",
            "required": [
                "id",
                "status",
                "title",
                "output_language",
                "input_language",
                "duration",
                "created_at",
                "callback_id",
                "translate_audio_only",
            ],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string"},
                "status": {
                    "type": "string",
                    "enum": ["pending", "running", "completed", "failed"],
                },
                "title": _NULLABLE_STRING,
                "output_language": _NULLABLE_STRING,
                "input_language": _NULLABLE_STRING,
                "duration": {
                    "type": ["number", "null"],
                    "description": "Seconds of video.",
                },
                "created_at": {"type": "integer", "description": "Unix seconds."},
                "callback_id": _NULLABLE_STRING,
                "translate_audio_only": {"type": ["boolean", "null"]},
                "video_url": {"type": "string", "description": "When completed."},
                "audio_url": {"type": "string", "description": "When completed."},
                "srt_caption_url": {"type": "string", "description": "When completed."},
                "vtt_caption_url": {"type": "string", "description": "When completed."},
                "failure_message": {"type": "string", "description": "When failed."},
            },
        }
    ),
    "V3StatusEntry": {
        "type": "object",
        "required": ["video_id", "status", "error"],
        "additionalProperties": False,
        "properties": {
            "video_id": {"type": "string", "description": "The translation's id."},
            "status": {
                "type": "string",
                "enum": ["queued", "processing", "completed", "failed", "not_found"],
            },
            "error": {
                "type": ["object", "null"],
                "required": ["code", "message"],
                "additionalProperties": False,
                "description": "When failed.",
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "V3Statuses": {
        "type": "object",
        "required": ["data", "has_more", "next_token"],
        "additionalProperties": False,
        "properties": {
            "data": {
                "type": "array",
                "items": _ref("V3StatusEntry"),
                "maxItems": MAX_STATUS_IDS,
                "description": "One entry per distinct id, in first-seen order.",
            },
            "has_more": {"type": "boolean", "enum": [False]},
            "next_token": {"type": ["string", "null"]},
        },
    },
    "V3Endpoint": _data(
        {
            "type": "object",
            "required": ["endpoint_id", "url", "status", "events", "created_at", "secret"],
            "additionalProperties": False,
            "properties": {
                "endpoint_id": {"type": "string"},
                "url": {"type": "string"},
                "status": {"type": "string", "enum": ["enabled"]},
                "events": {"type": ["array", "null"], "items": {"type": "string"}},
                "created_at": {"type": "string", "description": "ISO 8601, UTC."},
                "secret": {
                    "type": "string",
                    "pattern": "^whsec_",
                    "description": "Signs this endpoint's webhooks; shown only here.",
                },
            },
        }
    ),
}
SCHEMAS.update(V3_SCHEMAS)
SCHEMAS.update(_model_schemas())

HEADERS: dict[str, Any] = {
    "Retry-After": {
        "description": "RFC 9110 delay-seconds. Advice on a pending 200; a minimum on "
        "429 and 503.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "Location": {"description": "The new job's URL path.", "schema": {"type": "string"}},
    "Allow": {"description": "Methods the route accepts.", "schema": {"type": "string"}},
}

_TOO_LARGE = _error(
    f"Body larger than {max_content_length(_DEFAULTS):,} bytes: 64 KiB plus 144 per id of "
    "max_batch, so a full batch of the longest ids always fits. Chunked bodies alike."
)
_STATUS_ERRORS: dict[str, Any] = {
    "429": _error("Rate limited (--rate-limit).", "Retry-After"),
    "500": _error("Injected fault (--fault-kinds 500)."),
    "503": _error("Injected fault (--fault-kinds 503).", "Retry-After"),
}
_ADMIN_OFF = _error("Admin routes are off (start the server with --admin).")
_JOB_ID_PATH = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _v3_error(description: str, *headers: str) -> dict[str, Any]:
    response = _json_response(description, "V3Error")
    if headers:
        response["headers"] = {name: {"$ref": f"#/components/headers/{name}"} for name in headers}
    return response


_API_KEY = {
    "name": "X-Api-Key",
    "in": "header",
    "required": False,
    "description": "Required, or Authorization: Bearer KEY, on a server started with --api-key.",
    "schema": {"type": "string"},
}
_V3_UNAUTHORIZED = _v3_error("Missing or wrong API key (--api-key).")
_V3_RATE_LIMITED = _v3_error("Rate limited (--rate-limit).", "Retry-After")

V3_PATHS: dict[str, Any] = {
    "/v3/video-translations": {
        "post": {
            "operationId": "createVideoTranslations",
            "summary": "HeyGen v3: create one translation (a mock job) per output language.",
            "description": "Translation time: about twice duration, ±30 %, over --time-scale. "
            "With Idempotency-Key, a repeat within 24 h replays the first answer (no new "
            "jobs), and a repeat while the first runs is 409 request_in_progress; only a "
            "successful answer is kept.",
            "parameters": [
                _API_KEY,
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {JSON: {"schema": _ref("V3CreateRequest")}},
            },
            "responses": {
                "200": _json_response("The new translations' ids.", "V3CreateAnswer"),
                "400": _v3_error("Malformed body, unknown field, wrong type or out of range."),
                "401": _V3_UNAUTHORIZED,
                "409": _v3_error("The first request with this Idempotency-Key is in progress."),
                "413": _v3_error(_TOO_LARGE["description"]),
                "429": _v3_error(
                    "Rate limited (--rate-limit), or --concurrency-limit translations "
                    "are running.",
                    "Retry-After",
                ),
            },
        }
    },
    "/v3/video-translations/{video_translation_id}": {
        "get": {
            "operationId": "getVideoTranslation",
            "summary": "HeyGen v3: one translation's status; any mock job id works.",
            "parameters": [
                {
                    "name": "video_translation_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": ID_PATTERN},
                },
                _API_KEY,
            ],
            "responses": {
                "200": _json_response("The translation.", "V3Translation"),
                "401": _V3_UNAUTHORIZED,
                "404": _v3_error("Unknown id."),
                "429": _V3_RATE_LIMITED,
            },
        }
    },
    "/v3/video-translations/statuses": {
        "get": {
            "operationId": "getVideoTranslationStatuses",
            "summary": f"HeyGen v3: up to {MAX_STATUS_IDS} translations' statuses at once.",
            "parameters": [*_query(V3StatusesQuery), _API_KEY],
            "responses": {
                "200": _json_response("Statuses in the bulk vocabulary.", "V3Statuses"),
                "400": _v3_error("Missing, repeated or malformed ids, too many, or batch_ids."),
                "401": _V3_UNAUTHORIZED,
                "429": _V3_RATE_LIMITED,
            },
        }
    },
    "/v3/webhooks/endpoints": {
        "post": {
            "operationId": "createWebhookEndpoint",
            "summary": "HeyGen v3: register a webhook receiver; the answer holds its secret.",
            "parameters": [_API_KEY],
            "requestBody": {
                "required": True,
                "content": {JSON: {"schema": _ref("V3EndpointRequest")}},
            },
            "responses": {
                "200": _json_response("The endpoint, with its signing secret.", "V3Endpoint"),
                "400": _v3_error("Malformed body, unknown field, wrong type or bad url."),
                "401": _V3_UNAUTHORIZED,
                "409": _v3_error(f"{MAX_ENDPOINTS} endpoints are already registered."),
                "413": _v3_error(_TOO_LARGE["description"]),
            },
        }
    },
}

PATHS: dict[str, Any] = {
    "/status": {
        "get": {
            "operationId": "getStatus",
            "summary": "Status of one job (the seed contract).",
            "description": "Without job_id: the server's default job, started at server "
            "start. Status requests may be rate limited, delayed and faulted.",
            "parameters": _query(StatusQuery),
            "responses": {
                "200": _json_response(
                    "The job's status.",
                    "Status",
                    headers={
                        "Retry-After": {
                            "$ref": "#/components/headers/Retry-After",
                        }
                    },
                ),
                "400": _error("Bad wait."),
                "404": _error("Unknown job id."),
                **_STATUS_ERRORS,
            },
        }
    },
    "/status/batch": {
        "post": {
            "operationId": "postStatusBatch",
            "summary": "Statuses of many jobs; with wait, held until any is not pending.",
            "description": "404 when batch is off (--no-batch). With wait, answered at once "
            "if any id is unknown. Retry-After is set when every known job is pending: the "
            "smallest per-job hint.",
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("BatchRequest")}}},
            "responses": {
                "200": _json_response(
                    "Statuses of the known jobs, in request order, and the unknown ids.",
                    "BatchAnswer",
                    headers={"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
                ),
                "400": _error("Malformed body, wrong types, negative wait or too many ids."),
                "404": _error("Batch is disabled on this server."),
                "413": _TOO_LARGE,
                **_STATUS_ERRORS,
            },
        }
    },
    "/jobs": {
        "post": {
            "operationId": "createJob",
            "summary": "Create a job; its delay and outcome are decided now.",
            "requestBody": {"required": False, "content": {JSON: {"schema": _ref("JobRequest")}}},
            "responses": {
                "201": _json_response(
                    "The new job's record.",
                    "JobRecord",
                    headers={"Location": {"$ref": "#/components/headers/Location"}},
                ),
                "400": _error("Malformed JSON, unknown field, wrong type or out of range."),
                "413": _TOO_LARGE,
                "429": _error("Rate limited (--rate-limit).", "Retry-After"),
            },
        }
    },
    "/jobs/{job_id}": {
        "get": {
            "operationId": "getJob",
            "summary": "A job's full record, including how it has been polled.",
            "parameters": [_JOB_ID_PATH],
            "responses": {
                "200": _json_response("The record.", "JobRecord"),
                "404": _error("Unknown job id."),
                "429": _error("Rate limited (--rate-limit).", "Retry-After"),
            },
        }
    },
    "/capabilities": {
        "get": {
            "operationId": "getCapabilities",
            "summary": "Which extras this server offers.",
            "responses": {
                "200": _json_response("Offered extras; null means off.", "Capabilities"),
                "404": _error("Discovery is off: treat the server as plain."),
            },
        }
    },
    "/healthz": {
        "get": {
            "operationId": "getHealthz",
            "summary": "Liveness.",
            "responses": {"200": _json_response("Alive.", "Health")},
        }
    },
    "/stats": {
        "get": {
            "operationId": "getStats",
            "summary": "This process's request counters.",
            "responses": {"200": _json_response("Counters.", "Stats")},
        }
    },
    "/admin/faults": {
        "get": {
            "operationId": "getFaults",
            "summary": "Admin: the fault and latency settings in force now.",
            "responses": {
                "200": _json_response("The settings.", "FaultSettings"),
                "404": _ADMIN_OFF,
            },
        },
        "put": {
            "operationId": "putFaults",
            "summary": "Admin: replace the fault and latency settings, from the next "
            "status request on.",
            "requestBody": {
                "required": True,
                "content": {JSON: {"schema": _ref("FaultSettingsRequest")}},
            },
            "responses": {
                "200": _json_response("The settings now in force.", "FaultSettings"),
                "400": _error("Malformed JSON, unknown field, wrong type or out of range."),
                "404": _ADMIN_OFF,
                "413": _TOO_LARGE,
            },
        },
        "delete": {
            "operationId": "deleteFaults",
            "summary": "Admin: back to the start-up settings (the flags').",
            "responses": {
                "200": _json_response("The settings now in force.", "FaultSettings"),
                "404": _ADMIN_OFF,
            },
        },
    },
    "/admin/stats": {
        "delete": {
            "operationId": "deleteStats",
            "summary": "Admin: zero the counters of /stats and /jobs/{job_id}.",
            "responses": {
                "200": _json_response("The fresh counters, as GET /stats.", "Stats"),
                "404": _ADMIN_OFF,
            },
        }
    },
    "/openapi.json": {
        "get": {
            "operationId": "getOpenapi",
            "summary": "This document.",
            "responses": {
                "200": {
                    "description": "OpenAPI 3.1 document.",
                    "content": {JSON: {"schema": {"type": "object"}}},
                }
            },
        }
    },
}


PATHS.update(V3_PATHS)


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document served at ``/openapi.json`` (a fresh copy each call)."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "heygen mock server",
            "version": "1",
            "description": "Simulated video-translation status backend. See docs/server.md "
            "and docs/protocol.md. Every error is JSON "
            '{"error": {"code", "message"}}; unknown routes are 404 and wrong methods '
            "405 (with Allow), in that shape. Under /v3/ (HeyGen's dialect) errors are "
            'HeyGen\'s {"error": {"code", "message", "param", "doc_url"}}. The /admin '
            "routes are for test harnesses and exist only on a server started with "
            "--admin (404 otherwise).",
        },
        "paths": PATHS,
        "components": {"schemas": SCHEMAS, "headers": HEADERS},
    }
    # Round-trip so callers can't mutate the module's tables.
    copy: dict[str, Any] = json.loads(json.dumps(document))
    return copy


def render() -> str:
    """The document as written to ``docs/openapi.json``."""
    return json.dumps(openapi_document(), indent=2) + "\n"


if __name__ == "__main__":
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w", encoding="utf-8") as out:
            out.write(render())
    else:
        sys.stdout.write(render())
