"""What a user reads when something goes wrong: our words, the URL, the job.

urllib3's text ("Max retries exceeded ... NewConnectionError(...)") stays in
``__cause__``; the message says plainly what happened.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from heygen_client import (
    ConnectTimeout,
    JobNotFound,
    ReadTimeout,
    TranslationClient,
    TransportError,
    WaitTimeout,
)
from heygen_client.policies import Fixed, RetryPolicy
from mock_server.testing import LiveServer, free_port


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A server that accepts connections (in its backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_connection_refused_names_the_url_in_our_words() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with TranslationClient(url, discover=False) as client, pytest.raises(TransportError) as info:
        client.get_status("abc")
    assert str(info.value) == f"cannot connect to {url} (connection refused)"
    assert not isinstance(info.value, ConnectTimeout | ReadTimeout)
    assert "NewConnectionError" not in str(info.value)
    assert info.value.__cause__ is not None  # the details stay there


def test_a_silent_server_is_a_read_timeout_naming_the_request(silent_url: str) -> None:
    with (
        TranslationClient(silent_url, discover=False, read_timeout=0.3) as client,
        pytest.raises(ReadTimeout) as info,
    ):
        client.get_status("abc")
    assert str(info.value) == f"GET {silent_url}/status: no answer within the read timeout"


def test_a_future_failed_by_its_requests_names_its_job_and_the_tries() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    retry = RetryPolicy(max_attempts=2, base=0.01, cap=0.01)
    with TranslationClient(url, discover=False, retry=retry, policy=Fixed(0.01)) as client:
        futures = [client.track("abc"), client.track("def")]
        errors = [future.exception(timeout=10) for future in futures]
    assert [str(e) for e in errors] == [
        f"job {name}: cannot connect to {url} (connection refused) (gave up after 2 tries)"
        for name in ("abc", "def")
    ]
    assert all(isinstance(e, TransportError) and e.__cause__ is not None for e in errors)


def test_result_timeout_says_what_was_last_seen() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with TranslationClient(url, discover=False, policy=Fixed(0.05)) as client:
        future = client.track("abc")
        with pytest.raises(WaitTimeout) as info:
            future.result(timeout=0.5)
    assert isinstance(info.value, TimeoutError)
    message = str(info.value)
    assert message.startswith("job abc not done within 0.5 s: its last request failed (")
    assert message.endswith(f"in a row): cannot connect to {url} (connection refused)")


def test_result_timeout_on_a_pending_job_gives_its_last_status() -> None:
    with LiveServer("--delay", "30", "--plain") as server, TranslationClient(server.url) as client:
        job_id = client.create_job().job_id
        future = client.track(job_id)
        with pytest.raises(WaitTimeout) as info:
            future.result(timeout=0.5)
    assert str(info.value).startswith(f"job {job_id} not done within 0.5 s: last seen pending")
    assert info.value.last is not None
    assert info.value.last.result == "pending"


def test_result_timeout_during_a_held_long_poll_says_listening() -> None:
    with LiveServer("--delay", "30") as server, TranslationClient(server.url) as client:
        future = client.track(client.create_job().job_id)
        with pytest.raises(WaitTimeout) as info:
            future.result(timeout=0.5)
        assert future.listening
    assert str(info.value).endswith("the server holds a long-poll open for it (listening)")


def test_an_unknown_job_is_named() -> None:
    with LiveServer() as server, TranslationClient(server.url) as client:
        error = client.track("no-such-job").exception(timeout=10)
    assert isinstance(error, JobNotFound)
    assert "no-such-job" in str(error)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("127.0.0.1:5055", "http:// or https:// URL with a host"),
        ("ftp://example.com", "http:// or https:// URL with a host"),
        ("http://", "http:// or https:// URL with a host"),
    ],
)
def test_a_bad_url_is_refused_where_it_is_given(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        TranslationClient(url)
