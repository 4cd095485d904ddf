"""Probe suites: JSONL files of contrasts, one per line, as the talk asks them ("The capital
of Azerbaijan is" -> ` Baku`, not ` London`).

Each line is a JSON object with `prefix` (the text so far), `expected` (the continuation that
should win), `foils` (a list of one or more that should lose), and `task` (a free label:
grammar, world knowledge, sentiment...); optional `id` (default: `probe-<line>`), `note`
(shown beside the result) and `text` (a document to browse, which the bundled suite also is
a corpus of). Continuations are scored as written: give their leading space (` Baku`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from corpora.decoding import read_text
from corpora.errors import CorpusError, message

FIELDS = ("prefix", "expected", "foils", "task")
OPTIONAL = ("id", "note", "text")


@dataclass(frozen=True)
class Probe:
    id: str
    task: str
    prefix: str
    expected: str
    foils: tuple[str, ...]
    note: str = ""
    text: str = ""  # the document this probe belongs to, when it is one


def read_probes(path: Path) -> list[Probe]:
    """Every probe of a suite, in file order; a line that is not a probe stops with one
    message naming the file, the line and what is wrong."""
    if path.is_dir():
        raise CorpusError(message("probes_folder", path=path))
    if not path.exists():
        raise CorpusError(message("missing_path", path=path))
    lines = read_text(path).splitlines()  # binary, UTF-16, FIFOs: named as for a corpus
    probes, seen = [], set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        probe = _probe(path, n, line)
        if probe.id in seen:
            raise CorpusError(message("probe_duplicate", path=path, line=n, id=probe.id))
        seen.add(probe.id)
        probes.append(probe)
    if not probes:
        raise CorpusError(message("probes_empty", path=path))
    return probes


def _probe(path: Path, n: int, line: str) -> Probe:
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as e:
        reason = e.msg if isinstance(e, json.JSONDecodeError) else "nested too deeply"
        raise CorpusError(message("bad_jsonl", path=path, line=n, reason=reason)) from None
    if not isinstance(obj, dict):
        raise CorpusError(message("jsonl_not_object", path=path, line=n, kind=type(obj).__name__))
    missing = [f for f in FIELDS if f not in obj]
    if missing:
        unknown = [k for k in obj if k not in (*FIELDS, *OPTIONAL)]
        also = f" (not known here: {', '.join(unknown)})" if unknown else ""
        raise CorpusError(
            message("probe_fields", path=path, line=n, missing=", ".join(missing) + also)
        )
    foils = obj["foils"]
    texts = [
        obj["prefix"],
        obj["expected"],
        obj["task"],
        *(foils if isinstance(foils, list) else []),
    ]
    if not isinstance(foils, list) or not foils or not all(isinstance(t, str) for t in texts):
        raise CorpusError(message("probe_types", path=path, line=n))
    if not obj["expected"] or not all(foils) or obj["expected"] in foils:
        raise CorpusError(message("probe_candidates", path=path, line=n))
    return Probe(
        str(obj.get("id") or f"probe-{n}"), obj["task"], obj["prefix"], obj["expected"],
        tuple(foils), str(obj.get("note") or ""), str(obj.get("text") or ""),
    )  # fmt: skip
