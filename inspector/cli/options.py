"""Option groups several commands share, declared once, and what they turn into."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inspector import defaults


def at_least(low: int) -> Callable[[str], int]:
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


def window_or_full(text: str) -> int | None:
    """An argparse type: a window of 2 tokens or more, or `full` (the model's context)."""
    return None if text.strip().lower() == "full" else at_least(2)(text)


window_or_full.__name__ = "a whole number of 2 or more, or full"


def add_model_options(
    p: argparse.ArgumentParser, several: bool = False, vary: bool = False
) -> None:
    """--model (repeatable with `several`), --device, --dtype (repeatable with `vary`: one
    run per value), --cache-dir."""
    g = p.add_argument_group("model")
    what = "a local Hugging Face folder, a .gguf file, or a hub id in the local cache"
    if several:
        g.add_argument(
            "--model",
            action="append",
            default=None,
            metavar="M",
            help=f"{what}; repeat to compare models, or give a pattern (ckpt/step-*) for every "
            "folder it matches (default: the embedded model)",
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
        default=None if vary else "auto",
        action="append" if vary else "store",
        choices=defaults.DTYPES,
        help="weights dtype (default: float32 on CPU, bfloat16 on CUDA)"
        + ("; repeat for one run per dtype" if vary else ""),
    )
    g.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where scored tables and converted models are kept (default: $XDG_CACHE_HOME/inspector or ~/.cache/inspector)",
    )


def add_scoring_options(
    p: argparse.ArgumentParser, vary: bool = False, annotate: bool = False
) -> None:
    """The scoring settings; with `vary`, --window is repeatable (one run per value, `full`
    for the model's context)."""
    g = p.add_argument_group("scoring")
    g.add_argument(
        "--top-k",
        type=at_least(1),
        default=defaults.TOP_K,
        metavar="K",
        help=f"candidates kept per target (default: {defaults.TOP_K})",
    )
    g.add_argument(
        "--window",
        type=window_or_full if vary else at_least(2),
        default=None,
        action="append" if vary else "store",
        metavar="N",
        help=f"longest model input in tokens (default: the model's context, at most {defaults.WINDOW_CAP})"
        + ("; repeat for one run per window, `full` for that default" if vary else ""),
    )
    g.add_argument(
        "--stride",
        type=at_least(1),
        default=None,
        metavar="N",
        help="new targets per later window, up to the window; a later window's first target "
        "sees window - stride + 1 tokens (default: window // 2)",
    )
    g.add_argument(
        "--batch-tokens",
        type=at_least(1),
        default=None,
        metavar="N",
        help="padded tokens per forward pass, at least one window (default: 512 on CPU, so long "
        "rows go alone; on CUDA what fits in free memory)",
    )
    g.add_argument(
        "--rules",
        type=Path,
        default=None,
        metavar="FILE",
        help="task rules (TOML) replacing the shipped taggers/rules.toml"
        + ("; their extra labels get keys 5-9" if annotate else ""),
    )


def score_config(args: argparse.Namespace, window: int | None = None) -> Any:
    """The ScoreConfig of the scoring options (`window` where --window varies)."""
    from inspector.lm.config import ScoreConfig

    chosen = window if isinstance(args.window, list) else args.window
    return ScoreConfig(
        top_k=args.top_k, window=chosen, stride=args.stride, batch_tokens=args.batch_tokens
    )


def add_corpus_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("corpus")
    g.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help=".txt/.md/.jsonl/.ndjson/.csv/.parquet/.arrow files (text, JSONL and CSV also as .gz/.bz2/.xz/.zst), "
        "folders, or Hugging Face datasets folders (default: the bundled samples)",
    )
    g.add_argument(
        "--text-field",
        default="text",
        metavar="NAME",
        help="JSONL field holding the text, a dotted path for a nested one (meta.body) (default: text)",
    )
    g.add_argument(
        "--text-column",
        default="text",
        metavar="NAME",
        help="CSV/Parquet column holding the text (default: text)",
    )


def cache_dir_of(args: argparse.Namespace) -> Path:
    from inspector.files import default_cache_dir, ensure_dir

    return ensure_dir(args.cache_dir or default_cache_dir())


def tag_workers_of(args: argparse.Namespace) -> int:
    """`--tag-workers`, by default the CPU cores, at most 16 (each holds spaCy, about 370 MB)."""
    if args.tag_workers is None:
        return max(1, min(os.cpu_count() or 1, 16))
    return int(args.tag_workers)


def out_format(out: Path | None, fmt: str | None, by_suffix: dict[str, str], default: str) -> str:
    """The output format: --format, else --out's extension, else `default`. An --out whose
    extension this command does not write, or that contradicts --format, is refused (a file
    named .parquet holding CSV would mislead whoever opens it)."""
    from inspector.errors import ExportError, message

    if out is None:
        return fmt or default
    suffix = out.suffix.lower()
    if suffix not in by_suffix:
        raise ExportError(message("out_suffix", out=out, suffix=suffix or "(none)",
                                  formats=", ".join(by_suffix)))  # fmt: skip
    if fmt is not None and fmt != by_suffix[suffix]:
        raise ExportError(message("out_clash", fmt=fmt, out=out, named=by_suffix[suffix]))
    return by_suffix[suffix]


def print_chart(drawing: str, before: str = "") -> None:
    """A terminal chart on stdout: its colours kept on a terminal (any other escape shown,
    not obeyed), plain text where stdout is a file or a pipe."""
    import sys

    from inspector import visible
    from inspector.tables.plot import strip_colour

    drawing = visible.keep_colour(drawing)
    print(before + (drawing if sys.stdout.isatty() else strip_colour(drawing)))
