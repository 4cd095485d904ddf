"""Every error a user can fix, whichever package raised it: what the front ends catch and
show as one line (the CLI, exit code 2) or a notification (the app)."""

from __future__ import annotations

from corpora.errors import CorpusError
from inspector.errors import InspectorError
from taggers.errors import TaggerError

USER_ERRORS = (InspectorError, CorpusError, TaggerError)
