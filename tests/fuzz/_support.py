"""Shared by the fuzzers: a traffic counter and a leak detector.

Each fuzzed app is wrapped in ``Traffic``, a WSGI middleware that tallies
responses by status code. ``tests/fuzz/conftest.py`` prints the totals at the
end of the run, which is where the figures in ``docs/reliability.md`` come
from.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any
from urllib.parse import unquote_plus
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

#: Multiplies every fuzzer's examples: ``HEYGEN_FUZZ_SCALE=3 pytest tests/fuzz``
#: is the long run docs/reliability.md quotes; ``make test`` runs the default 1.
SCALE = float(os.environ.get("HEYGEN_FUZZ_SCALE", "1"))

#: Every ``Traffic`` made in this process, by label, for the end-of-run summary.
REGISTRY: dict[str, Traffic] = {}

#: Fake-clock start of the fuzzed apps.
START = 1_700_000_000.0
#: Text that only shows up when an error page or a traceback escapes.
LEAK_MARKERS = ("traceback (most recent call last)", 'file "', "<html", "<!doctype", "werkzeug")

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]


class Traffic:
    """WSGI middleware counting responses by status code.

    Args:
        label: Name in the summary, e.g. ``"openapi/default"``.
        app: The WSGI application to wrap.
        before: Called before each request is passed on (e.g. to move a fake clock).
    """

    def __init__(
        self, label: str, app: WSGIApplication, before: Callable[[], object] | None = None
    ) -> None:
        self.label = label
        self.app = app
        self.before = before
        self.statuses: Counter[int] = Counter()
        self._lock = threading.Lock()
        REGISTRY[label] = self

    @property
    def requests(self) -> int:
        """Responses started so far."""
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        """Responses with a 5xx status."""
        return sum(n for code, n in self.statuses.items() if code >= 500)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        def counting_start_response(
            status: str,
            headers: list[tuple[str, str]],
            exc_info: _ExcInfo | None = None,
        ) -> object:
            with self._lock:
                self.statuses[int(status.split(" ", 1)[0])] += 1
            return start_response(status, headers, exc_info)

        if self.before is not None:
            self.before()
        return self.app(environ, counting_start_response)  # type: ignore[arg-type]


def strings(value: Any) -> Iterator[str]:
    """Every string in a decoded JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def request_texts(url: str, body: bytes | str | None) -> list[str]:
    """What a request said, decoded: the URL and the body (and the body's JSON strings)."""
    texts = [unquote_plus(url)]
    if body:
        raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        texts.append(raw)
        with contextlib.suppress(ValueError, RecursionError):
            texts.extend(strings(json.loads(raw)))
    return [text.lower() for text in texts]


def leaks(response_body: bytes, echoed: list[str]) -> list[str]:
    """Leak markers found in a response body, other than echoes of the request.

    The server quotes bad input back in error messages and stores job fields,
    and the fuzzers do send strings like ``<html``; such echoes are fine.
    """
    text = response_body.decode("utf-8", "replace")
    try:
        found = [s.lower() for s in strings(json.loads(text))]
    except (ValueError, RecursionError):
        found = [text.lower()]
    return [
        marker
        for marker in LEAK_MARKERS
        for value in found
        if marker in value and not any(marker in said for said in echoed)
    ]
