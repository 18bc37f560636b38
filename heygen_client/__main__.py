"""``python -m heygen_client`` and the ``heygen-client`` console script.

The command line lives in :mod:`heygen_client._cli`; see docs/cli.md.
"""

from __future__ import annotations

import sys

from heygen_client._cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
