"""Self-describing, signed job ids."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server import FakeClock, ServerConfig
from mock_server.jobs import MAX_ID_LENGTH, Job, JobCodec
from mock_server.store import JobStore, progress, retry_after_hint

CODEC = JobCodec("test-secret")

texts = st.none() | st.text(max_size=120)
jobs = st.builds(
    Job,
    created_at=st.floats(min_value=0, max_value=4e9),
    delay=st.floats(min_value=0, max_value=86400),
    outcome=st.sampled_from(["completed", "error"]),
    nonce=st.integers(min_value=0, max_value=2**32 - 1),
    video_length=st.none() | st.floats(min_value=0.001, max_value=604800),
    source_language=texts,
    target_language=texts,
    title=texts,
)


@settings(max_examples=300, deadline=None)
@given(job=jobs)
def test_ids_round_trip(job: Job) -> None:
    job_id, stored = CODEC.encode(job)
    assert len(job_id) <= MAX_ID_LENGTH
    assert job_id.startswith("j")
    assert all(c.isascii() and (c.isalnum() or c in "_-") for c in job_id)
    assert CODEC.decode(job_id) == stored
    assert (stored.created_at, stored.delay, stored.outcome, stored.video_length) == (
        job.created_at,
        job.delay,
        job.outcome,
        job.video_length,
    )
    for name, original in job.texts().items():
        kept = stored.texts().get(name)  # None: dropped, no room left at all
        assert original.startswith(kept or "")
        assert (kept != original) == (name in stored.truncated_fields)


def test_short_texts_are_kept_whole() -> None:
    job = Job(1.0, 2.0, "error", 7, 90.0, "en", "fr", "Quarterly results")
    _, stored = CODEC.encode(job)
    assert stored == job


@settings(max_examples=200, deadline=None)
@given(job=jobs, position=st.integers(min_value=1), char=st.sampled_from("AQgw_-0z"))
def test_any_change_to_an_id_is_rejected(job: Job, position: int, char: str) -> None:
    job_id, _ = CODEC.encode(job)
    position = 1 + position % (len(job_id) - 1)
    tampered = job_id[:position] + char + job_id[position + 1 :]
    if tampered != job_id:
        assert CODEC.decode(tampered) is None


@pytest.mark.parametrize(
    "bad", ["", "j", "k" + "A" * 40, "j" + "A" * 200, "j!!!!", "jA", "j" + "A" * 41, "jé"]
)
def test_garbage_ids_are_rejected(bad: str) -> None:
    assert CODEC.decode(bad) is None


def test_other_secret_rejects() -> None:
    job_id, _ = CODEC.encode(Job(1.0, 2.0, "completed", 3))
    assert JobCodec("other").decode(job_id) is None


def test_result_timeline() -> None:
    job = Job(created_at=100.0, delay=5.0, outcome="error", nonce=1)
    assert job.finishes_at == 105.0
    assert [job.result(t) for t in (100.0, 104.999, 105.0, 1e12)] == [
        "pending",
        "pending",
        "error",
        "error",
    ]
    assert progress(job, 102.5) == 0.5
    assert progress(job, 99.0) == 0.0
    assert progress(job, 106.0) == 1.0
    assert progress(Job(100.0, 0.0, "completed", 1), 100.0) == 1.0


@pytest.mark.parametrize(
    ("estimate", "hint"), [(0.0, 1), (0.4, 1), (2.0, 1), (2.1, 2), (60.0, 30), (1e6, 300)]
)
def test_retry_after_hint(estimate: float, hint: int) -> None:
    assert retry_after_hint(estimate) == hint


@settings(max_examples=100, deadline=None)
@given(
    noise=st.floats(min_value=0, max_value=1),
    delay=st.floats(min_value=0, max_value=1e5),
    elapsed=st.floats(min_value=0, max_value=2e5),
)
def test_estimates_stay_within_noise(noise: float, delay: float, elapsed: float) -> None:
    clock = FakeClock(1000.0)
    store = JobStore(ServerConfig(estimate_noise=noise), clock, random.Random(0))
    _, job = store.create(delay=delay)
    remaining = max(0.0, job.finishes_at - (1000.0 + elapsed))
    estimate = store.estimate_remaining(job, 1000.0 + elapsed)
    assert estimate >= 0
    assert math.isclose(estimate, remaining, rel_tol=noise + 1e-9, abs_tol=1e-9)


@settings(max_examples=100, deadline=None)
@given(low=st.floats(0, 1000), spread=st.floats(0, 1000), seed=st.integers(0, 2**32))
def test_drawn_delays_stay_in_range(low: float, spread: float, seed: int) -> None:
    config = ServerConfig(delay=low, delay_max=low + spread, max_delay=3000)
    store = JobStore(config, FakeClock(), random.Random(seed))
    _, job = store.create()
    assert low <= job.delay <= low + spread


@pytest.mark.parametrize("fill", [51, 52, 53, 60])
def test_id_length_limit_at_the_budget_edge(fill: int) -> None:
    job = Job(1.0, 2.0, "completed", 3, 90.0, "x" * fill, "", "title")
    job_id, stored = CODEC.encode(job)
    assert len(job_id) <= MAX_ID_LENGTH
    assert CODEC.decode(job_id) == stored
    for name, original in job.texts().items():
        assert original.startswith(stored.texts().get(name, ""))
