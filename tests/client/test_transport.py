"""The transport with a caller's own session (no network)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from heygen_client._backends.mock import MockBackend
from heygen_client._connections import SocketRegistry
from heygen_client._transport import Transport
from heygen_client.errors import (
    ClientClosed,
    HTTPStatusError,
    JobNotFound,
    MalformedResponse,
    TransportTimeout,
)


class RecordingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []
        self.closed = 0

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        self.sent.append(kwargs)
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"result": "pending"}'
        response._content_consumed = True  # type: ignore[attr-defined]  # iter_content() yields _content
        response.headers = CaseInsensitiveDict()
        return response

    def close(self) -> None:
        self.closed += 1
        super().close()


def test_a_callers_session_is_neither_mutated_nor_closed() -> None:
    session = RecordingSession()
    before = dict(session.headers)
    transport = Transport("http://example.invalid", headers={"X-Api-Key": "k"}, session=session)
    assert MockBackend(transport).get_status("a").result == "pending"
    assert dict(session.headers) == before
    sent = session.sent[0]["headers"]
    assert sent["X-Api-Key"] == "k"
    assert sent["Accept"] == "application/json"
    transport.close()
    assert session.closed == 0


def test_a_timeout_caused_by_close_is_client_closed() -> None:
    class ClosedUnderneath(RecordingSession):
        transport: Transport

        def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
            self.transport.close()  # close() shuts the socket: the read times out
            raise requests.exceptions.ReadTimeout("read timed out")

    session = ClosedUnderneath()
    transport = Transport("http://example.invalid", session=session)
    session.transport = transport
    with pytest.raises(ClientClosed) as info:
        MockBackend(transport).get_status("a")
    assert isinstance(info.value.__cause__, TransportTimeout)
    assert transport.counts() == {"timeout": 1}


class Answering(RecordingSession):
    def __init__(self, body: bytes, status: int = 200) -> None:
        super().__init__()
        self.body = body
        self.status = status

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        response = super().request(method, url, *args, **kwargs)
        response._content = self.body
        response.status_code = self.status
        return response


@pytest.mark.parametrize(
    ("call", "body"),
    [
        (lambda t: t.get_status("a"), b'{"result": "exploded"}'),
        (lambda t: t.batch_status(["a"]), b'{"statuses": "no"}'),
        (lambda t: t.create_job({}), b'{"no_id": 1}'),
        (lambda t: t.get_job("a"), b"[1, 2]"),
    ],
)
def test_an_unreadable_answer_is_counted_once_as_malformed(
    call: Callable[[MockBackend], object], body: bytes
) -> None:
    transport = Transport("http://example.invalid", session=Answering(body))
    with pytest.raises(MalformedResponse) as info:
        call(MockBackend(transport))
    assert info.value.body
    assert transport.counts() == {"malformed": 1}


def test_a_connection_opened_after_close_is_closed_at_once() -> None:
    """A request racing close(): the socket it opens is closed, not left to the GC."""
    registry = SocketRegistry()
    registry.close()
    sock = socket.socket()
    with pytest.raises(OSError, match="client closed"):
        registry.add(sock)
    assert sock.fileno() == -1  # closed; an open one would warn when collected


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda b: b.get_status("a"), JobNotFound),
        (lambda b: b.get_job("a"), JobNotFound),
        (lambda b: b.batch_status(["a"]), HTTPStatusError),
        (lambda b: b.create_job({}), HTTPStatusError),
    ],
)
def test_a_404_is_the_jobs_news_only_on_a_jobs_route(
    call: Callable[[MockBackend], object], expected: type[HTTPStatusError]
) -> None:
    """On the batch route a 404 means "route not offered" (the scheduler polls one by one)."""
    backend = MockBackend(Transport("http://example.invalid", session=Answering(b"{}", 404)))
    with pytest.raises(HTTPStatusError) as info:
        call(backend)
    assert type(info.value) is expected
    assert info.value.status_code == 404


def test_per_request_headers_go_with_that_request_only() -> None:
    session = RecordingSession()
    transport = Transport("http://example.invalid", headers={"X-Api-Key": "k"}, session=session)
    transport.request("POST", "/jobs")
    transport.call("POST", "/jobs", lambda data, _: data, headers={"Idempotency-Key": "i-1"})
    transport.request("POST", "/jobs")
    sent = [kwargs["headers"] for kwargs in session.sent]
    assert [h.get("Idempotency-Key") for h in sent] == [None, "i-1", None]
    assert all(h["X-Api-Key"] == "k" for h in sent)
