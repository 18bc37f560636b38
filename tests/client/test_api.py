"""The public surface: ``__all__`` matches what docs/client.md promises."""

from __future__ import annotations

import re
from pathlib import Path

import heygen_client
from heygen_client import errors, policies

DOCS = Path(__file__).resolve().parents[2] / "docs" / "client.md"


def test_all_names_exist() -> None:
    for name in heygen_client.__all__:
        assert hasattr(heygen_client, name), name
    assert sorted(heygen_client.__all__) == sorted(set(heygen_client.__all__))


def test_all_matches_the_documented_api() -> None:
    text = DOCS.read_text(encoding="utf-8")
    # The list runs from the marker to the next heading.
    section = re.split(r"^#", text.split("<!-- public-api -->")[1], flags=re.MULTILINE)[0]
    documented = re.findall(r"^- `([A-Za-z_]+)`", section, flags=re.MULTILINE)
    assert len(documented) == len(set(documented)), "a name is listed twice"
    assert set(documented) == set(heygen_client.__all__)


def test_errors_and_policies_export_what_they_define() -> None:
    for name in errors.__all__:
        assert getattr(errors, name).__module__ == errors.__name__, name
    # The policies package defines its names in private modules of its own.
    for name in policies.__all__:
        defined_in = getattr(policies, name).__module__
        assert defined_in.startswith(f"{policies.__name__}._"), (name, defined_in)


def test_py_typed_is_shipped() -> None:
    assert (Path(heygen_client.__file__).parent / "py.typed").exists()
