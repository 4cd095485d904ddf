"""Per task, where predictions form (issue 35): the logit lens over a tagged token table.
Its identities: tokens per task equal the tasks table's; the last layer's mean loss and
top-1 share are the run's own; the share settled at the last layer is the top-1 share."""

from __future__ import annotations

from functools import partial

import numpy as np
import polars as pl

from conftest import cli_here
from corpora import Document
from inspector.run.layers import LAYER_COLUMNS, task_layers

DOCS = [
    Document("biden", "Biden married Neilia Hunter, a student. The cat sat on the mat."),
    Document("danube", "The Danube flows into the Black Sea. It is long, and it is old."),
]


def _tagged(lm, window: int, stride: int) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    from inspector.lm.config import ScoreConfig
    from inspector.run.score import tag_table
    from inspector.run.tokens import TableScorer
    from taggers.rules import load_rules
    from taggers.tagger import TaskTagger

    table = TableScorer(lm, ScoreConfig(window=window, stride=stride)).score(DOCS)
    return pl.concat([table, tag_table(TaskTagger(load_rules()), DOCS, table)], how="horizontal")


def test_per_task_layers_keep_the_runs_identities(tiny_lm) -> None:
    table = _tagged(tiny_lm, 12, 4)  # rolling windows: most targets saw less than their pos
    out = task_layers(tiny_lm, table, 12, 4)
    assert tuple(out.columns) == LAYER_COLUMNS
    layers = tiny_lm.model.config.num_hidden_layers
    tasks = table.group_by("task").agg(pl.len().alias("n"), pl.col("nll").mean(),
                                       (pl.col("rank") == 1).mean().alias("top1"))  # fmt: skip
    for row in tasks.iter_rows(named=True):
        rows = out.filter(pl.col("task") == row["task"]).sort("layer")
        assert rows["layer"].to_list() == list(range(1, layers + 1))
        assert set(rows["tokens"]) == {row["n"]}  # the tasks table's tokens
        last = rows.row(-1, named=True)
        assert abs(last["mean_nll"] - row["nll"]) < 1e-5
        assert (
            abs(last["top1_share"] - row["top1"]) < 1e-9
            and last["settled_share"] == last["top1_share"]
        )
        assert (
            np.diff(rows["settled_share"].to_numpy()) >= 0
        ).all()  # settled by a layer: cumulative
    every = out.filter(pl.col("task") == "all")
    assert set(every["tokens"]) == {table.height}
    assert abs(every["mean_nll"][-1] - table["nll"].mean()) < 1e-5


def test_a_sample_bounds_the_targets_read(tiny_lm) -> None:
    table = _tagged(tiny_lm, 64, 32)
    seen: list[int] = []
    out = task_layers(tiny_lm, table, 64, 32, sample=10, seed=1,
                      progress=lambda done, total: seen.append(total))  # fmt: skip
    assert set(out.filter(pl.col("task") == "all")["tokens"]) == {10} and set(seen) == {10}
    again = task_layers(tiny_lm, table, 64, 32, sample=10, seed=1)
    assert out.equals(again)  # seeded: the same targets


def _tuned_file(lm, path, scale: float) -> None:  # type: ignore[no-untyped-def]
    import torch

    config = lm.model.config
    width, gen = config.hidden_size, torch.Generator().manual_seed(0)
    state = {}
    for i in range(config.num_hidden_layers - 1):
        state[f"layer_translators.{i}.weight"] = scale * torch.randn(width, width, generator=gen)
        state[f"layer_translators.{i}.bias"] = scale * torch.randn(width, generator=gen)
    torch.save(state, path)


def test_a_tuned_lens_file_is_applied_before_the_final_norm(tiny_lm, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import torch

    from inspector.lm.head import Head
    from inspector.lm.lens import final_norm, load_tuned, logit_lens

    config = tiny_lm.model.config
    layers, width = config.num_hidden_layers, config.hidden_size
    ids = [tiny_lm.prefix_id, 5, 17, 9, 33, 2]
    positions, targets = [1, 3, 4], [17, 33, 2]
    _tuned_file(tiny_lm, tmp_path / "zero.pt", 0.0)
    plain = logit_lens(tiny_lm, ids, positions, [ids[p + 1] for p in positions])
    zero = logit_lens(tiny_lm, ids, positions, [ids[p + 1] for p in positions],
                      load_tuned(tmp_path / "zero.pt", layers, width))  # fmt: skip
    np.testing.assert_allclose(zero.nll, plain.nll, atol=1e-6)  # zero maps: the logit lens
    _tuned_file(tiny_lm, tmp_path / "tuned.pt", 0.1)
    tuned = load_tuned(tmp_path / "tuned.pt", layers, width)
    depth = logit_lens(tiny_lm, ids, positions, targets, tuned)
    with torch.inference_mode():  # by hand: h + W h + b, the final norm, the head
        states = tiny_lm.model(
            input_ids=torch.tensor([ids]), output_hidden_states=True
        ).hidden_states
        state = torch.load(tmp_path / "tuned.pt")
        for layer in range(1, layers):
            w, b = (
                state[f"layer_translators.{layer - 1}.weight"],
                state[f"layer_translators.{layer - 1}.bias"],
            )
            h = states[layer][0, positions]
            logits = Head(tiny_lm.model)(final_norm(tiny_lm.model)(h + h @ w.T + b)).double()
            want = -torch.log_softmax(logits, -1)[range(len(targets)), targets].numpy()
            np.testing.assert_allclose(depth.nll[:, layer - 1], want, atol=1e-5)
    np.testing.assert_allclose(depth.nll[:, -1], plain.nll[:, -1], atol=1e-6)  # the last: none


def test_layers_command(tiny_model_dir, tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json
    import re

    monkeypatch.chdir(tmp_path)
    run_cli = partial(cli_here, capsys)

    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps({"id": d.id, "text": d.text}) for d in DOCS))
    common = [str(corpus), "--model", str(tiny_model_dir), "--cache-dir", str(tmp_path / "cache")]
    page = run_cli("layers", *common, "--plot", "layers.svg")
    assert page.returncode == 0, page.stderr
    lines = page.stdout.splitlines()
    assert lines[0].startswith("corpus ") and "  all" in page.stdout.split("by layer and task:")[1]
    assert re.search(r"through the logit lens .* · all \d+ targets\n", page.stdout), page.stdout
    assert any(line.startswith("grammar (") and "top-1)" in line for line in lines), page.stdout
    assert (tmp_path / "layers.svg").read_text().lstrip().startswith("<?xml")
    # kept in the cache for the app's `s` screen, which draws its curves by layer
    from inspector.run.cache import corpus_hash
    from inspector.run.runsets import catalog
    from inspector.tui.reports import tasks_report
    from taggers.rules import load_rules

    rules_hash = load_rules().sha256
    found = catalog(tmp_path / "cache", corpus_hash(DOCS), rules_hash)
    chosen = found.current(tmp_path / "cache")
    report = tasks_report(found, chosen, tmp_path / "cache", rules_hash).text()
    assert "share of targets settled (top-1 from this layer to the last)" in report, report
    assert "chart: by layer" in report and "from inspector layers" in report
    assert any(line.startswith("grammar (") for line in report.splitlines()), report
    data = run_cli("layers", *common, "--format", "csv", "--sample", "20")
    table = pl.read_csv(data.stdout.encode())
    layers = table["layer"].max()
    assert set(table.filter(pl.col("task") == "all")["tokens"]) == {20}
    assert (
        set(table["sampled"]) == {20} and table["window"][0] == 64 and table["lens"][0] == "logit"
    )
    tasks = run_cli("tasks", *common, "--format", "csv")
    counts = dict(pl.read_csv(tasks.stdout.encode()).select("task", "tokens").iter_rows())
    every = run_cli("layers", *common, "--format", "csv", "--sample", "all")
    per_task = pl.read_csv(every.stdout.encode()).filter(pl.col("layer") == layers)
    assert dict(per_task.select("task", "tokens").iter_rows()) == counts  # the tasks table's
    # refusals: one line, exit 2, before any work
    from conftest import build_tiny_model

    other = build_tiny_model(tmp_path / "other", hidden=48)
    assert run_cli("score", *common, "--out", "t.parquet").returncode == 0
    stranger = run_cli("layers", "--from", "t.parquet", "--model", str(other), "--cache-dir",
                       str(tmp_path / "cache"))  # fmt: skip
    assert stranger.returncode == 2 and "was scored by" in stranger.stderr, stranger.stderr
    assert len(stranger.stderr.strip().splitlines()) == 1
    bad = run_cli("layers", *common, "--format", "parquet")
    assert bad.returncode == 2 and "--out FILE" in bad.stderr and "Traceback" not in bad.stderr
    kept = tmp_path / "keep.csv"
    kept.write_text("mine")
    clash = run_cli("layers", *common, "--out", str(kept))
    assert clash.returncode == 2 and kept.read_text() == "mine"
    for junk in (b"not a torch file", b"hello", b"PK\x03\x04 a broken zip"):
        broken = tmp_path / "broken.pt"
        broken.write_bytes(junk)
        tuned = run_cli("layers", *common, "--tuned-lens", str(broken))
        assert tuned.returncode == 2 and "cannot read the tuned lens" in tuned.stderr, tuned.stderr
        assert len(tuned.stderr.strip().splitlines()) == 1 and "PyTorch 2.6" not in tuned.stderr
    (tmp_path / "README.txt").write_text("notes")
    table = run_cli(
        "layers", "--from", str(tmp_path / "README.txt"), "--model", str(tiny_model_dir)
    )
    assert table.returncode == 2 and "not a token table" in table.stderr, table.stderr
