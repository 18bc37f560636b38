"""Bad input is refused where it is given, with a ValueError that says what is wrong."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from heygen_client import JobNotFound, TranslationClient
from heygen_client._transport import path_segment
from heygen_client._validate import MAX_JOB_ID_LENGTH
from mock_server.testing import LiveServer

NOWHERE = "http://127.0.0.1:9"

BAD_IDS: dict[str, tuple[object, str]] = {
    "int": (123, "must be a str"),
    "bytes": (b"abc", "must be a str"),
    "empty": ("", "empty"),
    "10 KB": ("j" * 10_000, "at most 256"),
    "newline": ("abc\ndef", "control"),
    "NUL": ("abc\x00", "control"),
    "DEL": ("abc\x7f", "control"),
    "C1 control": ("abc\x85", "control"),
}


@pytest.fixture
def client() -> Iterator[TranslationClient]:
    client = TranslationClient(NOWHERE, discover=False)
    yield client
    client.close()


@pytest.mark.parametrize(("job_id", "message"), BAD_IDS.values(), ids=BAD_IDS.keys())
def test_bad_ids_are_refused(client: TranslationClient, job_id: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        client.track(job_id)
    with pytest.raises(ValueError, match=message):
        client.get_status(job_id)
    with pytest.raises(ValueError, match=message):
        client.get_job(job_id)
    assert client.stats().tracked == 0
    assert client.stats().requests == {}


@pytest.mark.parametrize(("job_id", "message"), BAD_IDS.values(), ids=BAD_IDS.keys())
def test_one_bad_id_in_track_many_tracks_none(
    client: TranslationClient, job_id: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        client.track_many(["good-1", job_id, "good-2"])
    assert client.stats().tracked == 0


@pytest.mark.parametrize(
    "job_id", ["j" * MAX_JOB_ID_LENGTH, "a/b", "..", "x?y=1&job_id=z", "vidéo-ünïcode", "a b"]
)
def test_unusual_but_valid_ids_are_tracked(client: TranslationClient, job_id: str) -> None:
    future = client.track(job_id)
    assert future.job_id == job_id
    assert client.stats().tracked == 1
    future.cancel()


def test_get_job_needs_an_id(client: TranslationClient) -> None:
    with pytest.raises(ValueError, match="needs a job id"):
        client.get_job(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        ("abc", "abc"),
        ("../stats", "..%2Fstats"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("x?y=1&job_id=z", "x%3Fy%3D1%26job_id%3Dz"),
        ("a#b", "a%23b"),
        ("é", "%C3%A9"),
    ],
)
def test_path_segment_escapes_what_would_leave_the_segment(value: str, segment: str) -> None:
    assert path_segment(value) == segment


@pytest.mark.live
@pytest.mark.parametrize("job_id", ["../stats", "..", "x?y=1&job_id=z", "a/b"])
def test_get_job_asks_about_exactly_the_id_given(live_server: LiveServer, job_id: str) -> None:
    with TranslationClient(live_server.url) as client:
        real = client.create_job(delay=5).job_id
        assert real is not None
        assert client.get_job(real)["job_id"] == real
        # Unescaped, these asked for /stats, for / or for another job.
        with pytest.raises(JobNotFound):
            client.get_job(job_id)
        with pytest.raises(JobNotFound):
            client.get_job(f"{real}?job_id={real}")


#: Options and values that broke later (NaN workers hung every future, a float
#: or a zero timeout failed every request with a TypeError, a NaN rate turned
#: the budget off); each must be refused by the constructor.
BAD_OPTIONS: list[tuple[str, object]] = [
    ("max_workers", float("nan")),
    ("max_workers", 2.5),
    ("max_workers", 0),
    ("max_workers", True),
    ("max_workers", "6"),
    ("max_long_polls", -1),
    ("max_long_polls", 1.0),
    ("max_long_polls", float("inf")),
    ("connect_timeout", 0),
    ("connect_timeout", float("nan")),
    ("connect_timeout", float("inf")),
    ("connect_timeout", -1),
    ("read_timeout", 0),
    ("long_poll_wait", float("nan")),
    ("long_poll_wait", -1),
    ("batch_linger", float("inf")),
    ("cache_ttl", -0.5),
    ("max_requests_per_second", float("nan")),
    ("max_requests_per_second", 0),
    ("max_requests_per_second", float("inf")),
    ("burst", 0.5),
    ("burst", float("nan")),
    ("burst", True),
]


@pytest.mark.parametrize(("name", "value"), BAD_OPTIONS)
def test_bad_options_are_refused_at_construction(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=name):
        TranslationClient(NOWHERE, **{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url", ["127.0.0.1:5000", "ftp://example.com", "http://", "http:///status", "", "//host"]
)
def test_a_base_url_needs_an_http_scheme_and_a_host(url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        TranslationClient(url)


@pytest.mark.parametrize(
    "options",
    [
        {"max_workers": 1, "max_long_polls": 0, "burst": 1, "long_poll_wait": 0},
        {"connect_timeout": 0.01, "read_timeout": 1, "max_requests_per_second": 0.5},
        {"cache_ttl": 0, "batch_linger": 0},
    ],
)
def test_edge_values_that_make_sense_are_accepted(options: dict[str, object]) -> None:
    make: Callable[..., TranslationClient] = TranslationClient
    make("https://api.example.com/v1", **options).close()


def test_option_groups_and_flat_options_agree() -> None:
    """A group's field and the same flat option are one setting; the flat one wins."""
    from heygen_client import Limits, Polling, Timeouts

    client = TranslationClient(
        "http://127.0.0.1:9",
        timeouts=Timeouts(connect=1.0, read=2.0),
        limits=Limits(max_workers=3),
        polling=Polling(discover=False),
        read_timeout=4.0,
    )
    try:
        assert (client._transport.connect_timeout, client._transport.read_timeout) == (1.0, 4.0)
        assert client._scheduler.config.max_workers == 3
        assert client._scheduler.capabilities is not None  # discover=False: plain at once
    finally:
        client.close()
    with pytest.raises(ValueError, match="max_workers"):
        Limits(max_workers=0)  # a group checks its values where it is made
