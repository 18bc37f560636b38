"""Command line: ``heygen-client``."""

import argparse
import sys

from heygen_client import __version__


def main(argv: list[str] | None = None) -> int:
    """Run the ``heygen-client`` command."""
    parser = argparse.ArgumentParser(prog="heygen-client", description=__doc__)
    parser.add_argument("--version", action="version", version=f"heygen-client {__version__}")
    parser.parse_args(argv)
    print(f"heygen-client {__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
