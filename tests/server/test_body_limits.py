"""The request-body limit: it fits every batch the server accepts, and binds chunked bodies too."""

from __future__ import annotations

import io
import json
from typing import IO, Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from mock_server import ServerConfig
from mock_server.app import max_content_length
from mock_server.jobs import MAX_ID_LENGTH
from tests.server.conftest import MakeApp, new_job, server_state
from tests.server.test_bad_input import assert_json_error

LIMIT = max_content_length(ServerConfig())

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


# -- chunked bodies -----------------------------------------------------------
# In-process, a chunked body is what a WSGI server that decodes chunks hands
# the app: a stream of unknown length with ``wsgi.input_terminated`` set.
# tests/server/test_connections.py sends real chunks to the real server.


class _FailingStream(io.RawIOBase):
    def __init__(self, error: OSError) -> None:
        self.error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise self.error


def post_chunked(
    client: FlaskClient, url: str, stream: IO[bytes], coding: str = "chunked", decoded: bool = True
) -> TestResponse:
    """POST a body of no declared length (the test client would declare one for ``data``)."""
    environ: dict[str, Any] = {"wsgi.input": stream}
    if decoded:
        environ["wsgi.input_terminated"] = True
    return client.post(url, headers={"Transfer-Encoding": coding}, environ_overrides=environ)


def test_a_chunked_body_within_the_limit_is_read_whole(client: FlaskClient) -> None:
    body = b" " * (LIMIT - 20) + b'{"delay": 1.25}'
    response = post_chunked(client, "/jobs", io.BytesIO(body))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["delay"] == 1.25


@pytest.mark.parametrize("url", ["/jobs", "/status/batch", "/healthz", "/v3/video-translations"])
def test_a_chunked_body_over_the_limit_is_413(client: FlaskClient, url: str) -> None:
    # Cut at the limit, this would be a valid empty body: it must not be cut.
    body = b" " * LIMIT + b'{"delay": 1.25}'
    message = assert_json_error(
        post_chunked(client, url, io.BytesIO(body)), 413, "payload_too_large"
    )
    assert str(LIMIT) in message
    assert server_state(client.application).stats.snapshot(0)["jobs_created"] == 0


def test_a_full_chunked_batch_over_the_limit_is_413_not_malformed(client: FlaskClient) -> None:
    body = json.dumps({"job_ids": ["j" + "A" * 127] * 2000}).encode()
    assert len(body) > LIMIT
    response = post_chunked(client, "/status/batch", io.BytesIO(body))
    assert_json_error(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (OSError("Invalid chunk header"), 400, "bad_request"),
        (TimeoutError("timed out"), 408, "request_timeout"),
    ],
)
def test_an_unreadable_chunked_body_is_refused(
    client: FlaskClient, error: OSError, status: int, code: str
) -> None:
    response = post_chunked(client, "/jobs", _FailingStream(error))  # type: ignore[arg-type]
    assert_json_error(response, status, code)


def test_content_length_with_transfer_encoding_is_400(client: FlaskClient) -> None:
    response = client.post(
        "/jobs", data=b'{"delay": 1.25}', headers={"Transfer-Encoding": "chunked"}
    )
    message = assert_json_error(response, 400, "bad_request")
    assert "Content-Length and Transfer-Encoding" in message


@pytest.mark.parametrize("coding", ["gzip", "gzip, chunked", "chunked, chunked", "identity"])
def test_a_transfer_coding_other_than_chunked_is_400(client: FlaskClient, coding: str) -> None:
    response = post_chunked(client, "/jobs", io.BytesIO(b"{}"), coding)
    assert "Transfer-Encoding" in assert_json_error(response, 400, "bad_request")


def test_chunks_the_server_did_not_decode_are_400(client: FlaskClient) -> None:
    raw = io.BytesIO(b"2\r\n{}\r\n0\r\n\r\n")
    response = post_chunked(client, "/jobs", raw, decoded=False)
    assert "not supported" in assert_json_error(response, 400, "bad_request")
