"""The request contract: every body and query string a route accepts, declared once.

Each is a pydantic model here. The routes validate with ``parse`` and
``mock_server.openapi`` publishes the models' JSON Schema, so the server and
its document cannot disagree. Three small additions say what pydantic cannot:

- ``Says``: a field's own 400 messages, which stay as they were worded
  before pydantic checked them; other problems get the generic ones below.
- ``Limit``: a bound set by a flag (``--max-delay``, ``--max-batch``),
  checked against the running server's config and published at its default.
- ``Body.unknown``: how each dialect words unknown fields.

The body itself is parsed in ``mock_server.routes`` (blank bodies, NaN and
Infinity, non-objects), since no library rejects those in our words. A lone
surrogate in a string is pydantic's ``string_unicode`` error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
    ValidationInfo,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import CoreSchema, ErrorDetails, PydanticKnownError, core_schema

from mock_server.config import (
    FAULT_KINDS,
    WHOLE,
    FaultKinds,
    FaultLatency,
    FaultRetryAfter,
    Probability,
    ServerConfig,
)
from mock_server.jobs import MAX_TEXT_LENGTH, MAX_VIDEO_LENGTH

#: Most ids in one v3 bulk status request.
MAX_STATUS_IDS = 100
#: Most output languages in one v3 create request.
MAX_OUTPUT_LANGUAGES = 20
#: Video length assumed when a v3 create request gives no ``duration``.
DEFAULT_DURATION = 60.0
#: Longest ``Idempotency-Key``.
MAX_KEY_LENGTH = 255
#: An http(s) URL with a host: what ``callback_url`` and endpoint URLs must match.
#: (Not ``\s``: Python's and JSON Schema's disagree on what it covers.)
URL_PATTERN = r"^https?://[^/?#\x00-\x20\x7f]+"
#: Ids in the v3 bulk query: 1 to 100 non-empty, comma-separated.
IDS_PATTERN = rf"^[^,]+(,[^,]+){{0,{MAX_STATUS_IDS - 1}}}$"
#: The single-status path's id: what a mock or HeyGen id looks like.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
#: Webhook event types an endpoint may subscribe to (HeyGen's list).
EventType = Literal[
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
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

_DEFAULTS = ServerConfig()
#: The default of a field a request may leave out, meaning "the server decides"
#: (a draw, a flag, HeyGen's default): the routes read only the fields sent,
#: and the document publishes no default.
ABSENT: Any = None


# -- what a 400 says ------------------------------------------------------------------


class Invalid(Exception):
    """A request that breaks the contract; the app answers it with a 400.

    Attributes:
        message: What the client is told.
        param: The field or parameter at fault (HeyGen's ``param``), if one is.
    """

    def __init__(self, message: str, param: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True)
class Says:
    """A field's own 400 messages, by kind of problem; ``None`` leaves the generic one.

    Templates are ``str.format`` strings over ``name`` (the field), ``value``
    (what was sent), ``number`` (that as a float), ``count`` (its length),
    ``loc`` (pydantic's path to the problem), ``config`` (the server's
    ``ServerConfig``), ``schema`` (the field's published JSON Schema),
    ``pattern`` and ``choices`` (what the value had to match or be).

    Attributes:
        type: Wrong type, null, or not one of a union's shapes.
        range: Out of range, too long or short, no match, not a choice; else ``type``.
        required: Missing; else the generic "is required".
        shape: A nested object with missing or unknown fields.
        items: Whether ``type`` and ``range`` also cover the items of a list
            or the fields of a nested object.
    """

    type: str | None = None
    range: str | None = None
    required: str | None = None
    shape: str | None = None
    items: bool = True


_RANGE = frozenset(
    {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "finite_number",
        "too_short",
        "too_long",
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
        "literal_error",
    }
)
#: HeyGen's dialect words every problem these ways; ours too, where a field says no more.
_GENERIC = {
    "missing": "{name} is required",
    "null": "{name} must not be null",
    "string_type": "{name} must be a string",
    "string_unicode": "{name} must be valid Unicode text (no lone surrogates)",
    "string_too_short": "{name} has the wrong length",
    "string_too_long": "{name} has the wrong length",
    "string_pattern_mismatch": "{name} must match {pattern}",
    "bool_type": "{name} must be true or false",
    "int_type": "{name} must be an integer",
    "float_type": "{name} must be a number",
    "list_type": "{name} must be a list",
    "literal_error": "{name} must be one of {choices}",
    "greater_than": "{name} is too small",
    "greater_than_equal": "{name} is too small",
    "less_than_equal": "{name} is too large",
    "too_short": "{name} has too few items",
    "too_long": "{name} has too many items",
}


def _kind(error: ErrorDetails) -> str:
    if error["type"] == "missing" and len(error["loc"]) == 1:
        return "required"
    if error["type"] in ("missing", "extra_forbidden"):
        return "shape"
    if error["type"] == "string_unicode":
        return "unicode"
    return "range" if error["type"] in _RANGE else "type"


def _template(error: ErrorDetails, says: Says | None) -> str:
    """The message template for ``error``: the field's own if it has one, else the generic."""
    kind = _kind(error)
    nested = len(error["loc"]) > 1
    if says is not None and kind != "unicode" and (says.items or not nested or kind == "shape"):
        own = {
            "required": says.required,
            "shape": says.shape,
            "type": says.type,
            "range": says.range or says.type,
        }[kind]
        if own is not None:
            return own
    if error["input"] is None and kind != "required":
        return _GENERIC["null"]
    kind_of_error = error["type"]
    if kind_of_error == "finite_number":  # infinity: a huge JSON number such as 1e999
        kind_of_error = "greater_than" if error["input"] < 0 else "less_than_equal"
    return _GENERIC.get(kind_of_error, "{name} is invalid")


def _facts(error: ErrorDetails, model: type[BaseModel], config: ServerConfig) -> dict[str, Any]:
    """What a message template may mention."""
    name = str(error["loc"][0])
    value = error["input"]
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    schema = _field_schemas(model).get(name, {})
    expected = (error.get("ctx") or {}).get("expected", "")
    return {
        "name": name,
        "value": value,
        "number": number,
        "count": len(value) if isinstance(value, Sequence | Mapping) else 0,
        "loc": error["loc"],
        "config": config,
        "schema": schema,
        "pattern": (error.get("ctx") or {}).get("pattern", ""),
        # pydantic lists the choices as "'a', 'b' or 'c'"; ours read "a, b, c".
        "choices": ", ".join(re.findall(r"'([^']*)'", expected)),
    }


_FIELD_SCHEMAS: dict[type[BaseModel], dict[str, Any]] = {}


def _field_schemas(model: type[BaseModel]) -> dict[str, Any]:
    """The published JSON Schema of each of ``model``'s fields, by name."""
    if model not in _FIELD_SCHEMAS:
        schema = model.model_json_schema(schema_generator=PublishedSchema)
        _FIELD_SCHEMAS[model] = schema.get("properties", {})
    return _FIELD_SCHEMAS[model]


def _says(model: type[BaseModel], name: str) -> Says | None:
    info = model.model_fields.get(name)
    if info is None:
        return None
    return next((meta for meta in info.metadata if isinstance(meta, Says)), None)


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Mapping[str, Any], config: ServerConfig) -> M:
    """Validate ``data`` against ``model`` for a server run with ``config``.

    Raises:
        Invalid: The first problem, in the dialect's words.
    """
    try:
        return model.model_validate(data, context=config)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    unknown = [
        str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden" and len(e["loc"]) == 1
    ]
    if unknown and issubclass(model, Body):
        raise Invalid(*model.unknown(unknown)) from None
    # The first field at fault; of its problems, a nested object's shape comes first.
    name = errors[0]["loc"][0]
    own = [e for e in errors if e["loc"][0] == name]
    error = next((e for e in own if _kind(e) == "shape"), own[0])
    template = _template(error, _says(model, str(name)))
    raise Invalid(template.format(**_facts(error, model, config)), str(name)) from None


# -- the building blocks ----------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """At most the server's ``setting`` (a ``ServerConfig`` field): a value, or a list's length.

    The document publishes the default server's bound; a server started
    with another flag enforces its own, and ``GET /capabilities`` says which.
    """

    setting: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        def check(value: Any, info: ValidationInfo) -> Any:
            config = info.context if isinstance(info.context, ServerConfig) else _DEFAULTS
            limit = getattr(config, self.setting)
            if isinstance(value, list):
                if len(value) > limit:
                    details = {
                        "field_type": "List",
                        "max_length": limit,
                        "actual_length": len(value),
                    }
                    raise PydanticKnownError("too_long", details)
            elif value > limit:
                raise PydanticKnownError("less_than_equal", {"le": limit})
            return value

        return core_schema.with_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        published = handler(schema)
        key = "maxItems" if published.get("type") == "array" else "maximum"
        published[key] = getattr(_DEFAULTS, self.setting)
        return published


class PublishedSchema(GenerateJsonSchema):
    """JSON Schema as the OpenAPI document publishes it: no titles, no defaults.

    A field left out of a request means "the server decides" (its flags, a
    draw, the start-up settings), which a fixed ``default`` would misstate.
    """

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        published = super().model_schema(schema)
        published.pop("title", None)
        return published


class Body(BaseModel):
    """A JSON request body: strict types, no unknown fields."""

    # python-re: patterns mean what they mean to Python, and to jsonschema.
    model_config = ConfigDict(
        strict=True, extra="forbid", allow_inf_nan=False, regex_engine="python-re", frozen=True
    )

    @classmethod
    def unknown(cls, names: list[str]) -> tuple[str, str | None]:
        """The message, and param, for fields the model does not have."""
        return f"unknown fields: {', '.join(sorted(names))}", None


class Query(BaseModel):
    """A query string: values are text, so numbers are parsed; other parameters are ignored."""

    model_config = ConfigDict(extra="ignore", regex_engine="python-re", frozen=True)


# -- the mock's own routes ------------------------------------------------------------------

_TEXT = Says(
    type="{name} must be a string", range="{name} must be at most {schema[maxLength]} characters"
)
Text = Annotated[str, Field(max_length=MAX_TEXT_LENGTH), _TEXT]


class JobRequest(Body):
    """All fields optional; an empty body (or one of only JSON whitespace) is allowed.

    Text fields are stored in the job id and cut to fit (see truncated_fields).
    """

    delay: Annotated[
        float,
        Field(ge=0),
        Limit("max_delay"),
        Says(
            type="delay must be a number of seconds",
            range="delay must be between 0 and {config.max_delay} seconds",
        ),
    ] = Field(default=ABSENT, description="Seconds until it finishes; drawn if absent.")
    outcome: Annotated[
        Literal["completed", "error"], Says(type='outcome must be "completed" or "error"')
    ] = ABSENT
    video_length: Annotated[
        float,
        Field(gt=0, le=MAX_VIDEO_LENGTH),
        Says(
            type="video_length must be a number of seconds",
            range="video_length must be > 0 and <= {schema[maximum]} seconds",
        ),
    ] = ABSENT
    title: Text = ABSENT
    source_language: Text = ABSENT
    target_language: Text = ABSENT


class BatchRequest(Body):
    """Many jobs' statuses in one request, held until one is not pending with wait."""

    job_ids: Annotated[
        list[str],
        Limit("max_batch"),
        Field(description="Duplicates are answered once, in first-seen order."),
        Says(
            type="job_ids must be a list of strings",
            required="job_ids must be a list of strings",
            range="too many job_ids: {count} > {config.max_batch}",
        ),
    ]
    wait: Annotated[
        float,
        Field(
            ge=0,
            allow_inf_nan=True,
            description="Long-poll seconds, clamped to max_wait; ignored when long-poll is off.",
        ),
        Says(
            type="wait must be a number of seconds",
            range="wait must be a non-negative number of seconds, got {number!r}",
        ),
    ] = 0.0


class StatusQuery(Query):
    """The query string of a status request."""

    job_id: str = Field(default=ABSENT, description="Without it, the server's default job.")
    wait: Annotated[
        float,
        Field(
            ge=0,
            allow_inf_nan=True,
            description="Long-poll: hold the answer until the job leaves pending or this many "
            "seconds pass (clamped to max_wait). Negative or non-numeric is 400. Ignored when "
            "long-poll is off.",
        ),
        Says(
            type="wait must be a number of seconds, got {value!r}",
            range="wait must be a non-negative number of seconds, got {number!r}",
        ),
    ] = 0.0


_LATENCY = Says(
    type="{name} must be a number of seconds between {schema[minimum]} and {schema[maximum]:g}"
)


class FaultSettings(Body):
    """Fault and latency settings, as the flags of the same name.

    In a PUT, a field left out takes the server's start-up value, so {}
    switches runtime faults off.
    """

    # The answer to GET and PUT has every field.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    fault_rate: Annotated[
        Probability,
        Says(type="fault_rate must be a number between {schema[minimum]} and {schema[maximum]}"),
    ] = 0.0
    fault_kinds: Annotated[
        FaultKinds,
        Says(type=f"fault_kinds must be a non-empty list of {', '.join(FAULT_KINDS)}"),
    ] = ("500", "503")
    fault_retry_after: Annotated[
        FaultRetryAfter,
        Says(
            type="fault_retry_after must be an integer between "
            "{schema[minimum]} and {schema[maximum]}"
        ),
    ] = 1
    latency: Annotated[FaultLatency, _LATENCY] = 0.0
    latency_jitter: Annotated[FaultLatency, _LATENCY] = 0.0

    @classmethod
    def from_config(cls, config: ServerConfig) -> FaultSettings:
        """The settings a server starts with."""
        return cls(**{name: getattr(config, name) for name in cls.model_fields})

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``/admin/faults``."""
        return self.model_dump(mode="json")


# -- HeyGen's v3 dialect --------------------------------------------------------------------


class V3Body(Body):
    """A v3 body: unknown fields are named one at a time, as HeyGen does."""

    @classmethod
    def unknown(cls, names: list[str]) -> tuple[str, str | None]:
        return f"unknown field {names[0]!r}", names[0]


class V3VideoUrl(V3Body):
    type: Literal["url"]
    url: Annotated[str, Field(min_length=1, max_length=1000)]


class V3VideoAsset(V3Body):
    type: Literal["asset_id"]
    asset_id: Annotated[str, Field(min_length=1, max_length=200)]


_VIDEO = Says(
    type='video must be {{"type": "url", "url": ...}} or {{"type": "asset_id", ...}}',
    shape='a video of type "{loc[1]}" has exactly the fields type and {loc[1]}',
    items=False,
)
_LANGUAGES = f"output_languages must be a list of 1 to {MAX_OUTPUT_LANGUAGES} languages"
Language = Annotated[str, Field(min_length=1, max_length=64)]
Url = Annotated[str, Field(max_length=1000, pattern=URL_PATTERN)]
LongText = Annotated[str, Field(max_length=500)]
ShortText = Annotated[str, Field(max_length=64)]
Reference = Annotated[str, Field(max_length=200)]


class V3CreateRequest(V3Body):
    """HeyGen's create body (the fields the mock accepts; others are 400).

    The video is never fetched.
    """

    video: Annotated[V3VideoUrl | V3VideoAsset, Field(discriminator="type"), _VIDEO]
    output_languages: Annotated[
        list[Language],
        Field(
            min_length=1,
            max_length=MAX_OUTPUT_LANGUAGES,
            description="One translation per entry, in order (duplicates too).",
        ),
        Says(type=_LANGUAGES, required=_LANGUAGES, items=False),
    ]
    title: LongText | None = None
    mode: Literal["speed", "precision"] = ABSENT
    callback_url: Url | None = Field(
        default=None, description="Gets this translation's webhook, signed with --webhook-secret."
    )
    callback_id: LongText | None = None
    input_language: ShortText | None = None
    translate_audio_only: bool = ABSENT
    enable_caption: bool = ABSENT
    disable_music_track: bool = ABSENT
    enable_dynamic_duration: bool = ABSENT
    enable_speech_enhancement: bool = ABSENT
    enable_watermark: bool = ABSENT
    keep_the_same_format: bool | None = None
    speaker_num: Annotated[int, Field(ge=1), WHOLE] | None = None
    brand_voice_id: Reference | None = None
    folder_id: Reference | None = None
    start_time: Annotated[float, Field(ge=0)] | None = None
    end_time: Annotated[float, Field(ge=0)] | None = None
    duration: Annotated[float, Field(gt=0, le=MAX_VIDEO_LENGTH)] | None = Field(
        default=None,
        description="Mock only: seconds of video (HeyGen reads it from the video). "
        "Translation time is about twice it, ±30 %, over --time-scale; "
        f"default {DEFAULT_DURATION:g}.",
    )


class V3EndpointRequest(V3Body):
    """A receiver for webhook events."""

    url: Url
    events: list[EventType] | None = Field(
        default=None, description="Event types to receive; null or absent: all."
    )
    entity_id: Reference | None = None


_IDS = f"video_translation_ids must be 1 to {MAX_STATUS_IDS} non-empty ids, comma-separated"


class V3StatusesQuery(Query):
    """The query string of a v3 bulk status request."""

    video_translation_ids: Annotated[
        str,
        Field(pattern=IDS_PATTERN, description="Comma-separated ids, each non-empty."),
        Says(type=_IDS, range=_IDS),
    ]
