"""Command line: ``heygen-mock-server`` / ``python -m mock_server``."""

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the mock server."""
    raise NotImplementedError


if __name__ == "__main__":
    sys.exit(main())
