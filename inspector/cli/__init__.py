"""The `inspector` command line. Imports only the standard library at start-up.

Every command imports what it needs when it runs, so `inspector --help` is instant.
User errors are caught here, and only here: one line on stderr, exit code 2.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from inspector import defaults

EXIT_USAGE = 2
SHAPES = tuple(defaults.SHAPES)  # bench --shape choices


class _Parser(argparse.ArgumentParser):
    """argparse with the one-line error every other mistake gets (no usage block)."""

    def error(self, message: str) -> Any:  # argparse's own signature returns NoReturn
        print(f"inspector: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _at_least(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `low`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value}: use {low} or more")
        return value

    parse.__name__ = f"a whole number of {low} or more"
    return parse


def _add_model_options(p: argparse.ArgumentParser, several: bool = False) -> None:
    g = p.add_argument_group("model")
    what = "a local Hugging Face folder, a .gguf file, or a hub id in the local cache"
    if several:
        g.add_argument(
            "--model",
            action="append",
            default=None,
            metavar="M",
            help=f"{what}; repeat to compare models (default: the embedded model)",
        )
    else:
        g.add_argument(
            "--model",
            default="",
            metavar="M",
            help=f"{what} (default: the embedded SmolLM2-135M-Instruct)",
        )
    g.add_argument(
        "--device",
        default="auto",
        choices=defaults.DEVICES,
        help="where to run (default: auto, the best present)",
    )
    g.add_argument(
        "--dtype",
        default="auto",
        choices=defaults.DTYPES,
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
        type=_at_least(1),
        default=defaults.TOP_K,
        metavar="K",
        help=f"candidates kept per target (default: {defaults.TOP_K})",
    )
    g.add_argument(
        "--window",
        type=_at_least(2),
        default=None,
        metavar="N",
        help=f"longest model input in tokens (default: the model's context, at most {defaults.WINDOW_CAP})",
    )
    g.add_argument(
        "--stride",
        type=_at_least(1),
        default=None,
        metavar="N",
        help="new targets per later window (default: window // 2)",
    )
    g.add_argument(
        "--batch-tokens",
        type=_at_least(1),
        default=None,
        metavar="N",
        help="padded tokens per forward pass (default: 2048 on CPU; on CUDA what fits in free memory)",
    )
    g.add_argument(
        "--rules",
        type=Path,
        default=None,
        metavar="FILE",
        help="task rules (TOML) replacing the shipped taggers/rules.toml; in annotation mode their extra labels get keys 5-9",
    )


def _score_config(args: argparse.Namespace) -> Any:
    """The ScoreConfig of the scoring options."""
    from inspector.lm.scoring import ScoreConfig

    return ScoreConfig(
        top_k=args.top_k, window=args.window, stride=args.stride, batch_tokens=args.batch_tokens
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
    parser = _Parser(
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
        "--tag-workers",
        type=_at_least(1),
        default=None,
        metavar="N",
        help="processes tagging with spaCy, for inputs of 200,000 characters or more (default: the CPU cores, at most 16)",
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
        type=_at_least(1),
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
        type=_at_least(1),
        default=None,
        metavar="N",
        help="with --engine ray: shards run as tasks (default: 2)",
    )
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
        "--from",
        dest="table",
        default=None,
        metavar="TABLE",
        help="browse a table scored before (a file, or a folder or glob of Parquet parts), read one document at a time",
    )

    tasks = sub.add_parser(
        "tasks",
        help="per-task loss tables, for one model or several (how tasks move with model size)",
        description="The overall loss as a weighted sum of per-task losses: per task, its token "
        "share, mean loss, contribution (share x mean loss, summing to the overall loss), loss share, "
        "top-1 accuracy, median rank, mean entropy and a 95% interval of the mean loss. Several "
        "--model or --from give one block per model with the change against the first.",
    )
    _add_corpus_options(tasks)
    _add_model_options(tasks, several=True)
    tasks.add_argument(
        "--from",
        dest="tables",
        action="append",
        default=None,
        metavar="TABLE",
        help="an already scored token table: a file, or a folder or glob of Parquet parts (repeatable)",
    )
    _add_scoring_options(tasks)
    tasks.add_argument(
        "--by",
        default="task",
        choices=["task", "doc", "task,doc"],
        metavar="task|doc|task,doc",
        help="rows per task (default), per document, or per document and task",
    )
    tasks.add_argument(
        "--task",
        dest="task_filter",
        action="append",
        default=None,
        metavar="T",
        help="keep only these tasks (repeatable)",
    )
    tasks.add_argument(
        "--format",
        default=None,
        choices=["table", "csv", "parquet", "json", "jsonl", "md"],
        help="output format (default: from --out's extension, else an aligned table)",
    )
    tasks.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="write here instead of standard output",
    )
    tasks.add_argument("--force", action="store_true", help="replace --out if it exists")
    tasks.add_argument(
        "--plot",
        action="store_true",
        help="also draw loss against model size per task in the terminal",
    )
    tasks.add_argument(
        "--labels",
        default="heuristic",
        choices=["heuristic", "human", "both"],
        help="task labels from the rules (default), from people in the annotation store (--db), or both",
    )
    tasks.add_argument(
        "--db",
        type=Path,
        default=None,
        metavar="FILE",
        help="the annotation database, for --labels human or both",
    )

    annotate = sub.add_parser(
        "annotate",
        help="open the app in annotation mode: label targets with their task by hand",
        description="Label targets with their task while seeing the model's distribution, loss and the "
        "heuristic tag. Keys: 1-4 (and more for extra labels) label, enter accepts the heuristic, space "
        "skips, u undoes, n adds a note, backspace goes back, a switches to browsing.",
    )
    _add_corpus_options(annotate)
    _add_model_options(annotate)
    _add_scoring_options(annotate)
    annotate.add_argument(
        "--db",
        type=Path,
        default=Path("annotations.sqlite"),
        metavar="FILE",
        help="the annotation database (default: ./annotations.sqlite, created if missing)",
    )
    annotate.add_argument(
        "--annotator", default=None, metavar="NAME", help="whose labels these are (default: $USER)"
    )
    annotate.add_argument(
        "--order",
        default="text",
        metavar="ORDER",
        help="text (default), loss (highest first), stratified:N (N per heuristic task), uncertain (least reliable rules first)",
    )

    notes = sub.add_parser(
        "annotations", help="export or import the labels of an annotation database"
    )
    notes_sub = notes.add_subparsers(dest="annotations_command", metavar="ACTION", required=True)
    export = notes_sub.add_parser(
        "export", help="write every label (with character offsets) as jsonl, csv or parquet"
    )
    export.add_argument(
        "--db", type=Path, required=True, metavar="FILE", help="the annotation database"
    )
    export.add_argument(
        "--format",
        default="jsonl",
        choices=["jsonl", "csv", "parquet"],
        help="jsonl (default): one document per line with its labelled spans",
    )
    export.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="FILE",
        help="write here (default: standard output)",
    )
    export.add_argument("--force", action="store_true", help="replace --out if it exists")
    imp = notes_sub.add_parser(
        "import", help="add the labels of an export file to a database (none twice)"
    )
    imp.add_argument("file", type=Path, metavar="FILE", help="a .jsonl, .csv or .parquet export")
    imp.add_argument(
        "--db",
        type=Path,
        required=True,
        metavar="FILE",
        help="the annotation database (created if missing)",
    )

    agree = sub.add_parser(
        "agreement", help="how the heuristic tags agree with people, and people with each other"
    )
    agree.add_argument(
        "--db", type=Path, required=True, metavar="FILE", help="the annotation database"
    )
    agree.add_argument(
        "--annotator",
        action="append",
        default=None,
        metavar="NAME",
        help="one: heuristics against this person; two: these two people (default: all)",
    )

    bench = sub.add_parser(
        "bench",
        help="measure scoring speed, load times and memory on the bundled corpus",
        description="Score the bundled corpus three ways on the same text (inspector end to end, the raw forward pass on the same batches, a naive one-document-at-a-time loop) and print tokens/s, load times and peak memory. With --shape, measure scoring speed instead on random token ids with a random-weight model of a named shape (for GPU machines without model files): the plain forward pass against scoring with fused and plain post-processing.",
    )
    _add_model_options(bench)
    bench.add_argument(
        "--batch-tokens",
        type=_at_least(1),
        default=None,
        metavar="N",
        help="padded tokens per forward pass (default: 2048 on CPU; on CUDA what fits in free memory)",
    )
    bench.add_argument(
        "--json", action="store_true", help="print one JSON object instead of a table"
    )
    shape = bench.add_argument_group(
        "random-weight model of a named shape (no model files needed: for GPU machines)"
    )
    shape.add_argument(
        "--shape",
        choices=SHAPES,
        default=None,
        help="measure scoring speed on random token ids with a random-weight model of this shape",
    )
    shape.add_argument(
        "--tokens",
        type=_at_least(1),
        default=None,
        metavar="N",
        help="tokens to score (default: 1,048,576 on CUDA, 8,192 elsewhere)",
    )
    shape.add_argument(
        "--window",
        type=_at_least(2),
        default=1024,
        metavar="N",
        help="tokens per document (default: 1024)",
    )
    shape.add_argument(
        "--top-k",
        type=_at_least(1),
        default=defaults.TOP_K,
        metavar="K",
        help=f"candidates kept per target (default: {defaults.TOP_K})",
    )
    shape.add_argument(
        "--repeats",
        type=_at_least(1),
        default=3,
        metavar="N",
        help="timed runs of each way (default: 3)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # named by the command they were given to, with its --help
        commands = {a.dest: a for a in parser._actions if isinstance(a, argparse._SubParsersAction)}
        sub = commands["command"].choices.get(args.command) if args.command else None
        (sub or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from inspector.cli.stderr import show_library_messages
    from inspector.run.errors import USER_ERRORS

    show_library_messages()

    try:
        if args.command == "bench" and args.shape:
            from inspector.bench.shape import run_shape_bench

            return run_shape_bench(args)
        if args.command == "bench":
            from inspector.bench.pipeline import run_bench

            return run_bench(args)
        if args.command is None:
            args = build_parser().parse_args(["browse"])
        if args.command == "browse":
            return _browse(args)
        if args.command == "tasks":
            return _tasks(args)
        if args.command == "annotate":
            return _browse(args, annotate=True)
        if args.command == "annotations":
            return _annotations(args)
        if args.command == "agreement":
            return _agreement(args)
        return _score(args)
    except USER_ERRORS as e:
        from inspector import visible

        print(f"inspector: error: {visible.line(e)}", file=sys.stderr)  # one line, nothing raw
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("inspector: interrupted", file=sys.stderr)
        return 130


def _cache_dir(args: argparse.Namespace) -> Path:
    from inspector.files import default_cache_dir, ensure_dir

    return ensure_dir(args.cache_dir or default_cache_dir())


def _score(args: argparse.Namespace) -> int:
    from corpora import bundled_path, read_corpus
    from corpora.readers import SUFFIXES
    from inspector.errors import InspectorError
    from inspector.files import refuse_overwriting_inputs
    from inspector.tables.schema import check_table_output, write_table
    from taggers.rules import load_rules

    tag_workers = _tag_workers(args)  # a bad --tag-workers fails before the model loads
    if args.parts is not None:
        return _score_parts(args, tag_workers)
    for given, name in (
        (args.shard, "--shard"),
        (args.part_chars, "--part-chars"),
        (args.engine != "local", "--engine ray"),
        (args.workers, "--workers"),
    ):
        if given is not None and given is not False:
            raise InspectorError(
                f"{name} shapes a streamed run: give it with --parts DIR (without --parts the "
                "whole corpus is scored here, in memory)"
            )
    paths = args.paths or [bundled_path()]
    if args.out is not None:  # every output problem is found before minutes of scoring
        check_table_output(args.out, args.force)
        refuse_overwriting_inputs(args.out, [*paths, args.rules], sorted(SUFFIXES))
    rules = load_rules(args.rules)  # a broken rule file fails before the model loads
    docs = read_corpus(paths, text_field=args.text_field, text_column=args.text_column)
    cache_dir = _cache_dir(args)
    config = _score_config(args)
    result = _scored(
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
    print(summary(result.table, result.settings, result.seconds, result.from_cache, result.timings))
    if args.out is not None:
        written = write_table(result.table, args.out, result.settings, force=args.force)
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _score_parts(args: argparse.Namespace, tag_workers: int) -> int:
    """`score --parts DIR`: stream documents in and Parquet parts out."""
    import time

    from corpora import bundled_path, iter_corpus
    from inspector import visible
    from inspector.cli.progress import ProgressLines
    from inspector.errors import InspectorError
    from inspector.lm.loading import load_model
    from inspector.run.parts import (
        DEFAULT_PART_CHARS,
        check_parts_folder,
        parse_shard,
        score_to_parts,
    )
    from inspector.run.stored import open_table
    from inspector.tables.tasks import render, summarize
    from taggers.rules import load_rules

    if args.part_chars is None:
        args.part_chars = DEFAULT_PART_CHARS
    if args.engine == "ray":
        return _score_parts_on_ray(args)
    if args.workers is not None:
        raise InspectorError("--workers is the number of Ray tasks: give it with --engine ray")
    shard = parse_shard(args.shard or "0/1")
    check_parts_folder(args.parts, shard, args.part_chars)  # before the model loads
    rules = load_rules(args.rules)
    cache_dir = _cache_dir(args)
    lm = load_model(args.model, cache_dir, args.device, args.dtype)
    config = _score_config(args)
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
        f"shard {shard[0]}/{shard[1]}: {_count(result.documents, 'document')}, {result.tokens:,} tokens in "
        f"{len(result.parts)} parts ({result.written} scored now, {result.resumed} from an earlier run) in {args.parts}"
    )
    print(render(summarize(open_table(str(args.parts)).frame, "task"), "table"), end="")
    return 0


def _score_parts_on_ray(args: argparse.Namespace) -> int:
    from corpora import bundled_path
    from inspector.errors import InspectorError
    from inspector.run.parts import check_parts_folder
    from inspector.run.ray_engine import ShardJob, score_with_ray
    from inspector.run.stored import open_table
    from inspector.tables.tasks import render, summarize
    from taggers.rules import load_rules

    workers = 2 if args.workers is None else args.workers
    if args.shard is not None:
        raise InspectorError("--engine ray makes its own shards: give --workers N, not --shard")
    check_parts_folder(args.parts, (0, workers), args.part_chars)  # before any task starts
    load_rules(args.rules)  # a broken rule file fails here, not in N workers
    job = ShardJob(
        paths=tuple(str(p) for p in (args.paths or [bundled_path()])),
        text_field=args.text_field,
        text_column=args.text_column,
        model=args.model,
        device=args.device,
        dtype=args.dtype,
        cache_dir=str(_cache_dir(args)),
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
            f"shard {r['shard']}/{job.workers}: {_count(r['documents'], 'document')}, {r['tokens']:,} tokens "
            f"({r['written']} parts scored now, {r['resumed']} from an earlier run)"
        )
    print(render(summarize(open_table(str(args.parts)).frame, "task"), "table"), end="")
    return 0


def _scored(
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


def _tag_workers(args: argparse.Namespace) -> int:
    """`--tag-workers`, by default the CPU cores, at most 16 (each holds spaCy, about 370 MB)."""
    if args.tag_workers is None:
        return max(1, min(os.cpu_count() or 1, 16))
    return int(args.tag_workers)


def _tasks(args: argparse.Namespace) -> int:
    from dataclasses import replace

    import polars as pl

    from corpora import bundled_path, read_corpus
    from corpora.readers import SUFFIXES
    from inspector import visible
    from inspector.errors import ExportError
    from inspector.files import check_new_file, refuse_overwriting_inputs, write_new
    from inspector.run.stored import open_table
    from inspector.tables.tasks import (
        RUN_COLUMNS,
        compare,
        describe,
        fit_width,
        plot,
        strip_colour,
        write,
    )
    from taggers.rules import load_rules

    fmt = _tasks_format(args)
    if args.plot and args.by != "task":
        raise ExportError("--plot draws tasks: use it with --by task")
    if args.out is not None:  # every output problem is found before any scoring
        check_new_file(args.out, args.force)
        inputs = [*args.paths, *(Path(t) for t in args.tables or []), args.db, args.rules]
        refuse_overwriting_inputs(args.out, inputs, sorted(SUFFIXES))
    runs = [open_table(spec) for spec in args.tables or []]
    models = args.model if args.model is not None else ([] if runs else [""])
    if models:
        rules = load_rules(args.rules)
        docs = read_corpus(
            args.paths or [bundled_path()], text_field=args.text_field, text_column=args.text_column
        )
        config = _score_config(args)
        cache_dir = _cache_dir(args)
        for model in models:
            run = _scored(docs, model, args.device, args.dtype, config, rules, cache_dir)
            runs.append(replace(run, source=model or "the embedded model"))
    if args.labels != "heuristic":
        runs = _with_human_labels(runs, args.labels, args.db)
    table = compare(runs, args.by, args.task_filter)
    if len(runs) == 1:
        table = table.drop("model", "n_params", "delta_mean_nll", "delta_loss_contribution")
    elif len(set(table["model"])) == 1:
        table = table.drop(
            "delta_mean_nll", "delta_loss_contribution"
        )  # one run, two label sources
    text: str | None
    if fmt in ("table", "md"):  # a text for people: the runs are named above the table
        lines = describe(runs)
        if args.task_filter:
            lines.append(
                f"shares are of the tasks chosen ({', '.join(args.task_filter)}), not of the "
                "whole corpus; `all` is their sum"
            )
        shown = table.drop(RUN_COLUMNS)
        if fmt == "table" and args.out is None and sys.stdout.isatty():
            shown, dropped = fit_width(shown, shutil.get_terminal_size().columns)
            if dropped:
                lines.append(
                    f"left out to fit this terminal: {', '.join(dropped)} "
                    "(--format md or csv shows every column)"
                )
        head = "\n".join(visible.line(line) for line in lines)
        page = head + "\n\n" + (write(shown, fmt, None) or "")
        text = page
        if args.out is not None:
            write_new(args.out, lambda tmp: tmp.write_text(page), args.force)
            text = None
    else:  # data: every row carries its run's settings (RUN_COLUMNS)
        text = write(table, fmt, args.out, args.force)
    if text is not None:
        sys.stdout.write(text)
    else:
        print(f"wrote {args.out}", file=sys.stderr)
    if args.plot:
        shown = (
            table
            if "model" in table.columns
            else table.with_columns(
                pl.lit(runs[0].label).alias("model"),
                pl.lit(runs[0].settings.get("n_params")).alias("n_params"),
            )
        )
        drawing = visible.keep_colour(plot(shown))
        print("\n" + (drawing if sys.stdout.isatty() else strip_colour(drawing)))
    return 0


TASKS_FORMATS = {".csv": "csv", ".parquet": "parquet", ".json": "json", ".jsonl": "jsonl",
                 ".md": "md", ".txt": "table"}  # fmt: skip


def _tasks_format(args: argparse.Namespace) -> str:
    """`--format`, else the format --out's extension names, else an aligned table."""
    from inspector.errors import ExportError

    if args.format or args.out is None:
        return str(args.format or "table")
    suffix = args.out.suffix.lower()
    if suffix not in TASKS_FORMATS:
        raise ExportError(
            f"{args.out}: unknown output format '{suffix or '(none)'}'; use "
            f"{', '.join(TASKS_FORMATS)}, or name one with --format"
        )
    return TASKS_FORMATS[suffix]


def _with_human_labels(runs: list[Any], labels: str, db: Path | None) -> list[Any]:
    """Each run with people's labels as its tasks (`human`), or both versions (`both`)."""
    from dataclasses import replace

    from inspector.errors import InspectorError
    from inspector.labels.join import human_tasks
    from inspector.labels.store import Store

    if db is None:
        raise InspectorError(
            f"--labels {labels} reads the annotation store: give it with --db FILE"
        )
    with Store(db, readonly=True) as store:
        out = []
        for run in runs:
            marks = store.table(corpus=run.settings.get("corpus_hash"))
            human = human_tasks(run.frame.collect(), marks)
            if human.is_empty():
                raise InspectorError(
                    f"{db}: no human labels for the corpus of {run.source} in this database; check --db"
                )
            if labels == "both":
                out.append(run)
            out.append(replace(run, frame=human.lazy(), labels="human"))
    return out


def read_for_browsing(
    paths: list[Path], text_field: str, text_column: str
) -> tuple[list[Any], list[str]]:
    """The documents of every path that reads, and one line for each that does not: the app
    opens what it can and shows the rest. Nothing readable at all is an error."""
    from corpora import read_corpus
    from corpora.errors import CorpusError

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


def _annotations(args: argparse.Namespace) -> int:
    from inspector.labels.exchange import export_labels, read_export
    from inspector.labels.store import Store

    if args.annotations_command == "export":
        if args.out is not None:
            from inspector.files import check_new_file, refuse_overwriting_inputs

            check_new_file(args.out, args.force)
            refuse_overwriting_inputs(args.out, [args.db])
        with Store(args.db, readonly=True) as store:
            text = export_labels(store.table(live_only=False), args.format, args.out, args.force)
        if text is not None:
            sys.stdout.write(text)
        else:
            print(f"wrote {args.out}", file=sys.stderr)
        return 0
    rows = read_export(args.file)
    with Store(args.db) as store:
        added = store.import_rows(rows)
    print(
        f"imported {added} of {rows.height} labels into {args.db} ({rows.height - added} were there already)"
    )
    return 0


def _agreement(args: argparse.Namespace) -> int:
    from inspector.labels.agreement import between_annotators, heuristic_vs_human
    from inspector.labels.columns import AnnotationError
    from inspector.labels.store import Store

    with Store(args.db, readonly=True) as store:
        table = store.table()
    people = args.annotator or sorted(set(table["annotator"]))
    if table.is_empty():
        raise AnnotationError(f"{args.db}: no labels yet; label some with inspector annotate")
    if len(people) > 2 and args.annotator:
        raise AnnotationError(
            "--annotator: give one (heuristics against that person) or two (those two people)"
        )
    unknown = [p for p in people if p not in set(table["annotator"])]
    if unknown:
        raise AnnotationError(f"--annotator {unknown[0]}: no labels by that name in {args.db}")
    if args.annotator and len(people) == 2:
        print(between_annotators(table, *people).render())
        return 0
    print(heuristic_vs_human(table, people[0] if args.annotator else None).render())
    if not args.annotator:
        for i, a in enumerate(people):
            for b in people[i + 1 :]:
                print("\n" + between_annotators(table, a, b).render())
    return 0


def _browse(args: argparse.Namespace, annotate: bool = False) -> int:
    from corpora import bundled_path
    from taggers.rules import load_rules

    rules = load_rules(args.rules)
    docs, problems = read_for_browsing(
        args.paths or [bundled_path()], args.text_field, args.text_column
    )
    config = _score_config(args)
    name = "bundled samples" if not args.paths else ", ".join(p.name for p in args.paths)
    from inspector.tui.app import InspectorApp

    options = None
    if annotate:
        import getpass

        from inspector.labels.queue import parse_order
        from inspector.labels.store import Store
        from inspector.tui.app import AnnotateOptions

        parse_order(args.order)  # a bad --order fails here, not in the app
        Store(args.db).close()  # a locked, damaged or newer database fails here, untouched
        options = AnnotateOptions(
            args.db,
            args.annotator or getpass.getuser() or "anonymous",
            args.order,
            ", ".join(str(p.resolve()) for p in (args.paths or [bundled_path()])),
        )
    app = InspectorApp(
        docs, name, _cache_dir(args), args.model, args.device, args.dtype, config, rules,
        problems=problems, annotate=options, table_source=getattr(args, "table", None),
    )  # fmt: skip
    app.run()
    return app.return_code or 0  # a crash in the app is never a success


def _count(n: int, noun: str) -> str:
    """`1 document`, `3,692 tokens`."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def summary(
    table: Any,
    settings: dict[str, Any],
    seconds: float,
    from_cache: bool,
    timings: dict[str, float] | None = None,
) -> str:
    """A few lines a person reads after scoring: what was scored, by what, and how well."""
    import math

    import polars as pl

    from inspector import visible

    n = table.height
    s = table.select(
        pl.col("nll").mean().alias("nll"),
        (pl.col("rank") == 1).mean().alias("top1"),
        (pl.col("rank") <= settings["top_k"]).mean().alias("topk"),
        pl.col("entropy").mean().alias("entropy"),
    ).row(0, named=True)
    timings = timings or {}
    if from_cache:
        how = "from cache"
    elif not timings.get("score_s") and timings.get("tag_s"):  # only the tags were computed
        how = f"scores from cache; tagged again in {timings['tag_s']:.1f} s"
    else:
        how = f"{n / seconds:,.0f} tokens/s" if seconds > 0 else ""
    lines = [
        f"corpus   {_count(settings['documents'], 'document')}, {_count(n, 'token')} "
        f"(corpus hash {str(settings.get('corpus_hash'))[:8]})",
        f"model    {visible.line(settings['model'])}  ({settings['n_params'] / 1e6:,.0f}M parameters, {settings['device']}, {settings['dtype']})",
        f"windows  {settings['window']} tokens, stride {settings['stride']}; document start {settings['prefix_token']!r} ({settings['prefix_kind']})",
        f"rules    {visible.line(settings.get('tagger_rules', '?'))} "
        f"(hash {str(settings.get('tagger_rules_hash'))[:8]})",
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
                f"         {visible.line(row['task']):<16} {row['tokens']:>8,} {row['tokens'] / n:6.1%} "
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
