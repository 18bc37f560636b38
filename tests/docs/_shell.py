"""Shell blocks of the docs: split into commands, and decide what each one is.

The policy (also in ``test_examples.py``'s docstring):

- ``heygen-client ...`` / ``python -m heygen_client ...``, ``curl ...``,
  ``python -c ...`` and a few text utilities (``echo``, ``grep``, ``jq``...)
  are **run**.
- ``heygen-mock-server ...`` / ``python -m mock_server ...`` start a server
  that runs until stopped, and ``heygen-client demo`` starts its own and runs
  for ~15 s: they are **checked, not run**. Their arguments go through the
  real parser, so a flag the docs show that no longer exists fails.
- Anything else (``make``, ``pip``, ``pytest``, ``gunicorn``, ``python -m
  benchmarks``...) **cannot be run** here: the block needs a ``skip`` marker.
"""

from __future__ import annotations

import enum
import re
import shlex
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

__all__ = ["Command", "Kind", "Segment", "classify", "split_commands", "tokens"]

#: Programs run as written (after the URL substitution): the client's command,
#: curl, and text utilities a doc may pipe through.
RUNNABLE = frozenset(
    {
        "heygen-client",
        "curl",
        "echo",
        "printf",
        "cat",
        "grep",
        "head",
        "tail",
        "sed",
        "cut",
        "tr",
        "wc",
        "sort",
        "jq",
        "test",
        "[",
        "true",
        "sleep",
    }
)
_PYTHON = re.compile(r"python(3(\.\d+)?)?")
_OPERATORS = frozenset({"|", "||", "&&", ";", "&", "(", ")", "|&", ";;"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_EXIT_COMMENT = re.compile(
    r"#.*?\bexits?\s+(?:with\s+)?(?:code\s+|status\s+)?(?P<code>\d+)\b", re.IGNORECASE
)


class Kind(enum.Enum):
    """What the docs test does with a command."""

    RUN = "run"
    SERVER = "server"  # mock server: flags parsed, not started
    DEMO = "demo"  # heygen-client demo: arguments parsed, not run
    CANNOT = "cannot"


@dataclass(frozen=True)
class Segment:
    """One simple command of a pipeline or list: its environment, program and arguments."""

    kind: Kind
    env: dict[str, str]
    #: The arguments after the program (after ``-m MODULE`` for ``python -m``).
    args: list[str]
    program: str


@dataclass(frozen=True)
class Command:
    """One command line of a shell block, continuation lines included."""

    #: 1-based line in the Markdown file.
    line: int
    #: As written, prompt (``$ ``) removed; continuation lines joined by newlines.
    text: str
    #: The exit status the doc shows: 0 unless a ``# exit N`` comment or a
    #: transcript's ``$ echo $?`` says otherwise.
    expected: int = 0


def split_commands(body: str, first_line: int) -> list[Command]:
    """The commands of a shell block whose first content line is ``first_line``.

    A block with any line starting ``$ `` is a transcript: ``$ `` lines are
    commands (``> `` continuation prompts allowed), every other line is their
    output. Otherwise every line that is not blank or a comment is a command.
    Lines ending in ``\\`` continue on the next.
    """
    lines = body.splitlines()
    transcript = any(line.startswith("$ ") for line in lines)
    commands: list[Command] = []
    echo_pending = False  # the last command was "echo $?": its output is the status
    i = 0
    while i < len(lines):
        line = lines[i]
        if transcript and not line.startswith("$ "):
            if echo_pending and line.strip():
                echo_pending = False
                if line.strip().isdigit() and len(commands) >= 2:
                    commands[-2] = replace(commands[-2], expected=int(line.strip()))
            i += 1
            continue
        if transcript:
            line = line[2:]
        elif not line.strip() or line.lstrip().startswith("#"):
            i += 1
            continue
        start = i
        parts = [line]
        while parts[-1].endswith("\\") and i + 1 < len(lines):
            i += 1
            following = lines[i]
            if transcript and following.startswith("> "):
                following = following[2:]
            parts.append(following)
        text = "\n".join(parts)
        comment = _EXIT_COMMENT.search(parts[-1])
        expected = int(comment["code"]) if comment else 0
        commands.append(Command(line=first_line + start, text=text, expected=expected))
        echo_pending = transcript and text.strip() == "echo $?"
        i += 1
    return commands


def tokens(text: str) -> list[str]:
    """The words of a command line as a POSIX shell splits them (comments dropped).

    Operators such as ``|`` and ``&&`` come out as words of their own.
    """
    lexer = shlex.shlex(text.replace("\\\n", " "), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def _segment(tokens: list[str]) -> Segment | None:
    env: dict[str, str] = {}
    words = list(tokens)
    while words and _ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    while words and words[0] in ("time", "exec", "command"):
        words.pop(0)
    if not words:
        return None
    program = PurePosixPath(words[0]).name or words[0]  # "." (source) has no name
    args = words[1:]
    if _PYTHON.fullmatch(program):
        if args[:1] == ["-c"]:
            return Segment(Kind.RUN, env, args, program)
        if args[:2] == ["-m", "heygen_client"]:
            program, args = "heygen-client", args[2:]
        elif args[:2] == ["-m", "mock_server"]:
            program, args = "heygen-mock-server", args[2:]
        else:
            shown = " ".join([program, *args[:2]])
            return Segment(Kind.CANNOT, env, args, shown)
    if program == "heygen-mock-server":
        return Segment(Kind.SERVER, env, args, program)
    if program == "heygen-client":
        positional = [a for a in args if not a.startswith("-")]
        kind = Kind.DEMO if positional[:1] == ["demo"] else Kind.RUN
        return Segment(kind, env, args, program)
    if program in RUNNABLE:
        return Segment(Kind.RUN, env, args, program)
    return Segment(Kind.CANNOT, env, args, program)


def classify(text: str) -> list[Segment]:
    """The simple commands of one command line, each with what the test does with it.

    Raises:
        ValueError: The line is not valid shell (unbalanced quotes).
    """
    segments: list[Segment] = []
    current: list[str] = []
    for token in [*tokens(text), ";"]:
        if token in _OPERATORS:
            segment = _segment(current)
            if segment is not None:
                segments.append(segment)
            current = []
        else:
            current.append(token)
    return segments
