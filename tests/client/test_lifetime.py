"""A client dropped without close() does not leave its threads behind."""

from __future__ import annotations

import gc

from heygen_client import TranslationClient
from heygen_client.errors import ClientClosed
from tests.client._fakes import FakeClock


def test_a_collected_client_stops_its_threads_and_fails_its_futures() -> None:
    # Port 9 refuses connections: the job stays pending (retried) on a clock that never moves.
    client = TranslationClient("http://127.0.0.1:9", discover=False, clock=FakeClock())
    future = client.track("a")
    threads = client._scheduler.threads()
    assert any(t.name == "heygen-client-scheduler" for t in threads)
    del client
    gc.collect()
    for thread in threads:
        thread.join(2.0)
    assert not [t for t in threads if t.is_alive()]
    assert isinstance(future.exception(2.0), ClientClosed)
