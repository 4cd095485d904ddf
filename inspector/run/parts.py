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
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpora import Document
from inspector import defaults
from inspector.errors import InspectorError
from inspector.files import atomic_path, ensure_dir
from inspector.lm.batching import Tokenized
from inspector.lm.config import ScoreConfig
from inspector.lm.loading import LoadedModel
from inspector.run.cache import NAME_KEYS, run_settings
from inspector.run.score import score_slice_untagged, score_untagged
from inspector.run.tokens import TableScorer
from inspector.tables.schema import write_table
from taggers.rules import RuleSet
from taggers.tagger import TaskTagger

if TYPE_CHECKING:
    import polars as pl

DEFAULT_PART_CHARS = defaults.PART_CHARS
MANIFEST = re.compile(r"manifest-s(\d+)of(\d+)\.json")  # one per shard: manifest-s<i>of<N>.json


@dataclass(frozen=True)
class Manifest:
    """One shard's record of a parts folder: its settings and the parts it completed."""

    path: Path
    shard: tuple[int, int]
    settings: dict[str, Any] | None  # the run's settings key; None until a part is written
    part_chars: int | None
    parts: list[dict[str, Any]]  # file, ids_hash, docs, tokens, in order


def read_manifests(folder: Path) -> list[Manifest]:
    """Every shard manifest in `folder`, checked to describe one run: same shard count,
    same part size, same settings. A folder holds exactly one run (DESIGN.md)."""
    found = []
    for path in sorted(folder.glob("manifest-*.json")):
        m = MANIFEST.fullmatch(path.name)
        if m is None or not int(m.group(1)) < int(m.group(2)):
            raise InspectorError(
                f"{path}: not a manifest name inspector writes (manifest-s<i>of<N>.json); "
                "move it out of the folder"
            )
        data = _read_manifest(path)
        found.append(
            Manifest(path, (int(m.group(1)), int(m.group(2))), data.get("settings"),
                     data.get("part_chars"), data.get("parts", []))
        )  # fmt: skip
    for other in found[1:]:
        first = found[0]
        if other.shard[1] != first.shard[1]:
            raise InspectorError(
                f"{folder}: holds runs split into {first.shard[1]} and into {other.shard[1]} "
                f"shards ({first.path.name}, {other.path.name}); a parts folder holds one run: "
                "use a new folder"
            )
        _same_run(folder, first, other.settings, other.part_chars, other.path.name)
    return found


def _same_run(
    folder: Path, m: Manifest, settings: dict[str, Any] | None, part_chars: int | None, what: str
) -> None:
    """Refuse `settings` and `part_chars` (of a request, or of another manifest) that differ
    from manifest `m`'s, naming what differs."""
    if part_chars is not None and m.part_chars is not None and part_chars != m.part_chars:
        raise InspectorError(
            f"{folder}: its parts were cut at {m.part_chars:,} characters, {what} at "
            f"{part_chars:,}; resume with --part-chars {m.part_chars} or use a new folder"
        )
    if settings is not None and m.settings is not None and settings != m.settings:
        changed = sorted(
            k for k in set(settings) | set(m.settings) if settings.get(k) != m.settings.get(k)
        )
        shown = ", ".join(
            f"{k} {m.settings.get(k)!r} there, {settings.get(k)!r} {what}" for k in changed[:4]
        )
        raise InspectorError(
            f"{folder}: holds a run with other settings ({shown}); a parts folder holds one run: "
            "use a new folder, or the same settings to resume"
        )  # fmt: skip


def check_parts_folder(folder: Path, shard: tuple[int, int], part_chars: int) -> None:
    """Before any work: `folder` is new, empty, or holds parts of this same run split the
    same way; never a folder of other files, another run, or the same documents twice."""
    if folder.exists() and not folder.is_dir():
        raise InspectorError(f"--parts {folder}: a file, not a folder; give a new or empty folder")
    if not folder.exists():
        return
    manifests = read_manifests(folder)
    if not manifests:
        if any(not f.name.startswith(".") for f in folder.iterdir()):  # .tmp: a shard starting
            raise InspectorError(
                f"--parts {folder}: this folder holds files and no inspector manifest; "
                "give a new or empty folder (parts are never written among other files)"
            )
        return
    first = manifests[0]
    if first.shard[1] != shard[1]:
        raise InspectorError(
            f"--parts {folder}: holds a run split into {first.shard[1]} shard(s) ({first.path.name}); "
            f"--shard {shard[0]}/{shard[1]} would score its documents a second time: "
            f"use --shard i/{first.shard[1]}, or a new folder"
        )
    _same_run(folder, first, None, part_chars, "this request")


def run_key(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings that make parts of one run: all but names and the corpus of a part."""
    return {k: v for k, v in settings.items() if k not in (*NAME_KEYS, "corpus_hash", "documents")}


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
    tag = f"s{shard[0]}of{shard[1]}"
    manifest_path = out_dir / f"manifest-{tag}.json"
    done: list[dict[str, Any]] = _read_manifest(manifest_path).get("parts", [])

    def record() -> None:
        _write_manifest(manifest_path, {"settings": key, "part_chars": part_chars, "parts": done})

    record()  # the folder is this run's from now on, before the first part is done
    parts: list[Path] = []
    resumed = tokens = documents = written = units = 0
    pending: _Pending | None = None

    def finish(part: _Pending) -> None:
        """Wait for a scored part's tags, then write it and record it in the manifest."""
        nonlocal written, tokens
        table = part.scores.hstack(part.tags())
        path = out_dir / f"part-{tag}-{part.k:05d}.parquet"
        write_table(table, path, part.settings, force=True)
        entry = {
            "file": path.name,
            "ids_hash": part.digest,
            "docs": part.docs,
            "tokens": table.height,
        }
        if part.k < len(done):
            done[part.k] = entry  # a damaged or missing part, made again
        else:
            done.append(entry)
        record()
        parts.append(path)
        written += 1
        tokens += table.height
        if progress is not None:
            progress(written + resumed, tokens)

    for k, (group, digest, piece) in enumerate(
        _units(group_docs(shard_docs(docs, shard), part_chars), scorer, part_chars)
    ):
        units += 1
        documents += len(group) if piece is None or piece[1][0] == 0 else 0
        if k < len(done):
            if done[k]["ids_hash"] != digest:
                raise InspectorError(
                    f"{out_dir}: part {k} of an earlier run holds other documents; the corpus "
                    "changed, so score into a new folder"
                )
            problem = part_problem(out_dir / done[k]["file"], done[k]["tokens"])
            if problem is None:
                parts.append(out_dir / done[k]["file"])
                tokens += done[k]["tokens"]
                resumed += 1
                continue
            if warn is not None:
                warn(f"{out_dir / done[k]['file']}: {problem}; scoring that part again")
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
            raise InspectorError(f"{out_dir}: a part came out with other settings than the run's")
        # this part's tags are being computed by the workers: write out the previous part
        if pending is not None:
            finish(pending)
        settings = {**settings, "part": k, "shard": f"{shard[0]}/{shard[1]}"}
        if piece is not None:
            settings["targets"] = list(piece[1])  # this part: targets [a, b) of its document
        pending = _Pending(k, digest, len(group), settings, scores, tags)
    if pending is not None:
        finish(pending)
    if documents == 0:
        raise InspectorError("the corpus (or this shard of it) has no text to score")
    if units < len(done):
        raise InspectorError(
            f"{out_dir}: an earlier run of this shard wrote {len(done)} parts, this corpus makes "
            f"{units}; the corpus changed, so score into a new folder"
        )
    return StreamResult(parts, written, resumed, tokens, documents)


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


def part_problem(path: Path, tokens: int) -> str | None:
    """What is wrong with a listed part (missing, unreadable, a row count other than the
    manifest's), or None. Reads only the Parquet footer."""
    import polars as pl

    if not path.is_file():
        return "missing"
    try:
        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
    except (OSError, pl.exceptions.PolarsError) as e:
        return f"damaged ({str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__})"
    return None if rows == tokens else f"holds {rows:,} rows, its manifest says {tokens:,}"


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
    """A shard manifest as written by `score_to_parts`, checked; {} if there is none."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        problem = _manifest_problem(data)
    except (OSError, ValueError, RecursionError) as e:
        problem = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if problem:
        raise InspectorError(
            f"{path}: not a manifest inspector can read ({problem}); move it out of the folder "
            "to start that shard again, or score into a new folder"
        )
    return data  # type: ignore[no-any-return]


def _manifest_problem(data: Any) -> str | None:
    """What makes `data` not a manifest, or None."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if not isinstance(data.get("settings"), dict | None):
        return "settings is not an object"
    if not isinstance(data.get("part_chars"), int | None):
        return "part_chars is not a number"
    parts = data.get("parts", [])
    if not isinstance(parts, list):
        return "parts is not a list"
    for i, part in enumerate(parts):
        if not (
            isinstance(part, dict)
            and isinstance(part.get("file"), str)
            and re.fullmatch(r"part-s\d+of\d+-\d+\.parquet", part["file"])
            and isinstance(part.get("ids_hash"), str)
            and isinstance(part.get("tokens"), int)
        ):
            return f"part {i} is not a file name, ids_hash and tokens of a part in this folder"
    return None


def _write_manifest(path: Path, data: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1))
