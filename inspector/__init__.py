"""inspector: look at what a language model does on real text, one next-token prediction at a time."""

from __future__ import annotations

__version__ = "0.1.0"
