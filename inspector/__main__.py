"""`python -m inspector` is the `inspector` command."""

from __future__ import annotations

import sys

from inspector.cli import main

sys.exit(main())
