"""Runs compared token by token, and word by word across tokenizers (issue 16): alignments
that keep every nat, per-task changes that add up, trend classes on known curves."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest

from conftest import run_cli
from corpora import Document
from inspector.lm.loading import load_model
from inspector.run.score import score_corpus
from inspector.tables.alignment import unit_texts
from inspector.tables.changes import CLASSES, compare_runs, trend_shares, with_change
from inspector.tables.tasks import TasksError

TEXT = (
    "Café naïve: don't pay 3.14 for 日本語, she said.\n\nWe're walking 😀 home. "
    "I don't know, the cat said 12,000 times."
)
DOCS = [Document("b", TEXT), Document("a", "Biden married Neilia Hunter, a student.")]


@pytest.fixture(scope="module")
def family_runs(tiny_family, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The three sizes of one tokenizer, scored on DOCS."""
    cache = tmp_path_factory.mktemp("family-cache")
    return [score_corpus(DOCS, load_model(str(d), cache, device="cpu")) for d in tiny_family]


@pytest.fixture(scope="module")
def other_run(tiny_other_tokenizer, tmp_path_factory):  # type: ignore[no-untyped-def]
    cache = tmp_path_factory.mktemp("other-cache")
    return score_corpus(DOCS, load_model(str(tiny_other_tokenizer), cache, device="cpu"))


def _curves(*curves: tuple[float, ...]) -> pl.DataFrame:
    return pl.DataFrame(
        {f"nll_{i}": [c[i] for c in curves] for i in range(len(curves[0]))}
    ).with_columns(pl.lit("t").alias("task"))


def test_trend_classes_on_curves_with_known_shapes() -> None:
    known = {
        (5.0, 3.0, 1.0): "improving",
        (1.0, 3.0, 5.0): "worsening",  # inverse scaling
        (2.0, 4.0, 1.0): "u_shaped",  # worse, then better
        (3.0, 1.0, 3.2): "inverted_u",  # better, then worse
        (2.0, 2.3, 2.1): "flat",
        (2.0, 2.4, 2.45): "flat",  # every change inside the 0.5 band
        (3.0, 3.6, 3.0): "u_shaped",  # a middle run 0.6 above both ends
        (3.0, 2.6, 3.0): "flat",  # 0.4 below: inside the band
        (0.0, 2.0, -1.5, 0.0): "u_shaped",  # both excursions: the larger (2 > 1.5) decides
        (0.0, 0.8, -2.0, 0.0): "inverted_u",
        (4.0, 3.8, 3.6, 3.4): "improving",  # 0.6 in all, no step beyond the band
    }
    for n in (3, 4):
        curves = [c for c in known if len(c) == n]
        got = with_change(_curves(*curves), n)["trend"].to_list()
        assert got == [known[c] for c in curves]
    two = with_change(_curves((1.0, 3.0)), 2)
    assert "trend" not in two.columns and two["delta"].to_list() == [2.0]
    shares = trend_shares(with_change(_curves(*[c for c in known if len(c) == 3]), 3))
    everything = shares.filter(pl.col("task") == "all").row(0, named=True)
    assert math.isclose(sum(everything[c] for c in CLASSES), 1.0)
    assert everything["units"] == 8 and math.isclose(everything["flat"], 3 / 8)


def test_one_tokenizer_aligns_by_position_and_contributions_add_up(family_runs) -> None:  # type: ignore[no-untyped-def]
    comparison = compare_runs(family_runs)
    units = comparison.units
    assert comparison.aligned.unit == "token" and units.height == family_runs[0].table.height
    for i, run in enumerate(comparison.runs):  # every target once, in every run
        assert abs(units[f"nll_{i}"].sum() - run.table["nll"].sum()) < 1e-9
    table = comparison.changes()
    for name in comparison.names[1:]:
        block = table.filter(pl.col("model") == name)
        tasks, everything = (
            block.filter(pl.col("task") != "all"),
            block.filter(pl.col("task") == "all"),
        )
        # the tasks' contributions add up to the change of the overall mean
        assert abs(tasks["contribution"].sum() - everything["delta_mean_nll"][0]) < 1e-12
        assert abs(tasks["unit_share"].sum() - 1.0) < 1e-12
        i = comparison.names.index(name)
        mean_change = units[f"nll_{i}"].mean() - units["nll_0"].mean()  # type: ignore[operator]
        assert abs(everything["delta_mean_nll"][0] - mean_change) < 1e-12
    # three runs: every unit has a trend class; the classes' shares add up per task
    trends = comparison.trends()
    assert trends is not None and set(units["trend"]) <= set(CLASSES)
    assert (trends.select(pl.sum_horizontal(*CLASSES)).to_series() - 1.0).abs().max() < 1e-12  # type: ignore[operator]


def test_runs_are_ordered_by_size_unless_asked_otherwise(family_runs) -> None:  # type: ignore[no-untyped-def]
    backwards = list(reversed(family_runs))
    by_size = compare_runs(backwards)
    sizes = [r.settings["n_params"] for r in by_size.runs]
    assert sizes == sorted(sizes) and by_size.order == "size"
    given = compare_runs(backwards, order="given")
    assert [r.settings["n_params"] for r in given.runs] == sorted(sizes, reverse=True)
    assert given.order == "given"
    with pytest.raises(TasksError, match="two runs or more"):
        compare_runs(family_runs[:1])


def test_other_tokenizers_align_by_word_and_keep_every_nat(family_runs, other_run) -> None:  # type: ignore[no-untyped-def]
    comparison = compare_runs([family_runs[1], other_run], order="given")
    a = comparison.aligned
    assert a.unit == "word"
    # each run's loss over the compared units plus what was left out is its total
    for i, run in enumerate(comparison.runs):
        kept = comparison.units[f"nll_{i}"].sum()
        assert abs(kept + a.uncovered_nll[i] - run.table["nll"].sum()) < 1e-9
        assert comparison.units[f"pieces_{i}"].sum() <= run.table.height
    # units tile the text: in order, never overlapping, each the exact span every run covers
    units = comparison.units.with_columns(unit_texts(a))
    b = units.filter(pl.col("doc_id") == "b")
    assert (b["char_start"].shift(-1).drop_nulls() >= b["char_end"].head(b.height - 1)).all()
    # the other tokenizer's pieces cross word boundaries: those words are one unit, counted
    assert a.joined > 0 and a.joined == int((comparison.units["words"] > 1).sum())
    for word in ("Café", "naïve", "日本語", "3.14", "😀"):  # multibyte words and numbers survive
        assert any(word in t for t in b["text"]), word
    for row in b.iter_rows(named=True):  # the text of each unit is its span's
        span = TEXT[row["char_start"] : row["char_end"]]
        assert row["text"] == span or row["text"] == " ".join(span.split()), row


def test_token_units_refused_across_tokenizers(family_runs, other_run) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TasksError, match="--unit word"):
        compare_runs([family_runs[0], other_run], unit="token")
    # one tokenizer by word: words are whole, so nothing is joined and nothing left out
    words = compare_runs(family_runs[:2], unit="word")
    assert words.aligned.unit == "word" and words.aligned.uncovered == 0
    for i, run in enumerate(words.runs):
        assert abs(words.units[f"nll_{i}"].sum() - run.table["nll"].sum()) < 1e-9


def test_compare_command(tiny_family, tiny_other_tokenizer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": d.id, "text": d.text}) + "\n" for d in DOCS))
    cache = ["--cache-dir", str(tmp_path / "cache")]
    models = [arg for d in tiny_family for arg in ("--model", str(d))]
    out = tmp_path / "units.parquet"
    done = run_cli("compare", str(corpus), *models, *cache, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "units: tokens, aligned by position" in done.stdout
    assert "differ in: model" in done.stdout and "share of units in each trend class" in done.stdout
    units = pl.read_parquet(out)
    names = [c.removeprefix("nll ") for c in units.columns if c.startswith("nll ")]
    assert len(names) == 3 and {"delta", "trend"} <= set(units.columns)
    assert set(units["trend"]) <= set(CLASSES)
    settings = json.loads(pl.read_parquet_metadata(out)["inspector.settings"])["comparison"]
    assert [r["name"] for r in settings["runs"]] == names and settings["unit"] == "token"
    # the per-task table as data: the trend shares on each task's rows
    csv = run_cli("compare", str(corpus), *models, *cache, "--format", "csv", "--threshold", "0.1")
    assert csv.returncode == 0, csv.stderr
    rows = pl.read_csv(csv.stdout.encode())
    assert {"model", "task", "contribution", "improved", *CLASSES} <= set(rows.columns)
    # an existing --out is kept, byte for byte, without --force
    before = out.read_bytes()
    again = run_cli("compare", str(corpus), *models, *cache, "--out", str(out))
    assert again.returncode == 2 and out.read_bytes() == before
    assert again.stderr.count("\n") == 1 and "--force" in again.stderr
    # across tokenizers: by word, said so
    words = run_cli(
        "compare", str(corpus), "--model", str(tiny_family[0]), "--model",
        str(tiny_other_tokenizer), *cache, "--format", "md",
    )  # fmt: skip
    assert words.returncode == 0, words.stderr
    assert (
        "units: words" in words.stdout
        and "joined by a piece across a word boundary" in words.stdout
    )
    one = run_cli("compare", str(corpus), "--model", str(tiny_family[0]), *cache)
    assert one.returncode == 2 and "two runs or more" in one.stderr


def test_a_model_pattern_names_checkpoints_in_natural_order(tiny_family, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from inspector.cli.given import expand_models
    from inspector.errors import ModelError

    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    for step, model in zip((1000, 20, 300), tiny_family, strict=True):
        (ckpts / f"step-{step}").symlink_to(model, target_is_directory=True)
    got = expand_models([str(ckpts / "step-*")])
    assert [Path(p).name for p in got] == ["step-20", "step-300", "step-1000"]
    assert expand_models(["plain-name"]) == ["plain-name"]
    with pytest.raises(ModelError, match="no folder or file matches"):
        expand_models([str(tmp_path / "nothing-*")])


def test_units_that_compare_across_tokenizers_in_the_change_table(family_runs, other_run) -> None:
    """Bits per byte and nats per word in compare's table (issue 36): by position they equal
    each run's own per-task figures (`summarize`); by word, each unit's bytes are its text's
    UTF-8 bytes, so both runs are divided by the same bytes and words."""
    from inspector.tables.tasks import summarize

    def figures(run) -> dict[str, dict]:  # type: ignore[no-untyped-def]
        return {r["task"]: r for r in summarize(run.frame).iter_rows(named=True)}

    first, later = figures(family_runs[0]), figures(family_runs[1])
    table = compare_runs(family_runs[:2]).changes()
    assert table.height == len(first)
    for row in table.iter_rows(named=True):
        for suffix, own in (("_first", first[row["task"]]), ("", later[row["task"]])):
            assert row[f"bits_per_byte{suffix}"] == pytest.approx(own["bits_per_byte"], rel=1e-9)
            if own["words"]:
                assert row[f"nats_per_word{suffix}"] == pytest.approx(
                    own["nats_per_word"], rel=1e-9
                )
            else:
                assert row[f"nats_per_word{suffix}"] is None
    texts = {d.id: d.text for d in DOCS}
    for runs in ([family_runs[1], other_run], family_runs[:2]):
        comparison = compare_runs(runs, unit="word", order="given")
        units = comparison.units
        want = [
            len(texts[d][a:b].encode("utf-8"))
            for d, a, b in units.select("doc_id", "char_start", "char_end").iter_rows()
        ]
        assert units["bytes"].to_list() == want
        everything = comparison.changes().filter(pl.col("task") == "all").row(0, named=True)
        for i, suffix in enumerate(("_first", "")):
            nll = units[f"nll_{i}"].sum()
            assert everything[f"bits_per_byte{suffix}"] == pytest.approx(
                nll / sum(want) / math.log(2), rel=1e-12
            )
            assert everything[f"nats_per_word{suffix}"] == pytest.approx(
                nll / units["words"].sum(), rel=1e-12
            )
        if comparison.aligned.uncovered == 0:  # every character compared: each run's own
            for i, run in enumerate(runs):
                own = figures(run)["all"]["bits_per_byte"]
                suffix = "_first" if i == 0 else ""
                assert everything[f"bits_per_byte{suffix}"] == pytest.approx(own, rel=1e-9)


def test_every_tokenizer_counts_the_same_words(family_runs, other_run, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 43: nats per word compares across tokenizers only if the words are the same: a
    whitespace target (a unit of its own, as many as the tokenizer cuts) is no word. Two
    tokenizers that cut at word boundaries count the same words, and the word comparison's
    `all` row is each run's own; a tokenizer whose pieces straddle words (`n't pay`) loses
    the words no piece starts in, and says so by counting fewer."""
    from conftest import build_tiny_model
    from inspector.tables.tasks import summarize

    third = build_tiny_model(tmp_path / "third", vocab=300, seed=11)
    third_run = score_corpus(DOCS, load_model(str(third), tmp_path / "cache", device="cpu"))

    def everything(run):  # type: ignore[no-untyped-def]
        return summarize(run.frame).filter(pl.col("task") == "all").row(0, named=True)

    own = [everything(r) for r in (family_runs[1], third_run)]
    assert own[0]["words"] == own[1]["words"] > 0
    comparison = compare_runs([family_runs[1], third_run], order="given")
    assert comparison.aligned.unit == "word" and comparison.aligned.uncovered == 0
    row = comparison.changes().filter(pl.col("task") == "all").row(0, named=True)
    assert row["nats_per_word_first"] == pytest.approx(own[0]["nats_per_word"], rel=1e-9)
    assert row["nats_per_word"] == pytest.approx(own[1]["nats_per_word"], rel=1e-9)
    assert comparison.units["words"].sum() == own[0]["words"]
    assert everything(other_run)["words"] < own[0]["words"]  # straddling pieces: fewer
