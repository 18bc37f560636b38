"""Fuzz every documented operation of the mock server from its OpenAPI document.

schemathesis reads ``/openapi.json`` from the app itself and generates
requests in-process (no sockets): examples, boundary values ("coverage"
phase) and random data, both valid and invalid (negative mode: wrong types,
missing or extra fields, out-of-range values, odd path and query strings and
headers), plus undeclared methods. Every response is checked for:

- no 5xx (except, in the faulted app, the 500/503 faults it was asked for);
- a documented status code, content type and headers, and a body that
  matches the documented schema;
- valid input accepted, invalid input rejected with a 4xx;
- never HTML, never a stack trace (our own check, ``no_leak``).

Each server mode is fuzzed separately because the document describes all of
them: the default app (every extra on), a plain one (extras off, so batch and
capabilities are 404), a rate-limited one (429s), and one injecting 500/503
faults. The other fault kinds (HTML bodies, unknown results, dropped
connections) break the contract on purpose, so they are not fuzzed here; the
chaos tests drive the client through them.

Runs are derandomized and use no example database, so CI sees the same
requests every time.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import BaseSchema, Case, CheckContext, CheckFunction, Response
from schemathesis.checks import negative_data_rejection, not_a_server_error

from mock_server import FakeClock, ServerConfig, create_app
from mock_server.routes import JSON_WHITESPACE
from tests.fuzz._support import START, Traffic, leaks, request_texts, strings

AnyCase = Case[Any]

#: Examples per operation and generation phase. 8 operations x (examples,
#: coverage, fuzzing) at this size run in a few seconds on one core.
MAX_EXAMPLES = 100

FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    # Generated bodies can be large and filtered; that is the point here.
    suppress_health_check=list(HealthCheck),
)

#: Statuses that count as rejecting invalid input. schemathesis's default list
#: lacks 413, which the document gives for bodies over the limit.
REJECTIONS = [400, 404, 405, 413, 429]


def schemathesis_config(*rejections: int) -> schemathesis.Config:
    """Deterministic generation; ``rejections`` adds statuses that count as rejecting bad input."""
    return schemathesis.Config.from_dict(
        {
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
            "checks": {
                "negative_data_rejection": {"expected-statuses": [*REJECTIONS, *rejections]},
            },
        }
    )


def fuzzed_app(label: str, tick: float = 0.0, **fields: Any) -> Traffic:
    """A seeded app on a fake clock, wrapped in a counter.

    Long-polls return at once (the fake clock jumps). ``tick`` moves the clock
    forward by that many seconds per request, so token buckets refill.
    """
    clock = FakeClock(START)
    app = create_app(ServerConfig(seed=1, **fields), clock=clock)
    return Traffic(label, app.wsgi_app, before=(lambda: clock.advance(tick)) if tick else None)


def load(
    label: str, tick: float = 0.0, rejections: tuple[int, ...] = (), **fields: Any
) -> tuple[BaseSchema, Traffic]:
    """The app's own OpenAPI document, bound to the counted app."""
    traffic = fuzzed_app(label, tick, **fields)
    config = schemathesis_config(*rejections)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", traffic, config=config)
    return schema, traffic


def no_leak(ctx: CheckContext, response: Response, case: AnyCase) -> bool | None:
    """Every answer is JSON and shows no HTML or traceback (echoes of the request aside)."""
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), f"not JSON: {content_type!r}"
    echoed = request_texts(response.request.url or "", response.request.body)
    # In-process, a structured query value reaches the app as its str() (the
    # URL recorded above spells it differently), so compare with the case too.
    generated = (case.query, case.body, case.path_parameters, case.headers)
    echoed += [str(value).lower() for value in generated if value is not None]
    echoed += [text.lower() for value in generated for text in strings(value)]
    found = leaks(response.content, echoed)
    assert not found, f"{found} leaked in {response.content[:300]!r}"
    return None


def only_injected_server_errors(
    ctx: CheckContext, response: Response, case: AnyCase
) -> bool | None:
    """A 5xx must be one of the injected faults, and only on a status request."""
    if response.status_code < 500:
        return None
    assert case.path in ("/status", "/status/batch"), f"{response.status_code} on {case.path}"
    assert response.status_code in (500, 503), response.status_code
    error = response.json()["error"]
    assert error["message"].startswith("injected fault"), error
    return None


DEFAULT, DEFAULT_TRAFFIC = load("openapi/default")
PLAIN, PLAIN_TRAFFIC = load(
    "openapi/plain", hints=False, long_poll=False, batch=False, capabilities=False
)
# 20 requests/s with the clock moving 30 ms per request: 0.6 tokens come back
# per request, so the fuzzer sees 429s mixed with real answers.
RATE_LIMITED, RATE_LIMITED_TRAFFIC = load("openapi/rate-limited", tick=0.03, rate_limit=20)
# Faults are drawn before the request is validated (docs/server.md), so a bad
# status request may get an injected 500/503 instead of its 400.
FAULTED, FAULTED_TRAFFIC = load("openapi/faults-500-503", rejections=(500, 503), fault_rate=0.3)


def lenient(case: AnyCase, *, plain: bool = False) -> list[CheckFunction]:
    """Checks to skip where the document deliberately accepts "invalid" input.

    - ``POST /jobs`` takes a blank body (empty or JSON whitespace) as no body,
      though schemathesis counts whitespace as malformed JSON.
    - With long-poll off, ``wait`` is ignored entirely, as a plain server would
      (docs/protocol.md), so a negative ``wait`` is not rejected.
    """
    body = case.body
    if isinstance(body, str):
        body = body.encode("utf-8", "replace")
    if case.path == "/jobs" and isinstance(body, bytes) and not body.strip(JSON_WHITESPACE):
        return [negative_data_rejection]
    if plain and "wait" in (case.query or {}):
        return [negative_data_rejection]
    return []


@DEFAULT.parametrize()
@FUZZ_SETTINGS
def test_default_server(case: AnyCase) -> None:
    case.call_and_validate(additional_checks=[no_leak], excluded_checks=lenient(case))


@PLAIN.parametrize()
@FUZZ_SETTINGS
def test_plain_server(case: AnyCase) -> None:
    case.call_and_validate(additional_checks=[no_leak], excluded_checks=lenient(case, plain=True))


@RATE_LIMITED.parametrize()
@FUZZ_SETTINGS
def test_rate_limited_server(case: AnyCase) -> None:
    case.call_and_validate(additional_checks=[no_leak], excluded_checks=lenient(case))


@FAULTED.parametrize()
@FUZZ_SETTINGS
def test_faulted_server(case: AnyCase) -> None:
    # Here 5xx are expected, but only as the injected faults.
    case.call_and_validate(
        additional_checks=[no_leak, only_injected_server_errors],
        excluded_checks=[not_a_server_error, *lenient(case)],
    )


def test_fuzzers_ran_and_saw_what_they_should() -> None:
    """Guards the fuzz tests against silently fuzzing nothing (runs after them, in file order)."""
    for traffic in (DEFAULT_TRAFFIC, PLAIN_TRAFFIC, RATE_LIMITED_TRAFFIC, FAULTED_TRAFFIC):
        if traffic.requests == 0:
            # Run on its own (pytest -k): nothing to check.
            continue
        assert traffic.requests > 100, traffic.statuses
    if DEFAULT_TRAFFIC.requests:
        assert DEFAULT_TRAFFIC.server_errors == 0
        assert DEFAULT_TRAFFIC.statuses[200] > 0
        assert DEFAULT_TRAFFIC.statuses[400] > 0
    if RATE_LIMITED_TRAFFIC.requests:
        assert RATE_LIMITED_TRAFFIC.statuses[429] > 0
    if FAULTED_TRAFFIC.requests:
        assert FAULTED_TRAFFIC.statuses[500] + FAULTED_TRAFFIC.statuses[503] > 0
