"""Command line: ``heygen-client``.

heygen-client --version
heygen-client status [JOB_ID] [--url URL]
heygen-client wait [JOB_ID] [--url URL] [--timeout SECONDS] [-v]
heygen-client demo [--mode plain|hints|long-poll|batch] [--scale X]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import fields

from heygen_client import __version__
from heygen_client._client import TranslationClient
from heygen_client.errors import DeadlineExceeded, HeyGenError, TranslationFailed
from heygen_client.models import JobStatus

DEFAULT_URL = "http://127.0.0.1:5000"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heygen-client",
        description="Know when a HeyGen video-translation job is done.",
    )
    parser.add_argument("--version", action="version", version=f"heygen-client {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    status = commands.add_parser("status", help="print a job's status once")
    status.add_argument("job_id", nargs="?", help="the job (default: the seed's single job)")
    status.add_argument("--url", default=DEFAULT_URL, help="server (default %(default)s)")

    wait = commands.add_parser("wait", help="wait until a job is done")
    wait.add_argument("job_id", nargs="?", help="the job (default: the seed's single job)")
    wait.add_argument("--url", default=DEFAULT_URL, help="server (default %(default)s)")
    wait.add_argument("--timeout", type=float, default=None, help="give up after SECONDS")
    wait.add_argument("-v", "--verbose", action="store_true", help="log every poll")

    demo = commands.add_parser("demo", help="start the mock server and track a few jobs")
    demo.add_argument(
        "--mode",
        choices=["plain", "hints", "long-poll", "batch"],
        default="hints",
        help="what the server offers (default %(default)s)",
    )
    demo.add_argument("--scale", type=float, default=1.0, help="multiply job delays")
    return parser


def _show(status: JobStatus) -> str:
    data = {f.name: getattr(status, f.name) for f in fields(status)}
    data["result"] = status.result.value
    data["extra"] = dict(status.extra)
    return json.dumps(data, default=str)


def main(argv: list[str] | None = None) -> int:
    """Run the ``heygen-client`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command is None:
        print(f"heygen-client {__version__}")
        return 0
    if args.command == "demo":
        from heygen_client import _demo

        try:
            rows = _demo.run(args.mode, scale=args.scale)
        except KeyboardInterrupt:
            print("interrupted; the mock server was stopped", file=sys.stderr)
            return 130
        return 0 if rows else 1
    try:
        with TranslationClient(args.url) as client:
            if args.command == "status":
                print(_show(client.get_status(args.job_id)))
                return 0
            if args.verbose:
                logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(message)s")
            try:
                print(_show(client.wait(args.job_id, timeout=args.timeout)))
            except TranslationFailed as exc:
                print(_show(exc.status))
                return 2
            except DeadlineExceeded as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 3
            return 0
    except HeyGenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
