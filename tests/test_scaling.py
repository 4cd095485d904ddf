"""How each task scales (issue 36): fits of mean loss against size recover known laws, and
`tasks --fit` runs end to end on a series of tiny trained models (scripts/tiny_series.py)."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from conftest import cli_here
from inspector.tables.scaling import fit_log_linear, fit_power_law, fit_tasks

SIZES = np.geomspace(1e5, 1e9, 6)
LAWS = {
    "grammar": (40.0, 0.3, 1.2),
    "world_knowledge": (9.0, 0.12, 0.6),
    "punct": (30.0, 0.25, 0.0),
}


def _per_doc(noise: float, docs: int = 30, seed: int = 0) -> pl.DataFrame:
    """Per run, document and task: tokens and summed loss from the `LAWS`, each document's
    mean off the law by normal noise of sd `noise`."""
    rng = np.random.default_rng(seed)
    rows = []
    for run, n in enumerate(SIZES):
        for d in range(docs):
            for task, (a, alpha, c) in LAWS.items():
                tokens = int(rng.integers(20, 80))
                mean = a * n ** (-alpha) + c + rng.normal(0, noise)
                rows.append((run, f"d{d}", task, tokens, mean * tokens))
    return pl.DataFrame(rows, schema=["run", "doc_id", "task", "tokens", "nll_sum"], orient="row")


def test_a_fit_recovers_known_power_laws() -> None:
    for a, alpha, c in LAWS.values():
        found = fit_power_law(SIZES, a * SIZES ** (-alpha) + c)
        assert found.a == pytest.approx(a, rel=1e-4) and found.alpha == pytest.approx(
            alpha, rel=1e-4
        )
        assert found.c == pytest.approx(c, abs=1e-4) and found.r2 == pytest.approx(1.0, abs=1e-9)
    fits = {r["task"]: r for r in fit_tasks(_per_doc(0.0), list(SIZES)).iter_rows(named=True)}
    for task, (a, alpha, c) in LAWS.items():
        row = fits[task]
        assert row["fit"] == "power law" and row["runs"] == len(SIZES)
        assert row["alpha"] == pytest.approx(alpha, rel=1e-4) and row["floor"] == pytest.approx(
            c, abs=1e-4
        )
        largest = a * SIZES[-1] ** (-alpha) + c
        assert row["above_floor"] == pytest.approx((largest - c) / largest, abs=1e-4)
    assert fits["all"]["loss_largest"] < fits["all"]["loss_smallest"]


def test_bootstrap_intervals_hold_the_law_under_noise() -> None:
    fits = {r["task"]: r for r in fit_tasks(_per_doc(0.05), list(SIZES)).iter_rows(named=True)}
    for task, (_, alpha, c) in LAWS.items():
        row = fits[task]
        assert (
            row["alpha_ci_low"] <= row["alpha_ci_high"]
            and row["floor_ci_low"] <= row["floor_ci_high"]
        )
        assert row["alpha"] == pytest.approx(alpha, rel=0.25), row
        assert abs(row["floor"] - c) < 0.15, row


def test_few_runs_fit_log_linear_and_a_rising_loss_is_said() -> None:
    three = fit_tasks(_per_doc(0.0).filter(pl.col("run") < 3), list(SIZES[:3]))
    assert set(three["fit"]) == {"log-linear"} and three["alpha"].null_count() == three.height
    line = fit_log_linear([1e6, 1e7, 1e8], [5.0, 4.8, 4.6])
    assert line.per_tenfold == pytest.approx(-0.2) and line.at(np.array([1e9]))[0] == pytest.approx(
        4.4
    )
    rising = fit_power_law(SIZES, 1.0 + 0.1 * np.log(SIZES))
    assert rising.note == "loss does not fall with size" and rising.alpha is None


def _tiny_series() -> object:
    path = Path(__file__).parents[1] / "scripts" / "tiny_series.py"
    spec = importlib.util.spec_from_file_location("tiny_series", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture(scope="module")
def series(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Four tiny models trained for a few steps: real checkpoints of different widths."""
    out = tmp_path_factory.mktemp("series")
    return _tiny_series().train_series(out, [8, 16, 32, 64], steps=30)  # type: ignore[attr-defined]


def test_tasks_fit_on_a_trained_series(series: list[Path], tmp_path: Path, capsys) -> None:
    models = [x for folder in series for x in ("--model", str(folder))]
    cache = ["--cache-dir", str(tmp_path / "cache")]
    done = cli_here(capsys, "tasks", *models, *cache, "--fit", "--format", "csv")
    assert done.returncode == 0, done.stderr
    fits = pl.read_csv(io.StringIO(done.stdout))
    compared = pl.read_csv(io.StringIO(
        cli_here(capsys, "tasks", *models, *cache, "--format", "csv").stdout
    ))  # fmt: skip
    tasks = set(compared["task"])
    assert set(fits["task"]) <= tasks and "all" in set(fits["task"])
    assert set(fits["fit"]) == {"power law"} and set(fits["runs"]) == {4}
    smallest = compared.filter(pl.col("n_params") == compared["n_params"].min())
    for row in fits.iter_rows(named=True):  # the fitted points are the compared runs' losses
        loss = smallest.filter(pl.col("task") == row["task"])["mean_nll"].item()
        assert row["loss_smallest"] == pytest.approx(loss, rel=1e-9)
    per_byte = pl.read_csv(io.StringIO(cli_here(
        capsys, "tasks", *models, *cache, "--fit", "--fit-unit", "byte", "--format", "csv"
    ).stdout))  # fmt: skip
    for row in per_byte.iter_rows(named=True):  # bits per byte: the compared runs' too
        bpb = smallest.filter(pl.col("task") == row["task"])["bits_per_byte"].item()
        assert row["loss_smallest"] == pytest.approx(bpb, rel=1e-9)
    chart = cli_here(capsys, "tasks", *models, *cache, "--fit", "--plot")
    assert chart.returncode == 0, chart.stderr
    for title in ("per-task loss (nats/token) against size, fitted", "exact match of words"):
        assert title in chart.stdout, chart.stdout
    assert "alpha" in chart.stdout and "[" in chart.stdout  # the fit table, intervals in cells


def test_fit_with_given_sizes_and_bad_sizes(series: list[Path], tmp_path: Path, capsys) -> None:
    models = [x for folder in series[:3] for x in ("--model", str(folder))]
    cache = ["--cache-dir", str(tmp_path / "cache")]
    done = cli_here(capsys, "tasks", *models, *cache, "--fit", "--sizes", "1e3,2e3,4e3",
                    "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"log-linear"' in done.stdout  # three runs: the log-linear fit
    chart = cli_here(capsys, "tasks", *models, *cache, "--fit", "--sizes", "1e3,2e3,4e3", "--plot")
    assert "size (--sizes) (log scale)" in chart.stdout  # the axis is not parameters
    assert "parameters (log scale)" not in chart.stdout
    for sizes, says in (("1e3,2e3", "--sizes gives 2 sizes for 3 runs"),
                        ("1e3,1e3,2e3", "must be positive and all different"),
                        ("1e3,x,2", "is not a comma-separated list of numbers")):  # fmt: skip
        bad = cli_here(capsys, "tasks", *models, *cache, "--fit", "--sizes", sizes)
        assert bad.returncode == 2 and says in bad.stderr and "Traceback" not in bad.stderr
    two = cli_here(capsys, "tasks", *models[:4], *cache, "--fit")
    assert two.returncode == 2 and "give 3 or more" in two.stderr


def test_the_api_fits_tables_at_given_sizes(series: list[Path], tmp_path: Path) -> None:
    import inspector

    texts = {"biden": "Biden married Neilia Hunter, a student.",
             "baku": "The capital of Azerbaijan is Baku. The capital of France is Paris."}  # fmt: skip
    tables = {
        f.name: inspector.score(texts, str(f), device="cpu", cache_dir=tmp_path) for f in series
    }
    fits = inspector.fit(tables, [1e3, 2e3, 4e3, 8e3], unit="byte")
    assert "all" in fits["task"].to_list() and set(fits["fit"]) == {"power law"}
    every = fits.filter(pl.col("task") == "all").row(0, named=True)
    first = inspector.tasks(tables["w8"]).filter(pl.col("task") == "all").row(0, named=True)
    assert every["loss_smallest"] == pytest.approx(first["bits_per_byte"], rel=1e-9)


def test_the_charts_legend_leaves_every_point_in_view() -> None:
    """Issue 43 walkthrough: plotext draws its legend over the plot's top left corner, where
    the smallest run's losses (the highest) are; the x axis now starts a legend's width
    before the first run, so the first tick (and every point) is right of the legend."""
    from inspector.tables.plot import plot, strip_colour

    tasks = ["world_knowledge", "arbitrary", "grammar", "punctuation", "whitespace"]
    rows = [
        {"model": m, "n_params": n, "task": t, "mean_nll": 5.0 - i * 1.5 - j * 0.1,
         "loss_contribution": 1.0, "word_exact_match": 0.2 * i}
        for i, (m, n) in enumerate([("a", 10**6), ("b", 10**7), ("c", 10**8)])
        for j, t in enumerate(tasks)
    ]  # fmt: skip
    text = strip_colour(plot(pl.DataFrame(rows), width=80, height=20))
    lines = text.splitlines()
    legend_end = max(line.index(t) + len(t) for line in lines for t in tasks if f"•• {t}" in line)
    ticks = next(line for line in lines if "1M" in line and "10M" in line)
    assert ticks.index("1M") > legend_end, text
