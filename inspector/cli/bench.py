"""`inspector bench`: scoring speed, load times and memory; with --shape, a random-weight
model of a named shape (for GPU machines without model files)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from inspector import defaults
from inspector.cli.options import add_model_options, at_least
from inspector.errors import InspectorError, message

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
        help="padded tokens per forward pass, at least one window (default: 512 on CPU; on CUDA "
        "what fits in free memory)",
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
        help="tokens to score (default: 1,048,576 on CUDA, 8,192 elsewhere; with --compare "
        "1,000,000, with --html 10,000, with --peers 20,000; with --lengths the longest "
        "document, default 16,384; without a mode a quick check: the corpus, the tagging "
        "text and the app's long document cut to about N tokens)",
    )
    shape.add_argument(
        "--window",
        type=at_least(2),
        default=None,
        metavar="N",
        help="tokens per document (default: 1024); with --lengths the window (default: the model's, at most 2048)",
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
        default=None,
        metavar="N",
        help="timed runs of each way (default: 3; with --peers 1)",
    )
    _add_card_checks(shape)
    _add_other_measures(bench)
    bench.set_defaults(func=run)


def _add_card_checks(shape: Any) -> None:
    """The flags for a GPU session: torch.compile side by side, the profile, the out-of-memory path."""
    shape.add_argument(
        "--compile",
        action="store_true",
        help="also the forward pass and scoring with the model body under torch.compile, side by side",
    )
    shape.add_argument(
        "--profile",
        action="store_true",
        help="instead: where scoring's time goes, by stage and by GPU kernel (torch's profiler)",
    )
    shape.add_argument(
        "--oom",
        action="store_true",
        help="instead: run out of GPU memory on purpose and check batches are halved, "
        "with the same results (CUDA only)",
    )


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
        "--parses",
        action="store_true",
        help="measure instead what keeping each text's spaCy parse saves: three runs of one "
        "corpus by three tokenizers, tagging and total seconds without and with it; then one "
        "run with the parse in workers beside the scoring, and without",
    )
    bench.add_argument(
        "--lens",
        action="store_true",
        help="measure instead what the logit lens of the app's depth screen (L) costs at one "
        "target after 100 to 1,000 tokens, beside a plain forward pass",
    )
    bench.add_argument(
        "--attribution",
        action="store_true",
        help="measure instead what attribution (C in the app, inspector context) costs at one "
        "target after 100 to 1,000 tokens: gradient x input and occlusion, beside a forward pass",
    )
    bench.add_argument(
        "--peers",
        action="store_true",
        help="measure instead inspector beside what a CPU user would run instead (the plain "
        "transformers forward pass, lm-eval, minicons, llama.cpp, CTranslate2; those not "
        "installed are skipped: pip install -e '.[peers]') on --tokens tokens (default 20,000) "
        "of real text, tokens/s and total loss of each",
    )
    bench.add_argument(
        "--lengths",
        action="store_true",
        help="measure instead how the cost of a token grows with a document's length (1k to 16k "
        "tokens) at strides of 1/2, 3/4 and 7/8 of the window, and what each stride does to "
        "the loss per task",
    )
    bench.add_argument(
        "--html",
        action="store_true",
        help="measure instead the HTML page of --tokens tokens (default 10,000; the bundled corpus "
        "scored by --model, repeated): its size and how fast it opens in headless Chromium",
    )


def run(args: argparse.Namespace) -> int:
    for flag in ("compile", "profile", "oom"):
        if getattr(args, flag) and not args.shape:
            raise InspectorError(message("needs_shape", flag=f"--{flag}", shapes=", ".join(SHAPES)))
    if args.compile and (args.profile or args.oom):
        raise InspectorError(message("separate_measures"))
    measured = _side_measure(args)
    if measured is not None:
        import json

        result, text = measured
        print(json.dumps(result) if args.json else text(result))
        return 0
    if args.shape:
        from inspector.bench.shape import run_shape_bench

        return run_shape_bench(args)
    from inspector.bench.pipeline import run_bench

    return run_bench(args)


def _side_measure(args: argparse.Namespace) -> tuple[Any, Callable[[Any], str]] | None:
    """The measures beside the scoring pipeline: (their result, how to print it), or None."""
    from functools import partial

    from inspector.cli.options import cache_dir_of

    if args.ask:
        from inspector.bench.asking import format_asking, measure_asking

        rows = measure_asking(args.model, args.device, cache_dir_of(args))
        return rows, partial(format_asking, device=args.device)
    if args.parses:
        from inspector.bench.parses import format_parses, measure_parses

        return measure_parses(), format_parses
    if args.lens:
        from inspector.bench.lens import format_lens, measure_lens

        rows = measure_lens(args.model, args.device, cache_dir_of(args))
        return rows, partial(format_lens, device=args.device)
    if args.attribution:
        from inspector.bench.attribution import format_attribution, measure_attribution

        rows = measure_attribution(args.model, args.device, cache_dir_of(args))
        return rows, partial(format_attribution, device=args.device)
    if args.html:
        from inspector.bench import html

        tokens = args.tokens or html.TOKENS
        return html.measure_html(
            args.model, args.device, cache_dir_of(args), tokens
        ), html.format_html
    if args.peers:
        from inspector.bench import peers

        tokens, repeats = args.tokens or peers.TOKENS, args.repeats or 1
        return peers.measure_peers(
            args.model, cache_dir_of(args), tokens, repeats
        ), peers.format_peers
    if args.lengths:
        from inspector.bench.lengths import format_lengths, measure_lengths

        result = measure_lengths(args.model, cache_dir_of(args), args.window, args.tokens)
        return result, format_lengths
    if args.compare:
        from inspector.bench.compare import TOKENS, format_compare, measure_compare

        return measure_compare(args.tokens or TOKENS), format_compare
    return None
