"""MkDocs hook: Sphinx roles in the rendered docstrings become code, linked when they can be.

The docstrings are Google style with Sphinx roles (``:class:`JobFuture```),
which Markdown renders as ``:class:<code>JobFuture</code>``. This hook, run on
each page's HTML, drops the role and links the name to its entry on the same
page when there is one: relative to the object whose docstring holds it
(``:meth:`close``` inside ``TranslationClient.track`` is
``TranslationClient.close``), then as a public name of ``heygen_client``, of
``heygen_client.policies`` or of ``mock_server.testing``. Anything else
(``asyncio.Future``) stays plain code. ``~`` shows only the last component,
as in Sphinx.
"""

from __future__ import annotations

import html
import re

_ROLE = re.compile(r":(?:class|meth|func|mod|attr|exc|data|obj):<code>(?P<target>[^<]+)</code>")
_ID = re.compile(r'\bid="(?P<id>[A-Za-z_][\w.]*)"')
_PACKAGES = ("heygen_client", "heygen_client.policies", "mock_server.testing")


def on_page_content(html_text: str, **_: object) -> str:
    """Rewrite the roles of one rendered page."""
    return rewrite_roles(html_text)


def rewrite_roles(text: str) -> str:
    """Replace each ``:role:<code>name</code>`` of ``text`` by the name, linked when possible."""
    ids = {m["id"] for m in _ID.finditer(text)}
    # The object whose docstring a role is in: the last dotted id before it.
    contexts = [(m.start(), m["id"]) for m in _ID.finditer(text) if "." in m["id"]]

    def replace(match: re.Match[str]) -> str:
        raw = html.unescape(match["target"])
        name = raw.removeprefix("~")
        shown = name.rsplit(".", 1)[-1] if raw.startswith("~") else name
        context = next((c for start, c in reversed(contexts) if start < match.start()), "")
        target = _resolve(name, context, ids)
        code = f"<code>{html.escape(shown)}</code>"
        return f'<a href="#{target}">{code}</a>' if target else code

    return _ROLE.sub(replace, text)


def _resolve(name: str, context: str, ids: set[str]) -> str | None:
    """The id on the page that ``name`` refers to, seen from ``context``, or None."""
    parts = context.split(".")
    candidates = [".".join([*parts[:i], name]) for i in range(len(parts), 0, -1)]
    candidates.append(name)
    last = name.rsplit(".", 1)[-1]
    for package in _PACKAGES:
        candidates += [f"{package}.{name}", f"{package}.{last}"]
    return next((c for c in candidates if c in ids), None)
