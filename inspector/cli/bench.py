"""`inspector bench`: scoring speed, load times and memory; with --shape, a random-weight
model of a named shape (for GPU machines without model files)."""

from __future__ import annotations

import argparse
from typing import Any

from inspector import defaults
from inspector.cli.options import add_model_options, at_least

SHAPES = tuple(defaults.SHAPES)  # the --shape choices


def add_arguments(sub: Any) -> None:
    bench = sub.add_parser(
        "bench",
        help="measure scoring speed, load times and memory on the bundled corpus",
        description="Score the bundled corpus three ways on the same text (inspector end to end, the raw forward pass on the same batches, a naive one-document-at-a-time loop) and print tokens/s, load times and peak memory. With --shape, measure scoring speed instead on random token ids with a random-weight model of a named shape (for GPU machines without model files): the plain forward pass against scoring with fused and plain post-processing.",
    )
    add_model_options(bench)
    bench.add_argument(
        "--batch-tokens",
        type=at_least(1),
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
        type=at_least(1),
        default=None,
        metavar="N",
        help="tokens to score (default: 1,048,576 on CUDA, 8,192 elsewhere; with --compare 1,000,000, with --html 10,000)",
    )
    shape.add_argument(
        "--window",
        type=at_least(2),
        default=1024,
        metavar="N",
        help="tokens per document (default: 1024)",
    )
    shape.add_argument(
        "--top-k",
        type=at_least(1),
        default=defaults.TOP_K,
        metavar="K",
        help=f"candidates kept per target (default: {defaults.TOP_K})",
    )
    shape.add_argument(
        "--repeats",
        type=at_least(1),
        default=3,
        metavar="N",
        help="timed runs of each way (default: 3)",
    )
    _add_other_measures(bench)
    bench.set_defaults(func=run)


def _add_other_measures(bench: Any) -> None:
    """The flags that measure something else than scoring."""
    bench.add_argument(
        "--compare",
        action="store_true",
        help="measure instead how fast two stored runs of --tokens tokens (default 1,000,000; "
        "synthetic, written as Parquet parts) are compared, by position and by word, and the memory it takes",
    )
    bench.add_argument(
        "--ask",
        action="store_true",
        help="measure instead how fast the app's questions about continuations (p) are answered, "
        "after prefixes of 16 to 1,024 tokens",
    )
    bench.add_argument(
        "--html",
        action="store_true",
        help="measure instead the HTML page of --tokens tokens (default 10,000; the bundled corpus "
        "scored by --model, repeated): its size and how fast it opens in headless Chromium",
    )


def run(args: argparse.Namespace) -> int:
    if args.ask:
        import json

        from inspector.bench.asking import format_asking, measure_asking
        from inspector.cli.options import cache_dir_of

        rows = measure_asking(args.model, args.device, cache_dir_of(args))
        print(json.dumps(rows) if args.json else format_asking(rows, args.device))
        return 0
    if args.html:
        import json

        from inspector.bench.html import TOKENS, format_html, measure_html
        from inspector.cli.options import cache_dir_of

        result = measure_html(args.model, args.device, cache_dir_of(args), args.tokens or TOKENS)
        print(json.dumps(result) if args.json else format_html(result))
        return 0
    if args.compare:
        import json

        from inspector.bench.compare import TOKENS, format_compare, measure_compare

        results = measure_compare(args.tokens or TOKENS)
        print(json.dumps(results) if args.json else format_compare(results))
        return 0
    if args.shape:
        from inspector.bench.shape import run_shape_bench

        return run_shape_bench(args)
    from inspector.bench.pipeline import run_bench

    return run_bench(args)
