"""The docs tests' own parsing: fences, markers, shell commands, links and anchors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs._markdown import Directive, anchors, links, parse, parse_directive, slug
from tests.docs._shell import Command, Kind, classify, split_commands

PAGE = Path("page.md")


def test_blocks_carry_their_line_language_and_marker() -> None:
    text = (
        "# Title\n"
        "\n"
        "<!-- doc-test: skip (runs forever) -->\n"
        "\n"
        "```sh\n"
        "make demo\n"
        "```\n"
        "- a list item:\n"
        "\n"
        "  ```Python title\n"
        "  print(1)\n"
        "    print(2)\n"
        "  ```\n"
        "<!-- doc-test: continue -->\n"
        "~~~~\n"
        "```not a fence\n"
        "~~~~\n"
    )
    document = parse(PAGE, text)
    assert document.problems == ()
    skip, python, bare = document.blocks
    assert (skip.line, skip.lang, skip.body) == (5, "sh", "make demo\n")
    assert skip.directive == Directive("skip", "runs forever")
    assert skip.id == "page.md:5"
    assert (python.line, python.first_line, python.lang) == (10, 11, "python")
    assert python.body == "print(1)\n  print(2)\n"
    assert python.directive.kind == "run"
    assert (bare.lang, bare.body, bare.directive.kind) == ("", "```not a fence\n", "continue")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<!-- doc-test: skip -->\n```sh\nx\n```\n", "1: unknown doc-test marker 'skip'"),
        ("<!-- doc-test: skip () -->\n```sh\nx\n```\n", "1: unknown doc-test marker"),
        ("<!-- doc-test: run -->\n```sh\nx\n```\n", "1: unknown doc-test marker 'run'"),
        ("<!-- doc-test skip (x) -->\n```sh\nx\n```\n", "1: write it as"),
        ("<!-- doc-test: continue -->\ntext\n```sh\nx\n```\n", "1: doc-test marker not followed"),
        ("text\n<!-- doc-test: continue -->\n", "2: doc-test marker not followed"),
        ("see <!-- doc-test: continue --> here\n", "1: malformed doc-test marker"),
        ("```python\nprint(1)\n", "1: code block never closed"),
    ],
)
def test_marker_problems_are_reported(text: str, problem: str) -> None:
    problems = parse(PAGE, text).problems
    assert len(problems) == 1
    assert problems[0].startswith(problem)


def test_other_comments_may_sit_between_a_marker_and_its_block() -> None:
    text = "<!-- doc-test: skip (elsewhere) -->\n<!-- example: x.py -->\n```python\nx\n```\n"
    document = parse(PAGE, text)
    assert document.problems == ()
    assert document.blocks[0].directive == Directive("skip", "elsewhere")


def test_a_marker_quoted_as_inline_code_is_prose() -> None:
    assert parse(PAGE, "write `<!-- doc-test: skip (REASON) -->` before it\n").problems == ()


def test_parse_directive() -> None:
    assert parse_directive(" skip ( slow (10 min) ) ") == Directive("skip", "slow (10 min)")
    assert parse_directive("continue") == Directive("continue")
    with pytest.raises(ValueError, match="unknown doc-test marker"):
        parse_directive("skip because")


def test_commands_of_a_plain_block() -> None:
    body = (
        "# a comment\n"
        "heygen-client wait --timeout 60\n"
        "\n"
        "curl -s localhost:5000/jobs \\\n"
        "    -d '{}'   # exits 0\n"
        "heygen-client wait JOB --timeout 0.1   # exits 3: still pending\n"
    )
    assert split_commands(body, first_line=10) == [
        Command(11, "heygen-client wait --timeout 60", 0),
        Command(13, "curl -s localhost:5000/jobs \\\n    -d '{}'   # exits 0", 0),
        Command(15, "heygen-client wait JOB --timeout 0.1   # exits 3: still pending", 3),
    ]


def test_commands_of_a_transcript() -> None:
    body = (
        "$ heygen-client status nope\n"
        "error: job nope is unknown\n"
        "$ echo $?\n"
        "5\n"
        "$ curl -s localhost:5000/status \\\n"
        ">   -H 'x: y'\n"
        '{"result": "pending"}\n'
    )
    assert split_commands(body, first_line=1) == [
        Command(1, "heygen-client status nope", 5),
        Command(3, "echo $?", 0),
        Command(5, "curl -s localhost:5000/status \\\n  -H 'x: y'", 0),
    ]


@pytest.mark.parametrize(
    ("line", "kinds"),
    [
        ("heygen-client status --json", [(Kind.RUN, "heygen-client")]),
        (".venv/bin/python -m heygen_client wait", [(Kind.RUN, "heygen-client")]),
        ("heygen-client demo --mode plain", [(Kind.DEMO, "heygen-client")]),
        ("heygen-client --verbose demo", [(Kind.DEMO, "heygen-client")]),
        ("time curl -s 'localhost:5000/status?a=1&b=2'", [(Kind.RUN, "curl")]),
        ("python -m mock_server --port 5000", [(Kind.SERVER, "heygen-mock-server")]),
        ("HEYGEN_MOCK_DELAY=5 heygen-mock-server &", [(Kind.SERVER, "heygen-mock-server")]),
        ("python -c 'import sys; print(1)'", [(Kind.RUN, "python")]),
        (
            "JOB=$(heygen-client submit --json | jq -r .job_id) && echo $JOB 2>&1",
            [(Kind.RUN, "heygen-client"), (Kind.RUN, "jq"), (Kind.RUN, "echo")],
        ),
        ("make test", [(Kind.CANNOT, "make")]),
        ("pip install -e '.[server]'", [(Kind.CANNOT, "pip")]),
        ("python -m benchmarks --quick", [(Kind.CANNOT, "python -m benchmarks")]),
        (". .venv/bin/activate", [(Kind.CANNOT, ".")]),
        ("X=1", []),
    ],
)
def test_classify(line: str, kinds: list[tuple[Kind, str]]) -> None:
    assert [(s.kind, s.program) for s in classify(line)] == kinds


def test_classify_keeps_the_environment_and_arguments() -> None:
    (segment,) = classify("HEYGEN_MOCK_DELAY=5 A=b python3 -m mock_server --plain")
    assert segment.env == {"HEYGEN_MOCK_DELAY": "5", "A": "b"}
    assert segment.args == ["--plain"]


def test_classify_rejects_broken_shell() -> None:
    with pytest.raises(ValueError, match="quotation"):
        classify("curl 'localhost:5000")


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Load (`benchmarks/load.py`)", "load-benchmarksloadpy"),
        ("`GET /status` — the seed contract", "get-status--the-seed-contract"),
        ("Fewer requests: `economical_policy()`", "fewer-requests-economical_policy"),
        ("1. The seed contract (every server)", "1-the-seed-contract-every-server"),
        ("How this page is *tested*", "how-this-page-is-tested"),
        ("See [the guide](client.md)", "see-the-guide"),
    ],
)
def test_slug(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_anchors_number_duplicates_and_ignore_code() -> None:
    text = "# A\n## Notes\n```sh\n# not a heading\n```\n### Notes\n"
    assert anchors(text) == {"a", "notes", "notes-1"}


def test_links_outside_code() -> None:
    text = (
        'See [the guide](client.md#track-a-job) and ![a plot](img/x.png "title").\n'
        "Not `[code](nope.md)`.\n"
        "```text\n[nor](this.md)\n```\n"
        "[ref]: https://example.com/\n"
        "[[nested] text](<server.md>)\n"
    )
    assert links(text) == [
        (1, "client.md#track-a-job"),
        (1, "img/x.png"),
        (6, "https://example.com/"),
        (7, "server.md"),
    ]
