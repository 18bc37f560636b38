"""Build the distribution, check it with the packaging tools, and follow the quickstart.

Run from the checkout by ``make package`` (and so by ``make test``)::

    .venv/bin/python -m scripts.package_check [--workdir DIR]

1. ``python -m build``: an sdist, then a wheel built from that sdist, so the
   sdist is proven to hold what building needs.
2. The tools, in the background while step 3 runs: ``twine check --strict``
   (metadata, README rendering), ``check-wheel-contents`` (the wheel holds the
   two packages whole and nothing else) and, in a git checkout,
   ``check-manifest`` (the sdist holds every file git tracks);
   ``pyproject.toml`` configures the last two. pytest
   is fetched for step 4 meanwhile, into a directory of its own.
3. What no tool does: docs/quickstart.md, followed in an empty directory. Its
   ``sh`` blocks run command by command (``python3 -m venv`` makes a plain
   fresh venv, ``pip install 'heygen-client[...]'`` installs the wheel just
   built with the same extras, ``heygen-mock-server`` starts in the background
   on a free port, and ``http://127.0.0.1:5000`` anywhere becomes that
   server's URL); its ``python`` blocks are saved under the name on their
   first line (``# track.py``) for a later command to run, or run at once with
   the venv's ``python``. The page must take less than five minutes.
4. Then pytest, run by that venv's ``python``, runs ``scripts/installed_checks.py``:
   the console scripts answer, versions, ``__all__`` lists and entry points are
   the checkout's, the code comes from the venv, and the plugin's
   ``heygen_server`` fixture (loaded through its ``pytest11`` entry point)
   serves a job.

Pip may fetch the dependencies from the configured registries (its cache
makes that fast). Exit status 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.docs._markdown import parse
from tests.docs._shell import split_commands, tokens

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "docs" / "quickstart.md"
#: The URL the docs use; replaced by the live server's.
DOC_URL = "http://127.0.0.1:5000"
#: The quickstart promises a tracked job in under five minutes.
QUICKSTART_BUDGET = 300.0
#: The longest any one command may take.
STEP_TIMEOUT = 240.0
SHELL_LANGUAGES = {"sh", "bash", "shell"}
_REQUIREMENT = re.compile(r"^heygen-client(\[[\w,-]+\])?$")


class CheckFailed(Exception):
    """A check failed; the message says which and why."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run every check; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the build, the venv and the logs in DIR (default: a temporary directory)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        if args.workdir is not None:
            if args.workdir.exists():
                shutil.rmtree(args.workdir)
            args.workdir.mkdir(parents=True)
            run_checks(args.workdir.resolve())
        else:
            with tempfile.TemporaryDirectory(prefix="heygen-package-") as tmp:
                run_checks(Path(tmp))
    except CheckFailed as exc:
        print(f"package check FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"package check passed in {time.monotonic() - started:.1f} s")
    return 0


def run_checks(work: Path) -> None:
    """Every step, in order, inside ``work``."""
    dist = work / "dist"
    with step("build sdist and wheel"):
        run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], cwd=ROOT)
    sdist = only(dist.glob("*.tar.gz"), "sdist")
    wheel = only(dist.glob("*.whl"), "wheel")
    pytest_site = work / "pytest"
    background = {
        "twine check --strict": ["twine", "check", "--strict", str(sdist), str(wheel)],
        "check-wheel-contents": ["check_wheel_contents", str(wheel)],
        # For step 4, beside the quickstart's venv rather than in it.
        "pytest for step 4": ["pip", "install", "--quiet", "--target", str(pytest_site), "pytest"],
    }
    if (ROOT / ".git").exists():  # not in an unpacked sdist: there is no git to compare with
        # Its sdists need only hatchling, which the dev venv has: no isolated build envs.
        background["check-manifest"] = ["check_manifest", "--no-build-isolation", str(ROOT)]
    home = work / "quickstart"
    home.mkdir()
    with ThreadPoolExecutor(len(background)) as pool:
        jobs = {
            name: pool.submit(run, [sys.executable, "-m", *command], cwd=ROOT)
            for name, command in background.items()
        }
        with step("docs/quickstart.md in a fresh venv") as timer:
            session = follow_quickstart(home, wheel)
        try:
            report_background(jobs)
            if timer.seconds >= QUICKSTART_BUDGET:
                raise CheckFailed(
                    f"the quickstart took {timer.seconds:.0f} s, the page promises under "
                    f"{QUICKSTART_BUDGET:.0f} s"
                )
        finally:
            stop_server(session)
    with step("the installed package, under pytest"):
        check_installed(session, pytest_site)


def report_background(jobs: dict[str, Future[str]]) -> None:
    """Wait for the background commands; fail with the output of the first that failed."""
    for name, job in jobs.items():
        job.result()
        print(f"   {name}: done", flush=True)


# -- the quickstart ------------------------------------------------------------


@dataclass
class Session:
    """The state a reader builds up while following the quickstart."""

    home: Path
    wheel: Path
    env: dict[str, str]
    venv: Path | None = None
    server: subprocess.Popen[bytes] | None = None
    url: str | None = None
    saved: dict[str, bool] = field(default_factory=dict)  # file name -> run since saved
    installed: bool = False
    log: list[str] = field(default_factory=list)

    def python(self) -> str:
        """The activated venv's ``python``."""
        if self.venv is None:
            raise CheckFailed("the quickstart runs Python before it activates a venv")
        return str(self.venv / "bin" / "python")

    def substitute(self, text: str) -> str:
        """The docs' server URL replaced by the live server's."""
        if DOC_URL not in text:
            return text
        if self.url is None:
            raise CheckFailed(f"the quickstart uses {DOC_URL} before it starts the server")
        return text.replace(DOC_URL, self.url)


def follow_quickstart(home: Path, wheel: Path) -> Session:
    """Run the page's steps in order in ``home``; returns the session, server still up."""
    session = Session(home=home, wheel=wheel, env=clean_env())
    blocks = parse(QUICKSTART).blocks
    try:
        for block in blocks:
            if block.lang in SHELL_LANGUAGES:
                for command in split_commands(block.body, block.first_line):
                    run_command(session, tokens(command.text))
            elif block.lang == "python":
                run_python_block(session, block.line, block.body)
        ran_client = any(shown.startswith("heygen-client ") for shown in session.log)
        missing = [
            what
            for what, done in (
                ("a pip install of heygen-client", session.installed),
                ("a heygen-mock-server", session.server is not None),
                ("a Python block", any(block.lang == "python" for block in blocks)),
                ("a heygen-client command", ran_client),
            )
            if not done
        ]
        if missing:
            raise CheckFailed(f"the quickstart has no step with {', '.join(missing)}")
        never_run = [name for name, ran in session.saved.items() if not ran]
        if never_run:
            raise CheckFailed(f"the quickstart saves {never_run} but never runs them")
    except BaseException:
        stop_server(session)
        raise
    return session


def clean_env() -> dict[str, str]:
    """This environment without the dev venv: the reader's fresh shell."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"}
        and not k.startswith("COVERAGE_")
    }
    dev_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and p != dev_bin
    )
    return env


def run_command(session: Session, words: list[str]) -> None:
    """One command of an ``sh`` block, the way a reader's shell would run it."""
    shown = shlex.join(words)
    session.log.append(shown)
    print(f"  $ {shown}", flush=True)
    name = words[0]
    if name in {".", "source"}:
        activate(session, session.home / words[1])
        return
    if name == "heygen-mock-server":
        start_server(session, words)
        return
    words = [session.substitute(w) for w in words]
    pip_install = words[:2] == ["pip", "install"] or words[1:4] == ["-m", "pip", "install"]
    if pip_install:
        words = install_wheel(session, words)
    elif name in {"python", "python3"} and session.venv is None:
        # Before any venv: the interpreter that runs this check (and made the dev venv).
        words = [getattr(sys, "_base_executable", sys.executable), *words[1:]]
    for word in words[1:]:
        if word in session.saved:
            session.saved[word] = True
    program = shutil.which(words[0], path=session.env["PATH"])
    if program is None:
        raise CheckFailed(f"{shown}: {words[0]} is not on the PATH at this point")
    started = time.monotonic()
    out = run([program, *words[1:]], cwd=session.home, env=session.env)
    if not pip_install:
        show(out)
    print(f"    ({time.monotonic() - started:.1f} s)", flush=True)


def activate(session: Session, script: Path) -> None:
    """``. VENV/bin/activate``: that venv's ``bin`` first on the PATH."""
    venv = script.parent.parent
    if not (venv / "pyvenv.cfg").is_file():
        raise CheckFailed(f"{script} does not belong to a venv made earlier in the quickstart")
    session.venv = venv
    session.env["VIRTUAL_ENV"] = str(venv)
    path = [p for p in session.env["PATH"].split(os.pathsep) if p != str(venv / "bin")]
    session.env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])


def install_wheel(session: Session, words: list[str]) -> list[str]:
    """The same install with ``heygen-client[extras]`` replaced by the built wheel."""
    if session.venv is None:
        raise CheckFailed("the quickstart installs with pip before it activates a venv")
    replaced = []
    for word in words:
        match = _REQUIREMENT.match(word)
        replaced.append(f"{session.wheel}{match.group(1) or ''}" if match else word)
    if replaced == words:
        raise CheckFailed(f"{shlex.join(words)} does not install heygen-client")
    session.installed = True
    return replaced


def start_server(session: Session, words: list[str]) -> None:
    """``heygen-mock-server ...`` in the background, on a free port; learns its URL."""
    if session.server is not None:
        raise CheckFailed("the quickstart starts a second mock server")
    program = shutil.which(words[0], path=session.env["PATH"])
    if program is None:
        raise CheckFailed(f"{words[0]} is not on the PATH: not installed, or no venv active")
    log_path = session.home.parent / "mock-server.log"
    with log_path.open("wb") as log:
        session.server = subprocess.Popen(
            [program, *words[1:], "--port", "0"],  # the last --port wins
            cwd=session.home,
            env=session.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    # The server says where it listens on its first line, so the log is polled.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and session.server.poll() is None:
        match = re.search(r"listening on (http://\S+)", log_path.read_text(errors="replace"))
        if match:
            session.url = match.group(1)
            return
        time.sleep(0.05)
    raise CheckFailed(f"heygen-mock-server did not start:\n{log_path.read_text(errors='replace')}")


def stop_server(session: Session) -> None:
    """Ctrl-C in terminal 1."""
    server, session.server = session.server, None
    if server is None or server.poll() is not None:
        return
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def run_python_block(session: Session, line: int, body: str) -> None:
    """Save a ``# NAME.py`` block under its name; run any other block at once."""
    named = re.fullmatch(r"#\s*([\w.-]+\.py)", body.split("\n", 1)[0].strip())
    code = session.substitute(body)
    if named:
        name = named.group(1)
        (session.home / name).write_text(code, encoding="utf-8")
        session.saved[name] = False
        print(f"  (saved {name})", flush=True)
        return
    path = session.home.parent / f"quickstart_line_{line}.py"
    path.write_text(code, encoding="utf-8")
    print(f"  >>> the python block at line {line}", flush=True)
    started = time.monotonic()
    show(run([session.python(), str(path)], cwd=session.home, env=session.env))
    print(f"    ({time.monotonic() - started:.1f} s)", flush=True)


# -- the installed package -------------------------------------------------------


def expected() -> dict[str, object]:
    """What the installed package must show: the checkout's names and ``pyproject.toml``."""
    import heygen_client
    import mock_server
    import mock_server.testing

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"console_scripts": project["scripts"], **project["entry-points"]}
    return {
        "version": heygen_client.__version__,
        "client_all": sorted(heygen_client.__all__),
        "server_all": sorted(mock_server.__all__),
        "testing_all": sorted(mock_server.testing.__all__),
        "entry_points": sorted(
            [group, name, target]
            for group, points in groups.items()
            for name, target in points.items()
        ),
        "extras": sorted(project["optional-dependencies"]),
    }


def check_installed(session: Session, pytest_site: Path) -> None:
    """Run ``scripts/installed_checks.py`` with the quickstart venv's ``python``.

    pytest comes from ``pytest_site`` on ``PYTHONPATH``, which finds modules
    but installs nothing into the venv (no ``.pth`` file there is read).
    """
    python = session.python()
    env = {**session.env, "PYTHONPATH": str(pytest_site)}
    tests = session.home.parent / "installed_check"
    tests.mkdir()
    (tests / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # not the checkout's
    (tests / "expected.json").write_text(json.dumps(expected()), encoding="utf-8")
    shutil.copy(Path(__file__).with_name("installed_checks.py"), tests / "test_installed.py")
    show(run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tests, env=env))


# -- helpers -------------------------------------------------------------------------


@dataclass
class Timer:
    """How long a step took, once it ended."""

    seconds: float = 0.0


@contextmanager
def step(title: str) -> Iterator[Timer]:
    """Print the step's title, then how long it took."""
    print(f"== {title}", flush=True)
    timer = Timer()
    started = time.monotonic()
    try:
        yield timer
    finally:
        timer.seconds = time.monotonic() - started
        print(f"   {title}: {timer.seconds:.1f} s", flush=True)


def run(
    command: Sequence[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = STEP_TIMEOUT,
) -> str:
    """Run a command; returns its stdout, or raises with all its output when it fails."""
    try:
        proc = subprocess.run(
            list(command),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise CheckFailed(f"{shlex.join(command)}: no answer after {timeout:.0f} s") from exc
    if proc.returncode != 0:
        raise CheckFailed(
            f"{shlex.join(command)} exited with {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}"
        )
    return proc.stdout


def show(output: str, limit: int = 12) -> None:
    """A command's output, indented, at most ``limit`` lines."""
    lines = output.splitlines()
    for line in lines[:limit]:
        print(f"    {line}")
    if len(lines) > limit:
        print(f"    ... ({len(lines) - limit} more lines)")


def only(paths: Iterator[Path], what: str) -> Path:
    """The single path of an iterator, else a failure."""
    found = list(paths)
    if len(found) != 1:
        raise CheckFailed(f"expected one {what}, found {[p.name for p in found]}")
    return found[0]


if __name__ == "__main__":
    sys.exit(main())
