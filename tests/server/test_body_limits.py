"""The request-body limit: it fits every batch the server says it accepts."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient

from mock_server.jobs import MAX_ID_LENGTH
from tests.server.conftest import MakeApp, new_job

ORDINARY_JOB = {
    "title": "Quarterly results, narrated in French",
    "source_language": "en-US",
    "target_language": "fr-FR",
}


def test_a_full_batch_of_jobs_with_titles_is_accepted(client: FlaskClient) -> None:
    ids = [new_job(client, **ORDINARY_JOB) for _ in range(1000)]
    assert min(map(len, ids)) >= 109  # the text fields make the ids long
    response = client.post("/status/batch", json={"job_ids": ids, "wait": 30})
    assert response.status_code == 200, response.get_json()
    assert [status["job_id"] for status in response.get_json()["statuses"]] == ids


@pytest.mark.parametrize("max_batch", [1, 1000, 5000])
def test_a_full_batch_of_the_longest_ids_fits_even_pretty_printed(
    make_app: MakeApp, max_batch: int
) -> None:
    # Well-formed ids of the greatest length; unknown, which the answer lists.
    ids = [f"j{i:0{MAX_ID_LENGTH - 1}d}" for i in range(max_batch)]
    body = json.dumps({"job_ids": ids, "wait": 30.0}, indent=4)
    client = make_app(max_batch=max_batch).test_client()
    response = client.post("/status/batch", data=body)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["unknown"] == ids
