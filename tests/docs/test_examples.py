"""Every fenced code block of the docs is run, or says why not.

The docs are README.md, CONTRIBUTING.md, CHANGELOG.md and docs/*.md.

One test per block, with the id ``FILE:LINE`` of its opening fence
(``client.md:15``). The blocks run against one mock server per module
(``LiveServer --delay 1 --seed 1``: everything on, jobs done in a second);
``http://127.0.0.1:5000``, ``127.0.0.1:5000`` and ``localhost:5000`` in a
block become that server's address. Each block must finish within
``BLOCK_TIMEOUT`` seconds.

By the block's language (the fence's info string):

- ``python``: run as a script in a fresh interpreter (``python -W error``),
  in a temporary directory. Tracebacks point at the Markdown file and line.
  A block that defines ``test_`` functions is a test module: ``pytest`` runs
  it (with the package's plugin), and it must pass.
- ``sh``, ``bash``, ``console``, ``shell``: one ``bash`` per block runs its
  commands in order (variables carry over within the block); each must exit 0
  unless the doc shows otherwise, with a trailing comment (``# exits 3``) or,
  in a transcript, ``$ echo $?`` followed by the status. A block with lines
  starting ``$ `` is a transcript: only those lines are commands.
  ``tests/docs/_shell.py`` decides per command:

  - **run**: ``heygen-client`` (and ``python -m heygen_client``), ``curl``,
    ``python -c`` and text utilities (``echo``, ``grep``, ``jq``...). ``curl``
    gets ``--fail-with-body``, so an HTTP error fails the command.
    ``HEYGEN_URL`` is the test server's URL, so ``heygen-client`` without
    ``--url`` asks it too. ``.venv/bin/`` is this interpreter's directory.
    Job id placeholders (``<job_id>``, or an elided id such as
    ``jAQBB2sB...``) become real one-second jobs, one per distinct
    placeholder.
  - **checked, not run**: ``heygen-mock-server`` / ``python -m mock_server``
    (a server that runs until stopped: the test has its own) and
    ``heygen-client demo`` (~15 s, run by ``tests/client/test_demo.py``).
    Their arguments go through the real parser.
  - **cannot run**: anything else (``make``, ``pip install``, ``pytest``,
    ``gunicorn``, ``python -m benchmarks``...). The test fails unless the block
    is marked ``skip``: ``make`` targets are what CI runs, ``pip install`` is
    the packaging check's, the benchmarks have their smoke tests.

- ``text``: output, diagrams, wire formats; not run.
- ``json``: must parse.
- no language: fails. Say what it is (``text`` for output).
- anything else: fails unless marked ``skip``.

Markers: an HTML comment on a line of its own before the fence (blank lines
and other HTML comments may come between).

- ``<!-- doc-test: skip (REASON) -->``: not run; the reason is required and is
  shown in the test report.
- ``<!-- doc-test: continue -->``: a fragment that continues the previous
  block of the same kind on the page (python or shell); both run as one
  script, in order.

A malformed or dangling marker fails ``test_markers``. So a new page, or a new
block, cannot escape: it runs, or a marker says why it does not.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from mock_server import ServerConfig
from mock_server.pytest_plugin import HeyGenServer
from mock_server.testing import LiveServer
from tests.docs._markdown import Block, Document, parse
from tests.docs._shell import Command, Kind, classify, split_commands

ROOT = Path(__file__).resolve().parents[2]
#: The pages whose blocks are run: the README, the contributors' pages, every page of docs/.
PAGES: tuple[Path, ...] = (
    *(ROOT / name for name in ("README.md", "CONTRIBUTING.md", "CHANGELOG.md")),
    *sorted((ROOT / "docs").glob("*.md")),
)
DOCUMENTS: tuple[Document, ...] = tuple(parse(page) for page in PAGES)
BLOCKS: tuple[Block, ...] = tuple(block for doc in DOCUMENTS for block in doc.blocks)

#: The docs' server: everything on, jobs done in a second, reproducible.
SERVER_FLAGS: tuple[str, ...] = ("--delay", "1", "--seed", "1")
#: Seconds a block (its whole script) may take.
BLOCK_TIMEOUT = 20.0
#: Blocks run at once.
WORKERS = 4
#: Delay of the jobs created for placeholders such as ``<job_id>``.
PLACEHOLDER_JOB_DELAY = 1.0

PYTHON_LANGS = frozenset({"python", "py", "python3"})
SHELL_LANGS = frozenset({"sh", "bash", "shell", "console", "shell-session"})
OUTPUT_LANGS = frozenset({"text", "txt", "output"})

_DOCS_URL = re.compile(r"(?P<scheme>https?://)?(?:127\.0\.0\.1|localhost):5000\b")
_VENV_BIN = re.compile(r"(?<![\w/.-])\.venv/bin/")
_PLACEHOLDER = re.compile(r"<[\w-]*job[_-]?id[\w-]*>|\bj[A-Z][\w-]*\.\.\.", re.IGNORECASE)
_TEST_FUNCTION = re.compile(r"^(?:async )?def test_\w*\(", re.MULTILINE)
_CURL = re.compile(r"(?<![\w/.-])curl(?=\s)")


@pytest.fixture(scope="module")
def docs_server() -> Iterator[LiveServer]:
    """The mock server the examples run against, started once for the module."""
    with LiveServer(*SERVER_FLAGS) as server:
        yield server


@pytest.fixture(scope="module")
def example_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[None]]]:
    """Every selected block that runs, started at once on ``WORKERS`` threads.

    The examples mostly wait (for their jobs, for interpreters to start), so
    running a few at a time makes the module several times faster; each
    ``test_example`` then reports its own block's outcome. The threads start
    here, before any test's thread snapshot, and end at module teardown.
    """
    selected = [
        item.callspec.params["block"]
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.originalname == "test_example"
        and item.module is sys.modules[__name__]
    ]
    runnable = [b for b in selected if isinstance(b, Block) and _runner(b) is not None]
    if not runnable:
        yield {}
        return
    server: LiveServer = request.getfixturevalue("docs_server")
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="docs-example") as pool:
        runs = {
            block.id: pool.submit(
                _execute, block, server, tmp_path_factory.mktemp(re.sub(r"\W", "_", block.id))
            )
            for block in runnable
        }
        try:
            yield runs
        finally:
            for run in runs.values():
                run.cancel()


@pytest.mark.parametrize("document", DOCUMENTS, ids=[d.path.name for d in DOCUMENTS])
def test_markers(document: Document) -> None:
    """Markers are well formed and each is followed by a code block; every fence closes."""
    assert not document.problems, "\n".join(
        f"{document.path.name}:{problem}" for problem in document.problems
    )


@pytest.mark.live
@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_example(block: Block, example_runs: dict[str, Future[None]]) -> None:
    """Run the block (or check it, or skip it with its marker's reason)."""
    if block.directive.kind == "skip":
        pytest.skip(f"{block.id}: {block.directive.reason}")
    if not block.lang:
        pytest.fail(
            f"{block.id}: a code block without a language. Label it: ```text for output "
            "or diagrams, ```python or ```sh to have it run, ```json to have it parsed.",
            pytrace=False,
        )
    if block.lang in OUTPUT_LANGS or block.lang == "json":
        assert block.directive.kind == "run", f"{block.id}: 'continue' on a {block.lang} block"
        if block.lang == "json":
            _check_json(block)
        return
    if _runner(block) is None:
        pytest.fail(
            f"{block.id}: no runner for ```{block.lang}; mark it "
            "<!-- doc-test: skip (REASON) --> if it cannot be run",
            pytrace=False,
        )
    example_runs[block.id].result()  # raises the block's failure


# -- what the blocks are -------------------------------------------------------------------


def _chain(block: Block, langs: frozenset[str]) -> list[Block]:
    """The block, preceded by the blocks it continues (``continue`` markers)."""
    chain = [block]
    while chain[0].directive.kind == "continue":
        document = next(d for d in DOCUMENTS if d.path == block.path)
        earlier = [b for b in document.blocks if b.line < chain[0].line and b.lang in langs]
        if not earlier:
            pytest.fail(f"{chain[0].id}: 'continue' with no earlier block to continue")
        if earlier[-1].directive.kind == "skip":
            pytest.fail(f"{chain[0].id}: continues {earlier[-1].id}, which is skipped")
        chain.insert(0, earlier[-1])
    return chain


def _check_json(block: Block) -> None:
    try:
        json.loads(block.body)
    except json.JSONDecodeError as exc:
        pytest.fail(f"{block.id}: not JSON: {exc}", pytrace=False)


def _with_server(text: str, server: LiveServer) -> str:
    """The docs' ``127.0.0.1:5000`` / ``localhost:5000`` replaced by the test server."""
    netloc = f"{server.host}:{server.port}"
    return _DOCS_URL.sub(lambda m: f"{m['scheme']}{netloc}" if m["scheme"] else netloc, text)


def _runner(block: Block) -> Callable[[list[Block], LiveServer, Path], None] | None:
    """How to run a block, if it is to be run."""
    if block.directive.kind == "skip":
        return None
    if block.lang in PYTHON_LANGS:
        return _run_python
    if block.lang in SHELL_LANGS:
        return _run_shell
    return None


def _execute(block: Block, server: LiveServer, tmp_path: Path) -> None:
    """Run a block (after the blocks it continues); fails the way a test fails."""
    runner = _runner(block)
    assert runner is not None
    langs = PYTHON_LANGS if block.lang in PYTHON_LANGS else SHELL_LANGS
    runner(_chain(block, langs), server, tmp_path)


# -- running -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    """A finished (or killed) child: exit status and combined output."""

    returncode: int
    output: str
    timed_out: bool


def _environment() -> dict[str, str]:
    bindir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "NO_COLOR": "1",
    }


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> Finished:
    """Run a child in its own process group; kill the group on timeout and afterwards.

    Killing the group afterwards ends anything the example left running (a
    server it started and did not stop): it is ours, and it must not outlive
    the test.
    """
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=BLOCK_TIMEOUT)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    return Finished(proc.returncode, out.decode("utf-8", "replace"), timed_out)


def _run_python(chain: list[Block], server: LiveServer, tmp_path: Path) -> None:
    """Run the blocks as one script whose line numbers are the Markdown file's."""
    lines: list[str] = []
    for block in chain:
        body = _with_server(block.body, server).splitlines()
        lines.extend([""] * (block.first_line - 1 - len(lines)))
        lines.extend(body)
    block = chain[-1]
    source = "\n".join(lines) + "\n"
    if _TEST_FUNCTION.search(source):
        # A test module: run by pytest (and the package's plugin), as its reader would.
        script = tmp_path / f"test_{block.path.stem}_{block.line}.py"
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"]
    else:
        script = tmp_path / block.path.name  # tracebacks then say "client.md", line N
        argv = [sys.executable, "-W", "error"]
    script.write_text(source, encoding="utf-8")
    done = _run([*argv, str(script)], tmp_path, _environment())
    if done.timed_out:
        pytest.fail(
            f"{block.id}: still running after {BLOCK_TIMEOUT} s; output:\n{done.output}",
            pytrace=False,
        )
    if done.returncode != 0:
        pytest.fail(
            f"{block.id}: exited with {done.returncode}; output:\n{done.output}", pytrace=False
        )


def _run_shell(chain: list[Block], server: LiveServer, tmp_path: Path) -> None:
    block = chain[-1]
    commands = [c for b in chain for c in split_commands(b.body, b.first_line)]
    jobs: dict[str, str] = {}
    script = ["set -o pipefail", "__rc=0"]
    run: list[Command] = []
    for command in commands:
        where = f"{block.path.name}:{command.line}"
        dummy = _PLACEHOLDER.sub("JOB_ID", command.text)
        try:
            segments = classify(dummy)
        except ValueError as exc:
            pytest.fail(f"{where}: not valid shell ({exc}): {command.text}", pytrace=False)
        cannot = [s.program for s in segments if s.kind is Kind.CANNOT]
        if cannot:
            pytest.fail(
                f"{where}: cannot run `{cannot[0]}` here ({command.text.strip()}). Mark the "
                "block <!-- doc-test: skip (REASON) --> and say where it is covered.",
                pytrace=False,
            )
        checked = [s for s in segments if s.kind in (Kind.SERVER, Kind.DEMO)]
        for segment in checked:
            _check_arguments(where, segment.kind, segment.env, segment.args)
        if checked:
            continue
        text = _VENV_BIN.sub(str(Path(sys.executable).parent) + "/", command.text)
        text = _with_server(text, server)
        text = _PLACEHOLDER.sub(lambda m: jobs.get(m[0]) or _new_job(server, jobs, m[0]), text)
        text = _CURL.sub("curl --fail-with-body", text)
        run.append(command)
        script += [
            # Show the command, then give it the previous status back (for "echo $?").
            f"printf '%s\\n' {shlex.quote('$ ' + command.text)}; (exit $__rc)",
            text,
            '__rc=$?; echo "$__rc" >> "$DOC_TEST_RC"',
        ]
    if not run:
        return
    rc_file = tmp_path / "exit-statuses"
    rc_file.touch()
    (tmp_path / "block.sh").write_text("\n".join(script) + "\n", encoding="utf-8")
    env = {**_environment(), "DOC_TEST_RC": str(rc_file), "HEYGEN_URL": server.url}
    done = _run(["bash", "--noprofile", "--norc", str(tmp_path / "block.sh")], tmp_path, env)
    statuses = [int(s) for s in rc_file.read_text().split()]
    problems = [
        f"{block.path.name}:{command.line}: exit status {status}, the doc shows {command.expected}"
        f": {command.text.strip()}"
        for command, status in zip(run, statuses, strict=False)
        if status != command.expected
    ]
    if done.timed_out:
        problems.append(f"still running after {BLOCK_TIMEOUT} s")
    elif len(statuses) < len(run):
        problems.append(f"bash stopped after {len(statuses)} of {len(run)} commands")
    if problems:
        pytest.fail("\n".join([*problems, "output:", done.output]), pytrace=False)


def _new_job(server: LiveServer, jobs: dict[str, str], placeholder: str) -> str:
    """Create a short job for a placeholder such as ``<job_id>``; returns its id."""
    job_id = HeyGenServer(server).create_job(delay=PLACEHOLDER_JOB_DELAY)
    jobs[placeholder] = job_id
    return job_id


def _check_arguments(where: str, kind: Kind, env: dict[str, str], args: list[str]) -> None:
    """Parse the arguments of a command that is not run with its real parser."""
    if kind is Kind.SERVER:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            try:
                ServerConfig.from_args(args, environ=env)
                return
            except SystemExit:
                message = err.getvalue().strip().splitlines()[-1]  # after argparse's usage
    else:
        # --help after the arguments: argparse exits 0 only if those before it parsed.
        done = subprocess.run(
            [sys.executable, "-m", "heygen_client", *args, "--help"],
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT,
            check=False,
        )
        if done.returncode == 0:
            return
        message = done.stderr.strip() or f"exit status {done.returncode}"
    pytest.fail(f"{where}: {' '.join(args)}: {message}", pytrace=False)
