"""``Translations``: the v3 routes' per-process memory, without the app."""

from __future__ import annotations

from mock_server.translations import IDEMPOTENCY_TTL, TranslationInfo, Translations

INFO = TranslationInfo("t", "es", None, None, translate_audio_only=False)
ANSWER = {"data": {"video_translation_ids": ["j1"]}}


def test_claim_complete_release() -> None:
    memory = Translations()
    assert memory.claim("k", 0.0) == ("new", None)
    assert memory.claim("k", 1.0) == ("in_progress", None)
    memory.release("k")
    assert memory.claim("k", 2.0) == ("new", None)
    memory.complete("k", ANSWER, 3.0)
    assert memory.claim("k", 4.0) == ("replay", ANSWER)
    memory.release("k")  # an answered key is not released by a later failure
    assert memory.claim("k", 5.0) == ("replay", ANSWER)


def test_answers_expire_after_the_ttl_measured_from_the_answer() -> None:
    memory = Translations()
    memory.claim("a", 0.0)
    memory.complete("a", ANSWER, 10.0)
    assert memory.claim("a", 10.0 + IDEMPOTENCY_TTL - 0.001)[0] == "replay"
    assert memory.claim("a", 10.0 + IDEMPOTENCY_TTL) == ("new", None)


def test_memory_is_bounded() -> None:
    memory = Translations(kept=2, keys_kept=2)
    for i in range(3):
        memory.add(f"j{i}", 100.0, INFO, 0.0)
        memory.claim(f"k{i}", 0.0)
        memory.complete(f"k{i}", ANSWER, 0.0)
    assert memory.info("j0") is None
    assert memory.info("j2") == INFO
    assert memory.claim("k0", 1.0)[0] == "new"  # forgotten
    assert memory.claim("k2", 1.0)[0] == "replay"


def test_running_counts_unfinished_translations() -> None:
    memory = Translations()
    memory.add("j1", 10.0, INFO, 0.0)
    memory.add("j2", 5.0, INFO, 0.0)
    assert memory.running(0.0) == (2, 5.0)
    assert memory.running(5.0) == (1, 10.0)
    memory.add("j3", 30.0, INFO, 20.0)
    assert memory.running(20.0) == (1, 30.0)
