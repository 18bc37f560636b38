"""docs/reference.md covers the public API, and the site's hook links what it can.

The reference is generated from the docstrings (``make docs``), one
``::: dotted.name`` line per public name; these tests need no MkDocs.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import heygen_client
from heygen_client import policies
from mock_server import redis_server, testing

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference.md"
_DIRECTIVE = re.compile(r"^::: (?P<name>\S+)\s*$", re.MULTILINE)


def _hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "_hooks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_names_every_public_name_and_no_other() -> None:
    documented = _DIRECTIVE.findall(REFERENCE.read_text(encoding="utf-8"))
    public = [f"heygen_client.{name}" for name in heygen_client.__all__]
    public += [f"mock_server.testing.{name}" for name in testing.__all__]
    public += [f"mock_server.redis_server.{name}" for name in redis_server.__all__]
    assert len(documented) == len(set(documented)), "a name is documented twice"
    missing = sorted(set(public) - set(documented))
    assert not missing, f"docs/reference.md lacks a '::: NAME' line for {missing}"
    extra = sorted(set(documented) - set(public))
    assert not extra, f"docs/reference.md documents names that are not public: {extra}"


def test_the_policies_entry_lists_each_of_its_names_once() -> None:
    # The entry lists its members by hand, for their reading order: a new one must be added.
    text = REFERENCE.read_text(encoding="utf-8")
    entry = text.split("::: heygen_client.policies\n", 1)[1].split("\n\n", 1)[0]
    listed = re.findall(r"^ +- (\w+)$", entry, flags=re.MULTILINE)
    assert sorted(listed) == sorted(policies.__all__)


def test_roles_link_to_the_entry_they_name_seen_from_their_docstring() -> None:
    html = (
        '<h2 id="heygen_client.TranslationClient">TranslationClient</h2>'
        '<h3 id="heygen_client.TranslationClient.close">close</h3>'
        '<h3 id="heygen_client.TranslationClient.track">track</h3>'
        "<p>after :meth:<code>close</code>,"
        " see :class:<code>~heygen_client.errors.ClientClosed</code>"
        " and :class:<code>asyncio.Future</code></p>"
        '<h2 id="heygen_client.ClientClosed">ClientClosed</h2>'
        '<h2 id="heygen_client.Transport">Transport</h2>'
        '<h3 id="heygen_client.Transport.call">call</h3>'
        "<p>unlike :meth:<code>TranslationClient.close</code>, not :meth:<code>close</code></p>"
    )
    out = _hooks().rewrite_roles(html)
    assert ":meth:" not in out
    assert ":class:" not in out
    assert 'after <a href="#heygen_client.TranslationClient.close"><code>close</code></a>' in out
    assert '<a href="#heygen_client.ClientClosed"><code>ClientClosed</code></a>' in out
    assert "and <code>asyncio.Future</code></p>" in out  # not on the page: plain code
    assert (
        'unlike <a href="#heygen_client.TranslationClient.close">'
        "<code>TranslationClient.close</code></a>, not <code>close</code></p>"
    ) in out  # Transport has no close on this page


def test_a_class_that_lists_its_members_lists_every_public_one() -> None:
    # A list keeps a reading order across mixins, but leaves out what it does not name.
    text = REFERENCE.read_text(encoding="utf-8")
    listed = re.finditer(
        r"^::: heygen_client\.(?P<name>\w+)\n(?:    .*\n)*?      members: \[(?P<members>[^\]]*)\]",
        text,
        re.MULTILINE,
    )
    checked = 0
    for match in listed:
        members = {m.strip() for m in match["members"].split(",")}
        cls = getattr(heygen_client, match["name"])
        public = {name for name in dir(cls) if not name.startswith("_")}
        assert public <= members, f"{match['name']}: members: lacks {sorted(public - members)}"
        checked += 1
    assert checked, "no directive lists its members: drop this test"
