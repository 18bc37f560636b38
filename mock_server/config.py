"""Server settings: one frozen dataclass, and the command line made from it.

Each ``ServerConfig`` field is declared once, with its type, range, default
and help. pydantic validates it; click turns it into the flag
``--some-field``, which the environment variable ``HEYGEN_MOCK_SOME_FIELD``
can also set (a flag on the command line wins). A boolean field that is on by
default becomes the switch ``--no-some-field``. Switches take
``1/true/yes/on`` or ``0/false/no/off`` in the environment.

The constrained types here (``Probability``, ``FaultKinds``, ...) are shared
with the request contract (``mock_server.contract``): a range such as a fault
rate's [0, 1] is stated once for the flags, ``PUT /admin/faults`` and the
OpenAPI document.
"""

from __future__ import annotations

import base64
import binascii
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Self, get_args, get_origin, get_type_hints

import click
from click.core import ParameterSource
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.dataclasses import dataclass as pydantic_dataclass

ENV_PREFIX = "HEYGEN_MOCK"
#: The HMAC key used when none is configured. It is public: it keeps ids
#: consistent between processes, it does not make them secret.
DEFAULT_SECRET = "heygen-mock-server-default-secret"
#: Signs webhooks sent to a job's ``callback_url`` when no ``--webhook-secret``
#: is given. Public, like ``DEFAULT_SECRET``: receivers in tests and demos can
#: verify with it, and it protects nothing.
DEFAULT_WEBHOOK_SECRET = "whsec_aGV5Z2VuLW1vY2stc2VydmVyLXB1YmxpYy13ZWJob29rLWtleQ=="
#: Largest ``fault_retry_after``.
MAX_FAULT_RETRY_AFTER = 86400
#: Largest ``latency`` and ``latency_jitter``.
MAX_FAULT_LATENCY = 3600.0

FaultKind = Literal["500", "503", "garbage", "unknown-result", "drop"]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LOG_LEVELS: tuple[LogLevel, ...] = get_args(LogLevel)
#: How webhooks are signed: a hex HMAC in ``Signature``, or Standard Webhooks.
WebhookScheme = Literal["hmac", "standard"]
WEBHOOK_SCHEMES: tuple[WebhookScheme, ...] = get_args(WebhookScheme)


def _whole(value: Any) -> Any:
    # JSON Schema counts 2.0 as an integer, and so the published contract does.
    return int(value) if isinstance(value, float) and value.is_integer() else value


#: Ends an integer's annotation, after its constraints: ``Annotated[int, Field(...), WHOLE]``.
WHOLE = BeforeValidator(_whole)

Seconds = Annotated[float, Field(ge=0)]
PositiveNumber = Annotated[float, Field(gt=0)]
Probability = Annotated[float, Field(ge=0, le=1)]
AtLeastOne = Annotated[int, Field(ge=1)]
Text = Annotated[str, Field(min_length=1)]
FaultLatency = Annotated[float, Field(ge=0, le=MAX_FAULT_LATENCY)]
FaultRetryAfter = Annotated[int, Field(ge=0, le=MAX_FAULT_RETRY_AFTER), WHOLE]


def _distinct(kinds: Sequence[FaultKind]) -> tuple[FaultKind, ...]:
    # Duplicates would weigh a kind more; one of each is what "choose uniformly" means.
    return tuple(dict.fromkeys(kinds))


#: Chosen uniformly; duplicates count once. A sequence, so JSON arrays pass
#: strict validation; always stored as a tuple.
FaultKinds = Annotated[
    Sequence[FaultKind],
    Field(min_length=1, description="Chosen uniformly; duplicates count once."),
    AfterValidator(_distinct),
]


def _printable(text: str) -> str:
    if not text.isprintable():
        raise ValueError("must be printable text")
    return text


@dataclass(frozen=True)
class Flag:
    """How a ``ServerConfig`` field shows on the command line.

    Attributes:
        help: The flag's help; click adds its environment variable and default.
        metavar: The value's name in ``--help``.
        default_text: Shown instead of the default (which may be a key).
    """

    help: str
    metavar: str | None = None
    default_text: str | None = None


# Strict: a string is not a number, nor 1 a boolean. hide_input_in_errors: keys
# must not show up in messages.
_STRICT = ConfigDict(strict=True, allow_inf_nan=False, hide_input_in_errors=True)


@pydantic_dataclass(frozen=True, config=_STRICT)
class ServerConfig:
    """Everything the mock server can be told. Immutable; validated on creation.

    Each field's meaning is its flag's help (``heygen-mock-server --help``).
    ``backlog``, ``max_connections``, ``request_timeout``, ``log_level`` and
    ``exit_on_stdin_eof`` matter only to the command line's server
    (``__main__``), not to ``create_app``. ``api_key`` and ``webhook_secret``
    are kept out of the repr.

    Raises:
        pydantic.ValidationError: A field is invalid (a ``ValueError``).
    """

    host: Annotated[str, Flag("address to bind")] = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535), Flag("port; 0 picks a free one")] = 5000
    delay: Annotated[Seconds, Flag("seconds before a job finishes", "SECONDS")] = 10.0
    delay_max: Annotated[
        Seconds | None,
        Flag(
            "randomness: each job's delay is drawn uniform in [delay, delay-max] "
            "(not a cap: see --max-delay)",
            "SECONDS",
        ),
    ] = None
    delay_per_video_second: Annotated[
        Seconds, Flag("extra delay per second of a job's video_length, with noise", "S")
    ] = 0.5
    error_rate: Annotated[Probability, Flag("probability that a job ends in error", "P")] = 0.0
    seed: Annotated[int | None, Flag("seed for all randomness: reproducible runs", "N")] = None
    secret: Annotated[
        Text,
        Flag("HMAC key for job ids; processes sharing it share jobs", "S", "a fixed public one"),
    ] = DEFAULT_SECRET
    hints: Annotated[
        bool, Flag("no Retry-After/progress/remaining_seconds on pending answers")
    ] = True
    long_poll: Annotated[bool, Flag("ignore ?wait= on status requests")] = True
    batch: Annotated[bool, Flag("no POST /status/batch (404)")] = True
    capabilities: Annotated[bool, Flag("no GET /capabilities (404)")] = True
    estimate_noise: Annotated[
        Probability, Flag("relative noise of remaining_seconds (0.1: about ±10%)", "R")
    ] = 0.1
    max_wait: Annotated[
        Seconds, Flag("largest long-poll wait; larger waits are clamped", "SECONDS")
    ] = 30.0
    max_batch: Annotated[AtLeastOne, Flag("most ids per batch request", "N")] = 1000
    max_delay: Annotated[
        Seconds,
        Flag(
            "a cap on what clients ask: a POST /jobs asking a longer delay is a 400 "
            "(not randomness: see --delay-max)",
            "SECONDS",
        ),
    ] = 86400.0
    fault_rate: Annotated[
        Probability, Flag("fraction of status requests answered with a fault", "P")
    ] = 0.0
    fault_kinds: Annotated[FaultKinds, Flag(f"comma list of {','.join(FAULT_KINDS)}", "LIST")] = (
        "500",
        "503",
    )
    fault_retry_after: Annotated[
        FaultRetryAfter, Flag("Retry-After seconds on injected 503s", "SECONDS")
    ] = 1
    rate_limit: Annotated[
        PositiveNumber | None,
        Flag("status+job requests per second per client address; excess gets 429", "N"),
    ] = None
    latency: Annotated[FaultLatency, Flag("seconds added to status requests", "SECONDS")] = 0.0
    latency_jitter: Annotated[
        FaultLatency, Flag("extra latency, uniform in [0, latency-jitter]", "SECONDS")
    ] = 0.0
    admin: Annotated[
        bool,
        Flag("admin routes: /admin/faults (faults at runtime), /admin/stats (reset)"),
    ] = False
    exit_on_stdin_eof: Annotated[
        bool,
        Flag(
            "stop when stdin reaches end of file: a parent holding the pipe's write end "
            "takes the server down with it, even if it is killed"
        ),
    ] = False
    api_key: Annotated[
        Text | None,
        Flag("require this key (X-Api-Key or Authorization: Bearer) on every /v3/ route", "KEY"),
    ] = field(default=None, repr=False)
    concurrency_limit: Annotated[
        AtLeastOne | None,
        Flag("most unfinished v3 translations at once; a create beyond it gets 429", "N"),
    ] = None
    time_scale: Annotated[
        PositiveNumber,
        Flag("v3 translations (about 2x the video's duration) run this many times faster", "F"),
    ] = 1.0
    webhook_drop_rate: Annotated[
        Probability, Flag("probability that a webhook is not sent", "P")
    ] = 0.0
    webhook_delay: Annotated[
        Seconds, Flag("seconds between a v3 translation's end and its webhooks", "SECONDS")
    ] = 0.0
    webhook_scheme: Annotated[
        WebhookScheme,
        Flag(
            "webhook signatures: hmac (hex HMAC-SHA256 of the body in Signature) or "
            "standard (Standard Webhooks)",
        ),
    ] = "hmac"
    webhook_secret: Annotated[
        Text,
        AfterValidator(_printable),
        Flag(
            "signs webhooks to callback_url; registered endpoints use their own",
            "S",
            "a fixed public whsec_ secret",
        ),
    ] = field(default=DEFAULT_WEBHOOK_SECRET, repr=False)
    backlog: Annotated[AtLeastOne, Flag("listen backlog", "N")] = 2048
    max_connections: Annotated[
        AtLeastOne,
        Flag("connections served at once, one thread each; more wait", "N"),
    ] = 4096
    request_timeout: Annotated[
        PositiveNumber,
        Flag(
            "seconds a connection has, from when it is accepted, to send its whole request; "
            "also bounds each send of the answer",
            "SECONDS",
        ),
    ] = 10.0
    log_level: Annotated[LogLevel, Flag("level of the mock_server logger")] = "INFO"

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """The checks that involve two fields."""
        problems = []
        if self.delay > self.max_delay:
            problems.append(f"delay must be at most max_delay ({self.max_delay:g})")
        if self.delay_max is not None and not self.delay <= self.delay_max <= self.max_delay:
            problems.append(
                f"delay_max must be in [delay, max_delay], [{self.delay:g}, {self.max_delay:g}]"
            )
        if self.webhook_delay > self.max_delay:
            problems.append(f"webhook_delay must be at most max_delay ({self.max_delay:g})")
        if self.webhook_scheme == "standard" and not standard_webhook_key(self.webhook_secret):
            # The message must not show the secret itself.
            problems.append(
                "webhook_secret must be whsec_ followed by base64 for --webhook-scheme standard"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def plain(self) -> bool:
        """True when every extra is off: the server is a bare seed server."""
        return not (self.hints or self.long_poll or self.batch or self.capabilities)

    @classmethod
    def from_args(
        cls, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
    ) -> ServerConfig:
        """Build a config from command-line flags, falling back to environment variables.

        Args:
            argv: Flags without the program name; ``None`` means ``sys.argv[1:]``.
            environ: Environment to read ``HEYGEN_MOCK_*`` from; ``None`` means ``os.environ``.

        Raises:
            SystemExit: ``--help`` was given (status 0), or a flag or environment
                variable is invalid (status 2, after click's usage error on stderr).
        """
        args = list(sys.argv[1:] if argv is None else argv)
        try:
            result = COMMAND.main(
                args,
                prog_name=PROG,
                standalone_mode=False,
                obj=os.environ if environ is None else environ,
            )
        except click.ClickException as exc:
            exc.show()
            raise SystemExit(exc.exit_code) from exc
        if isinstance(result, ServerConfig):
            return result
        raise SystemExit(result)  # --help was shown

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerConfig:
        """Build a config from ``HEYGEN_MOCK_*`` environment variables alone.

        This is what ``create_app()`` uses when given no config, so a server
        run by gunicorn is configured the same way as the command line.

        Raises:
            ValueError: A variable is invalid (the details go to stderr).
        """
        try:
            return cls.from_args([], environ)
        except SystemExit as exc:
            raise ValueError(f"invalid {ENV_PREFIX}_* environment variable") from exc


def standard_webhook_key(secret: str) -> bytes | None:
    """The HMAC key of a Standard Webhooks secret (``whsec_`` + base64); ``None`` if malformed."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key or None


# -- the command line ------------------------------------------------------------

PROG = "heygen-mock-server"


def env_name(param: str) -> str:
    """``delay_max`` -> ``HEYGEN_MOCK_DELAY_MAX``: as click's ``auto_envvar_prefix`` names it."""
    return f"{ENV_PREFIX}_{param.upper()}"


class _Option(click.Option):
    """An option whose environment is the mapping ``from_args`` was given (``ctx.obj``)."""

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        environ: Mapping[str, str] = ctx.obj if ctx.obj is not None else os.environ
        # An empty variable counts as unset, as click has it.
        return environ.get(env_name(self.name or "")) or None

    def get_error_hint(self, ctx: click.Context | None) -> str:
        hint = super().get_error_hint(ctx)
        if (
            ctx is not None
            and ctx.get_parameter_source(self.name or "") == ParameterSource.ENVIRONMENT
        ):
            hint += f" (from {env_name(self.name or '')})"
        return hint


def _split_commas(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    """``500, drop`` -> ``("500", "drop")``; ``ServerConfig`` checks the items."""
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _base(hint: Any) -> tuple[Any, Flag]:
    """A field's type without ``None`` or constraints, and its ``Flag``."""
    kind, *extras = get_args(hint)
    flag = next(extra for extra in extras if isinstance(extra, Flag))
    while True:
        if get_origin(kind) is Annotated:
            kind = get_args(kind)[0]
        elif type(None) in get_args(kind):  # X | None
            kind = next(arg for arg in get_args(kind) if arg is not type(None))
        else:
            return kind, flag


def _click_type(kind: Any) -> click.ParamType[Any]:
    if get_origin(kind) is Literal:
        return click.Choice(get_args(kind), case_sensitive=False)
    types: dict[Any, click.ParamType[Any]] = {
        float: click.FLOAT,
        int: click.INT,
        str: click.STRING,
    }
    return types[kind]


def _options() -> list[click.Option]:
    """One option per ``ServerConfig`` field, in field order, plus ``--plain``."""
    defaults = ServerConfig()
    options: list[click.Option] = []
    for name, hint in get_type_hints(ServerConfig, include_extras=True).items():
        kind, flag = _base(hint)
        default = getattr(defaults, name)
        dashed = name.replace("_", "-")
        if kind is bool:
            decl = f"--no-{dashed}" if default else f"--{dashed}"
            options.append(_Option([decl], is_flag=True, help=flag.help, show_envvar=True))
        elif get_origin(kind) is Sequence:  # a comma list on the command line
            options.append(
                _Option(
                    [f"--{dashed}"],
                    default=",".join(default),
                    callback=_split_commas,
                    metavar=flag.metavar,
                    help=flag.help,
                    show_default=True,
                    show_envvar=True,
                )
            )
        else:
            options.append(
                _Option(
                    [f"--{dashed}"],
                    type=_click_type(kind),
                    default=default,
                    metavar=flag.metavar,
                    help=flag.help,
                    show_default=flag.default_text or default is not None,
                    show_envvar=True,
                )
            )
        if name == "capabilities":
            options.append(
                _Option(
                    ["--plain"],
                    is_flag=True,
                    help="all four --no-* switches: a bare seed server",
                    show_envvar=True,
                )
            )
    return options


def _config(**values: Any) -> ServerConfig:
    """The click command's callback: its values as a ``ServerConfig``."""
    plain = values.pop("plain")
    for name in [key.removeprefix("no_") for key in values if key.startswith("no_")]:
        values[name] = not (values.pop(f"no_{name}") or plain)
    try:
        return ServerConfig(**values)
    except ValidationError as exc:
        raise click.UsageError(_explain(exc)) from None


def _explain(exc: ValidationError) -> str:
    """pydantic's errors in the flags' words, without the values (they may be keys)."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        message = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
        if error["loc"]:
            message = f"--{str(error['loc'][0]).replace('_', '-')}: {message}"
        problems.append(message)
    return "; ".join(problems)


COMMAND = click.Command(
    PROG,
    params=list(_options()),
    callback=_config,
    help="Simulate HeyGen's video-translation status backend. Every flag can also be set "
    f"by an environment variable {ENV_PREFIX}_<FLAG>, e.g. --delay-max -> "
    f"{ENV_PREFIX}_DELAY_MAX.",
    context_settings={
        "auto_envvar_prefix": ENV_PREFIX,
        "help_option_names": ["-h", "--help"],
        "max_content_width": 100,
    },
)
