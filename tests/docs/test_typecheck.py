"""The examples a newcomer copies first type-check under ``mypy --strict``.

README.md, docs/quickstart.md and docs/client.md: every Python block (as a
module of its own, skipped ones too: they are skipped for what they need to
run, not to type-check) must pass strict mypy, so that code written from them
type-checks the first time, with IDE completion on what the futures carry.
A ``continue`` block is checked together with the blocks before it, as it runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.docs import _markdown

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("README.md", "docs/quickstart.md", "docs/client.md")


def _modules(tmp_path: Path) -> list[Path]:
    files: list[Path] = []
    for page in PAGES:
        document = _markdown.parse(ROOT / page)
        source = ""
        for block in document.blocks:
            if block.lang != "python":
                continue
            source = source + block.body if block.directive.kind == "continue" else block.body
            name = f"{Path(page).stem}_{block.line}.py".replace("-", "_")
            path = tmp_path / name
            path.write_text(source, encoding="utf-8")
            files.append(path)
    return files


def test_the_first_examples_pass_strict_mypy(tmp_path: Path) -> None:
    files = _modules(tmp_path)
    assert len(files) >= 5, "the pages lost their examples?"
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *map(str, files)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
