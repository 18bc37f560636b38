"""Every bad request gets a JSON 4xx with a message: never a 500, never HTML."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from mock_server import FakeClock, ServerConfig, create_app
from mock_server.app import max_content_length
from tests.server.conftest import MakeApp, new_job, server_state


def assert_json_error(response: TestResponse, status: int, code: str) -> str:
    assert response.status_code == status, response.data
    assert response.content_type == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    message: str = error["message"]
    return message


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b'{"delay": }',
        b"not json",
        b'{"delay": NaN}',
        b'{"delay": Infinity}',
        b'{"delay": -Infinity}',
        b"\xff\xfe\x00",
        # Blank to Python's bytes.strip(), but not JSON whitespace (found by
        # the OpenAPI fuzzer, which sent a lone form feed).
        b"\x0c",
        b" \x0b ",
        b"[" * 20000 + b"]" * 20000,
    ],
)
def test_malformed_json(client: FlaskClient, body: bytes) -> None:
    for url in ("/jobs", "/status/batch"):
        assert_json_error(client.post(url, data=body), 400, "bad_request")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ([], "JSON object"),
        ("job", "JSON object"),
        (5, "JSON object"),
        ({"delay": "5"}, "delay"),
        ({"delay": True}, "delay"),
        ({"delay": None}, "delay"),
        ({"delay": [1]}, "delay"),
        ({"delay": -1}, "delay"),
        ({"delay": -0.001}, "delay"),
        ({"delay": 86400.5}, "delay"),
        ({"delay": 1e300}, "delay"),
        ({"delay": 10**400}, "delay"),
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": 1}, "outcome"),
        ({"outcome": ["error"]}, "outcome"),
        ({"video_length": 0}, "video_length"),
        ({"video_length": -5}, "video_length"),
        ({"video_length": False}, "video_length"),
        ({"video_length": "90"}, "video_length"),
        ({"video_length": 1e12}, "video_length"),
        ({"title": 5}, "title"),
        ({"title": "x" * 1001}, "title"),
        ({"source_language": None}, "source_language"),
        ({"colour": "red"}, "unknown fields: colour"),
    ],
)
def test_bad_job_bodies(client: FlaskClient, body: Any, fragment: str) -> None:
    message = assert_json_error(client.post("/jobs", json=body), 400, "bad_request")
    assert fragment in message


def test_huge_integer_delay_is_400_not_500(client: FlaskClient) -> None:
    body = b'{"delay": 1' + b"0" * 400 + b"}"
    assert_json_error(client.post("/jobs", data=body), 400, "bad_request")


def test_edge_delays_are_accepted(make_app: MakeApp) -> None:
    client = make_app(max_delay=100).test_client()
    for delay in (0, 0.0, 100, 1e-9):
        assert client.post("/jobs", json={"delay": delay}).status_code == 201


@pytest.mark.parametrize("wait", ["-1", "-0.5", "abc", "", "nan", "1e", "0x10"])
def test_bad_wait(client: FlaskClient, wait: str) -> None:
    job_id = new_job(client)
    message = assert_json_error(
        client.get(f"/status?job_id={job_id}&wait={wait}"), 400, "bad_request"
    )
    assert "wait" in message
    assert_json_error(client.get(f"/status?wait={wait}"), 400, "bad_request")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "job_ids"),
        ({"job_ids": "a"}, "job_ids"),
        ({"job_ids": [1, 2]}, "job_ids"),
        ({"job_ids": [[1], {"a": 1}]}, "job_ids"),
        ({"job_ids": None}, "job_ids"),
        ({"job_ids": ["a"], "wait": -1}, "wait"),
        ({"job_ids": ["a"], "wait": "5"}, "wait"),
        ({"job_ids": ["a"], "wait": True}, "wait"),
        ({"job_ids": ["a"], "wait": None}, "wait"),
        ({"job_ids": ["a"], "extra": 1}, "unknown fields: extra"),
        ([], "JSON object"),
    ],
)
def test_bad_batch_bodies(client: FlaskClient, body: Any, fragment: str) -> None:
    message = assert_json_error(client.post("/status/batch", json=body), 400, "bad_request")
    assert fragment in message


def test_null_body(client: FlaskClient) -> None:
    for url in ("/jobs", "/status/batch"):
        message = assert_json_error(client.post(url, data=b"null"), 400, "bad_request")
        assert "JSON object" in message


def test_empty_batch_body(client: FlaskClient) -> None:
    assert_json_error(client.post("/status/batch"), 400, "bad_request")


def test_too_many_ids(client: FlaskClient) -> None:
    ids = [f"j{i}" for i in range(1001)]
    message = assert_json_error(
        client.post("/status/batch", json={"job_ids": ids}), 400, "bad_request"
    )
    assert "1001 > 1000" in message


def test_oversize_body(client: FlaskClient) -> None:
    body = json.dumps({"title": "x" * max_content_length(ServerConfig())}).encode()
    for url in ("/jobs", "/status/batch"):
        assert_json_error(client.post(url, data=body), 413, "payload_too_large")


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/nope",
        "/jobs/",
        "/status/",
        "/jobs/a/b",
        "/static/x",
        "/jobs//jabc",
        "/admin//faults",
        "/v3/video-translations//statuses",
    ],
)
def test_unknown_routes(client: FlaskClient, url: str) -> None:
    assert_json_error(client.get(url), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("POST", "/status", "GET"),
        ("DELETE", "/jobs", "POST"),
        ("GET", "/status/batch", "POST"),
        ("PUT", "/healthz", "GET"),
        ("POST", "/jobs/jabc", "GET"),
        ("OPTIONS", "/status", "GET"),
        ("OPTIONS", "/jobs", "POST"),
    ],
)
def test_wrong_method(client: FlaskClient, method: str, url: str, allowed: str) -> None:
    response = client.open(url, method=method)
    assert_json_error(response, 405, "method_not_allowed")
    assert allowed in response.headers["Allow"]


def test_unexpected_errors_are_json_500_without_traceback(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(job_id: str) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(server_state(app).store, "get", explode)
    response = client.get("/status?job_id=jabc")
    message = assert_json_error(response, 500, "internal_error")
    assert "secret" not in message
    assert b"Traceback" not in response.data
    assert client.get("/stats").get_json()["requests"]["GET /status"] == {"500": 1}


# -- properties ----------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
job_like = st.fixed_dictionaries(
    {},
    optional={
        "delay": json_values | st.floats(min_value=-10, max_value=1e6),
        "outcome": json_values | st.sampled_from(["completed", "error"]),
        "video_length": json_values | st.floats(min_value=-10, max_value=1e6),
        "title": json_values | st.text(max_size=300),
        "source_language": json_values,
        "target_language": st.text(max_size=60),
    },
)
HYPOTHESIS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# One app for all examples: building a Flask app per example costs more than
# the requests, and the properties hold whatever came before.
_APP = create_app(ServerConfig(seed=0), clock=FakeClock())


def _fresh_client() -> FlaskClient:
    return _APP.test_client()


@HYPOTHESIS
@given(body=json_values | job_like)
def test_any_json_body_to_post_jobs_is_201_or_400(body: Any) -> None:
    client = _fresh_client()
    response = client.post("/jobs", data=json.dumps(body))
    assert response.status_code in (201, 400)
    assert response.is_json
    if response.status_code == 201:
        job_id = response.get_json()["job_id"]
        assert len(job_id) <= 128
        record = client.get(f"/jobs/{job_id}").get_json()
        for name in ("title", "source_language", "target_language"):
            if name in record:
                assert body[name].startswith(record[name])
                assert (record[name] != body[name]) == (name in record["truncated_fields"])


batch_like = st.fixed_dictionaries(
    {"job_ids": st.lists(json_values | st.text(max_size=10), max_size=5) | json_values},
    optional={"wait": json_values | st.floats(min_value=-5, max_value=100)},
)


@HYPOTHESIS
@given(body=json_values | batch_like)
def test_any_json_body_to_batch_is_200_or_400(body: Any) -> None:
    response = _fresh_client().post("/status/batch", data=json.dumps(body))
    assert response.status_code in (200, 400)
    assert response.is_json


@HYPOTHESIS
@given(body=st.binary(max_size=200))
def test_any_bytes_never_5xx(body: bytes) -> None:
    client = _fresh_client()
    for url in ("/jobs", "/status/batch"):
        response = client.post(url, data=body)
        assert response.status_code < 500
        assert response.is_json


@HYPOTHESIS
@given(job_id=st.text(max_size=150), wait=st.text(max_size=10))
def test_any_query_never_5xx(job_id: str, wait: str) -> None:
    client = _fresh_client()
    response = client.get("/status", query_string={"job_id": job_id, "wait": wait})
    assert response.status_code in (200, 400, 404)
    assert response.is_json
