"""Lone surrogates in text fields, and a batch ``wait`` while long-poll is off."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server import FakeClock, ServerConfig, create_app
from tests.server.conftest import MakeApp, new_job
from tests.server.test_bad_input import assert_json_error


@pytest.mark.parametrize("name", ["title", "source_language", "target_language"])
@pytest.mark.parametrize("text", ["\ud800", "ok \udfff", "\udc80abc"])
def test_a_lone_surrogate_in_a_text_field_is_400(
    client: FlaskClient, name: str, text: str
) -> None:
    # json.dumps escapes it as "\ud800": valid JSON, but not encodable text.
    response = client.post("/jobs", data=json.dumps({name: text}))
    message = assert_json_error(response, 400, "bad_request")
    assert name in message


# Text that includes surrogates (category Cs), which st.text() leaves out by default.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
_APP = create_app(ServerConfig(seed=0), clock=FakeClock())


@settings(max_examples=100, deadline=None)
@given(title=any_text, language=any_text)
def test_any_text_with_surrogates_is_201_or_400(title: str, language: str) -> None:
    body = json.dumps({"title": title, "target_language": language})
    response = _APP.test_client().post("/jobs", data=body)
    assert response.status_code in (201, 400)
    assert response.is_json


@pytest.mark.parametrize("wait", ["soon", None, [], {"s": 1}, True])
def test_batch_ignores_any_wait_when_long_poll_is_off(make_app: MakeApp, wait: object) -> None:
    client = make_app(long_poll=False).test_client()
    job_id = new_job(client)
    response = client.post("/status/batch", json={"job_ids": [job_id], "wait": wait})
    assert response.status_code == 200, response.get_json()
    # As GET /status does with a non-numeric wait.
    assert client.get(f"/status?job_id={job_id}&wait=soon").status_code == 200


def test_batch_still_rejects_a_non_numeric_wait_with_long_poll_on(make_app: MakeApp) -> None:
    client = make_app(long_poll=True).test_client()
    job_id = new_job(client)
    response = client.post("/status/batch", json={"job_ids": [job_id], "wait": "soon"})
    assert_json_error(response, 400, "bad_request")
