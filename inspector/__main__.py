"""`python -m inspector` is the `inspector` command."""

from __future__ import annotations

import sys

from inspector.cli import main

if __name__ == "__main__":  # not when a spawned worker process imports this module
    sys.exit(main())
