"""Child Python processes of the lifecycle tests."""

from __future__ import annotations

import subprocess


def end_child(child: subprocess.Popen[str]) -> None:
    """Kill ``child`` if it still runs, reap it and close its pipes."""
    if child.poll() is None:
        child.kill()
        child.wait()
    for stream in (child.stdin, child.stdout, child.stderr):
        if stream is not None:
            stream.close()
