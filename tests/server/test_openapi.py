"""The OpenAPI document: served == docs/openapi.json, and answers match it.

Answers are checked with jsonschema against the document's own schemas:
OpenAPI 3.1 schemas are JSON Schema 2020-12, so no dialect is translated.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from werkzeug.test import TestResponse

from mock_server import FakeClock
from mock_server.openapi import openapi_document, render
from tests.server.conftest import MakeApp, new_job

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
DOCUMENT = openapi_document()
#: Where the document lives for ``$ref`` resolution: its own "#/..." refs resolve in it.
URI = "urn:heygen-mock:openapi"
REGISTRY: Registry[Any] = Registry().with_resource(URI, DRAFT202012.create_resource(DOCUMENT))


def test_docs_copy_is_current() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(), (
        "docs/openapi.json is stale: run python -m mock_server.openapi docs/openapi.json"
    )


def test_served_document_is_the_docs_copy(client: FlaskClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == json.loads(DOCS.read_text(encoding="utf-8"))


def test_every_route_is_documented(client: FlaskClient) -> None:
    app = client.application
    routes = {
        re.sub(r"<(\w+)>", r"{\1}", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
    }
    assert routes == set(DOCUMENT["paths"])


def test_every_schema_is_valid_json_schema() -> None:
    assert DOCUMENT["openapi"].startswith("3.1.")
    assert DOCUMENT["components"]["schemas"]
    for schema in DOCUMENT["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def _pointer(*parts: str) -> str:
    """A JSON pointer into the document (RFC 6901 escapes)."""
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in ("", *parts))


def problems(value: Any, *pointer: str) -> list[str]:
    """What is wrong with ``value`` against the schema at ``pointer`` in the document."""
    validator = Draft202012Validator({"$ref": f"{URI}#{_pointer(*pointer)}"}, registry=REGISTRY)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(value)
    ]


def component_problems(value: Any, name: str) -> list[str]:
    """What is wrong with ``value`` as the component schema ``name``."""
    return problems(value, "components", "schemas", name)


def check(response: TestResponse, path: str, method: str) -> None:
    """Assert ``response`` is documented for ``path``/``method`` and matches its schema."""
    documented = DOCUMENT["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in documented, f"{method.upper()} {path} {status} undocumented"
    spec = documented[status]
    assert response.content_type == "application/json"
    where = ("paths", path, method, "responses", status, "content", "application/json", "schema")
    found = problems(response.get_json(), *where)
    assert not found, found
    for header in ("Retry-After", "Location"):
        if header in response.headers:
            assert header in spec.get("headers", {}), f"{header} undocumented on {status}"
            if header == "Retry-After":
                assert int(response.headers[header]) >= 0


def test_the_checker_catches_problems() -> None:
    def capabilities(**fields: Any) -> list[str]:
        return component_problems(fields, "Capabilities")

    assert capabilities(hints=True, long_poll=None, batch=None) == []
    assert capabilities(hints=True, long_poll={"max_wait": 3}, batch={"max_ids": 9}) == []
    assert capabilities(hints=1, long_poll=None, batch=None)
    assert capabilities(hints=True, long_poll=None)
    assert capabilities(hints=True, long_poll=None, batch=None, x=1)
    assert capabilities(hints=True, long_poll={"max_wait": -1}, batch=None)
    assert component_problems({"delay": -1}, "JobRequest")
    assert component_problems({"video_length": 0}, "JobRequest")
    assert component_problems({"title": None}, "JobRequest")
    video = {"type": "url", "url": "https://example.com/v.mp4"}
    create = {"video": video, "output_languages": ["es"]}
    assert component_problems(create, "V3CreateRequest") == []
    assert component_problems({**create, "title": None}, "V3CreateRequest") == []
    assert component_problems({**create, "video": {"type": "url"}}, "V3CreateRequest")
    assert component_problems({**create, "video": {**video, "asset_id": "a"}}, "V3CreateRequest")
    assert component_problems({**create, "mode": None}, "V3CreateRequest")


@pytest.mark.parametrize("mode", ["full", "plain", "noisy"])
def test_responses_match_the_document(make_app: MakeApp, clock: FakeClock, mode: str) -> None:
    modes: dict[str, dict[str, Any]] = {
        "full": {},
        "plain": {"hints": False, "long_poll": False, "batch": False, "capabilities": False},
        "noisy": {"estimate_noise": 1.0, "delay_max": 30, "error_rate": 0.5},
    }
    client = make_app(**modes[mode]).test_client()
    created = client.post("/jobs", json={"delay": 5, "title": "t" * 500, "video_length": 3})
    check(created, "/jobs", "post")
    job_id = created.get_json()["job_id"]
    check(client.post("/jobs"), "/jobs", "post")
    check(client.post("/jobs", json={"delay": -1}), "/jobs", "post")
    check(client.post("/jobs", data=b"x" * 70000), "/jobs", "post")
    for url in ("/status", f"/status?job_id={job_id}", "/status?job_id=nope", "/status?wait=-1"):
        check(client.get(url), "/status", "get")
    check(client.get(f"/status?job_id={job_id}&wait=2"), "/status", "get")
    check(client.get(f"/jobs/{job_id}"), "/jobs/{job_id}", "get")
    check(client.get("/jobs/nope"), "/jobs/{job_id}", "get")
    batch = [job_id, new_job(client, delay=0), "nope"]
    check(client.post("/status/batch", json={"job_ids": batch}), "/status/batch", "post")
    check(client.post("/status/batch", json={"job_ids": [job_id]}), "/status/batch", "post")
    check(client.post("/status/batch", json={"job_ids": 3}), "/status/batch", "post")
    check(client.get("/capabilities"), "/capabilities", "get")
    check(client.get("/healthz"), "/healthz", "get")
    clock.advance(100)
    check(client.get(f"/status?job_id={job_id}"), "/status", "get")
    check(client.get(f"/jobs/{job_id}"), "/jobs/{job_id}", "get")
    check(client.get("/stats"), "/stats", "get")


@pytest.mark.parametrize("kind", ["500", "503"])
def test_fault_and_rate_limit_responses_match(make_app: MakeApp, kind: str) -> None:
    client = make_app(fault_rate=1.0, fault_kinds=(kind,), rate_limit=3).test_client()
    job_id = new_job(client)
    check(client.get(f"/status?job_id={job_id}"), "/status", "get")
    check(client.post("/status/batch", json={"job_ids": [job_id]}), "/status/batch", "post")
    check(client.get("/status"), "/status", "get")  # the bucket is empty: 429
    check(client.post("/jobs"), "/jobs", "post")
    check(client.get(f"/jobs/{job_id}"), "/jobs/{job_id}", "get")
    check(client.get("/stats"), "/stats", "get")


@pytest.mark.parametrize(
    ("path", "component", "body"),
    [
        ("/jobs", "JobRequest", {}),
        ("/jobs", "JobRequest", {"delay": 0, "outcome": "error", "video_length": 1e-9}),
        ("/jobs", "JobRequest", {"delay": 86400}),
        ("/jobs", "JobRequest", {"delay": 86400.5}),
        ("/jobs", "JobRequest", {"delay": "5"}),
        ("/jobs", "JobRequest", {"delay": True}),
        ("/jobs", "JobRequest", {"outcome": "maybe"}),
        ("/jobs", "JobRequest", {"video_length": 0}),
        ("/jobs", "JobRequest", {"title": "x" * 1000}),
        ("/jobs", "JobRequest", {"title": "x" * 1001}),
        ("/jobs", "JobRequest", {"source_language": None}),
        ("/jobs", "JobRequest", {"colour": "red"}),
        ("/status/batch", "BatchRequest", {"job_ids": []}),
        ("/status/batch", "BatchRequest", {"job_ids": ["a"], "wait": 0.5}),
        ("/status/batch", "BatchRequest", {"job_ids": ["a"] * 1001}),
        ("/status/batch", "BatchRequest", {"job_ids": ["a"], "wait": -1}),
        ("/status/batch", "BatchRequest", {"job_ids": [1]}),
        ("/status/batch", "BatchRequest", {"wait": 1}),
        ("/admin/faults", "FaultSettingsRequest", {}),
        ("/admin/faults", "FaultSettingsRequest", {"fault_rate": 1, "fault_kinds": ["drop"]}),
        ("/admin/faults", "FaultSettingsRequest", {"fault_rate": 1.5}),
        ("/admin/faults", "FaultSettingsRequest", {"fault_kinds": []}),
        ("/admin/faults", "FaultSettingsRequest", {"fault_kinds": ["teapot"]}),
        ("/admin/faults", "FaultSettingsRequest", {"fault_retry_after": 86401}),
        ("/admin/faults", "FaultSettingsRequest", {"latency": 3600}),
        ("/admin/faults", "FaultSettingsRequest", {"latency_jitter": 3600.5}),
    ],
)
def test_server_and_document_agree_on_bodies(
    make_app: MakeApp, path: str, component: str, body: Any
) -> None:
    client = make_app(admin=True).test_client()
    method = "put" if path.startswith("/admin") else "post"
    answer = getattr(client, method)(path, json=body)
    assert answer.status_code in (200, 201, 400)
    assert (answer.status_code < 400) == (component_problems(body, component) == [])
