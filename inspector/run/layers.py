"""Per task, the layer where predictions form: the logit lens (`lm/lens.py`) over the
targets of a scored and tagged token table, read from the windows that scored them.

For each task and layer: the targets, their mean loss through the lens, the share that are
top-1 there, and the share already settled there (top-1 from that layer on to the last:
`Depth.settled`). Statements such as "grammar is settled in the first third of the layers,
world knowledge only near the top" are read off these columns. `sample` bounds the cost on
a big corpus (targets drawn uniformly, seeded); memory stays flat: one window's hidden
states and at most `lens.CHUNK_ROWS` rows of logits at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

if TYPE_CHECKING:
    from inspector.lm.loading import LoadedModel
    from inspector.tables.run import Run

LAYER_COLUMNS = ("task", "layer", "tokens", "mean_nll", "top1_share", "settled_share")


def task_layers(
    lm: LoadedModel,
    table: pl.DataFrame,
    window: int,
    stride: int,
    sample: int | None = None,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    tuned: Sequence[Any] | None = None,
) -> pl.DataFrame:
    """One row per (task, layer), then the `all` rows: `LAYER_COLUMNS`. `table` is a tagged
    token table (doc_id, pos, token_id, task) of documents scored with `window`, `stride`;
    `tuned`: a tuned lens's translators (`lens.load_tuned`)."""
    from inspector.lm.lens import logit_lens
    from inspector.lm.windows import rolling_windows

    chosen = sample_targets(table, sample, seed)
    by_doc = chosen.partition_by("doc_id", as_dict=True, maintain_order=True)
    documents = table.select("doc_id", "pos", "token_id").partition_by("doc_id", as_dict=True)
    found: list[
        tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    ] = []  # task, nll, top1, settled
    done = 0
    for (doc_id,), rows in by_doc.items():
        tokens = documents[(doc_id,)].sort("pos")["token_id"].to_list()
        seq = [lm.prefix_id, *tokens]
        pos = rows["pos"].to_numpy()
        for w in rolling_windows(len(tokens), window, stride):
            here = (pos >= w.first_target) & (pos < w.end)
            if not here.any():
                continue
            depth = logit_lens(lm, seq[w.start : w.end], (pos[here] - w.start).tolist(),
                               [tokens[p] for p in pos[here]], tuned)  # fmt: skip
            found.append((rows["task"].to_numpy()[here], depth.nll, depth.rank == 1,
                          depth.settled()))  # fmt: skip
            done += int(here.sum())
            if progress is not None:
                progress(done, chosen.height)
    return _aggregate(found)


def run_layers(
    lm: LoadedModel,
    run: Run,
    sample: int | None = None,
    seed: int = 0,
    tuned: Sequence[Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """`task_layers` over a run (scored now, cached or stored), read from the windows that
    scored it, through `lm` (the run's model: checked) and a tuned lens (`tuned_lens`) if
    given; each row carries what it was computed from (`run_columns`)."""
    check_run_model(lm, run)
    st = run.settings
    table = run.frame.select("doc_id", "pos", "token_id", "task").collect()
    out = task_layers(lm, table, int(st["window"]), int(st["stride"]), sample, seed, progress,
                      tuned)  # fmt: skip
    lens = pl.lit("tuned" if tuned is not None else "logit").alias("lens")
    return out.with_columns(lens, *run_columns(run, table, sample, seed))


def check_run_model(lm: LoadedModel, run: Run) -> None:
    """Refuse a run scored by another model than `lm`, or one that does not say its window."""
    from inspector.errors import InspectorError, message

    st = run.settings
    if st.get("model_identity") != lm.source.identity:
        raise InspectorError(message("layers_other_model", source=run.source,
                                     theirs=st.get("model"), ours=lm.source.name))  # fmt: skip
    if not st.get("window") or not st.get("stride"):
        raise InspectorError(message("layers_no_window", source=run.source))


def run_columns(run: Run, table: pl.DataFrame, sample: int | None, seed: int) -> list[pl.Expr]:
    """What every row of a per-task table read from a run says it was computed from:
    `RUN_COLUMNS` (the targets sampled, of how many, the seed, the run's settings)."""
    st = run.settings
    targets = min(sample, table.height) if sample is not None else table.height
    return [
        pl.lit(targets, dtype=pl.Int64).alias("sampled"),
        pl.lit(table.height, dtype=pl.Int64).alias("targets"),
        pl.lit(seed, dtype=pl.Int64).alias("seed"),
        pl.lit(str(st.get("model"))).alias("model"),
        pl.lit(str(st.get("dtype"))).alias("dtype"),
        pl.lit(int(st["window"]), dtype=pl.Int64).alias("window"),
        pl.lit(int(st["stride"]), dtype=pl.Int64).alias("stride"),
        pl.lit(str(st.get("tagger_rules_hash", "?")).split(":")[-1][:8]).alias("rules"),
        pl.lit(str(st.get("corpus_hash", "?")).split(":")[-1][:8]).alias("corpus"),
    ]


RUN_COLUMNS = ("sampled", "targets", "seed", "model", "dtype", "window", "stride", "rules",
               "corpus")  # fmt: skip


def tuned_lens(lm: LoadedModel, tuned: Path | dict[str, Any]) -> list[Any]:
    """A tuned lens (its file, or the tensors `lens.read_tuned` read) as `lm`'s translators,
    checked against its layers and width (`lens.load_tuned`)."""
    from inspector.lm.lens import load_tuned

    config = lm.model.config
    return load_tuned(tuned, int(config.num_hidden_layers), int(config.hidden_size))


def sample_targets(table: pl.DataFrame, sample: int | None, seed: int) -> pl.DataFrame:
    """At most `sample` rows of `table`, drawn uniformly (seeded), in table order."""
    if sample is None or sample >= table.height:
        return table
    return table.sample(n=sample, seed=seed).sort("doc_id", "pos", maintain_order=True)


def _aggregate(found: Sequence[tuple[np.ndarray, ...]]) -> pl.DataFrame:
    if not found:
        return pl.DataFrame(schema=dict.fromkeys(LAYER_COLUMNS, pl.Float64) | {
            "task": pl.String, "layer": pl.Int64, "tokens": pl.Int64})  # fmt: skip
    task = np.concatenate([f[0] for f in found])
    nll = np.concatenate([f[1] for f in found])
    top1 = np.concatenate([f[2] for f in found])
    settled = np.concatenate([f[3] for f in found])
    layer = np.arange(1, nll.shape[1] + 1)
    out = []
    for name in [*sorted(set(task.tolist())), "all"]:
        mask = np.ones(len(task), bool) if name == "all" else task == name
        settled_by = (settled[mask, None] > 0) & (settled[mask, None] <= layer[None, :])
        out.append(pl.DataFrame({
            "task": [name] * len(layer), "layer": layer, "tokens": [int(mask.sum())] * len(layer),
            "mean_nll": nll[mask].mean(axis=0), "top1_share": top1[mask].mean(axis=0),
            "settled_share": settled_by.mean(axis=0),
        }))  # fmt: skip
    return pl.concat(out)


def save_layers(cache_dir: Path, table: pl.DataFrame) -> Path:
    """Keep a `run_layers` table in the cache, where the app's `s` screen finds it (one file
    per corpus, model, rules, lens and sample; a later one of the same replaces it)."""
    from inspector.files import write_new

    first = table.row(0, named=True)
    model = hashlib.sha256(str(first["model"]).encode()).hexdigest()[:8]
    name = (f"{first['corpus']}-{first['rules']}-{model}-{first['dtype']}-w{first['window']}-"
            f"{first['lens']}-{first['sampled']}-{first['seed']}.parquet")  # fmt: skip
    path = cache_dir / "layers" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    write_new(path, table.write_parquet, force=True)
    return path


def cached_layers(cache_dir: Path, corpus_hash: str, rules_hash: str) -> list[pl.DataFrame]:
    """The `run_layers` tables kept for this corpus and rules, newest first (a damaged file
    is skipped: the cache only saves work)."""
    corpus = corpus_hash.split(":")[-1][:8]
    rules = rules_hash.split(":")[-1][:8]
    found = []
    for path in (cache_dir / "layers").glob(f"{corpus}-{rules}-*.parquet"):
        try:
            found.append((path.stat().st_mtime, pl.read_parquet(path)))
        except (OSError, pl.exceptions.PolarsError):
            continue
    return [
        t for _, t in sorted(found, key=lambda f: -f[0]) if set(LAYER_COLUMNS) <= set(t.columns)
    ]
