"""Command line: ``heygen-mock-server`` / ``python -m mock_server``.

Serves the app with werkzeug's threaded server (see ``mock_server.serving``):
one thread per connection, so a held long-poll never blocks other requests,
up to ``--max-connections`` at once, each with ``--request-timeout`` to send
its request, and a large listen backlog so a thousand clients connecting at
once are all accepted.

With ``--exit-on-stdin-eof`` it also stops when its stdin reaches end of
file. ``mock_server.testing.LiveServer`` starts it so, with a pipe on stdin
whose write end only the parent holds: when the parent exits, however it
exits (SIGKILL included), the kernel closes that end and the server stops
instead of holding its port forever.
"""

from __future__ import annotations

import _thread
import logging
import os
import signal
import stat
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType

# Through the package, which says to install the server extra when Flask is missing.
from mock_server import ServerConfig
from mock_server.serving import build_server, server_url

# The server's own logger, not __name__: that is "__main__" under ``python -m``.
logger = logging.getLogger("mock_server")


def watch_stdin(on_eof: Callable[[], None], fd: int = 0) -> threading.Thread:
    """Call ``on_eof`` from a daemon thread once ``fd`` reaches end of file.

    End of file is how a child learns, on every platform and without polling,
    that the only process holding the pipe's write end is gone. Data read is
    thrown away; a descriptor that cannot be read counts as ended.

    Returns:
        The started thread (a daemon: a server stopped otherwise need not wait).
    """

    def watch() -> None:
        try:
            while os.read(fd, 4096):
                pass
        except BrokenPipeError:
            pass  # how Windows reports a pipe whose writer is gone
        except OSError as exc:
            logger.warning("cannot read stdin (%s): taking it as closed", exc)
        on_eof()

    thread = threading.Thread(target=watch, name="mock-server-stdin-watch", daemon=True)
    thread.start()
    return thread


def stdin_problem(fd: int = 0) -> str | None:
    """Why ``fd`` cannot tell us the parent is gone, or None when it is a pipe.

    A terminal never ends (and reading it from a background job stops the whole
    process with SIGTTIN); ``/dev/null`` or a file ends at once.
    """
    try:
        mode = os.fstat(fd).st_mode
    except OSError as exc:
        return f"stdin cannot be read ({exc})"
    if os.isatty(fd):
        return "stdin is a terminal"
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return "stdin is not a pipe (a file or /dev/null would end at once)"
    return None


def _stop_as_on_sigterm() -> None:
    logger.info("stdin closed (the parent process is gone): stopping")
    # Runs the SIGTERM handler in the main thread, without sending a signal
    # (which Windows could only deliver as TerminateProcess). The main thread
    # notices it within serve_forever's 0.5 s poll interval.
    _thread.interrupt_main(signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the mock server until interrupted or terminated.

    Args:
        argv: Flags without the program name; ``None`` means ``sys.argv[1:]``.

    Returns:
        The exit status.
    """
    config = ServerConfig.from_args(argv)
    if config.exit_on_stdin_eof and (problem := stdin_problem()) is not None:
        print(
            f"heygen-mock-server: --exit-on-stdin-eof needs a pipe from the parent "
            f"process on stdin: {problem}",
            file=sys.stderr,
        )
        return 2
    try:
        server = build_server(config)
    except OSError as exc:
        print(
            f"heygen-mock-server: cannot listen on {config.host}:{config.port}: {exc}",
            file=sys.stderr,
        )
        return 1
    logging.basicConfig(
        level=config.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("mock_server").setLevel(config.log_level)
    # Our own access line replaces werkzeug's; one line per request is enough.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"heygen-mock-server listening on {server_url(server)}", flush=True)

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, terminate)
    try:
        # Watched only once the handler is in place, and inside the try, so
        # that even a stdin already at its end stops the server cleanly.
        if config.exit_on_stdin_eof:
            watch_stdin(_stop_as_on_sigterm)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
