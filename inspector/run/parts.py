"""Scoring corpora larger than memory: documents stream in, Parquet parts stream out.

Documents are read one at a time and grouped into parts by characters (a rule that needs no
tokenizer, so a resumed run regroups them exactly as the first); each part is scored, tagged
and written atomically as `part-<shard>-<k>.parquet`, then recorded in the shard's manifest.
A part's tags are computed by worker processes while the next part is scored, so memory
holds two parts at a time. An interrupted run, started again with the same settings,
skips the parts its manifest lists (after checking that their documents are the same).
`--shard i/N` keeps every N-th document from the i-th: any launcher (Slurm arrays, torchrun)
can run the N shards into one folder, which `inspector tasks --from DIR` reads as one table.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpora import Document
from inspector import defaults
from inspector.errors import InspectorError, message
from inspector.files import ensure_dir
from inspector.lm.batching import Tokenized
from inspector.lm.config import ScoreConfig
from inspector.lm.loading import LoadedModel
from inspector.run.cache import run_settings
from inspector.run.manifests import (
    _read_manifest,
    _same_run,
    _write_manifest,
    check_parts_folder,
    part_problem,
    read_manifests,
    run_key,
)  # fmt: skip
from inspector.run.score import score_slice_untagged, score_untagged
from inspector.run.tokens import TableScorer
from inspector.tables.schema import write_table
from taggers.rules import RuleSet
from taggers.tagger import TaskTagger

if TYPE_CHECKING:
    import polars as pl

DEFAULT_PART_CHARS = defaults.PART_CHARS


def parse_shard(spec: str) -> tuple[int, int]:
    """`i/N` with 0 <= i < N."""
    i, _, n = spec.partition("/")
    if not (i.isdigit() and n.isdigit() and 0 <= int(i) < int(n)):
        raise InspectorError(message("bad_shard", spec=spec))
    return int(i), int(n)


def shard_docs(docs: Iterable[Document], shard: tuple[int, int]) -> Iterator[Document]:
    i, n = shard
    return (d for k, d in enumerate(docs) if k % n == i)


def group_docs(docs: Iterable[Document], part_chars: int) -> Iterator[list[Document]]:
    """Consecutive documents, cut once a group holds `part_chars` characters; a document
    longer than that is a group of its own (it is then scored in slices)."""
    group: list[Document] = []
    chars = 0
    for doc in docs:
        if not doc.text:
            continue
        if len(doc.text) > part_chars and group:
            yield group
            group, chars = [], 0
        group.append(doc)
        chars += len(doc.text)
        if chars >= part_chars:
            yield group
            group, chars = [], 0
    if group:
        yield group


def ids_hash(docs: list[Document]) -> str:
    h = hashlib.sha256()
    for d in docs:
        h.update(f"{d.id}\n{d.content_hash}\n".encode())
    return h.hexdigest()


@dataclass
class StreamResult:
    parts: list[Path]
    written: int  # parts scored by this run
    resumed: int  # parts found complete and skipped
    tokens: int
    documents: int


def score_to_parts(
    docs: Iterable[Document],
    lm: LoadedModel,
    config: ScoreConfig,
    rules: RuleSet,
    out_dir: Path,
    part_chars: int = DEFAULT_PART_CHARS,
    shard: tuple[int, int] = (0, 1),
    progress: Callable[[int, int], None] | None = None,
    tag_workers: int = 1,
    warn: Callable[[str], None] | None = None,
    token_progress: Callable[[int], None] | None = None,
) -> StreamResult:
    """Score `docs` part by part into `out_dir`, resuming what a previous run completed.

    The folder must be new, empty, or hold this same run (same settings, same sharding):
    checked before any scoring. On resume every listed part is checked; a missing or
    damaged one is scored again (`warn` says which), the others are kept. `progress` gets
    (parts, tokens) after each part; `token_progress` the tokens of each batch within one.
    """
    check_parts_folder(out_dir, shard, part_chars)
    scorer, tagger = TableScorer(lm, config), TaskTagger(rules)
    key = run_key(run_settings(lm, scorer, tagger, []))
    for other in read_manifests(out_dir) if out_dir.exists() else []:
        _same_run(out_dir, other, key, part_chars, "this request")
    ensure_dir(out_dir)
    folder = _Folder(out_dir, f"s{shard[0]}of{shard[1]}", key, part_chars, progress)
    folder.record()  # the folder is this run's from now on, before the first part is done
    pending: _Pending | None = None
    units = documents = 0
    for k, (group, digest, piece) in enumerate(
        _units(group_docs(shard_docs(docs, shard), part_chars), scorer, part_chars)
    ):
        units += 1
        documents += len(group) if piece is None or piece[1][0] == 0 else 0
        if folder.kept(k, digest, warn):
            continue
        if piece is None:
            settings, scores, tags = score_untagged(
                group, lm, config, rules, tag_workers, token_progress
            )
        else:  # one slice of a document longer than a part
            (tokenized, span) = piece
            scores, tags = score_slice_untagged(
                group[0], scorer, tokenized, span, tagger, tag_workers, token_progress
            )
            settings = {**run_settings(lm, scorer, tagger, group), "tokens": scores.height}
        if run_key(settings) != key:  # cannot happen unless scoring changed under us
            raise InspectorError(message("part_other_settings", out_dir=out_dir))
        # this part's tags are being computed by the workers: write out the previous part
        if pending is not None:
            folder.finish(pending)
        settings = {**settings, "part": k, "shard": f"{shard[0]}/{shard[1]}"}
        if piece is not None:
            settings["targets"] = list(piece[1])  # this part: targets [a, b) of its document
        pending = _Pending(k, digest, len(group), settings, scores, tags)
    if pending is not None:
        folder.finish(pending)
    if documents == 0:
        raise InspectorError(message("shard_empty"))
    if units < len(folder.done):
        raise InspectorError(
            message("parts_fewer", out_dir=out_dir, n_done=len(folder.done), units=units)
        )
    return StreamResult(folder.parts, folder.written, folder.resumed, folder.tokens, documents)


class _Folder:
    """One shard's parts in a parts folder as it fills: its manifest (rewritten after each
    part, so an interrupted run resumes) and what was written or kept."""

    def __init__(
        self, out_dir: Path, tag: str, key: dict[str, Any], part_chars: int,
        progress: Callable[[int, int], None] | None,
    ) -> None:  # fmt: skip
        self.out_dir, self.tag, self.key, self.part_chars = out_dir, tag, key, part_chars
        self.progress = progress
        self.manifest = out_dir / f"manifest-{tag}.json"
        self.done: list[dict[str, Any]] = _read_manifest(self.manifest).get("parts", [])
        self.parts: list[Path] = []
        self.written = self.resumed = self.tokens = 0

    def record(self) -> None:
        data = {"settings": self.key, "part_chars": self.part_chars, "parts": self.done}
        _write_manifest(self.manifest, data)

    def kept(self, k: int, digest: str, warn: Callable[[str], None] | None) -> bool:
        """Whether part `k` of an earlier run is kept: it holds these documents (else the
        corpus changed: an error) and is sound (else it is scored again, `warn` says so)."""
        if k >= len(self.done):
            return False
        entry = self.done[k]
        if entry["ids_hash"] != digest:
            raise InspectorError(message("part_other_documents", out_dir=self.out_dir, k=k))
        problem = part_problem(self.out_dir / entry["file"], entry["tokens"])
        if problem is None:
            self.parts.append(self.out_dir / entry["file"])
            self.tokens += entry["tokens"]
            self.resumed += 1
            return True
        if warn is not None:
            warn(f"{self.out_dir / entry['file']}: {problem}; scoring that part again")
        return False

    def finish(self, part: _Pending) -> None:
        """Wait for a scored part's tags, then write it and record it in the manifest."""
        table = part.scores.hstack(part.tags())
        path = self.out_dir / f"part-{self.tag}-{part.k:05d}.parquet"
        write_table(table, path, part.settings, force=True, option="--parts folder")
        entry = {"file": path.name, "ids_hash": part.digest, "docs": part.docs, "tokens": table.height}  # fmt: skip
        if part.k < len(self.done):
            self.done[part.k] = entry  # a damaged or missing part, made again
        else:
            self.done.append(entry)
        self.record()
        self.parts.append(path)
        self.written += 1
        self.tokens += table.height
        if self.progress is not None:
            self.progress(self.written + self.resumed, self.tokens)


def _units(
    groups: Iterable[list[Document]], scorer: TableScorer, part_chars: int
) -> Iterator[tuple[list[Document], str, tuple[Tokenized, tuple[int, int]] | None]]:
    """What each part holds: a group of whole documents, or a slice of a document longer
    than a part (its tokens and target range), each with the digest a resume checks."""
    for group in groups:
        digest = ids_hash(group)
        if len(group) > 1 or len(group[0].text) <= part_chars:
            yield group, digest, None
            continue
        tokenized = scorer.tokenize([group[0].text])[0]
        for span in scorer.slices(tokenized, part_chars):
            yield group, f"{digest}:{span[0]}-{span[1]}", (tokenized, span)


@dataclass
class _Pending:
    """A part scored, its tags still being computed."""

    k: int
    digest: str
    docs: int
    settings: dict[str, Any]
    scores: pl.DataFrame
    tags: Callable[[], pl.DataFrame]
