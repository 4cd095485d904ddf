"""Texts a person wrote in the app (`m`), saved to a JSONL file (`M`): added at its end,
nothing replaced; the file is written whole to a temporary file and renamed, so a failed
write (a full disk) leaves it as it was."""

from __future__ import annotations

from pathlib import Path

from corpora import Document
from inspector.errors import message, os_reason
from inspector.files import atomic_path


class SaveError(Exception):
    """Your texts cannot be added to that file."""


def save_texts(path: Path, texts: list[Document]) -> int:
    """Add to the JSONL file `path` the texts not in it yet (by text), each with an id not in
    it yet; a file that is not JSONL is refused, never changed. Returns how many were added."""
    import json

    if path.suffix.lower() not in (".jsonl", ".ndjson"):
        raise SaveError(f"{path}: your texts go to a .jsonl file (one JSON object a line)")
    ids, seen, old = set(), set(), ""
    if path.exists() and not path.is_file():  # a FIFO would block the app; a folder, a device
        raise SaveError(f"{path}: not a file (a folder, FIFO or device); choose another")
    if path.exists():
        try:
            old = path.read_text(encoding="utf-8")
            for line in filter(str.strip, old.splitlines()):
                obj = json.loads(line)
                if isinstance(obj, dict):
                    ids.add(str(obj.get("id")))
                    seen.add(obj.get("text"))
        except (OSError, ValueError, RecursionError) as e:  # ValueError: bad JSON or UTF-8
            raise SaveError(
                f"{path}: not a JSONL file this can add to ({e}); choose another"
            ) from e
    lines = []
    for doc in texts:
        if doc.text in seen:
            continue
        doc_id, n = doc.id, 1
        while doc_id in ids:
            n += 1
            doc_id = f"{doc.id} ({n})"
        ids.add(doc_id)
        seen.add(doc.text)
        lines.append(json.dumps({"id": doc_id, "text": doc.text}, ensure_ascii=False) + "\n")
    if lines:
        text = old + ("\n" if old and not old.endswith("\n") else "") + "".join(lines)
        try:
            with atomic_path(path) as tmp:  # the old file stays as it was until this is whole
                tmp.write_text(text, encoding="utf-8")
        except OSError as e:
            reason = os_reason(e)
            raise SaveError(message("texts_write_failed", path=path, reason=reason)) from e
    return len(lines)
