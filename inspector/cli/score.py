"""`inspector score`: score every token of a corpus, print a summary, export the table;
with --parts, stream it into Parquet parts (here, or as Ray tasks)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from inspector import defaults
from inspector.cli.options import (
    add_corpus_options,
    add_model_options,
    add_scoring_options,
    at_least,
    cache_dir_of,
    score_config,
    tag_workers_of,
)  # fmt: skip
from inspector.tables.summary import count


def add_arguments(sub: Any) -> None:
    score = sub.add_parser(
        "score",
        help="score every token of a corpus and export the token table",
        description="Score every token of a corpus; print a summary and, with --out, write the token table (.parquet, .csv or .jsonl) with its run settings.",
    )
    add_corpus_options(score)
    add_model_options(score)
    add_scoring_options(score)
    score.add_argument(
        "--tag-workers",
        type=at_least(1),
        default=None,
        metavar="N",
        help="processes tagging with spaCy, for inputs of 200,000 characters or more (default: the CPU cores, at most 16)",
    )
    out = score.add_argument_group("output")
    out.add_argument(
        "--unit",
        default="token",
        choices=["token", "word"],
        help="--out rows: model tokens (default), or words (word, span, nll summed over its pieces, pieces, task)",
    )
    out.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the token table here; the format follows the extension",
    )
    out.add_argument("--force", action="store_true", help="replace --out if it exists")
    out.add_argument(
        "--parts",
        type=Path,
        default=None,
        metavar="DIR",
        help="stream: write the table as Parquet parts in DIR, memory flat whatever the corpus size; an interrupted run resumes",
    )
    out.add_argument(
        "--shard",
        default=None,
        metavar="i/N",
        help="with --parts: score every N-th document from the i-th (for Slurm arrays, torchrun, ...)",
    )
    out.add_argument(
        "--part-chars",
        type=at_least(1),
        default=None,
        metavar="N",
        help=f"with --parts: characters of text per part (default: {defaults.PART_CHARS}, about 100k tokens)",
    )
    out.add_argument(
        "--engine",
        default="local",
        choices=["local", "ray"],
        help="with --parts: run here (default), or as Ray Data tasks, one per shard (pip install 'inspector[ray]')",
    )
    out.add_argument(
        "--workers",
        type=at_least(1),
        default=None,
        metavar="N",
        help="with --engine ray: shards run as tasks (default: 2)",
    )
    out.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the table cache"
    )
    score.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from corpora import bundled_path, read_corpus
    from corpora.readers import SUFFIXES
    from inspector.errors import InspectorError, message
    from inspector.files import refuse_overwriting_inputs
    from inspector.tables.schema import check_table_output, write_table
    from taggers.rules import load_rules

    tag_workers = tag_workers_of(args)  # a bad --tag-workers fails before the model loads
    if args.parts is not None:
        return _score_parts(args, tag_workers)
    for given, name in (
        (args.shard, "--shard"),
        (args.part_chars, "--part-chars"),
        (args.engine != "local", "--engine ray"),
        (args.workers, "--workers"),
    ):
        if given is not None and given is not False:
            raise InspectorError(message("stream_option_alone", name=name))
    paths = args.paths or [bundled_path()]
    if args.out is not None:  # every output problem is found before minutes of scoring
        check_table_output(args.out, args.force)
        refuse_overwriting_inputs(args.out, [*paths, args.rules], sorted(SUFFIXES))
    rules = load_rules(args.rules)  # a broken rule file fails before the model loads
    docs = read_corpus(paths, text_field=args.text_field, text_column=args.text_column)
    cache_dir = cache_dir_of(args)
    config = score_config(args)
    result = scored(
        docs,
        args.model,
        args.device,
        args.dtype,
        config,
        rules,
        cache_dir,
        not args.no_cache,
        tag_workers,
    )
    from inspector.tables.summary import run_summary

    print(
        run_summary(
            result.table, result.settings, result.seconds, result.from_cache, result.timings
        )
    )
    if args.out is not None:
        table, settings = result.table, result.settings
        if args.unit == "word":
            from inspector.tables.words import word_units

            table, settings = word_units(table.lazy()).collect(), {**settings, "unit": "word"}
        written = write_table(table, args.out, settings, force=args.force)
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _score_parts(args: argparse.Namespace, tag_workers: int) -> int:
    """`score --parts DIR`: stream documents in and Parquet parts out."""
    import time

    import polars as pl

    from corpora import bundled_path, iter_corpus
    from inspector import visible
    from inspector.cli.progress import ProgressLines
    from inspector.errors import InspectorError, message
    from inspector.lm.loading import load_model
    from inspector.run.parts import (
        DEFAULT_PART_CHARS,
        check_parts_folder,
        parse_shard,
        score_to_parts,
    )
    from inspector.run.stored import open_table
    from inspector.tables.render import render
    from inspector.tables.tasks import summarize
    from taggers.rules import load_rules

    if args.part_chars is None:
        args.part_chars = DEFAULT_PART_CHARS
    if args.engine == "ray":
        return _score_parts_on_ray(args)
    if args.workers is not None:
        raise InspectorError(message("workers_without_ray"))
    shard = parse_shard(args.shard or "0/1")
    check_parts_folder(args.parts, shard, args.part_chars)  # before the model loads
    rules = load_rules(args.rules)
    cache_dir = cache_dir_of(args)
    lm = load_model(args.model, cache_dir, args.device, args.dtype)
    config = score_config(args)
    started = time.perf_counter()
    docs = iter_corpus(args.paths or [bundled_path()], args.text_field, args.text_column)

    def step(parts: int, tokens: int) -> None:
        rate = tokens / max(1e-9, time.perf_counter() - started)
        print(
            f"inspector: {parts} parts, {tokens:,} tokens ({rate:,.0f} tokens/s)", file=sys.stderr
        )

    def say(text: str) -> None:
        print(f"inspector: {visible.line(text)}", file=sys.stderr)

    within = ProgressLines(say)  # a part of one long document takes minutes: say so
    scored_before = 0

    def step_tokens(n: int) -> None:
        nonlocal scored_before
        scored_before += n
        within(scored_before)

    result = score_to_parts(
        docs, lm, config, rules, args.parts, args.part_chars, shard, step, tag_workers,
        warn=say, token_progress=step_tokens,
    )  # fmt: skip
    print(
        f"shard {shard[0]}/{shard[1]}: {count(result.documents, 'document')}, {result.tokens:,} tokens in "
        f"{count(len(result.parts), 'part')} ({result.written} scored now, {result.resumed} from an earlier run) in {args.parts}"
    )
    if shard[1] > 1:  # this shard's own parts: the others may still be running
        print(f"loss by task in shard {shard[0]}/{shard[1]}'s parts (the whole folder, once "
              f"every shard is done: inspector tasks --from {args.parts})")  # fmt: skip
        frame = pl.scan_parquet(result.parts)
    else:
        frame = open_table(str(args.parts)).frame
    print(render(summarize(frame, "task"), "table"), end="")
    return 0


def _score_parts_on_ray(args: argparse.Namespace) -> int:
    from corpora import bundled_path
    from inspector.errors import InspectorError, message
    from inspector.run.parts import check_parts_folder
    from inspector.run.ray_engine import ShardJob, score_with_ray
    from inspector.run.stored import open_table
    from inspector.tables.render import render
    from inspector.tables.tasks import summarize
    from taggers.rules import load_rules

    workers = 2 if args.workers is None else args.workers
    if args.shard is not None:
        raise InspectorError(message("ray_with_shard"))
    check_parts_folder(args.parts, (0, workers), args.part_chars)  # before any task starts
    load_rules(args.rules)  # a broken rule file fails here, not in N workers
    job = ShardJob(
        paths=tuple(str(p) for p in (args.paths or [bundled_path()])),
        text_field=args.text_field,
        text_column=args.text_column,
        model=args.model,
        device=args.device,
        dtype=args.dtype,
        cache_dir=str(cache_dir_of(args)),
        config={
            "top_k": args.top_k,
            "window": args.window,
            "stride": args.stride,
            "batch_tokens": args.batch_tokens,
        },
        rules=str(args.rules) if args.rules else None,
        out_dir=str(args.parts),
        part_chars=args.part_chars,
        workers=workers,
    )
    for r in score_with_ray(job):
        print(
            f"shard {r['shard']}/{job.workers}: {count(r['documents'], 'document')}, {r['tokens']:,} tokens "
            f"({r['written']} parts scored now, {r['resumed']} from an earlier run)"
        )
    print(render(summarize(open_table(str(args.parts)).frame, "task"), "table"), end="")
    return 0


def scored(
    docs: Any, model: str, device: str, dtype: str, config: Any, rules: Any, cache_dir: Path,
    use_cache: bool = True, tag_workers: int = 1,
) -> Any:  # fmt: skip
    """`score_or_load` with a progress bar (or lines) on stderr."""
    from inspector.cli.progress import TokenProgress
    from inspector.run.request import score_or_load

    with TokenProgress() as progress:
        return score_or_load(
            docs, model, device, dtype, config, rules, cache_dir, use_cache, tag_workers, progress
        )
