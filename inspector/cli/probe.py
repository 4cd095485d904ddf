"""`inspector probe` and `inspector probes`: ask the model how likely continuations are,
one contrast at a time or a suite of them (the talk's task table)."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path
from typing import Any

from inspector.cli.options import add_model_options

FORMATS = ["table", "md", "csv", "json", "jsonl"]


def add_arguments(sub: Any) -> None:
    one = sub.add_parser(
        "probe",
        help="how likely is each continuation of a prefix: probability, rank and nll",
        description="Score each CANDIDATE as the continuation of PREFIX, piece by piece (a "
        "multi-piece candidate gets the chained probability). Candidates are scored as written: "
        "give their leading space (' Baku'); whitespace at the end of the prefix is moved to them.",
    )
    one.add_argument("prefix", metavar="PREFIX", help="the text so far")
    one.add_argument("candidates", nargs="+", metavar="CANDIDATE", help="continuations to compare")
    add_model_options(one, several=True)
    one.add_argument("--format", default="table", choices=FORMATS, help="output format")
    one.set_defaults(func=run_probe)

    suite = sub.add_parser(
        "probes",
        help="run a probe suite: does the expected continuation beat its foils, per task",
        description="Run a probe suite (JSONL: prefix, expected, foils, task; default: the bundled "
        "suite of the talk's task table). Per probe: the expected continuation's nll, the best "
        "foil's, the margin in nats and whether it won; per task the share won. With several "
        "--model, the same across models.",
    )
    suite.add_argument("suite", nargs="?", type=Path, default=None, metavar="FILE",
                       help="a probe suite (default: the bundled one)")  # fmt: skip
    add_model_options(suite, several=True)
    suite.add_argument("--format", default="table", choices=FORMATS, help="output format")
    suite.add_argument("--out", type=Path, default=None, metavar="FILE",
                       help="also write the per-probe results (.csv, .jsonl, .json or .parquet)")  # fmt: skip
    suite.add_argument("--force", action="store_true", help="replace --out if it exists")
    suite.set_defaults(func=run_probes)


def _askers(args: argparse.Namespace) -> list[tuple[str, Any]]:
    """(name, Asker) per --model, loaded one after the other."""
    from inspector.cli.given import expand_models
    from inspector.cli.options import cache_dir_of
    from inspector.lm.continuations import Asker
    from inspector.lm.loading import load_model

    cache_dir = cache_dir_of(args)
    out = []
    for spec in expand_models(args.model or [""]):
        lm = load_model(spec, cache_dir, args.device, args.dtype)
        out.append((f"{lm.source.name}", Asker(lm)))
    return out


def run_probe(args: argparse.Namespace) -> int:
    import polars as pl

    from inspector import visible
    from inspector.run.probes import candidates_table
    from inspector.tables.render import render, scientific

    tables = [candidates_table(a, name, args.prefix, args.candidates) for name, a in _askers(args)]
    table = pl.concat(tables)
    if table["prefix_cut"].any():
        read = min(table["context_tokens"].to_list()) - 1  # the document-start token aside
        print(f"inspector probe: the prefix is longer than the model's window leaves: only its last "
              f"{read:,} tokens were read", file=sys.stderr)  # fmt: skip
    if args.format not in ("table", "md"):
        sys.stdout.write(render(table, args.format))
        return 0
    # each piece's p in the prob column's format (a piece's p is never below the chained one)
    pieces = partial(_pieces, sci=scientific(table["prob"]))
    shown = table.select(
        *(["model"] if len(tables) > 1 else []),
        pl.col("candidate").map_elements(repr, return_dtype=pl.String),
        "prob", "nll", "rank",
        pl.struct("pieces", "piece_probs").map_elements(pieces, return_dtype=pl.String).alias("pieces (p given those before)"),
    )  # fmt: skip
    head = [f"model {tables[0]['model'][0]}" if len(tables) == 1 else f"models {len(tables)}",
            f"prefix {args.prefix!r}"]  # fmt: skip
    sys.stdout.write("\n".join(visible.line(h) for h in head) + "\n\n" + render(shown, args.format))
    return 0


def _pieces(row: dict[str, Any], sci: bool) -> str:
    from inspector.tables.render import cell

    pairs = zip(row["pieces"], row["piece_probs"], strict=True)
    return " · ".join(f"{p!r} {cell(q, 'prob', sci)}" for p, q in pairs)


def run_probes(args: argparse.Namespace) -> int:
    import polars as pl

    from corpora import bundled_path
    from corpora.probes import read_probes
    from inspector import visible
    from inspector.cli.options import out_format
    from inspector.run.probes import probe_results, task_shares
    from inspector.tables.render import render, write

    by_suffix = {".csv": "csv", ".jsonl": "jsonl", ".json": "json", ".parquet": "parquet"}
    out_fmt = out_format(args.out, None, by_suffix, "csv")
    if args.out is not None:
        from corpora.readers import SUFFIXES
        from inspector.files import check_output

        check_output(
            args.out, args.force, [args.suite or bundled_path() / "probes.jsonl"], sorted(SUFFIXES)
        )
    path = args.suite or bundled_path() / "probes.jsonl"
    probes = read_probes(path)
    results = pl.concat([probe_results(a, name, probes) for name, a in _askers(args)])
    if cut := results["prefix_cut"].sum():
        print(f"inspector probes: {cut:,} prefixes were longer than the model's window leaves and "
              "were cut at their start (the context_tokens and prefix_cut columns)", file=sys.stderr)  # fmt: skip
    if args.out is not None:
        write(results, out_fmt, args.out, args.force)
        print(f"wrote {args.out}", file=sys.stderr)
    if args.format not in ("table", "md"):
        sys.stdout.write(render(results, args.format))
        return 0
    models = results["model"].unique(maintain_order=True).to_list()
    several = len(models) > 1
    per_probe = results.select(
        *(["model"] if several else []), "probe", "task",
        pl.col("expected").map_elements(repr, return_dtype=pl.String), "expected_nll",
        pl.col("best_foil").map_elements(repr, return_dtype=pl.String), "best_foil_nll",
        "margin", "won",
    )  # fmt: skip
    shares = task_shares(results)
    shown = "the bundled suite (corpora/samples/probes.jsonl)" if args.suite is None else str(path)
    lines = [f"{len(probes)} probe{'' if len(probes) == 1 else 's'} of {shown}",
             "model " + models[0] if not several else "models " + " · ".join(models),
             "margin: the best foil's nll minus the expected continuation's, in nats (won: > 0 for every foil)"]  # fmt: skip
    page = "\n".join(visible.line(x) for x in lines) + "\n\n" + render(per_probe, args.format)
    page += "\nshare won per task\n" + render(
        shares if several else shares.drop("model"), args.format
    )
    if several:
        across = results.pivot("model", index=["probe", "task"], values="margin")
        page += "\nmargin by model (nats; the talk's table across sizes)\n" + render(
            across, args.format
        )
    sys.stdout.write(page)
    return 0
