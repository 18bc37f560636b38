"""Server settings: one frozen dataclass, filled from flags and environment.

Every command-line flag ``--some-flag`` can also be set with the environment
variable ``HEYGEN_MOCK_SOME_FLAG``; a flag given on the command line wins.
Boolean switches (``--no-hints`` ...) take ``1/true/yes/on`` or
``0/false/no/off`` in the environment.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

ENV_PREFIX = "HEYGEN_MOCK_"
#: The HMAC key used when none is configured. It is public: it keeps ids
#: consistent between processes, it does not make them secret.
DEFAULT_SECRET = "heygen-mock-server-default-secret"
FAULT_KINDS: tuple[str, ...] = ("500", "503", "garbage", "unknown-result", "drop")
#: Largest ``fault_retry_after`` that ``PUT /admin/faults`` accepts.
MAX_FAULT_RETRY_AFTER = 86400
#: Largest ``latency`` and ``latency_jitter`` that ``PUT /admin/faults`` accepts.
MAX_FAULT_LATENCY = 3600.0
LOG_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: How webhooks are signed: a hex HMAC in ``Signature``, or Standard Webhooks.
WEBHOOK_SCHEMES: tuple[str, ...] = ("hmac", "standard")
#: Signs webhooks sent to a job's ``callback_url`` when no ``--webhook-secret``
#: is given. Public, like ``DEFAULT_SECRET``: receivers in tests and demos can
#: verify with it, and it protects nothing.
DEFAULT_WEBHOOK_SECRET = "whsec_aGV5Z2VuLW1vY2stc2VydmVyLXB1YmxpYy13ZWJob29rLWtleQ=="


@dataclass(frozen=True)
class ServerConfig:
    """Everything the mock server can be told. Immutable; validated on creation.

    Attributes:
        host: Address to bind.
        port: Port to listen on; 0 picks a free one.
        delay: Seconds before a job finishes (the lower bound when
            ``delay_max`` is set).
        delay_max: When set, each job's delay is uniform in [delay, delay_max].
        delay_per_video_second: Extra delay per second of ``video_length``.
        error_rate: Probability that a job without a forced outcome ends in error.
        seed: Seed for all randomness; ``None`` draws from the OS.
        secret: HMAC key that signs job ids; processes sharing it share jobs.
        hints: Pending answers carry ``Retry-After``, ``progress``, ``remaining_seconds``.
        long_poll: Status requests honour ``wait``.
        batch: ``POST /status/batch`` exists.
        capabilities: ``GET /capabilities`` exists.
        estimate_noise: Relative error of ``remaining_seconds`` (0.1 = about ±10%).
        max_wait: Largest long-poll wait; larger waits are clamped to it.
        max_batch: Most ids in one batch request.
        max_delay: Largest delay a job may have; larger requested delays are 400.
        fault_rate: Fraction of status requests answered with an injected fault.
        fault_kinds: Faults to choose from, uniformly (see ``FAULT_KINDS``).
        fault_retry_after: ``Retry-After`` seconds on injected 503s.
        rate_limit: Status and job requests per second per client address;
            ``None`` is unlimited.
        latency: Seconds added to every status request.
        latency_jitter: Extra latency, uniform in [0, latency_jitter].
        backlog: Listen backlog of the socket (``__main__`` only).
        max_connections: Connections served at once, one thread each; more
            wait in the backlog (``__main__`` only).
        request_timeout: Seconds a connection has, from when it is accepted,
            to send its whole request; also bounds each send of the answer
            (``__main__`` only).
        log_level: Level of the ``mock_server`` logger (``__main__`` only).
        admin: The ``/admin/*`` routes exist (runtime faults, stats reset);
            off by default, since the server also stands in for a public API.
        exit_on_stdin_eof: Stop, as on SIGTERM, when stdin reaches end of
            file (``__main__`` only). A parent that holds the only write end
            of a pipe on the server's stdin (``LiveServer`` does) thereby
            takes the server down with it, however it dies.
        api_key: When set, every ``/v3/`` route requires it in ``X-Api-Key``
            (or ``Authorization: Bearer``). Kept out of the repr.
        concurrency_limit: Most unfinished v3 translations at once; a create
            beyond it is 429. ``None`` is unlimited.
        time_scale: v3 translations run this many times faster than HeyGen's
            (about twice the video's length).
        webhook_drop_rate: Probability that a webhook is silently not sent.
        webhook_delay: Seconds between a v3 translation's end and its webhooks.
        webhook_scheme: How webhooks are signed (see ``WEBHOOK_SCHEMES``).
        webhook_secret: Signs webhooks to a job's ``callback_url``; registered
            endpoints use their own secrets. Kept out of the repr.
    """

    host: str = "127.0.0.1"
    port: int = 5000
    delay: float = 10.0
    delay_max: float | None = None
    delay_per_video_second: float = 0.5
    error_rate: float = 0.0
    seed: int | None = None
    secret: str = DEFAULT_SECRET
    hints: bool = True
    long_poll: bool = True
    batch: bool = True
    capabilities: bool = True
    estimate_noise: float = 0.1
    max_wait: float = 30.0
    max_batch: int = 1000
    max_delay: float = 86400.0
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = field(default=("500", "503"))
    fault_retry_after: int = 1
    rate_limit: float | None = None
    latency: float = 0.0
    latency_jitter: float = 0.0
    backlog: int = 2048
    max_connections: int = 4096
    request_timeout: float = 10.0
    log_level: str = "INFO"
    admin: bool = False
    exit_on_stdin_eof: bool = False
    api_key: str | None = field(default=None, repr=False)
    concurrency_limit: int | None = None
    time_scale: float = 1.0
    webhook_drop_rate: float = 0.0
    webhook_delay: float = 0.0
    webhook_scheme: str = "hmac"
    webhook_secret: str = field(default=DEFAULT_WEBHOOK_SECRET, repr=False)

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError("; ".join(problems))

    def _problems(self) -> Any:
        def finite(name: str, value: float, low: float, high: float = math.inf) -> Any:
            if not (math.isfinite(value) and low <= value <= high):
                yield f"{name} must be a finite number in [{low}, {high}], got {value!r}"

        yield from finite("delay", self.delay, 0.0, self.max_delay)
        if self.delay_max is not None:
            yield from finite("delay_max", self.delay_max, self.delay, self.max_delay)
        yield from finite("delay_per_video_second", self.delay_per_video_second, 0.0)
        yield from finite("error_rate", self.error_rate, 0.0, 1.0)
        yield from finite("estimate_noise", self.estimate_noise, 0.0, 1.0)
        yield from finite("max_wait", self.max_wait, 0.0)
        yield from finite("max_delay", self.max_delay, 0.0)
        yield from finite("fault_rate", self.fault_rate, 0.0, 1.0)
        yield from finite("latency", self.latency, 0.0)
        yield from finite("latency_jitter", self.latency_jitter, 0.0)
        if self.rate_limit is not None:
            yield from finite("rate_limit", self.rate_limit, 0.0)
            if self.rate_limit <= 0:
                yield "rate_limit must be positive"
        if not 0 <= self.port <= 65535:
            yield f"port must be in [0, 65535], got {self.port}"
        if self.max_batch < 1:
            yield f"max_batch must be at least 1, got {self.max_batch}"
        if self.fault_retry_after < 0:
            yield f"fault_retry_after must be >= 0, got {self.fault_retry_after}"
        if self.backlog < 1:
            yield f"backlog must be at least 1, got {self.backlog}"
        if self.max_connections < 1:
            yield f"max_connections must be at least 1, got {self.max_connections}"
        yield from finite("request_timeout", self.request_timeout, 0.0)
        if self.request_timeout <= 0:
            yield "request_timeout must be positive"
        bad = [kind for kind in self.fault_kinds if kind not in FAULT_KINDS]
        if bad or not self.fault_kinds:
            yield f"fault_kinds must be a non-empty subset of {','.join(FAULT_KINDS)}"
        if not self.secret:
            yield "secret must not be empty"
        if self.log_level.upper() not in LOG_LEVELS:
            yield f"log_level must be one of {', '.join(LOG_LEVELS)}"
        if self.api_key is not None and not self.api_key:
            yield "api_key must not be empty"
        if self.concurrency_limit is not None and self.concurrency_limit < 1:
            yield f"concurrency_limit must be at least 1, got {self.concurrency_limit}"
        yield from finite("time_scale", self.time_scale, 0.0)
        if self.time_scale <= 0:
            yield "time_scale must be positive"
        yield from finite("webhook_drop_rate", self.webhook_drop_rate, 0.0, 1.0)
        yield from finite("webhook_delay", self.webhook_delay, 0.0, self.max_delay)
        if self.webhook_scheme not in WEBHOOK_SCHEMES:
            yield f"webhook_scheme must be one of {', '.join(WEBHOOK_SCHEMES)}"
        elif self.webhook_scheme == "standard" and not standard_webhook_key(self.webhook_secret):
            # The message must not show the secret itself.
            yield "webhook_secret must be whsec_ followed by base64 for --webhook-scheme standard"
        if not self.webhook_secret:
            yield "webhook_secret must not be empty"
        elif not self.webhook_secret.isprintable():
            yield "webhook_secret must be printable text"

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
            SystemExit: A flag or environment variable is invalid (argparse's usage error).
        """
        parser = build_parser(os.environ if environ is None else environ)
        args = parser.parse_args(argv)
        values = vars(args)
        if values.pop("plain"):
            values.update(hints=False, long_poll=False, batch=False, capabilities=False)
        for switch in ("hints", "long_poll", "batch", "capabilities"):
            values[switch] = not values.pop(f"no_{switch}") and values.get(switch, True)
        try:
            return replace(cls(), **values)
        except ValueError as exc:
            parser.error(str(exc))

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
            raise ValueError("invalid HEYGEN_MOCK_* environment variable") from exc


def standard_webhook_key(secret: str) -> bytes | None:
    """The HMAC key of a Standard Webhooks secret (``whsec_`` + base64); ``None`` if malformed."""
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key or None


def env_name(flag: str) -> str:
    """``--delay-max`` -> ``HEYGEN_MOCK_DELAY_MAX``."""
    return ENV_PREFIX + flag.lstrip("-").replace("-", "_").upper()


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {text!r}")


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


def _fault_kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(kind.strip() for kind in text.split(",") if kind.strip())
    bad = [kind for kind in kinds if kind not in FAULT_KINDS]
    if bad or not kinds:
        raise argparse.ArgumentTypeError(
            f"fault kinds must be a comma list of {','.join(FAULT_KINDS)}, got {text!r}"
        )
    return kinds


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    """The argparse parser; defaults come from ``environ`` where set."""
    defaults = ServerConfig()
    parser = argparse.ArgumentParser(
        prog="heygen-mock-server",
        description="Simulate HeyGen's video-translation status backend. "
        f"Every flag can also be set by an environment variable {ENV_PREFIX}<FLAG>, "
        "e.g. --delay-max -> HEYGEN_MOCK_DELAY_MAX.",
    )

    def option(flag: str, kind: Any, default: Any, help_text: str, **kwargs: Any) -> None:
        env = env_name(flag)
        value = default
        if env in environ:
            try:
                value = kind(environ[env])
            except (ValueError, argparse.ArgumentTypeError) as exc:
                parser.error(f"{env}={environ[env]!r}: {exc}")
        parser.add_argument(
            flag, type=kind, default=value, help=f"{help_text} [env {env}]", **kwargs
        )

    def switch(flag: str, help_text: str) -> None:
        env = env_name(flag)
        try:
            default = _bool(environ.get(env, ""))
        except argparse.ArgumentTypeError as exc:
            parser.error(f"{env}: {exc}")
        parser.add_argument(
            flag, action="store_true", default=default, help=f"{help_text} [env {env}]"
        )

    option("--host", str, defaults.host, "address to bind (default %(default)s)")
    option("--port", int, defaults.port, "port; 0 picks a free one (default %(default)s)")
    option("--delay", float, defaults.delay, "seconds before a job finishes (default %(default)s)")
    option(
        "--delay-max",
        float,
        None,
        "when given, each job's delay is uniform in [delay, delay-max]",
    )
    option(
        "--delay-per-video-second",
        float,
        defaults.delay_per_video_second,
        "extra delay per second of a job's video_length, with noise (default %(default)s)",
    )
    option(
        "--error-rate",
        _probability,
        defaults.error_rate,
        "probability that a job ends in error (default %(default)s)",
    )
    option("--seed", int, None, "seed for all randomness: reproducible runs")
    option("--secret", str, defaults.secret, "HMAC key for job ids (default: a fixed public one)")
    switch("--no-hints", "no Retry-After/progress/remaining_seconds on pending answers")
    switch("--no-long-poll", "ignore ?wait= on status requests")
    switch("--no-batch", "no POST /status/batch (404)")
    switch("--no-capabilities", "no GET /capabilities (404)")
    switch("--plain", "all four --no-* switches: a bare seed server")
    option(
        "--estimate-noise",
        float,
        defaults.estimate_noise,
        "relative noise of remaining_seconds (default %(default)s)",
    )
    option("--max-wait", float, defaults.max_wait, "largest long-poll wait (default %(default)s)")
    option("--max-batch", int, defaults.max_batch, "most ids per batch (default %(default)s)")
    option(
        "--max-delay", float, defaults.max_delay, "largest accepted delay (default %(default)s)"
    )
    option(
        "--fault-rate",
        _probability,
        defaults.fault_rate,
        "fraction of status requests answered with a fault (default %(default)s)",
    )
    option(
        "--fault-kinds",
        _fault_kinds,
        defaults.fault_kinds,
        f"comma list of {','.join(FAULT_KINDS)} (default 500,503)",
    )
    option(
        "--fault-retry-after",
        int,
        defaults.fault_retry_after,
        "Retry-After seconds on injected 503s (default %(default)s)",
    )
    option(
        "--rate-limit",
        float,
        None,
        "status+job requests per second per client address; excess gets 429",
    )
    option("--latency", float, defaults.latency, "seconds added to status requests")
    option("--latency-jitter", float, defaults.latency_jitter, "extra latency, up to this much")
    switch("--admin", "admin routes: /admin/faults (faults at runtime), /admin/stats (reset)")
    switch(
        "--exit-on-stdin-eof",
        "stop when stdin reaches end of file: a parent holding the pipe's write end "
        "takes the server down with it, even if it is killed",
    )
    option(
        "--api-key",
        str,
        None,
        "require this key (X-Api-Key or Authorization: Bearer) on every /v3/ route",
    )
    option(
        "--concurrency-limit",
        int,
        None,
        "most unfinished v3 translations at once; a create beyond it gets 429",
    )
    option(
        "--time-scale",
        float,
        defaults.time_scale,
        "v3 translations (about 2x the video's duration) run this many times faster "
        "(default %(default)s)",
    )
    option(
        "--webhook-drop-rate",
        _probability,
        defaults.webhook_drop_rate,
        "probability that a webhook is not sent (default %(default)s)",
    )
    option(
        "--webhook-delay",
        float,
        defaults.webhook_delay,
        "seconds between a v3 translation's end and its webhooks (default %(default)s)",
    )
    option(
        "--webhook-scheme",
        str,
        defaults.webhook_scheme,
        "webhook signatures: hmac (hex HMAC-SHA256 of the body in Signature) or "
        "standard (Standard Webhooks) (default %(default)s)",
        choices=WEBHOOK_SCHEMES,
    )
    option(
        "--webhook-secret",
        str,
        defaults.webhook_secret,
        "signs webhooks to callback_url (default: a fixed public whsec_ secret)",
    )
    option("--backlog", int, defaults.backlog, "listen backlog (default %(default)s)")
    option(
        "--max-connections",
        int,
        defaults.max_connections,
        "connections served at once, one thread each; more wait (default %(default)s)",
    )
    option(
        "--request-timeout",
        float,
        defaults.request_timeout,
        "seconds a connection has to send its whole request (default %(default)s)",
    )
    option(
        "--log-level",
        str.upper,
        defaults.log_level,
        "DEBUG, INFO, WARNING, ERROR (default %(default)s)",
        choices=LOG_LEVELS,
    )
    return parser
