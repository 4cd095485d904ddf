"""The runs of a corpus that people compare: the cache's runs of it, listed (`inspector
runs`), and the set chosen among them, shared by compare mode, the `s` screen and its fits,
and remembered per corpus (`<cache>/run_sets.json`).

By default the set is the runs that compare: those of one tokenizer (the browsed run's,
else the one most runs share), and a note says what was left out. Runs "of one tokenizer"
split the corpus into the same tokens; each tokenization gets a letter (A, B, ...) in the
catalog's order. Runs are told apart by short names made only of what differs between
them, never the same word twice (`w128 win64`); a legend gives each run's full settings
once. Nothing here needs a view to be wide enough for a run's full name.
"""

from __future__ import annotations

import hashlib
import json
import string
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from inspector.files import atomic_path, ensure_dir
from inspector.run.cache import cache_key, cached_runs
from inspector.tables.names import short_names
from inspector.tables.render import param_count
from inspector.tables.run import Run

CHOICES_FILE = "run_sets.json"


def tokenization(run: Run) -> str:
    """A fingerprint of how a run splits its corpus: the token ids, document by document.
    Runs with the same one compare by token; others only by bytes or words."""
    ids = run.frame.select("doc_id", "token_id").collect()
    h = hashlib.sha256()
    for (doc_id,), part in ids.partition_by("doc_id", as_dict=True, maintain_order=True).items():
        h.update(f"{doc_id}\0".encode())
        h.update(part["token_id"].cast(pl.Int64).to_numpy().tobytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Entry:
    """One cached run: its cache key (what a remembered choice lists), the run, the letter of
    its tokenization, its tokens and when it was scored (seconds since the epoch)."""

    key: str
    run: Run
    tokenizer: str
    tokens: int
    scored: float | None
    mark: str = ""  # the tokenization's fingerprint (`tokenization`)


def entries_of(runs: Sequence[Run]) -> list[Entry]:
    """`Entry`s of runs, tokenizations lettered in order of first appearance."""
    letters: dict[str, str] = {}
    out = []
    for run in runs:
        mark = tokenization(run)
        if mark not in letters:
            n = len(letters)
            letters[mark] = string.ascii_uppercase[n % 26] + (str(n // 26) if n >= 26 else "")
        file = run.cache_file
        scored = file.stat().st_mtime if file is not None and file.exists() else None
        tokens = int(run.frame.select(pl.len()).collect().item())
        out.append(Entry(cache_key(run.settings), run, letters[mark], tokens, scored, mark))
    return out


def legend_line(name: str, entry: Entry) -> str:
    """A run's full settings, once: what its short name stands for."""
    st = entry.run.settings
    model = str(st.get("model") or entry.run.label)
    parts = [
        f"{param_count(st.get('n_params'))} parameters",
        f"tokenizer {entry.tokenizer} ({entry.tokens:,} tokens)",
        f"{st.get('dtype')}",
        f"window {st.get('window')}, stride {st.get('stride')}",
        f"k {st.get('top_k')}",
    ]
    said = model in name.split()  # the name already says the model: not again
    return f"{name}: {', '.join(parts if said else [model, *parts])}"


def scored_when(entry: Entry) -> str:
    return (
        "?"
        if entry.scored is None
        else time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.scored))
    )


@dataclass(frozen=True)
class RunSet:
    """The runs a screen compares or fits: their entries in order (smallest model first,
    then smallest window), short names, and what was left out of the catalog and why."""

    entries: tuple[Entry, ...]
    names: tuple[str, ...]
    left_out: str  # a sentence, "" when nothing was
    remembered: bool  # the set is the one chosen before (else the default)

    @property
    def runs(self) -> list[Run]:
        return [e.run for e in self.entries]

    @property
    def keys(self) -> list[str]:
        return [e.key for e in self.entries]

    @property
    def tokenizers(self) -> list[str]:
        """The letters of the tokenizers in the set, in order."""
        return list(dict.fromkeys(e.tokenizer for e in self.entries))

    @property
    def tokenizers_differ(self) -> bool:
        return len(self.tokenizers) > 1

    def legend(self) -> list[str]:
        return [legend_line(n, e) for n, e in zip(self.names, self.entries, strict=True)]


@dataclass(frozen=True)
class Catalog:
    """Every cached run of one corpus (under one rule set), smallest model first."""

    corpus: str
    entries: tuple[Entry, ...]

    def names(self) -> tuple[str, ...]:
        return short_names([e.run for e in self.entries])

    def legend(self) -> list[str]:
        return [legend_line(n, e) for n, e in zip(self.names(), self.entries, strict=True)]

    def default(self, browsed: str | None = None) -> list[str]:
        """The keys of the runs that compare: those of the browsed run's tokenizer
        (`browsed`: its cache key or its `tokenization`) where there are two or more, else
        of the one most runs share (ties: the first listed)."""
        if not self.entries:
            return []
        counts: dict[str, int] = {}
        for e in self.entries:
            counts[e.tokenizer] = counts.get(e.tokenizer, 0) + 1
        mine = next((e.tokenizer for e in self.entries if browsed in (e.key, e.mark)), None)
        if mine is None or counts[mine] < 2:
            mine = max(counts, key=lambda t: counts[t])  # first listed wins a tie
        return [e.key for e in self.entries if e.tokenizer == mine]

    def choose(self, keys: Sequence[str], remembered: bool = False) -> RunSet:
        """The set of the runs with these keys (in the catalog's order), and what it leaves out."""
        wanted = set(keys)
        chosen = tuple(e for e in self.entries if e.key in wanted)
        rest = [e for e in self.entries if e.key not in wanted]
        note = ""
        if rest:
            names = dict(zip((e.key for e in self.entries), self.names(), strict=True))
            tokenizers = {e.tokenizer for e in chosen}
            other = [e for e in rest if e.tokenizer not in tokenizers]
            why = (
                "of another tokenizer (nats per token would not compare)"
                if len(other) == len(rest)
                else "not chosen"
            )
            listed = ", ".join(names[e.key] for e in rest[:4]) + (", ..." if len(rest) > 4 else "")
            runs = f"{len(rest)} cached run{'s' if len(rest) > 1 else ''}"
            note = f"left out {runs} {why}: {listed}; D chooses"
        return RunSet(chosen, short_names([e.run for e in chosen]), note, remembered)

    def current(self, cache_dir: Path, browsed: str | None = None) -> RunSet:
        """The set remembered for this corpus where its runs are still cached (two or more),
        else the default."""
        keys = load_choice(cache_dir, self.corpus)
        present = {e.key for e in self.entries}
        if keys is not None and len([k for k in keys if k in present]) >= min(2, len(present)):
            return self.choose(keys, remembered=True)
        return self.choose(self.default(browsed))


def catalog(cache_dir: Path, corpus: str, rules_hash: str, whole: bool = False) -> Catalog:
    """The cached runs of a corpus under a rule set (`whole`: every column, to compare them
    token by token)."""
    return Catalog(corpus, tuple(entries_of(cached_runs(cache_dir, corpus, rules_hash, whole))))


def load_choice(cache_dir: Path, corpus: str) -> list[str] | None:
    """The cache keys chosen last for this corpus, if any (a damaged file: none)."""
    try:
        data = json.loads((cache_dir / CHOICES_FILE).read_text())
    except (OSError, ValueError):
        return None
    keys = data.get(corpus) if isinstance(data, dict) else None
    return [str(k) for k in keys] if isinstance(keys, list) else None


def save_choice(cache_dir: Path, corpus: str, keys: Sequence[str]) -> None:
    """Remember the chosen runs of this corpus (atomically; other corpora's kept)."""
    path = ensure_dir(cache_dir) / CHOICES_FILE
    try:
        data: Any = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    data[corpus] = list(keys)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1))


def listing(
    cache_dir: Path, docs: Sequence[Any], rules_hash: str
) -> tuple[pl.DataFrame, RunSet, Catalog]:
    """`inspector runs`: a row per cached run of the corpus `docs` (whether it is in the
    chosen set, its short name, parameters, tokenizer, window, dtype, when it was scored and
    the model's full name), the chosen set and the catalog."""
    from inspector.run.cache import corpus_hash

    found = catalog(cache_dir, corpus_hash(docs), rules_hash)
    chosen = found.current(cache_dir)
    picked = set(chosen.keys)
    rows = [
        {
            "chosen": e.key in picked,
            "run": name,
            "n_params": e.run.settings.get("n_params"),
            "tokenizer": e.tokenizer,
            "tokens": e.tokens,
            "window": e.run.settings.get("window"),
            "stride": e.run.settings.get("stride"),
            "dtype": e.run.settings.get("dtype"),
            "top_k": e.run.settings.get("top_k"),
            "scored": scored_when(e),
            "model": str(e.run.settings.get("model") or e.run.label),
        }
        for name, e in zip(found.names(), found.entries, strict=True)
    ]
    schema = {"chosen": pl.Boolean, "run": pl.String, "n_params": pl.Int64,
              "tokenizer": pl.String, "tokens": pl.Int64, "window": pl.Int64,
              "stride": pl.Int64, "dtype": pl.String, "top_k": pl.Int64, "scored": pl.String,
              "model": pl.String}  # fmt: skip
    return pl.DataFrame(rows, schema=schema), chosen, found
