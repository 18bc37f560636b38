"""``heygen-client --api heygen``: HeyGen's v3 routes on the mock server, the key from
``$HEYGEN_API_KEY``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator

import pytest
import requests

from heygen_client import _commands
from heygen_client._cli import main
from heygen_client._exit_codes import ExitCode
from mock_server.testing import LiveServer

pytestmark = pytest.mark.live

KEY = "cli-key-7Hq2"

Capture = pytest.CaptureFixture[str]


@pytest.fixture(scope="module")
def v3_server() -> Iterator[LiveServer]:
    with LiveServer("--api-key", KEY, "--time-scale", "60", "--seed", "2") as server:
        yield server


def create(server: LiveServer, languages: list[str]) -> list[str]:
    body = {
        "video": {"type": "url", "url": "https://example.com/v.mp4"},
        "output_languages": languages,
        "duration": 15,
    }
    answer = requests.post(
        server.url + "/v3/video-translations", json=body, headers={"X-Api-Key": KEY}, timeout=5
    )
    answer.raise_for_status()
    ids: list[str] = answer.json()["data"]["video_translation_ids"]
    return ids


def test_wait_and_status_speak_heygens_api(
    v3_server: LiveServer, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEYGEN_API_KEY", KEY)
    ids = create(v3_server, ["fr", "de"])
    assert main(["--api", "heygen", "wait", *ids, "--json", "--url", v3_server.url]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["job_id"] for r in records} == set(ids)
    assert {r["state"] for r in records} == {"completed"}
    assert main(["--api", "heygen", "status", ids[0], "--json", "--url", v3_server.url]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["extra"]["status"] == "completed"
    assert status["extra"]["video_url"].startswith("https://")
    assert main(["--api", "heygen", "wait", "no-such-id", "--url", v3_server.url]) == (
        ExitCode.SERVER_ERROR
    )
    assert "404" in capsys.readouterr().out


def test_a_failed_translation_shows_heygens_failure_message(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEYGEN_API_KEY", KEY)
    with LiveServer("--api-key", KEY, "--time-scale", "60", "--error-rate", "1") as failing:
        [job_id] = create(failing, ["fr"])
        url = ["--url", failing.url]
        assert main(["--api", "heygen", "wait", job_id, *url]) == ExitCode.JOB_ERROR
        waited = capsys.readouterr().out
        assert main(["--api", "heygen", "wait", job_id, "--json", *url]) == ExitCode.JOB_ERROR
        record = json.loads(capsys.readouterr().out)
        assert main(["--api", "heygen", "status", job_id, *url]) == ExitCode.OK
        status = capsys.readouterr().out
        assert main(["--api", "heygen", "status", job_id, "--json", *url]) == ExitCode.OK
        status_record = json.loads(capsys.readouterr().out)
    message = status_record["extra"]["failure_message"]
    assert message.startswith("Translation failed")
    assert f"{job_id}: error after" in waited
    assert message in waited
    assert record["state"] == "error"
    assert message in record["error"]
    assert status == f"{job_id}: the job ended in error: {message}\n"
    assert message in status_record["error"]


def test_a_wrong_key_is_a_server_error_and_the_key_is_not_shown(
    v3_server: LiveServer, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEYGEN_API_KEY", "wrong-" + KEY)
    [job_id] = create(v3_server, ["fr"])
    assert main(["--api", "heygen", "status", job_id, "--url", v3_server.url]) == (
        ExitCode.SERVER_ERROR
    )
    out, err = capsys.readouterr()
    assert "401" in err
    assert KEY not in out + err


@pytest.mark.parametrize(
    ("env", "argv", "message"),
    [
        ("", ["wait", "j1"], "needs an API key: set $HEYGEN_API_KEY"),
        ("has space", ["wait", "j1"], "printable ASCII"),
        (KEY, ["wait"], "no default job"),
        (KEY, ["status"], "no default job"),
        (KEY, ["submit"], "needs --api mock"),
    ],
)
def test_usage_errors(
    env: str, argv: list[str], message: str, capsys: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEYGEN_API_KEY", env)
    with pytest.raises(SystemExit) as info:
        main(["--api", "heygen", *argv])
    assert info.value.code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert message in err
    assert not env or env not in err


@pytest.mark.parametrize(
    ("api", "url"), [("heygen", "https://api.heygen.com"), ("mock", "http://127.0.0.1:5000")]
)
def test_each_api_has_its_default_url(api: str, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEYGEN_URL", raising=False)
    monkeypatch.setenv("HEYGEN_API_KEY", KEY)
    seen: list[tuple[str, dict[str, object]]] = []

    def status(args: argparse.Namespace) -> int:
        seen.append((args.url, args.client))
        return 0

    # No request: the command itself is replaced, after main() resolved its arguments.
    monkeypatch.setattr(_commands, "run_status", status)
    assert main(["--api", api, "status", "j1"]) == 0
    assert seen[0][0] == url
    assert seen[0][1] == ({"api": "heygen", "api_key": KEY} if api == "heygen" else {})
