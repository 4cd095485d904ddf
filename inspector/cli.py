"""The `inspector` command line. Imports only the standard library at start-up.

Every command imports what it needs when it runs, so `inspector --help` is instant.
User errors are caught here, and only here: one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_USAGE = 2


def _add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument(
        "--model",
        default="",
        metavar="M",
        help="a local Hugging Face folder, a .gguf file, or a hub id in the local cache (default: the embedded SmolLM2-135M-Instruct)",
    )
    g.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda", "mps"],
        help="where to run (default: auto, the best present)",
    )
    g.add_argument(
        "--dtype",
        default="auto",
        choices=["auto", "float32", "bfloat16", "float16"],
        help="weights dtype (default: float32 on CPU, bfloat16 on CUDA)",
    )
    g.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where scored tables and converted models are kept (default: $XDG_CACHE_HOME/inspector or ~/.cache/inspector)",
    )


def _add_scoring_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("scoring")
    g.add_argument(
        "--top-k",
        type=int,
        default=20,
        metavar="K",
        help="candidates kept per target (default: 20)",
    )
    g.add_argument(
        "--window",
        type=int,
        default=None,
        metavar="N",
        help="longest model input in tokens (default: the model's context, at most 2048)",
    )
    g.add_argument(
        "--stride",
        type=int,
        default=None,
        metavar="N",
        help="new targets per later window (default: window // 2)",
    )
    g.add_argument(
        "--batch-tokens",
        type=int,
        default=None,
        metavar="N",
        help="padded tokens per forward pass (default: 2048 on CPU, 65536 on CUDA)",
    )


def _add_corpus_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("corpus")
    g.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help=".txt/.md/.jsonl/.ndjson/.csv/.parquet files or folders (default: the bundled samples)",
    )
    g.add_argument(
        "--text-field",
        default="text",
        metavar="NAME",
        help="JSONL field holding the text (default: text)",
    )
    g.add_argument(
        "--text-column",
        default="text",
        metavar="NAME",
        help="CSV/Parquet column holding the text (default: text)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inspector",
        description="Look at what a language model predicts, one next token at a time. "
        "With no command: open the app on the bundled corpus with the embedded model.",
    )
    from inspector import __version__

    parser.add_argument("--version", action="version", version=f"inspector {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    score = sub.add_parser(
        "score",
        help="score every token of a corpus and export the token table",
        description="Score every token of a corpus; print a summary and, with --out, write the token table (.parquet, .csv or .jsonl) with its run settings.",
    )
    _add_corpus_options(score)
    _add_model_options(score)
    _add_scoring_options(score)
    score.add_argument(
        "--rules",
        type=Path,
        default=None,
        metavar="FILE",
        help="task rules (TOML) replacing the shipped taggers/rules.toml",
    )
    out = score.add_argument_group("output")
    out.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the token table here; the format follows the extension",
    )
    out.add_argument("--force", action="store_true", help="replace --out if it exists")
    out.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the table cache"
    )

    browse = sub.add_parser(
        "browse",
        help="open the app on a corpus: step through it token by token",
        description="Open the terminal app on a corpus (default: the bundled samples). Scoring runs "
        "in the background, the document on screen first; press ? in the app for its keys.",
    )
    _add_corpus_options(browse)
    _add_model_options(browse)
    _add_scoring_options(browse)
    browse.add_argument(
        "--rules",
        type=Path,
        default=None,
        metavar="FILE",
        help="task rules (TOML) replacing the shipped taggers/rules.toml",
    )

    bench = sub.add_parser(
        "bench",
        help="measure scoring speed, load times and memory on the bundled corpus",
        description="Score the bundled corpus three ways on the same text (inspector end to end, the raw forward pass on the same batches, a naive one-document-at-a-time loop) and print tokens/s, load times and peak memory.",
    )
    _add_model_options(bench)
    bench.add_argument(
        "--batch-tokens",
        type=int,
        default=None,
        metavar="N",
        help="padded tokens per forward pass (default: 2048 on CPU, 65536 on CUDA)",
    )
    bench.add_argument(
        "--json", action="store_true", help="print one JSON object instead of a table"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from inspector.errors import InspectorError

    try:
        if args.command == "bench":
            from inspector.bench import run_bench

            return run_bench(args)
        if args.command is None:
            args = build_parser().parse_args(["browse"])
        if args.command == "browse":
            return _browse(args)
        return _score(args)
    except InspectorError as e:
        print(f"inspector: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("inspector: interrupted", file=sys.stderr)
        return 130


def _cache_dir(args: argparse.Namespace) -> Path:
    from inspector.cachedir import default_cache_dir, ensure_dir

    return ensure_dir(args.cache_dir or default_cache_dir())


def _score(args: argparse.Namespace) -> int:
    from corpora import bundled_path, read_corpus
    from inspector.errors import ExportError, message
    from inspector.lm.loading import load_model, resolve_model
    from inspector.lm.scoring import ScoreConfig
    from inspector.pipeline import load_request, request_key, score_corpus
    from inspector.table import write_table
    from taggers.rules import load_rules

    if args.out is not None and args.out.exists() and not args.force:
        raise ExportError(message("export_exists", path=args.out))  # before minutes of scoring
    rules = load_rules(args.rules)  # a broken rule file fails before the model loads
    paths = args.paths or [bundled_path()]
    docs = read_corpus(paths, text_field=args.text_field, text_column=args.text_column)
    cache_dir = _cache_dir(args)
    config = ScoreConfig(
        top_k=args.top_k,
        window=args.window,
        stride=args.stride,
        batch_tokens=args.batch_tokens,
    )
    source = resolve_model(args.model, cache_dir)
    key = request_key(source.identity, args.device, args.dtype, config, rules, docs)
    result = None if args.no_cache else load_request(cache_dir, key)
    if result is None:
        lm = load_model(args.model, cache_dir, args.device, args.dtype)
        result = score_corpus(
            docs,
            lm,
            config,
            None if args.no_cache else cache_dir,
            progress=True,
            rules=rules,
            request=key,
        )
    print(summary(result.table, result.settings, result.seconds, result.from_cache))
    if args.out is not None:
        written = write_table(result.table, args.out, result.settings, force=args.force)
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


def read_for_browsing(
    paths: list[Path], text_field: str, text_column: str
) -> tuple[list[Any], list[str]]:
    """The documents of every path that reads, and one line for each that does not: the app
    opens what it can and shows the rest. Nothing readable at all is an error."""
    from corpora import read_corpus
    from inspector.errors import CorpusError

    docs: list[Any] = []
    problems: list[str] = []
    for path in paths:
        try:
            docs.extend(d for d in read_corpus([path], text_field, text_column) if d.text)
        except CorpusError as e:
            problems.append(str(e))
    if not docs:
        raise CorpusError("; ".join(problems))
    if len({d.id for d in docs}) != len(docs):
        read_corpus(paths, text_field, text_column)  # raises the duplicate-id error, naming both
    return docs, problems


def _browse(args: argparse.Namespace) -> int:
    from corpora import bundled_path
    from inspector.lm.scoring import ScoreConfig
    from taggers.rules import load_rules

    rules = load_rules(args.rules)
    docs, problems = read_for_browsing(
        args.paths or [bundled_path()], args.text_field, args.text_column
    )
    config = ScoreConfig(
        top_k=args.top_k, window=args.window, stride=args.stride, batch_tokens=args.batch_tokens
    )
    name = "bundled samples" if not args.paths else ", ".join(p.name for p in args.paths)
    from inspector.tui.app import InspectorApp

    app = InspectorApp(
        docs, name, _cache_dir(args), args.model, args.device, args.dtype, config, rules,
        problems=problems,
    )  # fmt: skip
    app.run()
    return 0


def summary(table: Any, settings: dict[str, Any], seconds: float, from_cache: bool) -> str:
    """A few lines a person reads after scoring: what was scored, by what, and how well."""
    import math

    import polars as pl

    n = table.height
    s = table.select(
        pl.col("nll").mean().alias("nll"),
        (pl.col("rank") == 1).mean().alias("top1"),
        (pl.col("rank") <= settings["top_k"]).mean().alias("topk"),
        pl.col("entropy").mean().alias("entropy"),
    ).row(0, named=True)
    how = "from cache" if from_cache else f"{n / seconds:,.0f} tokens/s" if seconds > 0 else ""
    lines = [
        f"corpus   {settings['documents']} documents, {n:,} tokens",
        f"model    {settings['model']}  ({settings['n_params'] / 1e6:,.0f}M parameters, {settings['device']}, {settings['dtype']})",
        f"windows  {settings['window']} tokens, stride {settings['stride']}; document start {settings['prefix_token']!r} ({settings['prefix_kind']})",
        f"loss     {s['nll']:.3f} nats/token = {s['nll'] / math.log(2):.3f} bits, perplexity {math.exp(s['nll']):,.1f}",
        f"rank     top-1 {s['top1']:.1%}, top-{settings['top_k']} {s['topk']:.1%}; mean entropy {s['entropy']:.3f} nats",
        f"time     {seconds:.1f} s ({how})",
    ]
    if n and "task" in table.columns:
        total = table["nll"].sum()
        by_task = (
            table.group_by("task")
            .agg(
                pl.len().alias("tokens"),
                pl.col("nll").mean().alias("mean"),
                pl.col("nll").sum().alias("sum"),
            )
            .sort("sum", descending=True)
        )
        lines.append("tasks    task               tokens  share  mean loss  share of loss")
        for row in by_task.iter_rows(named=True):
            lines.append(
                f"         {row['task']:<16} {row['tokens']:>8,} {row['tokens'] / n:6.1%} "
                f"{row['mean']:10.3f} {row['sum'] / total:14.1%}"
            )
    hardest = table.sort("nll", descending=True).head(5)
    if hardest.height:
        lines.append(
            "hardest  "
            + ", ".join(
                f"{t!r} {v:.1f}" for t, v in zip(hardest["token"], hardest["nll"], strict=True)
            )
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
