"""The transport with a caller's own session (no network)."""

from __future__ import annotations

from typing import Any

import requests
from requests.structures import CaseInsensitiveDict

from heygen_client._transport import Transport


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
        response.headers = CaseInsensitiveDict()
        return response

    def close(self) -> None:
        self.closed += 1
        super().close()


def test_a_callers_session_is_neither_mutated_nor_closed() -> None:
    session = RecordingSession()
    before = dict(session.headers)
    transport = Transport("http://example.invalid", headers={"X-Api-Key": "k"}, session=session)
    assert transport.get_status("a").result == "pending"
    assert dict(session.headers) == before
    sent = session.sent[0]["headers"]
    assert sent["X-Api-Key"] == "k"
    assert sent["Accept"] == "application/json"
    transport.close()
    assert session.closed == 0
