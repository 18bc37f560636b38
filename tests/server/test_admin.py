"""The ``/admin/*`` routes: faults at runtime and a counter reset, only with ``--admin``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from mock_server import FakeClock, ServerConfig, create_app
from mock_server.config import MAX_FAULT_LATENCY, MAX_FAULT_RETRY_AFTER
from mock_server.stats import Stats
from tests.server.conftest import MakeApp, new_job
from tests.server.test_openapi import check

OFF = {
    "fault_rate": 0.0,
    "fault_kinds": ["500", "503"],
    "fault_retry_after": 1,
    "latency": 0.0,
    "latency_jitter": 0.0,
}
ADMIN_ROUTES = [
    ("GET", "/admin/faults"),
    ("PUT", "/admin/faults"),
    ("DELETE", "/admin/faults"),
    ("DELETE", "/admin/stats"),
]


@pytest.fixture
def admin(make_app: MakeApp) -> FlaskClient:
    """A client of an app started with ``--admin``."""
    return make_app(admin=True).test_client()


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_admin_routes_are_404_without_the_flag(
    client: FlaskClient, method: str, path: str
) -> None:
    response = client.open(path, method=method, json={"fault_rate": 1.0})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert "--admin" in response.get_json()["error"]["message"]
    check(response, path, method.lower())
    # Nothing changed: status requests are answered normally.
    assert client.get("/status").status_code == 200


def test_get_shows_the_start_up_settings(make_app: MakeApp) -> None:
    client = make_app(
        admin=True, fault_rate=0.25, fault_kinds=("garbage",), latency=0.5
    ).test_client()
    response = client.get("/admin/faults")
    check(response, "/admin/faults", "get")
    assert response.get_json() == {
        **OFF,
        "fault_rate": 0.25,
        "fault_kinds": ["garbage"],
        "latency": 0.5,
    }


def test_put_switches_faults_on_and_delete_off(admin: FlaskClient) -> None:
    job_id = new_job(admin)
    assert admin.get(f"/status?job_id={job_id}").status_code == 200
    response = admin.put(
        "/admin/faults", json={"fault_rate": 1.0, "fault_kinds": ["503"], "fault_retry_after": 7}
    )
    check(response, "/admin/faults", "put")
    assert response.get_json() == {
        **OFF,
        "fault_rate": 1.0,
        "fault_kinds": ["503"],
        "fault_retry_after": 7,
    }
    assert admin.get("/admin/faults").get_json() == response.get_json()
    for url in (f"/status?job_id={job_id}", "/status"):
        faulted = admin.get(url)
        assert faulted.status_code == 503
        assert faulted.headers["Retry-After"] == "7"
    assert admin.post("/status/batch", json={"job_ids": [job_id]}).status_code == 503
    # Other routes are never faulted.
    assert admin.get(f"/jobs/{job_id}").status_code == 200
    assert admin.get("/stats").get_json()["faults_injected"] == {"503": 3}

    response = admin.delete("/admin/faults")
    check(response, "/admin/faults", "delete")
    assert response.get_json() == OFF
    assert admin.get(f"/status?job_id={job_id}").status_code == 200


def test_fields_left_out_take_the_start_up_values(make_app: MakeApp) -> None:
    client = make_app(admin=True, fault_retry_after=4, fault_kinds=("500",)).test_client()
    client.put("/admin/faults", json={"fault_rate": 1.0, "fault_kinds": ["503"], "latency": 2})
    # Not the values of the previous PUT: a PUT replaces, it does not patch.
    assert client.put("/admin/faults", json={"fault_rate": 0.5}).get_json() == {
        **OFF,
        "fault_rate": 0.5,
        "fault_kinds": ["500"],
        "fault_retry_after": 4,
    }
    assert client.put("/admin/faults", json={}).get_json() == {
        **OFF,
        "fault_kinds": ["500"],
        "fault_retry_after": 4,
    }


def test_delete_restores_faults_the_flags_asked_for(make_app: MakeApp) -> None:
    client = make_app(admin=True, fault_rate=1.0, fault_kinds=("500",)).test_client()
    client.put("/admin/faults", json={"fault_rate": 0.0})
    assert client.get("/status").status_code == 200
    client.delete("/admin/faults")
    assert client.get("/status").status_code == 500


def test_duplicate_kinds_count_once(admin: FlaskClient) -> None:
    body = {"fault_kinds": ["503", "500", "503", "503"]}
    assert admin.put("/admin/faults", json=body).get_json()["fault_kinds"] == ["503", "500"]


def test_runtime_latency_holds_status_requests(admin: FlaskClient, clock: FakeClock) -> None:
    admin.put("/admin/faults", json={"latency": 1.5})
    admin.get("/status")
    admin.get("/stats")  # not a status request: never delayed
    assert clock.sleeps == [1.5]
    admin.put("/admin/faults", json={"latency": 1, "latency_jitter": 0.5})
    admin.get("/status")
    assert 1.0 <= clock.sleeps[-1] <= 1.5


@pytest.mark.parametrize(
    "body",
    [
        {"fault_rate": 1.5},
        {"fault_rate": -0.1},
        {"fault_rate": "1"},
        {"fault_rate": True},
        {"fault_rate": None},
        {"fault_rate": 10**400},
        {"fault_kinds": []},
        {"fault_kinds": "503"},
        {"fault_kinds": ["503", "teapot"]},
        {"fault_kinds": [503]},
        {"fault_retry_after": -1},
        {"fault_retry_after": 1.5},
        {"fault_retry_after": True},
        {"fault_retry_after": MAX_FAULT_RETRY_AFTER + 1},
        {"latency": -1},
        {"latency": MAX_FAULT_LATENCY + 1},
        {"latency_jitter": "0.1"},
        {"rate_limit": 5},
        {"fault_rate": 1.0, "extra": 1},
        [],
        "503",
    ],
)
def test_bad_settings_are_400_and_change_nothing(admin: FlaskClient, body: Any) -> None:
    response = admin.put("/admin/faults", json=body)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["code"] == "bad_request"
    check(response, "/admin/faults", "put")
    assert admin.get("/admin/faults").get_json() == OFF


@pytest.mark.parametrize("raw", [b"", b"  \n", b"{", b'{"fault_rate": NaN}', b"\xff"])
def test_malformed_bodies_are_400(admin: FlaskClient, raw: bytes) -> None:
    response = admin.put("/admin/faults", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_oversized_body_is_413(admin: FlaskClient) -> None:
    response = admin.put(
        "/admin/faults", data=b" " * (admin.application.config["MAX_CONTENT_LENGTH"] + 1)
    )
    assert response.status_code == 413
    check(response, "/admin/faults", "put")


def test_wrong_method_is_405(admin: FlaskClient) -> None:
    response = admin.post("/admin/faults", json={})
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PUT", "DELETE"}


def test_stats_reset_zeroes_the_counters(admin: FlaskClient) -> None:
    job_id = new_job(admin)
    admin.put("/admin/faults", json={"fault_rate": 1.0, "fault_kinds": ["500"]})
    admin.get(f"/status?job_id={job_id}")
    admin.get("/nowhere")
    before = admin.get("/stats").get_json()
    assert before["status_requests_total"] == 1
    assert before["faults_injected"] == {"500": 1}

    response = admin.delete("/admin/stats")
    check(response, "/admin/stats", "delete")
    fresh = response.get_json()
    assert fresh["requests"] == {}
    assert fresh["status_requests_total"] == 0
    assert fresh["jobs_polled"] == 0
    assert fresh["faults_injected"] == {}
    assert fresh["jobs_created"] == 0
    assert (fresh["started_at"], fresh["default_job_id"]) == (
        before["started_at"],
        before["default_job_id"],
    )
    assert admin.get(f"/jobs/{job_id}").get_json()["status_requests"] == 0
    # The job itself survives: its id carries it.
    assert admin.get(f"/jobs/{job_id}").status_code == 200


def test_admin_requests_are_not_counted(admin: FlaskClient) -> None:
    admin.get("/admin/faults")
    admin.put("/admin/faults", json={})
    admin.put("/admin/faults", json={"fault_rate": 2})
    admin.delete("/admin/faults")
    assert admin.get("/stats").get_json()["requests"] == {}
    admin.delete("/admin/stats")
    assert admin.get("/stats").get_json()["requests"] == {}
    assert admin.get("/stats").get_json()["requests"] == {"GET /stats": {"200": 1}}


def test_stats_reset_keeps_long_polls_in_flight() -> None:
    stats = Stats(started_at=0.0)
    with stats.long_poll():
        with stats.long_poll():
            pass
        stats.reset()
        snapshot = stats.snapshot(1.0)
        assert (snapshot["long_polls_active"], snapshot["long_polls_peak"]) == (1, 1)
    assert stats.snapshot(2.0)["long_polls_active"] == 0


class SwapDuringSleep(FakeClock):
    """A fake clock that runs ``during`` inside the next sleep: a race, made to happen."""

    def __init__(self) -> None:
        super().__init__()
        self.during: Callable[[], object] | None = None

    def sleep(self, seconds: float) -> None:
        during, self.during = self.during, None
        if during is not None:
            during()
        super().sleep(seconds)


def test_a_request_keeps_the_settings_it_started_with() -> None:
    """A PUT that lands while a status request is held changes only later requests."""
    clock = SwapDuringSleep()
    app = create_app(ServerConfig(admin=True, seed=1), clock=clock)
    client = app.test_client()
    held = {"fault_rate": 1.0, "fault_kinds": ["503"], "fault_retry_after": 7, "latency": 1}
    swapped = {"fault_rate": 1.0, "fault_kinds": ["500"], "fault_retry_after": 2}
    client.put("/admin/faults", json=held)
    # The request sleeps its latency under `held`; the swap happens then.
    clock.during = lambda: client.put("/admin/faults", json=swapped)
    response = client.get("/status")
    assert (response.status_code, response.headers.get("Retry-After")) == (503, "7")
    assert client.get("/status").status_code == 500


def test_admin_flag_and_env() -> None:
    assert not ServerConfig.from_args([]).admin
    assert ServerConfig.from_args(["--admin"]).admin
    assert ServerConfig.from_args([], environ={"HEYGEN_MOCK_ADMIN": "1"}).admin
    assert not ServerConfig.from_args([], environ={"HEYGEN_MOCK_ADMIN": "off"}).admin
