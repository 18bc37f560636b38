"""Build the distribution, install it into a fresh venv and follow the quickstart there.

Run by ``make package`` (and so by ``make test``)::

    .venv/bin/python scripts/package_check.py [--workdir DIR]

Steps, each timed:

1. ``python -m build``: an sdist, then a wheel built from that sdist, so the
   sdist is proven to hold what building needs.
2. ``twine check --strict`` on both.
3. The contents: the wheel holds the two packages with their ``py.typed``, the
   entry points and the version of ``heygen_client/__init__.py``, and nothing
   else (no tests, no benchmarks); the sdist holds everything needed to build
   and test (every file git knows under its included paths, when run from a
   git checkout) and no caches.
4. docs/quickstart.md, followed in an empty directory: its ``sh`` blocks run
   command by command (``python3 -m venv`` makes a plain fresh venv,
   ``pip install 'heygen-client[...]'`` installs the wheel just built with the
   same extras, ``heygen-mock-server`` starts in the background on a free port,
   and ``http://127.0.0.1:5000`` anywhere becomes that server's URL); its
   ``python`` blocks are saved under the name on their first line
   (``# track.py``) for a later command to run, or run at once with the venv's
   ``python``. The page must take less than five minutes.
5. In that venv: the console scripts answer, the installed ``__all__`` lists
   are the source's (tests/client/test_api.py and tests/server/test_exports.py
   hold those to the docs), the code comes from site-packages, and
   ``mock_server.testing.LiveServer`` starts a server.
6. With pytest installed there too, pytest loads the plugin through its
   ``pytest11`` entry point and a test using its ``heygen_server`` fixture passes.

Pip may fetch the dependencies from the configured registries (its cache
makes that fast). Exit status 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import email.parser
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "docs" / "quickstart.md"
#: The URL the docs use; replaced by the live server's.
DOC_URL = "http://127.0.0.1:5000"
#: The quickstart promises a tracked job in under five minutes.
QUICKSTART_BUDGET = 300.0
#: The longest any one command of the quickstart may take.
STEP_TIMEOUT = 240.0
#: The packages of the wheel, the only top-level entries besides its .dist-info.
PACKAGES = ("heygen_client", "mock_server")
#: What the sdist must hold besides PKG-INFO: enough to build the wheel and run the tests.
SDIST_REQUIRED = (
    "pyproject.toml",
    "README.md",
    "Makefile",
    "LICENSE",
    "heygen_client/__init__.py",
    "heygen_client/py.typed",
    "mock_server/py.typed",
    "docs/client.md",
    "docs/quickstart.md",
    "tests/conftest.py",
    "benchmarks/__init__.py",
    "scripts/package_check.py",
)
#: Paths of the repository the sdist must hold all of (compared with git).
SDIST_ROOTS = ("heygen_client", "mock_server", "docs", "tests", "benchmarks", "scripts")
SDIST_FILES = ("pyproject.toml", "README.md", "Makefile", "LICENSE")
ENTRY_POINTS = {
    "console_scripts": {
        "heygen-client": "heygen_client.__main__:main",
        "heygen-mock-server": "mock_server.__main__:main",
    },
    "pytest11": {"heygen_mock_server": "mock_server.pytest_plugin"},
}
SHELL_LANGUAGES = {"sh", "bash", "shell"}
_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
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
    version = source_version()
    # Before the build: a file someone adds while it runs is not expected in the sdist.
    known = git_files()
    dist = work / "dist"
    with step("build sdist and wheel"):
        run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], cwd=ROOT)
    sdist = only(dist.glob("*.tar.gz"), "sdist")
    wheel = only(dist.glob("*.whl"), "wheel")
    with step("twine check --strict"):
        run([sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)])
    with step("wheel and sdist contents"):
        check_wheel(wheel, version)
        check_sdist(sdist, version, known)
    home = work / "quickstart"
    home.mkdir()
    with step("docs/quickstart.md in a fresh venv") as timer:
        session = follow_quickstart(QUICKSTART.read_text(encoding="utf-8"), home, wheel)
    try:
        if timer.seconds >= QUICKSTART_BUDGET:
            raise CheckFailed(
                f"the quickstart took {timer.seconds:.0f} s, the page promises under "
                f"{QUICKSTART_BUDGET:.0f} s"
            )
        print(f"   the quickstart took {timer.seconds:.1f} s (under {QUICKSTART_BUDGET:.0f} s)")
        with step("the installed package"):
            check_installed(session, version)
    finally:
        stop_server(session)
    with step("the pytest plugin, installed"):
        check_pytest_plugin(session)


# -- the version and the artifacts ------------------------------------------------


def source_version() -> str:
    """``__version__`` as written in ``heygen_client/__init__.py`` (the one place)."""
    tree = ast.parse((ROOT / "heygen_client" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__version__" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node.value.value
    raise CheckFailed("no literal __version__ = '...' in heygen_client/__init__.py")


def check_wheel(wheel: Path, version: str) -> None:
    """The wheel's files, metadata and entry points."""
    if not wheel.name.endswith(f"-{version}-py3-none-any.whl"):
        raise CheckFailed(f"{wheel.name}: expected version {version}, pure Python (py3-none-any)")
    dist_info = f"heygen_client-{version}.dist-info"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = email.parser.Parser().parsestr(zf.read(f"{dist_info}/METADATA").decode())
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
    tops = {name.split("/", 1)[0] for name in names}
    if tops != {*PACKAGES, dist_info}:
        raise CheckFailed(f"wheel top-level entries {sorted(tops)}, expected {PACKAGES} only")
    for package in PACKAGES:
        for module in ("__init__.py", "py.typed"):
            if f"{package}/{module}" not in names:
                raise CheckFailed(f"the wheel lacks {package}/{module}")
    stray = sorted(n for n in names if "__pycache__" in n or n.endswith((".pyc", ".orig")))
    if stray:
        raise CheckFailed(f"the wheel holds stray files: {stray}")
    if metadata["Version"] != version:
        raise CheckFailed(f"METADATA Version {metadata['Version']}, __version__ {version}")
    if metadata["Name"] != "heygen-client":
        raise CheckFailed(f"METADATA Name {metadata['Name']!r}")
    requires = metadata.get_all("Requires-Dist") or []
    for needed in ("requests", "cachetools", "flask"):
        if not any(r.lower().startswith(needed) for r in requires):
            raise CheckFailed(f"METADATA does not require {needed}: {requires}")
    extras = set(metadata.get_all("Provides-Extra") or [])
    if not {"server", "cli"} <= extras:
        raise CheckFailed(f"METADATA extras {sorted(extras)} lack server or cli")
    declared = parse_entry_points(entry_points)
    for group, expected in ENTRY_POINTS.items():
        if declared.get(group, {}) != expected:
            raise CheckFailed(f"entry points [{group}] {declared.get(group)}, expected {expected}")
    for targets in declared.values():
        for target in targets.values():
            module = target.split(":")[0].replace(".", "/")
            if f"{module}.py" not in names and f"{module}/__init__.py" not in names:
                raise CheckFailed(f"entry point target {target} is not in the wheel")


def parse_entry_points(text: str) -> dict[str, dict[str, str]]:
    """``entry_points.txt`` as {group: {name: target}}."""
    groups: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = groups.setdefault(line[1:-1], {})
        elif current is not None and "=" in line:
            name, target = (part.strip() for part in line.split("=", 1))
            current[name] = target
    return groups


def check_sdist(sdist: Path, version: str, known: set[str] | None) -> None:
    """The sdist builds the wheel (``build`` made it so) and holds the tests and docs.

    ``known`` is what git listed before the build (None outside a checkout).
    """
    prefix = f"heygen_client-{version}/"
    if sdist.name != f"heygen_client-{version}.tar.gz":
        raise CheckFailed(f"{sdist.name}: expected heygen_client-{version}.tar.gz")
    with tarfile.open(sdist) as tf:
        members = {m.name.removeprefix(prefix) for m in tf.getmembers() if m.isfile()}
    missing = [p for p in ("PKG-INFO", *SDIST_REQUIRED) if p not in members]
    if missing:
        raise CheckFailed(f"the sdist lacks {missing}")
    stray = sorted(
        m
        for m in members
        if m.startswith((".venv/", ".ci/", "dist/"))
        or "__pycache__" in m
        or m.endswith((".pyc", ".coverage"))
        or "/results/" in m
    )
    if stray:
        raise CheckFailed(f"the sdist holds files it should not: {stray[:10]}")
    if known is not None:
        wanted = {
            f
            for f in known
            if (f in SDIST_FILES or f.startswith(tuple(r + "/" for r in SDIST_ROOTS)))
            and (ROOT / f).is_file()  # not deleted while the build ran
        }
        missing = sorted(wanted - members)
        if missing:
            raise CheckFailed(f"the sdist lacks files git knows: {missing[:10]}")


def git_files() -> set[str] | None:
    """Files git tracks or would track (not ignored) that exist; None outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {f for f in out.splitlines() if (ROOT / f).is_file()}


# -- the quickstart ------------------------------------------------------------


@dataclass
class Session:
    """The state a reader builds up while following the quickstart."""

    home: Path
    wheel: Path
    env: dict[str, str]
    venv: Path | None = None
    server: subprocess.Popen[bytes] | None = None
    server_log: Path | None = None
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


def code_blocks(markdown: str) -> list[tuple[str, str]]:
    """The fenced blocks of a page as (language, body), in order."""
    return [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(markdown)]


def shell_commands(body: str) -> list[list[str]]:
    """A shell block's commands as argument lists (comments dropped, ``\\`` lines joined)."""
    commands = []
    for line in body.replace("\\\n", " ").splitlines():
        tokens = shlex.split(line, comments=True)
        if tokens:
            commands.append(tokens)
    return commands


def follow_quickstart(markdown: str, home: Path, wheel: Path) -> Session:
    """Run the page's steps in order in ``home``; returns the session, server still up."""
    session = Session(home=home, wheel=wheel, env=clean_env())
    blocks = code_blocks(markdown)
    try:
        for index, (language, body) in enumerate(blocks):
            if language in SHELL_LANGUAGES:
                for tokens in shell_commands(body):
                    run_command(session, tokens)
            elif language == "python":
                run_python_block(session, index, body)
        missing = [
            what
            for what, done in (
                ("a pip install of heygen-client", session.installed),
                ("a heygen-mock-server", session.server is not None),
                ("a Python block", any(lang == "python" for lang, _ in blocks)),
                (
                    "a heygen-client command",
                    any(line.startswith("heygen-client") for line in session.log),
                ),
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


def run_command(session: Session, tokens: list[str]) -> None:
    """One command of an ``sh`` block, the way a reader's shell would run it."""
    shown = shlex.join(tokens)
    session.log.append(shown)
    print(f"  $ {shown}", flush=True)
    name = tokens[0]
    if name in {".", "source"}:
        activate(session, session.home / tokens[1])
        return
    if name == "heygen-mock-server":
        start_server(session, tokens)
        return
    tokens = [session.substitute(t) for t in tokens]
    if is_pip_install(tokens):
        tokens = install_wheel(session, tokens)
    elif name in {"python", "python3"} and session.venv is None:
        # Before any venv: the interpreter that runs this check (and made the dev venv).
        tokens = [getattr(sys, "_base_executable", sys.executable), *tokens[1:]]
    for token in tokens[1:]:
        if token in session.saved:
            session.saved[token] = True
    program = shutil.which(tokens[0], path=session.env["PATH"])
    if program is None:
        raise CheckFailed(f"{shown}: {tokens[0]} is not on the PATH at this point")
    started = time.monotonic()
    out = run([program, *tokens[1:]], cwd=session.home, env=session.env, timeout=STEP_TIMEOUT)
    if not is_pip_install(tokens):
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


def is_pip_install(tokens: list[str]) -> bool:
    """``pip install ...`` or ``python -m pip install ...``."""
    if tokens[:2] == ["pip", "install"]:
        return True
    return tokens[0].startswith("python") and tokens[1:4] == ["-m", "pip", "install"]


def install_wheel(session: Session, tokens: list[str]) -> list[str]:
    """The same install with ``heygen-client[extras]`` replaced by the built wheel."""
    if session.venv is None:
        raise CheckFailed("the quickstart installs with pip before it activates a venv")
    replaced = []
    for token in tokens:
        match = _REQUIREMENT.match(token)
        replaced.append(f"{session.wheel}{match.group(1) or ''}" if match else token)
    if replaced == tokens:
        raise CheckFailed(f"{shlex.join(tokens)} does not install heygen-client")
    session.installed = True
    return replaced


def start_server(session: Session, tokens: list[str]) -> None:
    """``heygen-mock-server ...`` in the background, on a free port; learns its URL."""
    if session.server is not None:
        raise CheckFailed("the quickstart starts a second mock server")
    program = shutil.which(tokens[0], path=session.env["PATH"])
    if program is None:
        raise CheckFailed(f"{tokens[0]} is not on the PATH: not installed, or no venv active")
    session.server_log = session.home.parent / "mock-server.log"
    with session.server_log.open("wb") as log:
        session.server = subprocess.Popen(
            [program, *tokens[1:], "--port", "0"],  # the last --port wins
            cwd=session.home,
            env=session.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = session.server_log.read_text(encoding="utf-8", errors="replace")
        match = re.search(r"listening on (http://\S+)", text)
        if match:
            session.url = match.group(1)
            return
        if session.server.poll() is not None:
            break
        time.sleep(0.05)
    output = session.server_log.read_text(encoding="utf-8", errors="replace")
    raise CheckFailed(f"heygen-mock-server did not start:\n{output}")


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


def run_python_block(session: Session, index: int, body: str) -> None:
    """Save a ``# NAME.py`` block under its name; run any other block at once."""
    first = body.split("\n", 1)[0].strip()
    named = re.fullmatch(r"#\s*([\w.-]+\.py)", first)
    code = session.substitute(body)
    if named:
        name = named.group(1)
        (session.home / name).write_text(code, encoding="utf-8")
        session.saved[name] = False
        print(f"  (saved {name})", flush=True)
        return
    path = session.home.parent / f"quickstart_block_{index}.py"
    path.write_text(code, encoding="utf-8")
    print(f"  >>> python block {index}", flush=True)
    started = time.monotonic()
    show(run([session.python(), str(path)], cwd=session.home, env=session.env))
    print(f"    ({time.monotonic() - started:.1f} s)", flush=True)


# -- the installed package ---------------------------------------------------------

_INSPECT = """
import json, importlib.metadata as md
import heygen_client, mock_server, mock_server.testing
with mock_server.testing.LiveServer("--delay", "0") as server:
    healthy = server.get_json("/healthz")
print(json.dumps({
    "version": heygen_client.__version__,
    "metadata_version": md.version("heygen-client"),
    "files": [heygen_client.__file__, mock_server.__file__],
    "client_all": sorted(heygen_client.__all__),
    "server_all": sorted(mock_server.__all__),
    "testing_all": sorted(mock_server.testing.__all__),
    "entry_points": sorted(
        (ep.group, ep.name, ep.value)
        for ep in md.distribution("heygen-client").entry_points
    ),
    "healthz": healthy,
}))
"""


def check_installed(session: Session, version: str) -> None:
    """The console scripts and the package as installed in the quickstart's venv."""
    python = session.python()
    venv_bin = Path(python).parent
    out = run([str(venv_bin / "heygen-client"), "--version"], cwd=session.home)
    if out.strip() != f"heygen-client {version}":
        raise CheckFailed(f"heygen-client --version printed {out.strip()!r}")
    run([str(venv_bin / "heygen-mock-server"), "--help"], cwd=session.home)
    info = json.loads(run([python, "-c", _INSPECT], cwd=session.home, env=session.env))
    import heygen_client
    import mock_server
    import mock_server.testing

    site = str(session.venv)
    if not all(f.startswith(site) for f in info["files"]):
        raise CheckFailed(f"the venv imports the packages from {info['files']}, not {site}")
    if info["version"] != version or info["metadata_version"] != version:
        raise CheckFailed(f"installed versions {info['version']}/{info['metadata_version']}")
    for key, module in (
        ("client_all", heygen_client),
        ("server_all", mock_server),
        ("testing_all", mock_server.testing),
    ):
        if info[key] != sorted(module.__all__):
            raise CheckFailed(f"installed {module.__name__}.__all__ differs from the source's")
    groups = {(group, name) for group, name, _ in info["entry_points"]}
    wanted = {(group, name) for group, names in ENTRY_POINTS.items() for name in names}
    if not wanted <= groups:
        raise CheckFailed(f"installed entry points {sorted(groups)} lack {wanted - groups}")
    if info["healthz"] != {"status": "ok"}:
        raise CheckFailed(f"LiveServer's /healthz answered {info['healthz']}")


_PLUGIN_TEST = """
from heygen_client import TranslationClient


def test_the_plugin_serves_a_job(heygen_server):
    job_id = heygen_server.create_job(delay=0.5)
    with TranslationClient(heygen_server.url) as client:
        assert client.track(job_id).result(timeout=30).result == "completed"
"""


def check_pytest_plugin(session: Session) -> None:
    """pytest, once installed, loads the plugin by its entry point; its fixture works."""
    python = session.python()
    run([python, "-m", "pip", "install", "--quiet", "pytest"], cwd=session.home, env=session.env)
    tests = session.home.parent / "plugin_check"
    tests.mkdir()
    (tests / "test_plugin.py").write_text(_PLUGIN_TEST, encoding="utf-8")
    out = run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_plugin.py"],
        cwd=tests,
        env=session.env,
    )
    if "1 passed" not in out:
        raise CheckFailed(f"the plugin's test did not pass:\n{out}")


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
