"""The docs read as one site: links resolve, and every page is reachable and navigable.

- Every relative link of README.md, CONTRIBUTING.md, CHANGELOG.md and
  docs/*.md points at a file of the repository, and a ``#fragment`` at a
  heading of the page it names (GitHub's anchors). Links to other sites are
  not fetched.
- README.md links every page of docs/.
- docs/index.md lists every other page as an ordered list: the reading order.
- The first line of every other page links the index, then the previous and
  the next page in that order (the navigation line).
- The site's navigation (``nav`` in mkdocs.yml) is the index, then that order.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path

import pytest

from tests.docs._markdown import anchors, links

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
INDEX = DOCS / "index.md"
MKDOCS = ROOT / "mkdocs.yml"
PAGES: tuple[Path, ...] = (
    *(ROOT / name for name in ("README.md", "CONTRIBUTING.md", "CHANGELOG.md")),
    *sorted(DOCS.glob("*.md")),
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_NAV_ITEM = re.compile(r"^  - [^:]+: (?P<target>\S+\.md)$", re.MULTILINE)
_TOC_ITEM = re.compile(r"^\d+\.\s+\[[^\]]+\]\((?P<target>[^)#\s]+\.md)\)")


def _targets(page: Path, text: str | None = None) -> list[tuple[int, Path, str]]:
    """``(line, file, fragment)`` of each relative link of ``page``."""
    found: list[tuple[int, Path, str]] = []
    for line, target in links(page.read_text(encoding="utf-8") if text is None else text):
        if _SCHEME.match(target):
            continue
        path, _, fragment = urllib.parse.unquote(target).partition("#")
        found.append((line, (page.parent / path).resolve() if path else page, fragment))
    return found


def _anchors(page: Path) -> set[str]:
    """The anchors of a Markdown page's headings."""
    return anchors(page.read_text(encoding="utf-8"))


def _reading_order() -> list[Path]:
    """The pages the index lists, in its order."""
    lines = INDEX.read_text(encoding="utf-8").splitlines()
    matches = (_TOC_ITEM.match(line) for line in lines)
    return [(DOCS / m["target"]).resolve() for m in matches if m]


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_relative_links_resolve(page: Path) -> None:
    problems: list[str] = []
    for line, target, fragment in _targets(page):
        where = f"{page.name}:{line}"
        if not target.is_relative_to(ROOT):
            problems.append(f"{where}: {target} is outside the repository")
        elif not target.exists():
            problems.append(f"{where}: {target.relative_to(ROOT)} does not exist")
        elif fragment and target.suffix == ".md" and fragment not in _anchors(target):
            problems.append(f"{where}: no heading of {target.name} has the anchor #{fragment}")
    assert not problems, "\n".join(problems)


def test_readme_links_every_page() -> None:
    linked = {target for _, target, _ in _targets(ROOT / "README.md")}
    missing = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not missing, f"README.md does not link docs/{', docs/'.join(missing)}"


def test_index_lists_every_page_once() -> None:
    order = _reading_order()
    assert len(order) == len(set(order)), "docs/index.md lists a page twice"
    others = {p.resolve() for p in DOCS.glob("*.md")} - {INDEX.resolve()}
    missing = sorted(p.name for p in others - set(order))
    assert not missing, f"docs/index.md's contents do not list: {', '.join(missing)}"


def test_every_page_starts_with_its_navigation_line() -> None:
    order = _reading_order()
    problems: list[str] = []
    for i, page in enumerate(order):
        first = page.read_text(encoding="utf-8").splitlines()[0]
        want = [INDEX.resolve(), *order[max(i - 1, 0) : i], *order[i + 1 : i + 2]]
        got = [target for _, target, _ in _targets(page, first)]
        if got != want:
            names = ", ".join(p.name for p in want)
            problems.append(f"{page.name}: line 1 must link, in this order: {names}")
    assert not problems, "\n".join(problems)


def test_the_site_navigation_follows_the_reading_order() -> None:
    nav = [(DOCS / target).resolve() for target in _NAV_ITEM.findall(MKDOCS.read_text("utf-8"))]
    assert nav == [INDEX.resolve(), *_reading_order()], (
        "mkdocs.yml's nav must list docs/index.md, then the pages in docs/index.md's order"
    )
