"""Webhook signatures, events and the WSGI app, without a network.

Bodies are signed with the mock server's own signers, so the two sides are held
to the same schemes.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from heygen_client._webhooks import Outcome, WebhookApp, WebhookReceiver, event_status
from heygen_client.models import JobResult, JobStatus
from mock_server.webhooks import new_endpoint_secret, sign_hmac, sign_standard

SECRET = new_endpoint_secret()
NOW = 1_800_000_000


def event(kind: str = "video_translate.success", **data: object) -> bytes:
    payload = {"video_translate_id": "t1", "callback_id": None, "output_language": "fr", **data}
    if kind == "video_translate.success":
        payload.setdefault("url", "https://v/t1.mp4")
    else:
        payload.setdefault("message", "no speech found")
    return json.dumps({"event_type": kind, "event_data": payload}).encode()


class Applied:
    def __init__(self) -> None:
        self.calls: list[tuple[str, JobStatus]] = []

    def __call__(self, job_id: str, status: JobStatus) -> None:
        self.calls.append((job_id, status))


def receiver(
    scheme: str, *secrets: str, tolerance: float = 300.0
) -> tuple[WebhookReceiver, Applied]:
    applied = Applied()
    return (
        WebhookReceiver(secrets or (SECRET,), scheme, applied, tolerance, lambda: NOW),
        applied,
    )


def test_hmac_valid_signature_applies_the_event() -> None:
    r, applied = receiver("hmac")
    body = event()
    assert r.handle(body, sign_hmac(SECRET, body)) is Outcome.APPLIED
    [(job_id, status)] = applied.calls
    assert job_id == "t1"
    assert status.result is JobResult.COMPLETED
    assert status.extra["video_url"] == "https://v/t1.mp4"
    assert status.extra["status"] == "completed"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Signature": ""},
        {"Signature": "00" * 32},
        {"Signature": sign_hmac("whsec_other", event())["Signature"]},
        {"Signature": sign_hmac(SECRET, event() + b" ")["Signature"]},
    ],
)
def test_hmac_bad_or_missing_signature_changes_nothing(headers: dict[str, str]) -> None:
    r, applied = receiver("hmac")
    assert r.handle(event(), headers) is Outcome.UNAUTHORIZED
    assert applied.calls == []


def test_hmac_header_name_and_hex_case_do_not_matter_and_any_secret_verifies() -> None:
    r, _ = receiver("hmac", "whsec_old", SECRET)
    body = event()
    signature = sign_hmac(SECRET, body)["Signature"].upper()
    assert r.verify(body, {"signature": signature})


def standard(body: bytes, *, at: int = NOW, secret: str = SECRET) -> dict[str, str]:
    return sign_standard(secret, "msg_1", at, body)


def test_standard_webhooks_valid_signature() -> None:
    r, applied = receiver("standard")
    body = event("video_translate.fail")
    assert r.handle(body, standard(body)) is Outcome.APPLIED
    [(_, status)] = applied.calls
    assert status.result is JobResult.ERROR
    assert status.failure_message == "no speech found"


def test_standard_webhooks_takes_any_v1_signature_of_the_list() -> None:
    r, _ = receiver("standard")
    body = event()
    headers = standard(body)
    headers["webhook-signature"] = "v1,AAAA v2,whatever " + headers["webhook-signature"]
    assert r.verify(body, headers)


@pytest.mark.parametrize(
    ("at", "change"),
    [
        (NOW - 301, {}),  # signed too long ago: a replay
        (NOW + 301, {}),
        (NOW, {"webhook-timestamp": "soon"}),
        (NOW, {"webhook-id": "msg_2"}),  # signed for another message
        (NOW, {"webhook-signature": "v1,"}),
        (NOW, {"webhook-id": ""}),
    ],
)
def test_standard_webhooks_refuses(at: int, change: dict[str, str]) -> None:
    r, applied = receiver("standard")
    body = event()
    headers = {**standard(body, at=at), **change}
    assert r.handle(body, headers) is Outcome.UNAUTHORIZED
    assert applied.calls == []


def test_a_receiver_needs_a_valid_setting_and_never_shows_the_secret() -> None:
    with pytest.raises(ValueError, match="scheme"):
        WebhookReceiver((SECRET,), "rot13", Applied())
    with pytest.raises(ValueError, match="secret is required"):
        WebhookReceiver((), "hmac", Applied())
    with pytest.raises(ValueError, match="whsec_") as info:
        WebhookReceiver(("not base64 at all!",), "standard", Applied())
    assert "not base64 at all!" not in str(info.value)
    r, _ = receiver("hmac")
    assert SECRET not in repr(r)


def test_verified_bodies_that_are_not_translation_events() -> None:
    r, applied = receiver("hmac")
    other = json.dumps({"event_type": "avatar_video.success", "event_data": {}}).encode()
    assert r.handle(other, sign_hmac(SECRET, other)) is Outcome.IGNORED
    junk = b"not json"
    assert r.handle(junk, sign_hmac(SECRET, junk)) is Outcome.MALFORMED
    no_id = json.dumps({"event_type": "video_translate.fail", "event_data": {}}).encode()
    assert r.handle(no_id, sign_hmac(SECRET, no_id)) is Outcome.MALFORMED
    assert applied.calls == []


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"event_type": "video_translate.success"},
        {"event_data": {"video_translate_id": "t"}},
    ],
)
def test_event_status_reads_only_translation_events(body: object) -> None:
    assert event_status(body) is None


# -- the WSGI app ------------------------------------------------------------------------


def call(
    app: WebhookApp, method: str, body: bytes, headers: dict[str, str], length: str | None = None
) -> tuple[str, dict[str, Any]]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)) if length is None else length,
    }
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    started: list[str] = []
    chunks = app(environ, lambda status, _headers: started.append(status))
    return started[0], json.loads(b"".join(chunks))


def test_the_app_answers_each_case_in_json() -> None:
    r, applied = receiver("standard")
    app = WebhookApp(r)
    body = event()
    assert call(app, "POST", body, standard(body)) == ("200 OK", {"ok": True})
    assert len(applied.calls) == 1
    status, document = call(app, "POST", body, {"webhook-id": "msg_1"})
    assert status.startswith("401")
    assert document["error"]["code"] == "unauthorized"
    assert len(applied.calls) == 1
    assert call(app, "OPTIONS", b"", {})[0] == "200 OK"
    assert call(app, "GET", b"", {})[0].startswith("405")
    assert call(app, "POST", body, standard(body), length="")[0].startswith("411")
    assert call(app, "POST", body, standard(body), length=str(10**7))[0].startswith("413")
    junk = b"{"
    assert call(app, "POST", junk, standard(junk))[0].startswith("400")
