"""Runs of one corpus compared: one block per run, the change against the first, and what
tells the runs apart (the settings that differ), named in every output."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from inspector.errors import message
from inspector.tables.run import Run
from inspector.tables.tasks import GROUPINGS, TasksError, summarize

# What tells two runs of one corpus apart: (settings key, the name shown for it)
RUN_SETTINGS = (
    ("model_identity", "model"), ("dtype", "dtype"), ("window", "window"), ("stride", "stride"),
    ("top_k", "k"), ("tagger_rules_hash", "rules"),
)  # fmt: skip
RUN_COLUMNS = ("dtype", "window", "stride", "top_k", "rules", "corpus")  # each row's run


def differing(runs: Sequence[Run]) -> list[str]:
    """The run settings (`RUN_SETTINGS` names) whose values are not the same in all `runs`."""
    return [
        name
        for key, name in RUN_SETTINGS
        if len({json.dumps(r.settings.get(key), sort_keys=True) for r in runs}) > 1
    ]


def short(key: str, value: Any) -> str:
    """A setting's value as a reader tells runs apart by it (hashes cut to 8 characters)."""
    if value is None:
        return "?"
    if key in ("tagger_rules_hash", "corpus_hash", "model_identity"):
        return str(value).split(":")[-1][:8]
    return str(value)


def run_name(run: Run, apart: Sequence[str], same_label: bool = False) -> str:
    """`run.label`, followed by the settings in `apart` that tell it from the other runs
    compared: `SmolLM2 (dtype bfloat16, window 16)`; the model's identity too when
    `same_label` (two different models shown under one name)."""
    keys = {name: key for key, name in RUN_SETTINGS}
    shown = [
        f"{n} {short(keys[n], run.settings.get(keys[n]))}"
        for n in apart
        if n != "model" or same_label
    ]
    return f"{run.label} ({', '.join(shown)})" if shown else run.label


def run_names(runs: Sequence[Run]) -> list[str]:
    """Each run's name (`run_name`) with the settings that tell it from the others; a name
    that would still be shared gets its run's number (`#2`)."""
    apart = differing(runs)
    same_label = Counter(
        r.label for r in {r.settings.get("model_identity"): r for r in runs}.values()
    )
    names = [run_name(run, apart, same_label[run.label] > 1) for run in runs]
    # one run by two label sources is told apart by its `labels` column, not by a number
    seen = Counter(zip(names, (r.labels for r in runs), strict=True))
    return [f"{n} #{i + 1}" if seen[n, r.labels] > 1 else n
            for i, (n, r) in enumerate(zip(names, runs, strict=True))]  # fmt: skip


def describe(runs: Sequence[Run]) -> list[str]:
    """Lines naming the run(s) a table comes from: the corpus and rules, the settings all
    runs share, and which settings differ (named in the `model` column)."""
    first = runs[0].settings
    corpus = short("corpus_hash", first.get("corpus_hash"))
    docs = first.get("documents")
    rules = first.get("tagger_rules") or "?"
    apart = differing(runs)
    labels = {r.labels for r in runs}
    lines = [
        f"corpus {corpus}" + (f" ({docs:,} document{'' if docs == 1 else 's'})" if isinstance(docs, int) else "")
        + f" · rules {short('tagger_rules_hash', first.get('tagger_rules_hash'))}"
        + ("" if "rules" in apart else f" ({Path(str(rules)).name})")
        + (f" · labels {' and '.join(sorted(labels))}" if labels != {"heuristic"} else "")
    ]  # fmt: skip
    shared = [
        f"{name} {short(key, first.get(key))}"
        for key, name in RUN_SETTINGS
        if name not in apart and name not in ("model", "rules")
    ]
    model = "" if "model" in apart else f"model {runs[0].label} · "
    if len([r for r in runs if r.labels == runs[0].labels]) == 1:  # one run (by 1-2 labellings)
        lines.append(f"run {model}{', '.join(shared)}")
    else:
        lines.append(f"runs {len(runs)} · same: {model}{', '.join(shared) or '-'}")
        lines.append(
            "differ in: " + ", ".join(apart) + " (each run's values are in its name)"
            if apart
            else "differ in: nothing (the same settings: repeated runs)"
        )
    return lines


def compare(
    runs: Sequence[Run], by: str = "task", tasks: Sequence[str] | None = None
) -> pl.DataFrame:
    """One block per run (first run first), with the change of `mean_nll` and of
    `loss_contribution` against the first run with the same label source (`labels`:
    heuristic or human); every run must be of the same corpus. The `model` column names the
    run with the settings that differ between the runs (`run_name`), and every row carries
    its run's settings (dtype, window, stride, top_k, rules, corpus), so an export says
    which run each number came from."""
    same_corpus(runs)
    differ = tokens_differ(runs)
    keys = GROUPINGS[by]
    blocks = []
    for run, name in zip(runs, run_names(runs), strict=True):
        table = summarize(run.frame, by, tasks)
        st = run.settings
        blocks.append(
            table.with_columns(
                pl.lit(name).alias("model"),
                pl.lit(st.get("n_params"), dtype=pl.Int64).alias("n_params"),
                pl.lit(st.get("dtype"), dtype=pl.String).alias("dtype"),
                pl.lit(st.get("window"), dtype=pl.Int64).alias("window"),
                pl.lit(st.get("stride"), dtype=pl.Int64).alias("stride"),
                pl.lit(st.get("top_k"), dtype=pl.Int64).alias("top_k"),
                pl.lit(short("tagger_rules_hash", st.get("tagger_rules_hash"))).alias("rules"),
                pl.lit(short("corpus_hash", st.get("corpus_hash"))).alias("corpus"),
            ).select("model", "n_params", *table.columns, *RUN_COLUMNS)
        )
    firsts: dict[str, pl.DataFrame] = {}  # the first model of each label source is the baseline
    for run, block in zip(runs, blocks, strict=True):
        firsts.setdefault(run.labels, block)
    out = []
    for run, block in zip(runs, blocks, strict=True):
        base = firsts[run.labels].select(
            *keys, pl.col("mean_nll").alias("_m0"), pl.col("loss_contribution").alias("_c0"),
            pl.col("bits_per_byte").alias("_b0"),
        )  # fmt: skip
        # across tokenizers a change is per byte: nats per token do not compare
        deltas = (
            [(pl.col("bits_per_byte") - pl.col("_b0")).alias("delta_bits_per_byte")]
            if differ
            else [
                (pl.col("mean_nll") - pl.col("_m0")).alias("delta_mean_nll"),
                (pl.col("loss_contribution") - pl.col("_c0")).alias("delta_loss_contribution"),
            ]
        )
        out.append(
            block.join(base, on=keys, how="left", maintain_order="left")
            .with_columns(*deltas, pl.lit(run.labels).alias("labels"))
            .drop("_m0", "_c0", "_b0")
        )
    table = pl.concat(out)
    front = ["model", "n_params", "labels"]
    rest = [c for c in table.columns if c not in front and c not in RUN_COLUMNS]
    return table.select(*front, *rest, *RUN_COLUMNS)


def tokens_differ(runs: Sequence[Run]) -> bool:
    """Whether the runs split their corpus into different tokens (other tokenizers): then
    nats per token do not compare between them, and a change is per byte. Word units
    (`--unit word`, no token ids) are the same words in every run."""
    from inspector.tables.alignment import same_ids

    if len(runs) < 2 or any("token_id" not in r.frame.collect_schema().names() for r in runs):
        return False
    return not all(same_ids(runs[0].frame, r.frame, shared=True) for r in runs[1:])


TOKENIZERS_DIFFER = (
    "the runs' tokenizers differ: they split the text into different tokens, so nats per token "
    "do not compare; losses and changes are in bits per byte (nats_per_word beside)"
)


def same_corpus(runs: Sequence[Run]) -> None:
    """Refuse to compare tables of different corpora (by corpus hash, else by document ids)."""
    first = runs[0]
    for run in runs[1:]:
        a, b = first.settings.get("corpus_hash"), run.settings.get("corpus_hash")
        if a and b:
            same = a == b
        else:
            ids = [
                sorted(r.frame.select(pl.col("doc_id").unique()).collect()["doc_id"].to_list())
                for r in (first, run)
            ]
            same = ids[0] == ids[1]
        if not same:
            raise TasksError(message("other_corpus", source=run.source, source2=first.source))
