"""HeyGen's v3 video-translation API (user's page: docs/heygen.md).

Routes:

- ``GET /v3/video-translations/{id}``: one translation, every field of it;
- ``GET /v3/video-translations/statuses?video_translation_ids=a,b``: up to 100
  at once, in the bulk vocabulary (``queued``, ``processing``, ``not_found``...);
- ``POST /v3/video-translations``: one translation per output language, with
  an ``Idempotency-Key``;
- ``POST /v3/webhooks/endpoints``: a webhook receiver, and its signing secret.

Answers come in an envelope, ``{"data": ...}``; errors in
``{"error": {"code", "message", ...}}``, which the transport shows.  Every
request carries ``X-Api-Key``; the transport keeps it off redirects to other
hosts, and nothing here ever puts it in a message.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from heygen_client._backends import BaseBackend, BatchAnswer, job_not_found
from heygen_client._transport import Transport, parse_retry_after
from heygen_client.errors import HeyGenError, HTTPStatusError, MalformedResponse, Unsupported
from heygen_client.models import Capabilities, JobResult, JobStatus, WebhookEndpoint

__all__ = ["API_HOST", "BATCH_MAX_IDS", "HeyGenBackend"]

logger = logging.getLogger(__name__)

#: HeyGen's public API, the default ``base_url`` of ``api="heygen"``.
API_HOST = "https://api.heygen.com"
#: Most ids one bulk status request may ask about.
BATCH_MAX_IDS = 100

_ROUTE = "/v3/video-translations"
# The single GET says pending/running/completed/failed; the bulk route says
# queued/processing/completed/failed.  Either word is read on either route.
_RESULTS = {
    "pending": JobResult.PENDING,
    "running": JobResult.PENDING,
    "queued": JobResult.PENDING,
    "processing": JobResult.PENDING,
    "completed": JobResult.COMPLETED,
    "failed": JobResult.ERROR,
}
_NOT_FOUND = "not_found"


def _result(word: object) -> JobResult:
    if isinstance(word, str) and word in _RESULTS:
        return _RESULTS[word]
    raise MalformedResponse(f"unknown HeyGen status {word!r:.100}")


def _refused(error: HTTPStatusError) -> HTTPStatusError:
    """A 401 says what to check; never retried, as no 4xx but 429 is."""
    if error.status_code != 401:
        return error
    refused = HTTPStatusError(
        f"{error} (HeyGen refused the API key: check api_key / HEYGEN_API_KEY)",
        status_code=401,
        body=error.body,
    )
    refused.__cause__ = error.__cause__
    return refused


def _envelope(data: object) -> object:
    """The ``data`` of ``{"data": ...}``."""
    if not isinstance(data, dict) or "data" not in data:
        raise MalformedResponse(f"answer without a data envelope: {data!r:.200}")
    return data["data"]


def _bulk_status(job_id: str, entry: dict[str, Any], now: float) -> JobStatus:
    """One entry of a bulk answer; its ``error.message`` is the ``failure_message``."""
    fields = dict(entry)
    error = entry.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        fields.setdefault("failure_message", error["message"])
    return JobStatus(
        job_id, _result(entry.get("status")), received_at=now, extra=MappingProxyType(fields)
    )


def _next_token(page: dict[str, Any], entries: list[Any]) -> str | None:
    """The token of the page after ``page``, or None when it is the last."""
    if not page.get("has_more"):
        return None
    token = page.get("next_token")
    # A page that says "more" must name it, and hold an entry, or paging never ends.
    if not isinstance(token, str) or not token or not entries:
        raise MalformedResponse(f"bulk answer with has_more but no next page: {page!r:.200}")
    return token


class HeyGenBackend(BaseBackend):
    """Speaks HeyGen's v3 video-translation routes.

    Args:
        transport: the HTTP plumbing; it sends the ``X-Api-Key`` header.
        details: when a bulk answer says a job ended, fetch its single status
            too (one request per finished job), so that the final status holds
            ``video_url``, the caption URLs and ``failure_message``, which bulk
            answers lack.
    """

    name = "heygen"
    known_capabilities: Capabilities | None = Capabilities(batch_max_ids=BATCH_MAX_IDS)

    def __init__(self, transport: Transport, *, details: bool = True) -> None:
        self.transport = transport
        self.details = details

    def capabilities(self) -> Capabilities:
        """Known without asking: bulk status for up to 100 ids, no long-poll, no hints."""
        return Capabilities(batch_max_ids=BATCH_MAX_IDS)

    def get_status(self, job_id: str | None, *, wait: float | None = None) -> JobStatus:
        """``GET /v3/video-translations/{id}``; a 404 is :class:`JobNotFound`."""
        if job_id is None:
            raise Unsupported("the heygen API has no default job: give a video translation id")
        clock = self.transport.wall_clock

        def parse(data: Any, headers: Mapping[str, str]) -> JobStatus:
            fields = _envelope(data)
            if not isinstance(fields, dict):
                raise MalformedResponse(f"translation is not an object: {fields!r:.200}")
            return JobStatus(
                job_id,
                _result(fields.get("status")),
                retry_after=parse_retry_after(headers.get("Retry-After"), now=clock()),
                received_at=clock(),
                extra=MappingProxyType(fields),
            )

        path = f"{_ROUTE}/{urllib.parse.quote(job_id, safe='')}"
        try:
            return self.transport.call("GET", path, parse)
        except HTTPStatusError as exc:
            raise job_not_found(_refused(exc)) from exc.__cause__

    def batch_status(self, job_ids: Sequence[str], *, wait: float | None = None) -> BatchAnswer:
        """``GET /v3/video-translations/statuses``: up to 100 ids, ``not_found`` ones unknown.

        An answer with ``has_more`` is followed page by page (``token=`` its
        ``next_token``, as HeyGen's other v3 lists take it), each page a request.
        """
        if len(job_ids) > BATCH_MAX_IDS:
            raise ValueError(f"at most {BATCH_MAX_IDS} ids per bulk request, got {len(job_ids)}")
        clock = self.transport.wall_clock
        # Statuses keep the caller's id strings, as the scheduler looks them up.
        ours = {job_id: job_id for job_id in job_ids}
        statuses: list[JobStatus] = []
        unknown: list[str] = []

        def parse(data: Any, _headers: Mapping[str, str]) -> str | None:
            """Take one page's entries; the token of the next page, if there is one."""
            entries = _envelope(data)
            if not isinstance(entries, list):
                raise MalformedResponse(f"bulk answer data is not a list: {entries!r:.200}")
            now = clock()
            for entry in entries:
                if not isinstance(entry, dict) or not isinstance(entry.get("video_id"), str):
                    raise MalformedResponse(f"bulk entry without a video_id: {entry!r:.200}")
                video_id: str = entry["video_id"]
                key = ours.get(video_id, video_id)
                if entry.get("status") == _NOT_FOUND:
                    unknown.append(key)
                else:
                    statuses.append(_bulk_status(key, entry, now))
            return _next_token(data, entries)

        ids = ",".join(job_ids)
        token: str | None = None
        # Every page has an entry, so a list of ids has at most as many pages.
        for _ in range(max(1, len(job_ids))):
            params = {"video_translation_ids": ids}
            if token is not None:
                params["token"] = token
            try:
                token = self.transport.call("GET", f"{_ROUTE}/statuses", parse, params=params)
            except HTTPStatusError as exc:
                raise _refused(exc) from exc.__cause__
            if token is None:
                break
        else:
            raise MalformedResponse(f"bulk answer for {len(job_ids)} ids still has more pages")
        if self.details:
            statuses = [self._detailed(status) for status in statuses]
        return BatchAnswer(statuses, unknown)

    def _detailed(self, status: JobStatus) -> JobStatus:
        """A final bulk status replaced by the single GET's, which has every field."""
        if not status.is_final or status.job_id is None:
            return status
        try:
            detailed = self.get_status(status.job_id)
        except HeyGenError as exc:
            logger.info("job %s ended; its details are not to be had (%s)", status.job_id, exc)
            return status
        # The job cannot go back to pending: a late replica answering so is ignored.
        return detailed if detailed.is_final else status

    def translate(
        self,
        video_url: str,
        output_languages: Sequence[str],
        fields: Mapping[str, Any],
        *,
        idempotency_key: str,
    ) -> list[JobStatus]:
        """``POST /v3/video-translations`` with ``video: {"type": "url", ...}``.

        ``fields`` go into the body as they are (``title``, ``mode``,
        ``callback_url``, ``input_language``...).  HeyGen answers one id per
        output language, in order.
        """
        languages = list(output_languages)
        body = {"video": {"type": "url", "url": video_url}, "output_languages": languages}
        body.update(fields)
        clock = self.transport.wall_clock

        def parse(data: Any, _headers: Mapping[str, str]) -> list[JobStatus]:
            created = _envelope(data)
            ids = created.get("video_translation_ids") if isinstance(created, dict) else None
            if (
                not isinstance(ids, list)
                or len(ids) != len(languages)
                or not all(isinstance(i, str) and i for i in ids)
            ):
                raise MalformedResponse(
                    f"create answer without one id per language: {created!r:.200}"
                )
            now = clock()
            known = {k: fields[k] for k in ("title", "input_language", "duration") if k in fields}
            return [
                JobStatus(
                    job_id,
                    JobResult.PENDING,
                    received_at=now,
                    extra=MappingProxyType(
                        {"id": job_id, "status": "pending", "output_language": lang, **known}
                    ),
                )
                for job_id, lang in zip(ids, languages, strict=True)
            ]

        try:
            return self.transport.call(
                "POST", _ROUTE, parse, body=body, headers={"Idempotency-Key": idempotency_key}
            )
        except HTTPStatusError as exc:
            raise _refused(exc) from exc.__cause__

    def register_webhook(
        self, url: str, events: Sequence[str] | None, fields: Mapping[str, Any]
    ) -> WebhookEndpoint:
        """``POST /v3/webhooks/endpoints``: HeyGen posts ``events`` (None: all) to ``url``.

        ``fields`` go into the body as they are (``entity_id``...).  The answer
        holds the endpoint's signing secret, which HeyGen shows only now.
        """
        body: dict[str, Any] = {"url": url, "events": None if events is None else list(events)}
        body.update(fields)

        def parse(data: Any, _headers: Mapping[str, str]) -> WebhookEndpoint:
            answer = _envelope(data)
            if not isinstance(answer, dict):
                raise MalformedResponse(f"endpoint answer is not an object: {answer!r:.100}")
            endpoint_id, secret = answer.get("endpoint_id"), answer.get("secret")
            kinds = answer.get("events")
            if not (isinstance(endpoint_id, str) and endpoint_id and isinstance(secret, str)):
                # Never shown: the answer may hold the secret.
                raise MalformedResponse("endpoint answer without an endpoint_id and a secret")
            status = answer.get("status")
            return WebhookEndpoint(
                endpoint_id=endpoint_id,
                url=answer["url"] if isinstance(answer.get("url"), str) else url,
                secret=secret,
                events=tuple(map(str, kinds)) if isinstance(kinds, list) else None,
                status=status if isinstance(status, str) else None,
                extra=MappingProxyType(answer),
            )

        try:
            return self.transport.call("POST", "/v3/webhooks/endpoints", parse, body=body)
        except HTTPStatusError as exc:
            raise _refused(exc) from exc.__cause__
