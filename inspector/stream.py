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
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpora import Document
from inspector.cachedir import atomic_path, ensure_dir
from inspector.errors import InspectorError
from inspector.lm.loading import LoadedModel
from inspector.lm.scoring import ScoreConfig
from inspector.pipeline import NAME_KEYS, score_untagged
from inspector.table import write_table
from taggers.rules import RuleSet

if TYPE_CHECKING:
    import polars as pl

DEFAULT_PART_CHARS = 400_000  # about 100,000 tokens of English per part


def parse_shard(spec: str) -> tuple[int, int]:
    """`i/N` with 0 <= i < N."""
    i, _, n = spec.partition("/")
    if not (i.isdigit() and n.isdigit() and 0 <= int(i) < int(n)):
        raise InspectorError(f"--shard {spec}: use i/N with 0 <= i < N, e.g. 0/4")
    return int(i), int(n)


def shard_docs(docs: Iterable[Document], shard: tuple[int, int]) -> Iterator[Document]:
    i, n = shard
    return (d for k, d in enumerate(docs) if k % n == i)


def group_docs(docs: Iterable[Document], part_chars: int) -> Iterator[list[Document]]:
    """Consecutive documents, cut once a group holds `part_chars` characters."""
    group: list[Document] = []
    chars = 0
    for doc in docs:
        if not doc.text:
            continue
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
) -> StreamResult:
    """Score `docs` part by part into `out_dir`, resuming what a previous run completed."""
    ensure_dir(out_dir)
    tag = f"s{shard[0]}of{shard[1]}"
    manifest_path = out_dir / f"manifest-{tag}.json"
    manifest = _read_manifest(manifest_path)
    done = manifest.get("parts", [])
    if manifest and manifest.get("part_chars") != part_chars:
        raise InspectorError(
            f"{out_dir}: its parts were cut at {manifest.get('part_chars')} characters; "
            f"resume with --part-chars {manifest.get('part_chars')} or use a new folder"
        )
    key: dict[str, Any] | None = manifest.get("settings")
    parts, resumed, tokens, documents = [], 0, 0, 0
    written = 0
    pending: _Pending | None = None

    def finish(part: _Pending) -> None:
        """Wait for a scored part's tags, then write it and record it in the manifest."""
        nonlocal written, tokens
        table = part.scores.hstack(part.tags())
        path = out_dir / f"part-{tag}-{part.k:05d}.parquet"
        write_table(table, path, part.settings, force=True)
        done.append(
            {"file": path.name, "ids_hash": part.digest, "docs": part.docs, "tokens": table.height}
        )
        _write_manifest(manifest_path, {"settings": key, "part_chars": part_chars, "parts": done})
        parts.append(path)
        written += 1
        tokens += table.height
        if progress is not None:
            progress(written + resumed, tokens)

    for k, group in enumerate(group_docs(shard_docs(docs, shard), part_chars)):
        documents += len(group)
        digest = ids_hash(group)
        if (
            k < len(done)
            and done[k]["ids_hash"] == digest
            and (out_dir / done[k]["file"]).is_file()
        ):
            parts.append(out_dir / done[k]["file"])
            tokens += done[k]["tokens"]
            resumed += 1
            continue
        if k < len(done):
            raise InspectorError(
                f"{out_dir}: part {k} of an earlier run holds other documents; the corpus changed, "
                "so score into a new folder"
            )
        settings, scores, tags = score_untagged(group, lm, config, rules, tag_workers)
        run_key = {k2: v for k2, v in settings.items() if k2 not in (*NAME_KEYS, "corpus_hash")}
        if key is None:
            key = run_key
        elif key != run_key:
            changed = sorted(k2 for k2 in set(key) | set(run_key) if key.get(k2) != run_key.get(k2))
            raise InspectorError(
                f"{out_dir}: holds parts scored with other settings ({', '.join(changed)}); use a new folder"
            )
        # this part's tags are being computed by the workers: write out the previous part
        if pending is not None:
            finish(pending)
        settings = {**settings, "part": k, "shard": f"{shard[0]}/{shard[1]}"}
        pending = _Pending(k, digest, len(group), settings, scores, tags)
    if pending is not None:
        finish(pending)
    if documents == 0:
        raise InspectorError("the corpus (or this shard of it) has no text to score")
    return StreamResult(parts, written, resumed, tokens, documents)


@dataclass
class _Pending:
    """A part scored, its tags still being computed."""

    k: int
    digest: str
    docs: int
    settings: dict[str, Any]
    scores: pl.DataFrame
    tags: Callable[[], pl.DataFrame]


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise InspectorError(
            f"{path}: damaged manifest ({e}); move it away to start the run again"
        ) from e
    return data if isinstance(data, dict) else {}


def _write_manifest(path: Path, data: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1))
