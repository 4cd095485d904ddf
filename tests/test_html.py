"""Sharing results (issue 18): one self-contained HTML page, text escaped everywhere; the
per-task chart as an image with the run settings in it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from conftest import run_cli

HOSTILE = {
    "script": "Before <script>document.title='pwned'</script> after.",
    "attr": 'Look "><img src=x onerror="document.title=1"> here & there.',
    "plain": "Biden married Neilia Hunter, a student.\n\nCafé 日本語.",
}


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in HOSTILE.items()))
    return corpus


def test_the_page_is_self_contained_and_escapes_every_text(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "page.html"
    done = run_cli("html", str(_corpus(tmp_path)), "--model", str(tiny_model_dir), "--cache-dir",
                   str(tmp_path / "cache"), "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    # nothing runs from the documents: no tag of theirs survives, only escaped text
    assert "<script>document" not in page and "<img" not in page
    text = re.sub(r"</?span[^>]*>", "", page)  # the documents' text, out of its token spans
    assert "&lt;script&gt;document.title" in text and "&lt;img src=x onerror=" in text
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)
    assert len(scripts) == 2  # the token data (JSON) and the page's own code
    data = json.loads(scripts[0])
    assert "<" not in scripts[0]  # `<` written as \u003c inside the data
    assert "textContent" in scripts[1] and "innerHTML" not in scripts[1]
    # no network: no external script, style, font or image
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "@import" not in page and not re.search(r"url\((?!#)", page) and "<link" not in page
    # every document's text is in the page, and one span per shown target carries its data
    spans = re.findall(
        r'<span class="t b(\d)" tabindex="0" data-i="(\d+)"(?: data-n="(\d+)")?', page
    )
    covered = [k for _, i, n in spans for k in range(int(i), int(i) + int(n or 1))]
    assert covered == list(range(len(data)))  # every target in exactly one span, in order
    assert {"Biden", "Hunter", "Café", "日本語"} <= {w for w in re.findall(r"\w+", text)}
    assert "prefers-color-scheme: dark" in page and "<svg" in page and "Loss by task" in page
    missing = run_cli("html", str(_corpus(tmp_path)), "--model", str(tiny_model_dir), "--cache-dir",
                      str(tmp_path / "cache"), "--doc", "nope", "--out", str(tmp_path / "p2.html"))  # fmt: skip
    assert missing.returncode == 2 and "--doc nope: no such document" in missing.stderr


def test_the_chart_as_an_image_carries_its_runs(tiny_model_dir: Path, tmp_path: Path) -> None:
    common = [
        str(_corpus(tmp_path)),
        "--model",
        str(tiny_model_dir),
        "--cache-dir",
        str(tmp_path / "c"),
    ]
    for name in ("chart.svg", "chart.png"):
        done = run_cli("tasks", *common, "--plot", str(tmp_path / name))
        assert done.returncode == 0, done.stderr
    svg_text = (tmp_path / "chart.svg").read_text()
    assert "loss contribution per task" in svg_text and "corpus " in svg_text  # caption
    from PIL import Image

    with Image.open(tmp_path / "chart.png") as image:
        assert image.info["Description"].startswith("corpus ") and image.size[0] > 800
    again = run_cli("tasks", *common, "--plot", str(tmp_path / "chart.svg"))
    assert again.returncode == 2 and "--force" in again.stderr  # never over an existing file
    wrong = run_cli("tasks", *common, "--plot", str(tmp_path / "chart.pdf"))
    assert wrong.returncode == 2 and ".svg or .png" in wrong.stderr
    table = pl.read_csv(run_cli("tasks", *common, "--format", "csv").stdout.encode())
    assert "loss_contribution" in table.columns


def test_the_chart_across_models_names_them_by_size(
    tiny_family: list[Path], tmp_path: Path
) -> None:
    corpus = _corpus(tmp_path)
    models = [arg for folder in tiny_family for arg in ("--model", str(folder))]
    out = tmp_path / "sizes.svg"
    done = run_cli("tasks", str(corpus), *models, "--cache-dir", str(tmp_path / "c"),
                   "--plot", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    drawing = out.read_text()
    assert "per-task loss against model size" in drawing and "parameters (log scale)" in drawing
    for folder in tiny_family:  # each run named in the caption
        assert folder.name in drawing


def test_every_target_is_in_the_page_even_pieces_of_one_character(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    docs = {
        "emoji": "Rockets 🚀🚀 and 😀 faces, עברית, \u2028 done.",
        "empty": "",
        "plain": "Café.",
        "control": "a\x00b\x01c\td\u202ee",  # NUL a browser drops, a bidi override
    }
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in docs.items()))
    common = [str(corpus), "--model", str(tiny_model_dir), "--cache-dir", str(tmp_path / "c")]
    assert run_cli("score", *common, "--out", str(tmp_path / "t.parquet")).returncode == 0
    table = pl.read_parquet(tmp_path / "t.parquet")
    out = tmp_path / "page.html"
    done = run_cli("html", *common, "--top", "50", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "the run kept 20 candidates per target; the page shows 20" in done.stderr
    page = out.read_text()
    data = json.loads(
        re.findall(r'<script type="application/json" id="tokens">(.*?)</script>', page, re.S)[0]
    )
    assert len(data) == table.height  # no piece of the emoji or the Hebrew left out
    # a byte piece as its bytes (issue 34 item 8), the same text as the table's `token`
    pieces = [d for d in data if "<0x" in json.dumps(d, ensure_ascii=False)]
    assert pieces and not any("\ufffd" in json.dumps(d, ensure_ascii=False) for d in data)
    assert "<0x" not in page.replace("\\u003c0x", "")  # never a tag: escaped in the data
    assert [d[1] for d in data] == [round(x, 3) for x in table["nll"]]
    shared = re.findall(r'data-i="(\d+)" data-n="(\d+)"', page)
    assert shared, "the byte pieces of an emoji share one span"
    assert '<h2>empty</h2><p class="meta">an empty document: no targets</p>' in page
    assert "top 20 candidates" in page and "<title>inspector: 4 document(s)</title>" in page
    assert "\x00" not in page and "\x01" not in page
    shown = re.findall(r'<h2>control</h2>.*?<p class="doc"[^>]*>(.*?)</p>', page, re.S)[0]
    assert re.sub(r"<[^>]+>", "", shown) == "a\u2400b\u2401c\td\\u202ee"
    alone = run_cli("html", *common, "--doc", "empty", "--out", str(tmp_path / "e.html"))
    assert alone.returncode == 0, alone.stderr


def test_a_page_too_big_for_a_browser_is_refused_before_it_is_written(
    tiny_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from inspector.cli import html as command
    from inspector.cli import main

    corpus = tmp_path / "long.txt"
    corpus.write_text("word " * 400)
    monkeypatch.setattr(command, "MOST_TARGETS", 100)  # as a 1 MB word would be, in small
    out = tmp_path / "page.html"
    args = ["html", str(corpus), "--model", str(tiny_model_dir), "--cache-dir",
            str(tmp_path / "c"), "--out", str(out)]  # fmt: skip
    assert main(args) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "a page of about" in err and "choose fewer or shorter documents with --doc" in err
