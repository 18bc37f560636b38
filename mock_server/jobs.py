"""Jobs whose id *is* their state.

A job's whole schedule (creation time, delay, outcome, descriptive fields)
is packed into its id and signed with HMAC. Any process that knows the secret
can therefore answer for any job: state survives restarts and is the same in
every gunicorn worker, with no shared storage. The outcome is fixed at
creation, so it can never be re-rolled.

Id layout (before base64url, no padding, prefixed with ``j``)::

    version:1  flags:1  created_at:f64  delay:f64  nonce:4
    [video_length:f64]  [len:1 text]*  tag:12

``flags`` holds the outcome, whether ``video_length`` is present, which
text fields follow and which of them were truncated. Text fields share what
is left of the 127-character budget (61 bytes, 53 with ``video_length``);
a field that does not fit is cut at a character boundary and listed in
``truncated_fields``. A garbled, truncated or re-signed id decodes to
``None``: the server treats it as unknown.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import struct
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["completed", "error"]
Result = Literal["pending", "completed", "error"]

TEXT_FIELDS: tuple[str, ...] = ("source_language", "target_language", "title")
MAX_ID_LENGTH = 128
#: Longest accepted descriptive text field, in characters (before truncation).
MAX_TEXT_LENGTH = 1000
#: Longest accepted ``video_length``, in seconds (a week of video).
MAX_VIDEO_LENGTH = 7 * 86400.0

_VERSION = 1
_HEADER = struct.Struct(">BBddI")
_FLOAT = struct.Struct(">d")
_TAG_BYTES = 12
_OUTCOME_ERROR = 0x01
_HAS_VIDEO_LENGTH = 0x02
_TEXT_BITS = {"source_language": 0x04, "target_language": 0x08, "title": 0x10}
_TRUNCATED_BITS = {"source_language": 0x20, "target_language": 0x40, "title": 0x80}
# 'j' + base64 of at most 95 bytes = 128 characters.
_MAX_PAYLOAD = (MAX_ID_LENGTH - 1) * 3 // 4
_ID_RE = re.compile(r"j[A-Za-z0-9_-]{1,127}")


@dataclass(frozen=True)
class Job:
    """One translation job's fixed schedule.

    Attributes:
        created_at: Unix time the job was created.
        delay: Seconds from creation until it finishes.
        outcome: What it finishes as.
        nonce: Random bits that make ids of otherwise identical jobs differ.
        video_length: Seconds of video, when given.
        source_language: Descriptive, possibly truncated.
        target_language: Descriptive, possibly truncated.
        title: Descriptive, possibly truncated.
        truncated_fields: Names of text fields cut to fit in the id.
    """

    created_at: float
    delay: float
    outcome: Outcome
    nonce: int
    video_length: float | None = None
    source_language: str | None = None
    target_language: str | None = None
    title: str | None = None
    truncated_fields: tuple[str, ...] = ()

    @property
    def finishes_at(self) -> float:
        """Unix time at which the job leaves pending."""
        return self.created_at + self.delay

    def result(self, now: float) -> Result:
        """The job's state at ``now``: pending until ``finishes_at``, then its outcome."""
        return "pending" if now < self.finishes_at else self.outcome

    def texts(self) -> dict[str, str]:
        """The descriptive text fields that are set."""
        values = {
            "source_language": self.source_language,
            "target_language": self.target_language,
            "title": self.title,
        }
        return {name: value for name, value in values.items() if value is not None}


class JobCodec:
    """Turns jobs into signed ids and back.

    Args:
        secret: HMAC key. Processes with the same secret understand each
            other's ids.
    """

    def __init__(self, secret: str) -> None:
        self._key = secret.encode("utf-8")

    def encode(self, job: Job) -> tuple[str, Job]:
        """Pack and sign ``job``.

        Returns:
            The id, and the job as it can be recovered from it (text fields
            possibly truncated, ``truncated_fields`` set).
        """
        flags = _OUTCOME_ERROR if job.outcome == "error" else 0
        tail = b""
        if job.video_length is not None:
            flags |= _HAS_VIDEO_LENGTH
            tail += _FLOAT.pack(job.video_length)
        budget = _MAX_PAYLOAD - _HEADER.size - len(tail) - _TAG_BYTES
        kept: dict[str, str] = {}
        truncated: list[str] = []
        for name, text in job.texts().items():
            if budget < 1:  # not even room for the length byte: dropped
                truncated.append(name)
                flags |= _TRUNCATED_BITS[name]
                continue
            raw = _cut_utf8(text, min(budget - 1, 255))
            if len(raw) < len(text.encode("utf-8")):
                truncated.append(name)
                flags |= _TRUNCATED_BITS[name]
            flags |= _TEXT_BITS[name]
            tail += bytes([len(raw)]) + raw
            budget -= 1 + len(raw)
            kept[name] = raw.decode("utf-8")
        payload = (
            _HEADER.pack(_VERSION, flags, job.created_at, job.delay, job.nonce & 0xFFFFFFFF) + tail
        )
        payload += self._tag(payload)
        job_id = "j" + base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii")
        stored = Job(
            created_at=job.created_at,
            delay=job.delay,
            outcome=job.outcome,
            nonce=job.nonce & 0xFFFFFFFF,
            video_length=job.video_length,
            truncated_fields=tuple(truncated),
            **kept,
        )
        return job_id, stored

    def decode(self, job_id: str) -> Job | None:
        """The job behind ``job_id``, or ``None`` if the id is not one of ours."""
        if len(job_id) > MAX_ID_LENGTH or not _ID_RE.fullmatch(job_id):
            return None
        body = job_id[1:]
        try:
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            return None
        # Non-canonical base64 (stray low bits) would let several strings
        # name one job and split its per-job counters.
        if base64.urlsafe_b64encode(payload).rstrip(b"=").decode("ascii") != body:
            return None
        if len(payload) < _HEADER.size + _TAG_BYTES:
            return None
        data, tag = payload[:-_TAG_BYTES], payload[-_TAG_BYTES:]
        if not hmac.compare_digest(tag, self._tag(data)):
            return None
        try:
            return _unpack(data)
        except (struct.error, ValueError, IndexError, UnicodeDecodeError):
            return None

    def _tag(self, data: bytes) -> bytes:
        return hmac.new(self._key, data, hashlib.sha256).digest()[:_TAG_BYTES]


def _unpack(data: bytes) -> Job | None:
    version, flags, created_at, delay, nonce = _HEADER.unpack_from(data)
    if version != _VERSION or not (math.isfinite(created_at) and math.isfinite(delay)):
        return None
    offset = _HEADER.size
    video_length: float | None = None
    if flags & _HAS_VIDEO_LENGTH:
        (video_length,) = _FLOAT.unpack_from(data, offset)
        offset += _FLOAT.size
    texts: dict[str, str] = {}
    for name in TEXT_FIELDS:
        if flags & _TEXT_BITS[name]:
            size = data[offset]
            texts[name] = data[offset + 1 : offset + 1 + size].decode("utf-8")
            offset += 1 + size
    truncated = tuple(name for name in TEXT_FIELDS if flags & _TRUNCATED_BITS[name])
    if offset != len(data):
        raise ValueError("trailing bytes")
    return Job(
        created_at=created_at,
        delay=delay,
        outcome="error" if flags & _OUTCOME_ERROR else "completed",
        nonce=nonce,
        video_length=video_length,
        truncated_fields=truncated,
        **texts,
    )


def _cut_utf8(text: str, limit: int) -> bytes:
    """``text`` as UTF-8, cut to at most ``limit`` bytes without splitting a character."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return raw
    return raw[:limit].decode("utf-8", "ignore").encode("utf-8")
