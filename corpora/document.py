"""The unit every reader produces: one document with a stable id."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """One document of a corpus: its id (unique inside the corpus), its text, and extra fields."""

    id: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    source: str = field(default="", compare=False)  # where it came from, for messages

    @property
    def content_hash(self) -> str:
        """sha256 of the text: what annotations and caches key on, so edits are noticed."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()
