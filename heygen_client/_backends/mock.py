"""The mock server's protocol (and the bare seed contract it extends).

Routes: ``GET /status[?job_id=][&wait=]``, ``POST /status/batch``,
``GET /capabilities``, ``POST /jobs``, ``GET /jobs/ID`` (docs/protocol.md).
A server that offers none of the extras is a plain seed server: discovery
answers 404 there, and the client polls ``GET /status`` alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from heygen_client._backends import BatchAnswer, job_not_found
from heygen_client._transport import Transport, parse_retry_after, path_segment
from heygen_client.errors import HTTPStatusError, MalformedResponse, TransportError
from heygen_client.models import PLAIN, Capabilities, JobStatus

__all__ = ["MockBackend"]

logger = logging.getLogger(__name__)

# HeyGen's create fields that the mock knows under another name.
_MOCK_NAMES = {"input_language": "source_language", "duration": "video_length"}


class MockBackend:
    """Speaks our mock server's routes; discovers what the server offers.

    Args:
        transport: the HTTP plumbing.
        discover: ask ``GET /capabilities`` once; False treats the server as plain.
    """

    name = "mock"

    def __init__(self, transport: Transport, *, discover: bool = True) -> None:
        self.transport = transport
        self.known_capabilities: Capabilities | None = None if discover else PLAIN

    def capabilities(self) -> Capabilities:
        """``GET /capabilities``; a 4xx (404) or an unreadable answer means a plain server.

        Raises:
            TransportError, HTTPStatusError: a transient failure (no answer, 5xx,
                429): the caller treats the server as plain for now and asks again.
        """
        try:
            data, _ = self.transport.request("GET", "/capabilities")
        except (TransportError, HTTPStatusError) as exc:
            if isinstance(exc, HTTPStatusError) and not exc.retryable:
                logger.info("no capabilities (%s): a plain seed server", exc)
                return PLAIN
            raise
        except MalformedResponse as exc:
            logger.info("no capabilities (%s): a plain seed server", exc)
            return PLAIN
        caps = Capabilities.from_json(data)
        logger.info("server capabilities: %s", caps)
        return caps

    def get_status(self, job_id: str | None, *, wait: float | None = None) -> JobStatus:
        """``GET /status[?job_id=ID][&wait=S]``."""
        params: dict[str, str] = {}
        if job_id is not None:
            params["job_id"] = job_id
        if wait:
            params["wait"] = f"{wait:g}"
        clock = self.transport.wall_clock

        def parse(data: Any, headers: Mapping[str, str]) -> JobStatus:
            return JobStatus.from_json(
                data,
                job_id=job_id,
                retry_after=parse_retry_after(headers.get("Retry-After"), now=clock()),
                received_at=clock(),
            )

        try:
            return self.transport.call("GET", "/status", parse, params=params or None, wait=wait)
        except HTTPStatusError as exc:
            raise job_not_found(exc) from exc.__cause__

    def batch_status(self, job_ids: Sequence[str], *, wait: float | None = None) -> BatchAnswer:
        """``POST /status/batch``; a 404/405 there means the route is not offered."""
        body: dict[str, Any] = {"job_ids": list(job_ids)}
        if wait:
            body["wait"] = wait

        def parse(data: Any, _headers: Mapping[str, str]) -> BatchAnswer:
            return self._batch_answer(data, job_ids)

        return self.transport.call("POST", "/status/batch", parse, body=body, wait=wait)

    def _batch_answer(self, data: Any, asked: Sequence[str]) -> BatchAnswer:
        if not isinstance(data, dict) or not isinstance(data.get("statuses"), list):
            raise MalformedResponse(f"batch answer without a statuses list: {data!r:.200}")
        now = self.transport.wall_clock()
        # Statuses keep the caller's id strings, not equal copies parsed from the
        # answer (~100 bytes per tracked job at scale).
        ours = {job_id: job_id for job_id in asked}
        for item in data["statuses"]:
            if isinstance(item, dict) and isinstance(item.get("job_id"), str):
                item["job_id"] = ours.get(item["job_id"], item["job_id"])
        statuses = [JobStatus.from_json(item, received_at=now) for item in data["statuses"]]
        unknown = data.get("unknown") or []
        if not isinstance(unknown, list) or not all(isinstance(u, str) for u in unknown):
            raise MalformedResponse(f"batch 'unknown' is not a list of ids: {unknown!r:.200}")
        return BatchAnswer(statuses, unknown)

    def create_job(self, options: Mapping[str, Any]) -> JobStatus:
        """``POST /jobs`` with the given body; returns the new job's first status."""
        clock = self.transport.wall_clock

        def parse(data: Any, _headers: Mapping[str, str]) -> JobStatus:
            if not isinstance(data, dict) or not isinstance(data.get("job_id"), str):
                raise MalformedResponse(f"POST /jobs answer without a job_id: {data!r:.200}")
            data.setdefault("result", "pending")
            return JobStatus.from_json(data, received_at=clock())

        return self.transport.call("POST", "/jobs", parse, body=dict(options))

    def translate(
        self,
        video_url: str,
        output_languages: Sequence[str],
        fields: Mapping[str, Any],
        *,
        idempotency_key: str,
    ) -> list[JobStatus]:
        """One ``POST /jobs`` per language (the mock has no multi-language create).

        HeyGen's field names map to the mock's (``input_language`` to
        ``source_language``, ``duration`` to ``video_length``); the mock's own
        (``delay``, ``outcome``) pass through, and so does anything else, which
        the server refuses by name.  The video itself is not fetched by the mock.
        """
        body = {_MOCK_NAMES.get(name, name): value for name, value in fields.items()}
        return [
            self.create_job({**body, "target_language": language}) for language in output_languages
        ]

    def get_job(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/ID``: the job's full record."""

        def parse(data: Any, _headers: Mapping[str, str]) -> dict[str, Any]:
            if not isinstance(data, dict):
                raise MalformedResponse(f"job record is not an object: {data!r:.200}")
            return data

        path = "/jobs/" + path_segment(job_id)
        try:
            return self.transport.call("GET", path, parse)
        except HTTPStatusError as exc:
            raise job_not_found(exc) from exc.__cause__
