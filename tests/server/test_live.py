"""The real server process over real HTTP (``mock_server.testing.LiveServer``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from mock_server.testing import LiveServer

pytestmark = pytest.mark.live

Factory = Callable[..., LiveServer]


@pytest.fixture(scope="module")
def shared_server() -> Iterator[LiveServer]:
    """One server for the tests that only add jobs of their own (starting one costs ~0.3 s)."""
    server = LiveServer("--delay", "1", "--seed", "1")
    yield server
    server.stop()


def test_plain_seed_contract(live_server_factory: Factory) -> None:
    server = live_server_factory("--plain", "--delay", "0.3")
    with requests.Session() as http:
        response = http.get(server.url + "/status", timeout=5)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {"result": "pending"}
        assert "Retry-After" not in response.headers
        assert http.get(server.url + "/capabilities", timeout=5).status_code == 404
        deadline = time.monotonic() + 5
        while http.get(server.url + "/status", timeout=5).json()["result"] == "pending":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for _ in range(5):
            assert http.get(server.url + "/status", timeout=5).json() == {"result": "completed"}


def test_jobs_hints_and_long_poll(live_server: LiveServer) -> None:
    with requests.Session() as http:
        created = http.post(live_server.url + "/jobs", json={"delay": 0.5}, timeout=5)
        assert created.status_code == 201
        job_id = created.json()["job_id"]
        assert created.headers["Location"] == f"/jobs/{job_id}"
        status = http.get(live_server.url + "/status", params={"job_id": job_id}, timeout=5)
        assert status.json()["result"] == "pending"
        assert int(status.headers["Retry-After"]) >= 1
        assert 0 <= status.json()["progress"] < 1
        started = time.monotonic()
        held = http.get(
            live_server.url + "/status", params={"job_id": job_id, "wait": 10}, timeout=15
        )
        elapsed = time.monotonic() - started
        assert held.json() == {"job_id": job_id, "result": "completed"}
        # Woken when the job ended (~0.5 s), not at the end of the wait.
        assert elapsed < 3
        record = http.get(f"{live_server.url}/jobs/{job_id}", timeout=5).json()
        assert record["status_requests"] == 2
        assert held.json()["result"] == record["outcome"]
        assert record["finishes_at"] <= time.time() + 0.1
    capabilities = live_server.get_json("/capabilities")
    assert capabilities["long_poll"] == {"max_wait": 30.0}


def test_long_polls_do_not_block_other_requests(shared_server: LiveServer) -> None:
    live_server = shared_server
    url = live_server.url
    with requests.Session() as http:
        job_id = http.post(url + "/jobs", json={"delay": 2.5}, timeout=5).json()["job_id"]

    def long_poll() -> str:
        with requests.Session() as session:
            response = session.get(
                url + "/status", params={"job_id": job_id, "wait": 20}, timeout=20
            )
            result: str = response.json()["result"]
            return result

    with ThreadPoolExecutor(max_workers=50) as pool:
        polls = [pool.submit(long_poll) for _ in range(50)]
        deadline = time.monotonic() + 5
        while live_server.stats()["long_polls_active"] < 50:
            assert time.monotonic() < deadline, live_server.stats()
            time.sleep(0.02)
        # While 50 requests are held, others are answered at once.
        with requests.Session() as http:
            for path in ("/healthz", "/status", f"/jobs/{job_id}", "/stats"):
                started = time.monotonic()
                assert http.get(url + path, timeout=5).status_code == 200
                assert time.monotonic() - started < 1.0, path
        assert [poll.result(timeout=20) for poll in polls] == ["completed"] * 50
    deadline = time.monotonic() + 5
    while live_server.stats()["long_polls_active"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert live_server.stats()["long_polls_peak"] >= 50


def test_restart_keeps_jobs(live_server_factory: Factory) -> None:
    server = live_server_factory("--delay", "60", "--error-rate", "0.5")
    with requests.Session() as http:
        job = http.post(server.url + "/jobs", json={"delay": 0.3, "title": "Keep me"}, timeout=5)
    job_id = job.json()["job_id"]
    old_port = server.port
    server.restart()
    assert server.port == old_port
    record = server.get_json(f"/jobs/{job_id}")
    assert record["title"] == "Keep me"
    assert record["created_at"] == job.json()["created_at"]
    assert server.stats()["status_requests_total"] == 0


def test_faults_over_http(live_server_factory: Factory) -> None:
    server = live_server_factory("--fault-rate", "1", "--fault-kinds", "drop")
    with requests.Session() as http:
        with pytest.raises(requests.exceptions.RequestException):
            http.get(server.url + "/status", timeout=5)
        # The server survives and other routes are not faulted.
        assert http.get(server.url + "/healthz", timeout=5).json() == {"status": "ok"}
    assert server.stats()["faults_injected"] == {"drop": 1}


def test_rate_limit_over_http(live_server_factory: Factory) -> None:
    server = live_server_factory("--rate-limit", "2", "--fault-kinds", "garbage")
    with requests.Session() as http:
        codes = [http.get(server.url + "/status", timeout=5) for _ in range(4)]
    assert [r.status_code for r in codes][:2] == [200, 200]
    limited = [r for r in codes if r.status_code == 429]
    assert limited
    assert all(int(r.headers["Retry-After"]) >= 1 for r in limited)
    assert limited[0].json()["error"]["code"] == "rate_limited"


def test_port_zero_and_environment_variables() -> None:
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "HEYGEN_MOCK_NO_BATCH": "1",
        "HEYGEN_MOCK_MAX_WAIT": "7",
        "HEYGEN_MOCK_PORT": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "mock_server", "--log-level", "WARNING"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line.startswith("heygen-mock-server listening on http://127.0.0.1:")
        url = line.split()[-1]
        assert not url.endswith(":0")
        with requests.get(url + "/capabilities", timeout=5) as response:
            assert response.json() == {
                "hints": True,
                "long_poll": {"max_wait": 7.0},
                "batch": None,
            }
    finally:
        proc.terminate()
        assert proc.wait(timeout=5) == 0
        assert proc.stdout is not None
        proc.stdout.close()


def test_two_processes_with_one_secret_share_jobs(live_server_factory: Factory) -> None:
    # What gunicorn workers do: separate processes, one secret, no shared storage.
    # (Another secret not knowing the job is checked in-process, test_routes.py.)
    first = live_server_factory("--secret", "shared", "--error-rate", "0.5")
    second = live_server_factory("--secret", "shared", "--error-rate", "0.5")
    with requests.Session() as http:
        created = http.post(first.url + "/jobs", json={"delay": 0.2}, timeout=5).json()
        job_id = created["job_id"]
        record = http.get(f"{second.url}/jobs/{job_id}", timeout=5).json()
        assert record["finishes_at"] == created["finishes_at"]
        held = [
            http.get(f"{server.url}/status", params={"job_id": job_id, "wait": 5}, timeout=10)
            for server in (first, second)
        ]
    assert held[0].json() == held[1].json()
    assert held[0].json()["result"] in ("completed", "error")


def test_batch_long_poll_over_http(shared_server: LiveServer) -> None:
    live_server = shared_server
    with requests.Session() as http:
        ids = [
            http.post(live_server.url + "/jobs", json={"delay": d}, timeout=5).json()["job_id"]
            for d in (30, 0.4, 30)
        ]
        started = time.monotonic()
        response = http.post(
            live_server.url + "/status/batch", json={"job_ids": ids, "wait": 10}, timeout=15
        )
        elapsed = time.monotonic() - started
    assert [s["result"] for s in response.json()["statuses"]] == [
        "pending",
        "completed",
        "pending",
    ]
    assert elapsed < 3
