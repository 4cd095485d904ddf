"""The command line: fast start, scoring and export, and one clear line for each bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli
from inspector.cli import main
from inspector.tables.schema import read_table

HEAVY = ("torch", "transformers", "polars", "spacy", "textual", "numpy")


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys; from inspector.cli import build_parser; build_parser().format_help(); "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert run_cli("--help").returncode == 0


def test_headless_modules_never_import_textual() -> None:
    code = (
        "import sys, corpora, taggers, inspector.cli, inspector.run.score, inspector.run.request, inspector.tables.schema, inspector.bench.pipeline; "
        "print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_score_writes_table_and_prints_summary(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        json.dumps({"id": "d1", "text": "Biden married Neilia Hunter, a student."}) + "\n"
    )
    out = tmp_path / "t.parquet"
    args = [
        "score",
        str(corpus),
        "--model",
        str(tiny_model_dir),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(out),
        "--top-k",
        "7",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "1 document," in printed and "nats/token" in printed and f"wrote {out}" in printed
    table, settings = read_table(out)
    assert table["doc_id"].unique().to_list() == ["d1"]
    assert settings["top_k"] == 7 and settings["documents"] == 1
    assert main(args) == 2  # exists: refused, untouched
    assert read_table(out)[0].equals(table)
    assert main([*args, "--force"]) == 0
    assert "from cache" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("files", "args", "expected"),
    [
        ({}, ["missing.txt"], "missing.txt: no such file or folder"),
        ({"bad.jsonl": b'{"text": "a"}\n{oops\n'}, ["bad.jsonl"], "bad.jsonl:2: not valid JSON"),
        ({"bad.txt": b"ab\xffcd"}, ["bad.txt"], "bad.txt: not valid UTF-8 at byte offset 2"),
        ({"e.txt": b""}, ["e.txt"], "the corpus has no text to score"),
        ({"t.csv": b"body\nx\n"}, ["t.csv"], "no column 'text' (columns: body)"),
        (
            {"a.txt": b"text"},
            ["a.txt", "--model", "no-such-org/no-such-model"],
            "model 'no-such-org/no-such-model': no such local path, and not in the local Hugging Face cache",
        ),
        (
            {"a.txt": b"text"},
            ["a.txt", "--model", "./nothing-here"],
            "model './nothing-here': no such file or folder",
        ),
        ({"a.txt": b"text"}, ["a.txt", "--tag-workers", "0"], "--tag-workers"),
        (
            {"a.txt": b"text", "out.csv": b"keep me"},
            ["a.txt", "--out", "out.csv"],
            "out.csv exists; pass --force",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, files: dict[str, bytes], args: list[str], expected: str
) -> None:
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    result = run_cli("score", *args, "--cache-dir", str(tmp_path / "cache"), cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inspector: error: ") and expected in lines[0], (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    if "out.csv" in files:
        assert (tmp_path / "out.csv").read_bytes() == b"keep me"


def test_damaged_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{not json")
    (tmp_path / "a.txt").write_text("text")
    result = run_cli(
        "score",
        "a.txt",
        "--model",
        str(folder),
        "--cache-dir",
        str(tmp_path / "cache"),
        cwd=tmp_path,
    )
    assert (
        result.returncode == 2
        and "could not be loaded" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_repeated_request_is_answered_without_torch(tiny_model_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "a.txt"
    corpus.write_text("Biden married Neilia Hunter, a student.")
    args = [
        "score",
        str(corpus),
        "--model",
        str(tiny_model_dir),
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    assert main(args) == 0
    code = (
        f"import sys; from inspector.cli import main; rc = main({args!r}); "
        "print(rc, 'torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 False False"
    assert "from cache" in out.stdout


def test_nothing_readable_to_browse_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_bytes(b"\xff")
    result = run_cli("browse", "bad.txt", "--cache-dir", str(tmp_path / "cache"), cwd=tmp_path)
    assert result.returncode == 2 and "not valid UTF-8 at byte offset 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_hub_id_from_the_local_cache(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hub id resolves to its snapshot in the local Hugging Face cache, offline."""
    import shutil

    from inspector.lm.loading import load_model
    from inspector.lm.sources import resolve_model

    hub = tmp_path / "hub"
    repo = hub / "models--someone--tiny-llama"
    revision = "0123456789abcdef0123456789abcdef01234567"
    shutil.copytree(tiny_model_dir, repo / "snapshots" / revision)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(revision)
    monkeypatch.setenv("HF_HUB_CACHE", str(hub))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(hub))
    source = resolve_model("someone/tiny-llama", tmp_path / "cache")
    assert source.kind == "hub" and source.identity == f"revision:{revision}"
    lm = load_model("someone/tiny-llama", tmp_path / "cache", device="cpu")
    assert lm.source.name == "someone/tiny-llama"
