"""Every `inspector bench` mode, run from the command line at a small size (a tiny
random-weight model where the mode takes --model, a tiny shape where it takes --shape), so
none can rot: each run's figures are read back, as JSON and as the printed report, and must
be there and sane. A mode that cannot run here (--html without a browser) says so in one
line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from inspector import cli, defaults
from inspector.bench import (
    asking,
    attribution,
    compare,
    html,
    lengths,
    lens,
    peers,
    pipeline,
    shape,
)
from inspector.cli import bench as cli_bench

TINY_SHAPE = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 1,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "rope_theta": 10000.0,
}


def bench(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    """`inspector bench ARGV --json` in this process: its one JSON object."""
    assert cli.main(["bench", *argv, "--json"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    return json.loads(out)


def numbers(line: str) -> list[float]:
    return [float(x.replace(",", "")) for x in re.findall(r"\d[\d,]*\.?\d*(?:e[-+]\d+)?", line)]


@pytest.fixture(autouse=True)
def one_thread() -> Any:
    """One torch thread: these tests read the figures, not their speed, and on a loaded
    2-core machine two threads of a tiny model wait on each other for seconds."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_shape(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(defaults.SHAPES, "tiny", TINY_SHAPE)
    monkeypatch.setattr(cli_bench, "SHAPES", (*cli_bench.SHAPES, "tiny"))  # a --shape choice
    return "tiny"


def test_default_bench_quick(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    r = bench(capsys, "--model", str(tiny_model_dir), "--cache-dir", str(tmp_path),
              "--tokens", "500")  # fmt: skip
    name = tiny_model_dir.name
    assert r["model"] == name and r["device"] == "cpu" and r["dtype"] == "float32"
    assert 1 <= r["documents"] < 15 and r["tokens"] >= 500 and r["batches"] >= 1
    assert r["sentences_documents"] == 16 and r["sentences_tokens"] > 16
    for p in ("", "sentences_"):
        for way in ("end_to_end", "forward", "naive"):
            assert r[f"{p}{way}_tok_s"] > 0
        assert 0 < r[f"{p}tagging_share"] < 1
    assert r["tagging_same_tags"] is True and r["tagging_tokens"] >= 500
    assert r["tagging_tok_s"] > 0 and r["tagging_2_workers_vs_1"] > 0
    assert r["tui_from_cache"] is True  # the app found the bench's own run of the bundled corpus
    assert 0 < r["tui_first_frame_s"] <= r["tui_scores_shown_s"] < 60
    assert 0 < r["tui_key_p50_ms"] <= r["tui_key_p95_ms"] < 5000
    assert r["tui_long_doc_tokens"] >= 500 and r["tui_long_key_p50_ms"] > 0
    assert r["load_cold_s"] is None and r["load_warm_s"] > 0  # cold: the embedded model only
    assert 0 < r["help_s"] < 60 and r["peak_rss_mb"] > 50
    report = pipeline.format_report(r).splitlines()
    assert report[0] == f"inspector bench: {name} on cpu (float32)"
    assert report[1].startswith(
        f"bundled corpus: {r['documents']} documents, {r['tokens']:,} tokens"
    )
    assert report[6].startswith("16 sentences of it, one document each: 16 documents")
    assert "tags identical" in report[12]
    assert report[-1].startswith("load cold n/a, warm ") and "peak memory" in report[-1]


def test_compare_bench_reads_its_runs_as_real_runs(tmp_path: Path, capsys) -> None:
    """The synthetic runs pass every check a stored run gets (issue 34: their settings said
    0 tokens, and `--compare` ended in a traceback)."""
    from inspector.run.stored import open_table

    runs = compare.write_runs(tmp_path, 3000)
    for name, folder in runs.items():
        run = open_table(str(folder))  # manifests, seals, rows against the settings
        assert run.settings["tokens"] == run.frame.collect().height > 2500
        assert run.settings["model_identity"] == f"bench:{name}" and len(run.files) >= 1
    r = bench(capsys, "--compare", "--tokens", "4000")
    t = r["tokens"]
    assert abs(t["a"] - 4000) < 200 and t["a"] == t["b"] and abs(t["c"] - 4000) < 200
    assert r["position"]["unit"] == "token" and r["position"]["units"] == t["a"]
    assert r["word"]["unit"] == "word" and 0.5 * t["a"] < r["word"]["units"] < t["a"]
    for key in ("position", "word"):
        m = r[key]
        assert 0 < m["seconds"] < 60 and 0 < m["before_mb"] <= m["peak_mb"]
        assert abs(m["all_delta"]) < 2  # the second run's losses are the first's plus noise
    report = compare.format_compare(r).splitlines()
    assert report[0].startswith(f"comparing runs from Parquet parts (synthetic: {t['a']:,} and")
    assert report[2].split()[:2] == ["position", f"{t['a']:,}"]
    assert report[3].split()[:2] == ["word", f"{r['word']['units']:,}"]


def test_ask_bench(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    rows = bench(capsys, "--ask", "--model", str(tiny_model_dir), "--cache-dir", str(tmp_path))
    assert [row["context_tokens"] for row in rows] == list(asking.CONTEXTS)
    for row in rows:
        assert all(0 < row[k] < 60_000 for k in ("first_ms", "again_ms", "plain_ms"))
    report = asking.format_asking(rows, "cpu").splitlines()
    assert report[0].startswith("asking the model (p): 3 candidates") and len(report) == 7
    assert [numbers(line)[0] for line in report[2:6]] == list(asking.CONTEXTS)


def test_lens_bench(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    rows = bench(capsys, "--lens", "--model", str(tiny_model_dir), "--cache-dir", str(tmp_path))
    assert [row["context_tokens"] for row in rows] == [min(c, 64) for c in lens.CONTEXTS]
    for row in rows:
        assert all(0 < row[k] < 60_000 for k in ("lens_ms", "forward_ms", "step_ms"))
        assert row["layers"] == 2
    report = lens.format_lens(rows, "cpu").splitlines()
    assert report[0].startswith("the logit lens (L): one target, 2 layers") and len(report) == 6
    assert [numbers(line)[0] for line in report[2:5]] == [r["context_tokens"] for r in rows]


def test_peers_bench_skips_what_is_missing_in_one_line(
    tiny_model_dir: Path, tmp_path: Path, capsys
) -> None:
    r = bench(capsys, "--peers", "--model", str(tiny_model_dir), "--cache-dir", str(tmp_path),
              "--tokens", "200")  # fmt: skip
    assert r["tokens"] >= 200 and r["documents"] >= 1 and r["repeats"] == 1
    rows = {(x["way"], x["weights"]): x for x in r["rows"]}
    assert len(rows) == len(r["rows"]) == 9
    ran = [x for x in r["rows"] if "skipped" not in x]
    assert ran[0]["way"] == "inspector score" and ran[0]["tok_s"] > 0
    for x in ran:  # every float32 way computes inspector's numbers: each document is one window
        if x["weights"] == "float32" and x is not ran[0]:
            assert abs(x["total_diff_per_token"]) < 1e-4, x
    for x in r["rows"]:
        if "skipped" in x:
            assert "\n" not in x["skipped"] and x["skipped"]
    report = peers.format_peers(r).splitlines()
    name = tiny_model_dir.name
    assert report[0].startswith(f"inspector bench --peers: {name}, {r['tokens']:,} tokens")
    assert len(report) == 2 + 9 + 1
    assert report[2].startswith("inspector score") and numbers(report[2])[-2] == 1.0  # 1.00x


def test_lengths_bench_at_a_small_size(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    r = bench(capsys, "--lengths", "--model", str(tiny_model_dir), "--cache-dir", str(tmp_path),
              "--tokens", "512")  # fmt: skip
    assert r["window"] == 64  # the tiny model's context
    sizes = lengths.lengths(512)
    assert sizes == [32, 64, 128, 256, 512]
    assert sorted({x["tokens"] for x in r["speed"]}) == sizes
    for x in r["speed"]:
        assert x["tok_s"] > 0 and x["positions_per_token"] >= 1.0
        assert x["positions_per_token"] == lengths.positions_per_token(x["tokens"], 64, x["stride"])
    num = r["numbers"]
    assert num["tokens"] == 512 and num["base_stride"] == 32
    every = [x for x in num["rows"] if x["task"] == "all"]
    assert [x["targets"] for x in every] == [512] * 3 and every[0]["change"] == 0
    assert all(abs(x["change"]) < 1 for x in num["rows"])
    report = lengths.format_lengths(r).splitlines()
    assert report[0].startswith(f"inspector bench --lengths: {tiny_model_dir.name}, window 64")
    assert [numbers(line)[0] for line in report[2:7]] == sizes
    assert report[-1].split()[:2] == ["all", "512"]


def test_html_bench_measures_or_says_why_not(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    from inspector.bench.browser import missing

    argv = ["bench", "--html", "--tokens", "300", "--model", str(tiny_model_dir),
            "--cache-dir", str(tmp_path)]  # fmt: skip
    code = cli.main(argv)
    out, err = capsys.readouterr()
    why = missing()
    if why:  # no browser here: one clear line, said before any scoring, and exit 2
        assert code == 2 and out == ""
        assert err.strip().splitlines() == [
            f"inspector: error: no headless browser: {why}; install them (apt-get install "
            "chromium chromium-driver, or make test, which does) and try again"
        ]
        assert not list(tmp_path.iterdir())  # nothing was scored into the cache
        return
    assert code == 0
    report = out.splitlines()
    assert report[0].startswith("inspector html: 300 tokens in ")
    assert "MB" in report[1] and "loaded" in report[1] and "plain" in report[2]
    assert html.REPEATS == 3


def test_shape_bench(tiny_shape: str, capsys) -> None:
    r = bench(capsys, "--shape", tiny_shape, "--device", "cpu", "--tokens", "256",
              "--window", "64", "--repeats", "1")  # fmt: skip
    assert r["card"] == "cpu" and r["tokens"] == 256 and r["window"] == 64
    assert r["forward_tok_s"] > 0 and r["eager_tok_s"] > 0 and "fused_tok_s" not in r
    report = shape.format_report(r).splitlines()
    assert report[0].startswith(
        f"inspector bench --shape tiny: {r['n_params'] / 1e6:,.0f}M parameters"
    )
    assert report[1] == "256 tokens in windows of 64, top-20, best of 1"
    assert report[2].split()[0] == "forward" and numbers(report[2])[1] == 1.0
    assert report[3].split()[0] == "eager"


def test_shape_bench_compile(tiny_shape: str, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """--compile as a GPU session runs it, on the CPU; torch.compile's eager backend stands in
    for inductor here (inductor compiles C++ for minutes on 2 cores: tests/test_bench_card.py
    runs it once)."""
    measure = shape.measure_shape

    def quick(*args: Any, **kw: Any) -> dict[str, Any]:
        assert kw["compile_backend"] == "inductor"
        return measure(*args, **{**kw, "compile_backend": "eager"})

    monkeypatch.setattr(shape, "measure_shape", quick)
    r = bench(capsys, "--shape", tiny_shape, "--device", "cpu", "--tokens", "128",
              "--window", "64", "--repeats", "1", "--compile")  # fmt: skip
    assert r["forward_compiled_tok_s"] > 0 and r["eager_compiled_tok_s"] > 0
    assert r["eager_compiled_vs_eager_max_abs_nll_diff"] < 1e-4
    report = shape.format_report(r)
    assert "body under torch.compile (eager)" in report and "first run" in report


def test_shape_bench_profile_and_oom(tiny_shape: str, capsys) -> None:
    r = bench(capsys, "--shape", tiny_shape, "--device", "cpu", "--tokens", "128",
              "--window", "64", "--profile", "--oom")  # fmt: skip
    p = r["profile"]
    assert p["tokens"] == 128 and p["wall_s"] > 0 and p["stages"]["score.body"]["calls"] >= 1
    assert r["oom"]["outcome"] == "not run: a real out-of-memory error needs a GPU"
    report = shape.format_report(r).splitlines()
    assert report[1] == "128 tokens in windows of 64, top-20, checks"
    assert report[2].startswith("profile: 128 tokens scored in ")
    assert any(line.split()[0] == "score.body" for line in report[3:])
    assert report[-1] == "out of memory: not run: a real out-of-memory error needs a GPU"


def test_attribution_bench(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    rows = bench(
        capsys, "--attribution", "--model", str(tiny_model_dir), "--cache-dir", str(tmp_path)
    )
    assert [row["context_tokens"] for row in rows] == [min(c, 64) for c in attribution.CONTEXTS]
    for row in rows:
        assert all(0 < row[k] < 60_000 for k in ("gradient_ms", "occlusion_ms", "forward_ms"))
        assert row["occluded"] == attribution.OCCLUDED
    report = attribution.format_attribution(rows, "cpu").splitlines()
    assert (
        report[0].startswith("attribution (C, inspector context): one target") and len(report) == 6
    )


def test_parses_bench(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    import taggers.workers
    from inspector.bench import parses

    monkeypatch.setattr(parses, "COPIES", 1)  # the bundled corpus once: a small size
    monkeypatch.setattr(parses, "AHEAD_COPIES", 1)
    monkeypatch.setattr(parses, "AHEAD_MODEL", {"vocab": 300, "hidden": 32, "layers": 1})
    monkeypatch.setattr(taggers.workers, "PARALLEL_CHARS", 0)  # small, yet worth a worker
    result = bench(capsys, "--parses")
    rows = result["runs"]
    assert [r["parses_kept"] for r in rows] == [False] * 3 + [True] * 3
    assert [r["tokenizer_pieces"] for r in rows] == list(parses.VOCABS) * 2
    for before, after in zip(rows[:3], rows[3:], strict=True):  # the same runs both ways
        assert before["tokens"] == after["tokens"] > 0
        assert all(r["tag_s"] > 0 and r["total_s"] >= r["tag_s"] for r in (before, after))
    off, on = result["ahead"]["runs"]
    assert (off["parse_ahead"], on["parse_ahead"]) == (False, True)
    assert off["tokens"] == on["tokens"] > 0 and (off["parsed_ahead"], on["parsed_ahead"]) == (
        0,
        15,
    )
    report = parses.format_parses(result).splitlines()
    assert report[0].startswith("three runs of one corpus (15 documents") and len(report) == 15
    assert report[8].startswith("all three: tagging") and report[9] == ""
    assert report[10].startswith("one run of 15 distinct documents")
    assert report[-1].startswith("tagging after scoring")
