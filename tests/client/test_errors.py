"""The exception tree, the one mapping of requests exceptions, Retry-After parsing."""

from __future__ import annotations

import email.utils
import inspect

import pytest
import requests
import requests.exceptions

from heygen_client import errors
from heygen_client._error_map import EXCEPTION_MAP, map_exception, map_requests_errors
from heygen_client._transport import parse_retry_after
from heygen_client.errors import (
    ClientClosed,
    ConnectTimeout,
    DeadlineExceeded,
    HeyGenError,
    HTTPStatusError,
    JobNotFound,
    MalformedResponse,
    RateLimited,
    ReadTimeout,
    TranslationFailed,
    TransportError,
    TransportTimeout,
)
from heygen_client.models import JobResult, JobStatus

REQUESTS_EXCEPTIONS = sorted(
    (
        cls
        for cls in vars(requests.exceptions).values()
        if inspect.isclass(cls) and issubclass(cls, requests.exceptions.RequestException)
    ),
    key=lambda cls: cls.__name__,
)


def test_every_requests_exception_is_in_the_map() -> None:
    assert REQUESTS_EXCEPTIONS
    missing = [cls.__name__ for cls in REQUESTS_EXCEPTIONS if cls not in EXCEPTION_MAP]
    assert not missing


@pytest.mark.parametrize("cls", REQUESTS_EXCEPTIONS, ids=lambda c: c.__name__)
def test_every_requests_exception_is_mapped_and_chained(cls: type[Exception]) -> None:
    args = ("boom", "doc", 0) if cls is requests.exceptions.JSONDecodeError else ("boom",)
    original = cls(*args)
    with pytest.raises(HeyGenError) as info, map_requests_errors():
        raise original
    assert isinstance(info.value, EXCEPTION_MAP[cls][0])
    assert info.value.__cause__ is original


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (requests.exceptions.ConnectTimeout, ConnectTimeout),
        (requests.exceptions.ReadTimeout, ReadTimeout),
        (requests.exceptions.ConnectionError, TransportError),
        (requests.exceptions.JSONDecodeError, MalformedResponse),
        (requests.exceptions.InvalidURL, TransportError),
    ],
)
def test_specific_mappings(cls: type[Exception], expected: type[HeyGenError]) -> None:
    args = ("x", "doc", 0) if cls is requests.exceptions.JSONDecodeError else ("x",)
    assert type(map_exception(cls(*args))) is expected


def test_retryable_flags() -> None:
    assert map_exception(requests.exceptions.ConnectionError("x")).retryable  # type: ignore[attr-defined]
    assert not map_exception(requests.exceptions.InvalidURL("x")).retryable  # type: ignore[attr-defined]
    assert HTTPStatusError("x", status_code=503).retryable
    assert RateLimited("x", status_code=429).retryable
    assert not HTTPStatusError("x", status_code=400).retryable


def test_os_errors_are_mapped_too() -> None:
    with pytest.raises(TransportError), map_requests_errors():
        raise ConnectionResetError("reset")
    with pytest.raises(TransportTimeout), map_requests_errors():
        raise TimeoutError("slow")


def test_tree() -> None:
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), HeyGenError)
    assert issubclass(DeadlineExceeded, TimeoutError)
    assert issubclass(TransportTimeout, TimeoutError)
    assert issubclass(RateLimited, HTTPStatusError)
    assert issubclass(JobNotFound, HTTPStatusError)
    assert issubclass(ClientClosed, RuntimeError)
    status = JobStatus("j1", JobResult.ERROR)
    failed = TranslationFailed("j1", status)
    assert (failed.job_id, failed.status) == ("j1", status)
    assert "j1" in str(failed)
    # every class is drawn in the module docstring
    for name in errors.__all__:
        assert name in (errors.__doc__ or "")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-1", None),
        ("soon", None),
        ("inf", None),
        ("nan", None),
    ],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=0.0) == expected


def test_parse_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    future = email.utils.formatdate(now + 30, usegmt=True)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(future, now=now) == pytest.approx(30.0)
    assert parse_retry_after(past, now=now) == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00", now=now) is None
