"""Just enough Markdown for the docs tests: fenced blocks, their markers, links, anchors.

A *marker* is an HTML comment on a line of its own before a fence (only blank
lines and other HTML comments may come between); it tells
``test_examples.py`` what to do with the block (see that module's docstring
for the conventions)::

    <!-- doc-test: skip (starts a server that runs until Ctrl-C) -->
    <!-- doc-test: continue -->

Readers of the rendered page never see it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Block",
    "Directive",
    "Document",
    "anchors",
    "links",
    "parse",
    "parse_directive",
    "slug",
]

_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_MARKER = re.compile(r"^\s*<!--\s*doc-test\b(?P<rest>.*?)-->\s*$")
_COMMENT = re.compile(r"^\s*<!--.*-->\s*$")  # other tools' markers may sit in between
_ANY_MARKER = re.compile(r"doc-tests?\b", re.IGNORECASE)
_SKIP = re.compile(r"^skip\s*\((?P<reason>.*\S.*)\)$")
_HEADING = re.compile(r"^ {0,3}(?P<hashes>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?(?P<target>[^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)"
)
_REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(?P<target>\S+?)>?(?:\s+\"[^\"]*\")?\s*$")


@dataclass(frozen=True)
class Directive:
    """What a marker asks for: ``skip`` with a reason, ``continue``, or nothing (run)."""

    kind: str  # "run", "skip" or "continue"
    reason: str = ""


RUN = Directive("run")


def parse_directive(text: str) -> Directive:
    """``"skip (why)"`` -> skip, ``"continue"`` -> continue.

    Raises:
        ValueError: Anything else, including ``skip`` without a reason.
    """
    text = text.strip()
    if text == "continue":
        return Directive("continue")
    match = _SKIP.match(text)
    if match:
        return Directive("skip", match["reason"].strip())
    raise ValueError(f"unknown doc-test marker {text!r}: use 'skip (REASON)' or 'continue'")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    path: Path
    #: 1-based line of the opening fence.
    line: int
    #: First word of the info string, lower case; ``""`` when there is none.
    lang: str
    #: The content, with the fence's indentation removed.
    body: str
    directive: Directive = RUN

    @property
    def id(self) -> str:
        """``client.md:42``: the file name and the fence's line."""
        return f"{self.path.name}:{self.line}"

    @property
    def first_line(self) -> int:
        """1-based line of the block's first content line."""
        return self.line + 1


@dataclass(frozen=True)
class Document:
    """A parsed Markdown file: its blocks, and what is wrong with its markers."""

    path: Path
    blocks: tuple[Block, ...]
    #: ``"LINE: message"`` for malformed or dangling markers and unclosed fences.
    problems: tuple[str, ...]


def parse(path: Path, text: str | None = None) -> Document:
    """Find the fenced code blocks of a Markdown file and the marker before each."""
    if text is None:
        text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    blocks: list[Block] = []
    problems: list[str] = []
    pending: tuple[int, Directive] | None = None  # a marker waiting for its fence
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _open_fence(line)
        if fence is not None:
            start = i
            indent, info, closing = fence
            body: list[str] = []
            i += 1
            while i < len(lines) and not closing.match(lines[i]):
                body.append(_strip_indent(lines[i], indent))
                i += 1
            if i == len(lines):
                problems.append(f"{start + 1}: code block never closed")
            directive = RUN
            if pending is not None:
                directive = pending[1]
                pending = None
            blocks.append(
                Block(
                    path=path,
                    line=start + 1,
                    lang=info.split()[0].lower() if info else "",
                    body="\n".join(body) + "\n" if body else "",
                    directive=directive,
                )
            )
            i += 1
            continue
        if pending is not None and line.strip() and not _COMMENT.match(line):
            problems.append(f"{pending[0]}: doc-test marker not followed by a code block")
            pending = None
        marker = _MARKER.match(line)
        if marker:
            rest = marker["rest"].strip()
            try:
                if not rest.startswith(":"):
                    raise ValueError("write it as '<!-- doc-test: ... -->'")
                pending = (i + 1, parse_directive(rest[1:]))
            except ValueError as exc:
                problems.append(f"{i + 1}: {exc}")
        elif "<!--" in (prose := _INLINE_CODE.sub("", line)) and _ANY_MARKER.search(prose):
            problems.append(
                f"{i + 1}: malformed doc-test marker: it must be a line of its own, "
                "'<!-- doc-test: skip (REASON) -->' or '<!-- doc-test: continue -->'"
            )
        i += 1
    if pending is not None:
        problems.append(f"{pending[0]}: doc-test marker not followed by a code block")
    return Document(path=path, blocks=tuple(blocks), problems=tuple(problems))


def _strip_indent(line: str, indent: int) -> str:
    """Remove up to ``indent`` leading spaces (CommonMark: a fence's indentation)."""
    width = len(line) - len(line.lstrip(" "))
    return line[min(width, indent) :]


def _open_fence(line: str) -> tuple[int, str, re.Pattern[str]] | None:
    """For an opening fence: its indentation, info string and the closing fence's pattern."""
    fence = _FENCE.match(line)
    if fence is None or (fence["fence"][0] == "`" and "`" in fence["info"]):
        return None
    char, size = fence["fence"][0], len(fence["fence"])
    closing = re.compile(rf"^ *{re.escape(char)}{{{size},}}\s*$")
    return len(fence["indent"]), fence["info"].strip(), closing


def _prose_lines(text: str, *, keep_code: bool = False) -> list[tuple[int, str]]:
    """``(line number, line)`` outside fenced code blocks; inline code removed unless kept."""
    out: list[tuple[int, str]] = []
    closing: re.Pattern[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if closing is not None:
            if closing.match(line):
                closing = None
            continue
        fence = _open_fence(line)
        if fence is not None:
            closing = fence[2]
            continue
        out.append((number, line if keep_code else _INLINE_CODE.sub("", line)))
    return out


def links(text: str) -> list[tuple[int, str]]:
    """Every link and image target, ``(line, target)``, outside code."""
    found: list[tuple[int, str]] = []
    for number, line in _prose_lines(text):
        found.extend((number, m["target"]) for m in _INLINE_LINK.finditer(line))
        ref = _REFERENCE_DEF.match(line)
        if ref:
            found.append((number, ref["target"]))
    return found


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading.

    ``Load (`benchmarks/load.py`)`` becomes ``load-benchmarksloadpy``. Markup
    is dropped (code ticks, emphasis, link targets), the rest is lower case;
    letters, digits, ``-``, ``_`` and spaces are kept, and each space becomes
    ``-``.
    """
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    kept = "".join(ch for ch in text if ch.isalnum() or ch in "-_ ")
    return kept.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors of a file's headings, duplicates numbered as GitHub does (``x``, ``x-1``)."""
    seen: dict[str, int] = {}
    result: set[str] = set()
    for _, line in _prose_lines(text, keep_code=True):
        heading = _HEADING.match(line)
        if not heading:
            continue
        base = slug(heading["text"])
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result
