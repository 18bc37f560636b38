"""Hostile HTTP beyond the OpenAPI document: any method, path, query, header, body.

schemathesis (``test_openapi_fuzz.py``) only sends what the document
declares. Here Hypothesis throws everything else at the app, in-process:
unknown and mangled paths (percent-escapes, ``..``, doubled slashes, unicode),
every HTTP method plus made-up ones, random query keys and values, random
headers (including misleading ``Content-Type``), and bodies that are random
bytes, random JSON or around the body limit. Whatever comes in, the answer is:

- never a 5xx (no faults are configured);
- JSON, with the documented error shape ``{"error": {"code", "message"}}`` and
  the code matching the status for every 4xx;
- a status the document gives for that route, or 404/405 off the routes
  (405s carry ``Allow``);
- never HTML, never a traceback.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server import FakeClock, ServerConfig, create_app
from mock_server.app import max_content_length
from mock_server.openapi import openapi_document
from tests.fuzz._support import START, Traffic, leaks, request_texts

EXAMPLES = 1000

HOSTILE = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    429: "rate_limited",
}
ROUTES = ("/status", "/status/batch", "/jobs", "/capabilities", "/healthz", "/stats")
DOCUMENT = openapi_document()

app = create_app(ServerConfig(seed=1), clock=FakeClock(START))
LIMIT = max_content_length(ServerConfig())
TRAFFIC = Traffic("hostile/default", app.wsgi_app)
app.wsgi_app = TRAFFIC  # type: ignore[method-assign]
CLIENT: FlaskClient = app.test_client()
# A real job, so some requests name a job the server knows.
KNOWN_JOB = CLIENT.post("/jobs", json={"delay": 5}).get_json()["job_id"]

segment = st.one_of(
    st.sampled_from(["status", "jobs", "batch", "..", ".", "", "%00", "%2F", "%2e%2e", KNOWN_JOB]),
    st.text(min_size=1, max_size=20).map(lambda s: quote(s, safe="")),
)
paths = st.one_of(
    st.sampled_from([*ROUTES, f"/jobs/{KNOWN_JOB}", "/openapi.json"]),
    st.builds(
        lambda route, tail: route + tail,
        st.sampled_from(ROUTES),
        st.sampled_from(["/", "//", "/x", "%20", ".json"]),
    ),
    st.lists(segment, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts)),
)
any_methods = st.one_of(
    st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]),
    st.from_regex(r"\A[A-Z]{3,10}\Z"),
)
# Half the time a documented route with its own method, so queries, headers
# and bodies reach the handlers; otherwise anything at all.
documented_routes = st.sampled_from(
    [
        ("GET", "/status"),
        ("POST", "/status/batch"),
        ("POST", "/jobs"),
        ("GET", f"/jobs/{KNOWN_JOB}"),
        ("GET", "/capabilities"),
    ]
) | st.tuples(st.just("GET"), segment.map(lambda s: "/jobs/" + s))
requests_lines = documented_routes | st.tuples(any_methods, paths)
query_values = st.one_of(
    st.sampled_from(["", "-1", "0", "1e309", "nan", "inf", "30", "1e-9", KNOWN_JOB, "j" * 129]),
    st.text(max_size=30),
)
queries = st.dictionaries(
    st.one_of(st.sampled_from(["job_id", "wait", "JOB_ID", "job_id[]"]), st.text(max_size=10)),
    query_values,
    max_size=3,
)
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
headers = st.dictionaries(
    st.one_of(
        st.sampled_from(
            [
                "Content-Type",
                "Accept",
                "X-Forwarded-For",
                "Authorization",
                "Cookie",
                "Range",
                "Expect",
            ]
        ),
        st.from_regex(r"\AX-[A-Za-z0-9-]{1,20}\Z"),
    ),
    st.one_of(
        st.sampled_from(["application/json", "text/html", "multipart/form-data; boundary=x"]),
        header_text,
    ),
    max_size=4,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)
bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=300),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.fixed_dictionaries(
        {},
        optional={
            "job_ids": st.lists(
                st.sampled_from([KNOWN_JOB, "nope", ""]) | st.text(max_size=5), max_size=5
            ),
            "wait": st.floats() | st.integers() | st.text(max_size=5),
            "delay": st.floats() | st.integers(),
            "outcome": st.text(max_size=10),
            "title": st.text(max_size=50),
        },
    ).map(lambda value: json.dumps(value).encode()),
    st.integers(LIMIT - 2, LIMIT + 2).map(lambda n: b" " * n),
)


def documented_statuses(path: str, method: str) -> set[int] | None:
    """Statuses the document gives for this route and method; ``None`` if not documented."""
    for template, operations in DOCUMENT["paths"].items():
        prefix = template.split("{", 1)[0]
        matches = path == template or (
            "{" in template
            and path.startswith(prefix)
            and "/" not in path[len(prefix) :]
            and path != prefix
        )
        if matches and method.lower() in operations:
            return {int(code) for code in operations[method.lower()]["responses"]}
    return None


@HOSTILE
@given(line=requests_lines, query=queries, header_map=headers, body=bodies)
def test_hostile_requests_get_json_answers(
    line: tuple[str, str], query: dict[str, str], header_map: dict[str, str], body: bytes
) -> None:
    method, path = line
    # Werkzeug's test client reads a leading "//" as a host name, where a real server
    # sees a path: hand such a path over as the raw PATH_INFO a WSGI server would set.
    raw = {"PATH_INFO": unquote_to_bytes(path).decode("latin-1")} if path[:2] == "//" else {}
    response = CLIENT.open(
        "/" if raw else path,
        method=method,
        query_string=query,
        headers=header_map,
        data=body,
        environ_overrides=raw,
    )
    status = response.status_code
    assert status < 500, (status, response.data[:300])
    assert response.content_type == "application/json", response.content_type
    echoed = request_texts(response.request.url, body)
    assert not leaks(response.data, echoed), response.data[:300]
    if method == "HEAD":
        # No body to check; the status was checked above.
        return
    payload: Any = json.loads(response.data)
    documented = documented_statuses(response.request.path, method)
    if documented is not None:
        assert status in documented, (method, path, status, payload)
    if status >= 400:
        assert set(payload) == {"error"}, payload
        error = payload["error"]
        assert set(error) == {"code", "message"}, error
        assert error["code"] == ERROR_CODES[status], (status, error)
        assert isinstance(error["message"], str)
        assert error["message"]
    if status == 405:
        assert response.headers.get("Allow"), response.headers


def test_hostile_requests_were_sent() -> None:
    """Guards against a strategy that silently generates nothing (runs after the fuzzer)."""
    if TRAFFIC.requests > 1:
        assert TRAFFIC.requests > EXAMPLES // 2
        assert TRAFFIC.server_errors == 0
