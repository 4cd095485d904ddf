"""The Python API, for notebooks: the code paths of the command line, returning polars
DataFrames. `import inspector` gives these functions (loaded on first use).

    import inspector
    table = inspector.score(["The capital of Azerbaijan is Baku."])   # the embedded model
    inspector.tasks(table)                                             # loss by task
    inspector.examples(table, task="world_knowledge", top=5)           # its worst targets
    inspector.probe("The capital of Azerbaijan is", [" Baku", " London"])
    inspector.compare({"window 32": short, "full": full})              # what changed, per task

Texts are given as strings (or `{id: text}`), files and folders as `pathlib.Path`s. Scoring
reads and fills the same cache as the command line (`cache_dir`, default
~/.cache/inspector), so a second call with the same request costs no model time. Loaded
models are kept for the session's later `probe` and `probes` calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from corpora import Document
from inspector.defaults import TOP_K
from inspector.tables.run import Run

Corpus = str | Path | Document | Sequence[str | Path | Document] | Mapping[str, str]
_ASKERS: dict[tuple[str, str, str], Any] = {}  # (model, device, dtype) -> Asker, kept


def documents(corpus: Corpus) -> list[Document]:
    """The documents of `corpus`: a text, a file or folder (a Path), a Document, a list of
    these, or a mapping of ids to texts. Texts given as strings get the ids text-0, text-1..."""
    from corpora import read_corpus

    if isinstance(corpus, Mapping):
        return [Document(str(k), v) for k, v in corpus.items()]
    items = [corpus] if isinstance(corpus, str | Path | Document) else list(corpus)
    out: list[Document] = []
    for i, item in enumerate(items):
        if isinstance(item, Document):
            out.append(item)
        elif isinstance(item, Path):
            out.extend(read_corpus([item]))
        else:
            out.append(Document(f"text-{i}", str(item)))
    return out


def score_run(
    corpus: Corpus, model: str = "", *, device: str = "auto", dtype: str = "auto",
    window: int | None = None, stride: int | None = None, top_k: int = TOP_K,
    rules: str | Path | None = None, cache_dir: str | Path | None = None,
) -> Run:  # fmt: skip
    """The run of `model` (default: the embedded one) over `corpus`: from the cache, or
    scored and cached; its `table` is the token table and `settings` what it depends on."""
    from inspector.files import default_cache_dir, ensure_dir
    from inspector.lm.config import ScoreConfig
    from inspector.run.request import score_or_load
    from taggers.rules import load_rules

    config = ScoreConfig(top_k=top_k, window=window, stride=stride)
    cache = ensure_dir(Path(cache_dir) if cache_dir else default_cache_dir())
    docs = documents(corpus)
    return score_or_load(docs, model, device, dtype, config, load_rules(_path(rules)), cache)


def _path(value: str | Path | None) -> Path | None:
    """A path given as text or as a Path (notebooks give both)."""
    return None if value is None else Path(value).expanduser()


def score(corpus: Corpus, model: str = "", *, unit: str = "token", **options: Any) -> pl.DataFrame:
    """The token table of `model` over `corpus` (`unit="word"`: one row per word, its loss
    summed over its pieces). Options as `score_run`."""
    if unit not in ("token", "word"):
        raise ValueError(f"unit={unit!r}: use 'token' or 'word'")
    run = score_run(corpus, model, **options)
    if unit == "word":
        from inspector.tables.words import word_units

        return word_units(run.frame).collect()
    return run.table


def read(path: str | Path) -> pl.DataFrame:
    """A token table scored before: a file, or a folder or glob of Parquet parts."""
    from inspector.run.stored import open_table

    return open_table(str(path)).table


def tasks(table: pl.DataFrame, by: str = "task", only: Sequence[str] | None = None) -> pl.DataFrame:
    """Loss by task (`by="doc"` or `"task,doc"` too): tokens, shares, mean loss and the
    contributions that add up to the overall loss, with 95% intervals."""
    from inspector.tables.tasks import summarize

    return summarize(table.lazy(), by, only)


def examples(
    table: pl.DataFrame, task: str | Sequence[str] | None = None, top: int = 20,
    min_loss: float | None = None, texts: Mapping[str, str] | None = None,
) -> pl.DataFrame:  # fmt: skip
    """The highest-loss targets (of `task`), with the text on either side of each."""
    from inspector.tables.examples import examples as kwic

    chosen = [task] if isinstance(task, str) else task
    return kwic(table.lazy(), chosen, top, min_loss, texts)


def _runs(tables: Mapping[str, pl.DataFrame] | Sequence[pl.DataFrame]) -> list[Run]:
    named = (
        tables.items()
        if isinstance(tables, Mapping)
        else ((f"run {i}", t) for i, t in enumerate(tables, 1))
    )
    return [Run.of_table(t, {"model": name, "model_identity": name}, name) for name, t in named]


def compare(
    tables: Mapping[str, pl.DataFrame] | Sequence[pl.DataFrame], unit: str = "auto",
    threshold: float = 0.5,
) -> pl.DataFrame:  # fmt: skip
    """Per task, each later table against the first (in the order given): units, mean
    change, shares improved and worsened beyond `threshold` nats, contributions to the
    overall change (with 3 tables or more, also the share of each trend class)."""
    from inspector.tables.changes import compare_runs

    comparison = compare_runs(_runs(tables), unit, threshold, order="given")
    trends = comparison.trends()
    table = comparison.changes()
    if trends is None:
        return table
    return table.join(trends.drop("units"), on="task", how="left", maintain_order="left")


def fit(
    tables: Mapping[str, pl.DataFrame] | Sequence[pl.DataFrame], sizes: Sequence[float],
    unit: str = "token",
) -> pl.DataFrame:  # fmt: skip
    """How each task scales: per task, its loss per `unit` ("token", "byte" or "word")
    against `sizes` (one per table: parameters, training tokens, a checkpoint's step),
    fitted as a power law with a floor (4 tables or more; log-linear with 3), with 95%
    bootstrap intervals over documents (`inspector tasks --fit`)."""
    from inspector.tables.scaling import fit_runs

    return fit_runs(_runs(tables), list(sizes), unit).fits


def compare_units(
    tables: Mapping[str, pl.DataFrame] | Sequence[pl.DataFrame], unit: str = "auto",
    threshold: float = 0.5,
) -> pl.DataFrame:  # fmt: skip
    """One row per compared unit: each table's nll side by side, the change, the trend."""
    from inspector.tables.changes import compare_runs

    return compare_runs(_runs(tables), unit, threshold, order="given").unit_table()


def _asker(model: str, device: str, dtype: str, cache_dir: str | Path | None) -> Any:
    from inspector.files import default_cache_dir, ensure_dir
    from inspector.lm.continuations import Asker
    from inspector.lm.loading import load_model

    key = (model, device, dtype)
    if key not in _ASKERS:
        lm = load_model(model, ensure_dir(_path(cache_dir) or default_cache_dir()), device, dtype)
        _ASKERS[key] = Asker(lm)
    return _ASKERS[key]


def context(
    corpus: Corpus, model: str = "", *, method: str = "gradient", sample: int | None = 200,
    seed: int = 0, device: str = "auto", dtype: str = "auto", window: int | None = None,
    stride: int | None = None, cache_dir: str | Path | None = None,
) -> pl.DataFrame:  # fmt: skip
    """Per task, how far back the context a prediction leans on lies (attribution by
    `method`, "gradient" or "occlusion", of at most `sample` targets): the median distance
    within which half the |attribution| lies and the shares within 1, 4, 16 and 64 tokens."""
    from inspector.run.context import task_context

    run = score_run(corpus, model, device=device, dtype=dtype, window=window, stride=stride,
                    cache_dir=cache_dir)  # fmt: skip
    asker = _asker(model, device, dtype, cache_dir)
    settings = run.settings
    return task_context(asker.lm, run.table, int(settings["window"]), int(settings["stride"]),
                        sample, seed, method)  # fmt: skip


def probe(
    prefix: str, candidates: str | Sequence[str], model: str = "", *, device: str = "auto",
    dtype: str = "auto", cache_dir: str | Path | None = None,
) -> pl.DataFrame:  # fmt: skip
    """Each candidate as the continuation of `prefix`: its pieces, chained probability, nll
    (nats), its first piece's rank, each piece's probability."""
    from inspector.run.probes import candidates_table

    asker = _asker(model, device, dtype, cache_dir)
    chosen = [candidates] if isinstance(candidates, str) else list(candidates)  # one, or several
    return candidates_table(asker, asker.lm.source.name, prefix, chosen)


def probes(
    suite: str | Path | None = None, model: str | Sequence[str] = "", *, device: str = "auto",
    dtype: str = "auto", cache_dir: str | Path | None = None,
) -> pl.DataFrame:  # fmt: skip
    """A probe suite (default: the bundled one) per model: for each probe the expected
    continuation's nll, the best foil's, the margin in nats and whether it won."""
    from corpora import bundled_path
    from corpora.probes import read_probes
    from inspector.run.probes import probe_results

    found = read_probes(_path(suite) or bundled_path() / "probes.jsonl")
    models = [model] if isinstance(model, str) else list(model)
    parts = []
    for m in models:
        asker = _asker(m, device, dtype, cache_dir)
        parts.append(probe_results(asker, asker.lm.source.name, found))
    return pl.concat(parts)


def layers(
    corpus: Corpus, model: str = "", *, sample: int | None = None, seed: int = 0,
    device: str = "auto", dtype: str = "auto", window: int | None = None,
    stride: int | None = None, cache_dir: str | Path | None = None,
) -> pl.DataFrame:  # fmt: skip
    """Per task and layer, where predictions form (the logit lens over the run's targets,
    at most `sample` of them): mean loss, top-1 share, and the share settled by that layer
    (top-1 from there to the last layer); the `all` rows for every task together."""
    from inspector.run.layers import task_layers

    run = score_run(corpus, model, device=device, dtype=dtype, window=window, stride=stride,
                    cache_dir=cache_dir)  # fmt: skip
    asker = _asker(model, device, dtype, cache_dir)
    settings = run.settings
    return task_layers(asker.lm, run.table, int(settings["window"]), int(settings["stride"]),
                       sample, seed)  # fmt: skip
