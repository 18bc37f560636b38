"""The v3 routes' answers, good and bad, match the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_server import FakeClock
from mock_server.contract import IDS_PATTERN
from tests.server.conftest import MakeApp, new_job
from tests.server.test_openapi import DOCUMENT, check, component_problems

TRANSLATIONS = "/v3/video-translations"
ONE = f"{TRANSLATIONS}/{{video_translation_id}}"
BULK = f"{TRANSLATIONS}/statuses"
ENDPOINTS = "/v3/webhooks/endpoints"
BODY: dict[str, Any] = {
    "video": {"type": "url", "url": "https://example.com/v.mp4"},
    "output_languages": ["es"],
}


def test_v3_answers_match_the_document(make_app: MakeApp, clock: FakeClock) -> None:
    client = make_app(error_rate=0.5, seed=3).test_client()
    created = client.post(TRANSLATIONS, json={**BODY, "output_languages": ["es", "fr", "de"]})
    check(created, TRANSLATIONS, "post")
    ids = created.get_json()["data"]["video_translation_ids"]
    check(client.post(TRANSLATIONS, json={"video": 1}), TRANSLATIONS, "post")
    oversize = b"x" * (client.application.config["MAX_CONTENT_LENGTH"] + 1)
    check(client.post(TRANSLATIONS, data=oversize), TRANSLATIONS, "post")
    plain_job = new_job(client, delay=1)
    for when in (0.0, 20.0, 500.0):
        clock.advance(when)
        for job_id in [*ids, plain_job]:
            check(client.get(f"{TRANSLATIONS}/{job_id}"), ONE, "get")
        check(client.get(BULK, query_string={"video_translation_ids": ",".join(ids)}), BULK, "get")
    statuses = {
        e["status"]
        for e in client.get(f"{BULK}?video_translation_ids={','.join(ids)}").get_json()["data"]
    }
    assert statuses == {"completed", "failed"}  # both final shapes were checked
    check(client.get(f"{TRANSLATIONS}/nope"), ONE, "get")
    check(client.get(f"{BULK}?video_translation_ids=a,,b"), BULK, "get")
    check(client.post(ENDPOINTS, json={"url": "https://example.com/h"}), ENDPOINTS, "post")
    check(client.post(ENDPOINTS, json={"url": "nope"}), ENDPOINTS, "post")
    check(client.get("/stats"), "/stats", "get")


def test_v3_limits_and_auth_match_the_document(make_app: MakeApp) -> None:
    client = make_app(api_key="k", concurrency_limit=1).test_client()
    key = {"X-Api-Key": "k"}
    answers = [
        (client.post(TRANSLATIONS, json=BODY), TRANSLATIONS, "post"),
        (client.get(f"{TRANSLATIONS}/x"), ONE, "get"),
        (client.get(f"{BULK}?video_translation_ids=x"), BULK, "get"),
        (client.post(ENDPOINTS, json={"url": "https://x"}), ENDPOINTS, "post"),
        (client.post(TRANSLATIONS, json=BODY, headers=key), TRANSLATIONS, "post"),
        (client.post(TRANSLATIONS, json=BODY, headers=key), TRANSLATIONS, "post"),
    ]
    limited = make_app(rate_limit=1).test_client()
    limited.get(f"{BULK}?video_translation_ids=x")  # spends the only token
    answers += [
        (limited.get(f"{BULK}?video_translation_ids=x"), BULK, "get"),
        (limited.get(f"{TRANSLATIONS}/x"), ONE, "get"),
        (limited.post(TRANSLATIONS, json=BODY), TRANSLATIONS, "post"),
    ]
    assert [r.status_code for r, _, _ in answers] == [401, 401, 401, 401, 200, 429, 429, 429, 429]
    for response, path, method in answers:
        check(response, path, method)


def test_the_bulk_query_is_the_servers() -> None:
    query = DOCUMENT["paths"][BULK]["get"]["parameters"][0]
    assert (query["name"], query["required"]) == ("video_translation_ids", True)
    assert query["schema"]["pattern"] == IDS_PATTERN


VIDEO = BODY["video"]


@pytest.mark.parametrize(
    "body",
    [
        BODY,
        {**BODY, "duration": 0},
        {**BODY, "duration": 90.5},
        {**BODY, "callback_url": "ftp://x"},
        {**BODY, "callback_url": "https://hooks.example.com/h"},
        {**BODY, "callback_url": None},
        {**BODY, "title": None},
        {**BODY, "title": "t" * 501},
        {**BODY, "mode": None},
        {**BODY, "mode": "precision"},
        {**BODY, "speaker_num": 1.5},
        {**BODY, "enable_caption": "yes"},
        {**BODY, "output_languages": []},
        {**BODY, "output_languages": [""]},
        {**BODY, "video": {"type": "asset_id", "asset_id": "a1"}},
        {**BODY, "video": {**VIDEO, "asset_id": "a1"}},
        {**BODY, "video": {"type": "url"}},
        {**BODY, "colour": "red"},
        {"video": VIDEO},
    ],
)
def test_server_and_document_agree_on_create_bodies(client: FlaskClient, body: Any) -> None:
    answer = client.post(TRANSLATIONS, json=body)
    assert answer.status_code in (200, 400)
    assert (answer.status_code == 200) == (component_problems(body, "V3CreateRequest") == [])


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://example.com/h"},
        {"url": "https://example.com/h", "events": None},
        {"url": "https://example.com/h", "events": ["video_translate.success"]},
        {"url": "https://example.com/h", "events": ["video_translate.started"]},
        {"url": "example.com/h"},
        {"url": None},
        {"url": "https://example.com/h", "secret": "mine"},
        {},
    ],
)
def test_server_and_document_agree_on_endpoint_bodies(client: FlaskClient, body: Any) -> None:
    answer = client.post(ENDPOINTS, json=body)
    assert answer.status_code in (200, 400)
    assert (answer.status_code == 200) == (component_problems(body, "V3EndpointRequest") == [])
