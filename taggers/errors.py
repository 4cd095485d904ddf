"""What can be wrong with tagging: a rule file, or no spaCy pipeline (one line each)."""

from __future__ import annotations


class TaggerError(Exception):
    """A tagging problem the user can fix; the message says what and how."""


class RulesError(TaggerError):
    """A rule file that cannot be used; the message names the file and line."""


class SpacyError(TaggerError):
    """No usable spaCy English pipeline."""
