"""The spaCy parse of each document text, kept on disk, so that a text is parsed once.

Tags depend on the text and the rules, not on the model: comparing N models over a corpus
needs the parse of each document once, and every run scored into the cache reuses it (the
alignment of a model's pieces to the words and the rules' decisions are cheap; the
parse is what costs). A parse is keyed by the text's SHA-256, the spaCy model and its
version, and the pipeline components the rules need (a rule set that needs the parser or
the lemmatizer is parsed with them; one rule set's parse is not another's when their
components differ, and rules that differ only in their decisions share it).

Stored as `Doc.to_bytes` under `<folder>/<key[:2]>/<key>.doc`, written to a temporary file
and renamed (a crash leaves the old file or none). A file that cannot be read back is parsed
again and replaced; a folder that cannot be written is used read-only."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from taggers import workers as pools
from taggers.pieces import parse
from taggers.pipeline import load_spacy, spacy_model_id


class ParseCache:
    """Parses of texts by one spaCy pipeline, in `folder`."""

    def __init__(self, folder: Path, model: str, components: frozenset[str], lazy: bool) -> None:
        """`model`: the spaCy model's package and version; `components`: the pipes run;
        `lazy`: lemmas found per word when read, not by the pipeline."""
        from importlib.metadata import version

        self.folder = folder
        self.pipeline = f"spacy=={version('spacy')} {model} {sorted(components)} lazy={lazy}"
        self.parsed = 0  # texts spaCy parsed (not found here), for measuring and tests
        self.found = 0  # texts read back

    def _file(self, text: str) -> Path:
        h = hashlib.sha256(self.pipeline.encode("utf-8") + b"\0")
        h.update(text.encode("utf-8", "surrogatepass"))
        key = h.hexdigest()
        return self.folder / key[:2] / f"{key}.doc"

    def holds(self, text: str) -> bool:
        """Whether a parse of `text` is kept (it may still prove unreadable)."""
        return self._file(text).is_file()

    def _read(self, nlp: Any, text: str) -> Any | None:
        from spacy.tokens import Doc

        try:
            doc = Doc(nlp.vocab).from_bytes(self._file(text).read_bytes())
        except Exception:  # missing, or damaged (spaCy raises several kinds): parse again
            return None
        return doc if doc.text == text else None

    def _write(self, text: str, doc: Any) -> None:
        path = self._file(text)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(doc.to_bytes(exclude=["tensor", "user_data"]))
            os.replace(tmp, path)
        except OSError:
            return  # a read-only cache still serves what it holds

    def docs(self, nlp: Any, texts: Sequence[str]) -> Iterator[Any]:
        """A `Doc` per text, in order: read back where kept, else parsed (`pieces.parse`,
        the texts not kept together) and kept. One document's parse in memory at a time."""
        missing = [i for i, t in enumerate(texts) if not self.holds(t)]
        fresh = parse(nlp, [texts[i] for i in missing])
        missing_set = set(missing)
        for i, text in enumerate(texts):
            doc = None if i in missing_set else self._read(nlp, text)
            if doc is None:  # not kept, or kept but unreadable: parsed now
                doc = next(fresh) if i in missing_set else next(parse(nlp, [text]))
                self.parsed += 1
                self._write(text, doc)
            else:
                self.found += 1
            yield doc


def parse_ahead(
    folder: Path, components: frozenset[str], lazy: bool, texts: Sequence[str], workers: int = 1
) -> Callable[[], int]:
    """Parse into `folder`, in `workers` processes (at least one), the distinct texts it does
    not hold yet, started now; the result waits for them and gives how many were parsed.

    What a run's tagging costs is the parse, and the parse needs no model: started before a
    model scores, it runs beside it, on the cores scoring leaves free (a GPU's host has
    many), and the tagging after scoring reads it back. Texts of fewer than
    `workers.PARALLEL_CHARS` characters in all are left to the tagging (a process costs more); a
    worker that dies leaves its texts to the tagging too, which parses what is missing."""
    keys = ParseCache(folder, spacy_model_id(), components, lazy)
    missing = [t for t in dict.fromkeys(texts) if not keys.holds(t)]
    if sum(len(t) for t in missing) < pools.PARALLEL_CHARS:
        return lambda: 0
    n = max(1, workers)
    try:
        pool = pools.pool(n)
        futures = [
            pool.submit(_parse_run, folder, components, lazy, missing[a:b])
            for a, b in pools.runs([len(t) for t in missing], n * pools.CHUNKS_PER_WORKER)
        ]
    except BrokenProcessPool:
        pools.POOLS.pop(n, None)
        return lambda: 0

    def wait() -> int:
        parsed = 0
        for future in futures:
            try:
                parsed += future.result()
            except BrokenProcessPool:  # the tagging parses what was not kept
                pools.POOLS.pop(n, None)
        return parsed

    return wait


def _parse_run(folder: Path, components: frozenset[str], lazy: bool, texts: list[str]) -> int:
    """In a worker: parse `texts` into the folder, as the tagging would (same pipeline)."""
    nlp = load_spacy(components, lazy)
    cache = ParseCache(folder, spacy_model_id(), components, lazy)
    for _ in cache.docs(nlp, texts):
        pass
    return cache.parsed
