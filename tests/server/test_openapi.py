"""The OpenAPI document: served == docs/openapi.json, and responses match it.

A small validator for the OpenAPI 3.0 schema subset the document uses keeps
the schemas honest without a jsonschema dependency; a test checks that the
document uses no keyword the validator ignores.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mock_server import FakeClock
from mock_server.openapi import openapi_document, render
from tests.server.conftest import MakeApp, new_job

DOCS = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
DOCUMENT = openapi_document()
SUPPORTED = {
    "$ref", "type", "nullable", "enum", "minimum", "maximum", "exclusiveMinimum",
    "minLength", "maxLength", "pattern", "items", "minItems", "maxItems", "required", "properties",
    "additionalProperties", "description", "oneOf",
}  # fmt: skip


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


def _schemas(node: Any) -> Any:
    """Every schema object in the document."""
    if isinstance(node, dict):
        if "schema" in node:
            yield node["schema"]
        for key, value in node.items():
            if key in ("properties", "schemas"):
                yield from value.values()
                for sub in value.values():
                    yield from _schemas(sub)
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                yield value
                yield from _schemas(value)
            elif key == "oneOf":
                yield from value
                yield from _schemas(value)
            else:
                yield from _schemas(value)
    elif isinstance(node, list):
        for item in node:
            yield from _schemas(item)


def test_document_uses_only_validated_keywords() -> None:
    used = {key for schema in _schemas(DOCUMENT) for key in schema}
    assert used <= SUPPORTED, used - SUPPORTED


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = DOCUMENT
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def validate(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Problems of ``value`` against an OpenAPI 3.0 schema (the subset in SUPPORTED)."""
    schema = _resolve(schema)
    if "oneOf" in schema:
        matches = [branch for branch in schema["oneOf"] if not validate(value, branch, where)]
        return [] if len(matches) == 1 else [f"{where}: matches {len(matches)} of oneOf"]
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null"]
    kind = schema.get("type")
    if kind and not _TYPES[kind](value):
        return [f"{where}: {value!r} is not {kind}"]
    problems = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    if "minimum" in schema:
        too_low = value <= schema["minimum"] if schema.get("exclusiveMinimum") else False
        if value < schema["minimum"] or too_low:
            problems.append(f"{where}: {value!r} below minimum")
    if "maximum" in schema and value > schema["maximum"]:
        problems.append(f"{where}: {value!r} above maximum")
    if "minLength" in schema and len(value) < schema["minLength"]:
        problems.append(f"{where}: too short")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        problems.append(f"{where}: too long")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if "minItems" in schema and len(value) < schema["minItems"]:
        problems.append(f"{where}: too few items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        problems.append(f"{where}: too many items")
    if "items" in schema:
        for i, item in enumerate(value):
            problems += validate(item, schema["items"], f"{where}[{i}]")
    if kind == "object":
        properties = schema.get("properties", {})
        problems += [f"{where}: missing {k}" for k in schema.get("required", []) if k not in value]
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                problems += validate(item, properties[key], f"{where}.{key}")
            elif extra is False:
                problems.append(f"{where}: unexpected {key}")
            elif isinstance(extra, dict):
                problems += validate(item, extra, f"{where}.{key}")
    return problems


def check(response: TestResponse, path: str, method: str) -> None:
    """Assert ``response`` is documented for ``path``/``method`` and matches its schema."""
    documented = DOCUMENT["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in documented, f"{method.upper()} {path} {status} undocumented"
    spec = documented[status]
    assert response.content_type == "application/json"
    problems = validate(response.get_json(), spec["content"]["application/json"]["schema"])
    assert not problems, problems
    for header in ("Retry-After", "Location"):
        if header in response.headers:
            assert header in spec.get("headers", {}), f"{header} undocumented on {status}"
            if header == "Retry-After":
                assert int(response.headers[header]) >= 0


def test_validator_catches_problems() -> None:
    schema = {"$ref": "#/components/schemas/Capabilities"}
    assert validate({"hints": True, "long_poll": None, "batch": None}, schema) == []
    assert validate({"hints": 1, "long_poll": None, "batch": None}, schema)
    assert validate({"hints": True, "long_poll": None}, schema)
    assert validate({"hints": True, "long_poll": None, "batch": None, "x": 1}, schema)
    assert validate({"hints": True, "long_poll": {"max_wait": -1}, "batch": None}, schema)
    assert validate({"delay": -1}, {"$ref": "#/components/schemas/JobRequest"})
    assert validate({"video_length": 0}, {"$ref": "#/components/schemas/JobRequest"})
    create = {"$ref": "#/components/schemas/V3CreateRequest"}
    video = {"type": "url", "url": "https://example.com/v.mp4"}
    assert validate({"video": video, "output_languages": ["es"]}, create) == []
    assert validate({"video": {"type": "url"}, "output_languages": ["es"]}, create)
    assert validate({"video": {**video, "asset_id": "a"}, "output_languages": ["es"]}, create)


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
