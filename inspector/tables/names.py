"""Short run names: what tells runs apart, in a few cells. A screen that puts runs side by
side names each by only the settings that differ between them (`w128 win64`), never the same
word twice; a legend (`run/runsets.legend_line`) gives the full settings once."""

from __future__ import annotations

import re
from collections.abc import Sequence

import polars as pl

from inspector.tables.compare import differing, short
from inspector.tables.run import Run

DTYPES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "float64": "fp64"}


def model_name(run: Run) -> str:
    """The model's name without its notes: `SmolLM2-135M-Instruct`, `w128`."""
    name = str(run.settings.get("model") or run.label or "?")
    return re.sub(r"\s*\(.*\)$", "", name).strip() or name


def short_names(runs: Sequence[Run]) -> tuple[str, ...]:
    """Each run's short name: of its settings, only those that differ between `runs` (model,
    dtype, window, stride, k, rules), each word once (`w128 win64`, not `w128 w64`); runs
    that would still share a name are numbered (`#2`)."""
    apart = set(differing(runs))
    if all(r.settings.get("stride") == (r.settings.get("window") or 0) // 2 for r in runs):
        apart.discard("stride")  # the default stride: the window says it
    models: dict[str, set[object]] = {}
    for run in runs:
        models.setdefault(model_name(run), set()).add(run.settings.get("model_identity"))
    out = []
    for run in runs:
        st, words = run.settings, []
        if "model" in apart:
            name = model_name(run)
            words.append(name)
            if len(models[name]) > 1:  # two models of one name: the identity tells them apart
                words.append(f"#{short('model_identity', st.get('model_identity'))[:6]}")
        forms = (  # (setting, short form, the longer form where the short one is taken)
            ("dtype", DTYPES.get(str(st.get("dtype")), str(st.get("dtype"))), f"dtype={st.get('dtype')}"),
            ("window", f"win{st.get('window')}", f"window={st.get('window')}"),
            ("stride", f"s{st.get('stride')}", f"stride={st.get('stride')}"),
            ("k", f"k{st.get('top_k')}", f"top_k={st.get('top_k')}"),
            ("rules", f"rules:{short('tagger_rules_hash', st.get('tagger_rules_hash'))[:6]}",
             f"rules={short('tagger_rules_hash', st.get('tagger_rules_hash'))}"),
        )  # fmt: skip
        for setting, brief, longer in forms:
            if setting in apart:
                words.append(longer if brief in words else brief)
        out.append(" ".join(words) or model_name(run))
    return tuple(n if out.count(n) == 1 else f"{n} #{i}" for i, n in enumerate(out, 1))


def short_model_column(table: pl.DataFrame, runs: Sequence[Run]) -> tuple[pl.DataFrame, list[str]]:
    """A per-run table (`tables/compare.compare`) with each run under its short name in its
    `model` column, and a line per run giving its full name: no column depends on a 70-cell
    name."""
    from inspector.tables.compare import run_names

    first: dict[str, Run] = {}
    for name, run in zip(run_names(runs), runs, strict=True):
        first.setdefault(name, run)  # one run by two label sources: one name
    short = dict(zip(first, short_names(list(first.values())), strict=True))
    legend = [f"run {s}: {full}" for full, s in short.items() if s != full]
    return table.with_columns(pl.col("model").replace_strict(short)), legend
