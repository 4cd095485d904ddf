"""Options and outputs checked before any work; nothing written over an input; files
created with the umask's permissions (issue 12, items 16, 17, 18 and 22)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import polars as pl
import pytest

from conftest import run_cli
from inspector import cli


@pytest.mark.parametrize(
    "args",
    [
        ["score", "--top-k", "0"],
        ["score", "--batch-tokens", "0"],
        ["score", "--window", "1"],
        ["score", "--stride", "0"],
        ["score", "--tag-workers", "0"],
        ["score", "--part-chars", "0", "--parts", "x"],
        ["score", "--top-k", "many"],
        ["tasks", "--window", "-3"],
        ["browse", "--batch-tokens", "0"],
        ["bench", "--tokens", "0", "--shape", "smollm2-135m"],
        ["bench", "--repeats", "0", "--shape", "smollm2-135m"],
    ],
)
def test_every_numeric_option_is_checked_against_its_bound_in_one_line(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = cli.main(args)
    except SystemExit as e:  # argparse's way out
        code = e.code  # type: ignore[assignment]
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and args[1] in err, err


def test_top_k_above_the_vocabulary_is_one_line(tiny_model_dir: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("Some text.")
    proc = run_cli(
        "score", str(corpus), "--model", str(tiny_model_dir), "--top-k", "100000",
        "--cache-dir", str(tmp_path / "cache"),
    )  # fmt: skip
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "--top-k = 100000: the model has" in proc.stderr


@pytest.mark.parametrize(
    ("command", "out", "expected"),
    [
        ("score", "c.jsonl", "that is an input of this command"),
        ("score", "corpus/table.csv", "would be read as part of the corpus"),
        ("tasks", "c.jsonl", "that is an input of this command"),
        ("export", "labels.sqlite", "that is an input of this command"),
        ("examples", "c.jsonl", "that is an input of this command"),
        ("probes", "c.jsonl", "that is an input of this command"),
        ("html", "c.jsonl", "html writes a web page; give a name ending in .html"),
        ("html", "/dev/null", "html writes a web page"),
        ("html", "pipe.html", "it is a device or FIFO"),
        ("tasks", "/dev/null", "unknown output format"),
        ("examples", "pipe.csv", "it is a device or FIFO"),
    ],
)
def test_an_output_that_is_an_input_is_refused_even_with_force(
    tmp_path: Path, command: str, out: str, expected: str
) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("Some text.")
    (tmp_path / "c.jsonl").write_text('{"text": "Some text."}\n')
    (tmp_path / "labels.sqlite").write_bytes(b"")
    os.mkfifo(tmp_path / "pipe.html")  # an output that is not a file: never replaced
    os.mkfifo(tmp_path / "pipe.csv")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    if command == "export":
        args = ["annotations", "export", "--db", "labels.sqlite", "--out", out, "--force"]
    else:
        corpus = "corpus" if out.startswith("corpus/") else "c.jsonl"
        args = [command, corpus, "--out", out, "--force", "--model", "no-such-model-here"]
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2 and expected in proc.stderr, proc.stderr
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    ("command", "out", "expected"),
    [
        ("score", "table.xlsx", "unknown output format '.xlsx'"),
        ("score", "no-folder/table.parquet", "no folder no-folder"),
        ("tasks", "table.xlsx", "unknown output format '.xlsx'"),
        ("tasks", "no-folder/t.csv", "no folder no-folder"),
    ],
)
def test_outputs_are_checked_before_the_model_is_loaded(
    tmp_path: Path, command: str, out: str, expected: str
) -> None:
    """The model does not exist: an output error first proves no model was loaded."""
    (tmp_path / "c.txt").write_text("Some text.")
    proc = run_cli(command, "c.txt", "--out", out, "--model", "./no-such-model", cwd=tmp_path)
    assert proc.returncode == 2 and expected in proc.stderr, proc.stderr


def test_written_files_get_the_umask_permissions_not_0600(tmp_path: Path) -> None:
    from inspector.files import atomic_dir
    from inspector.tables.schema import write_table

    old = os.umask(0o022)
    try:
        table = pl.DataFrame({"doc_id": ["a"]})
        write_table(table, tmp_path / "t.parquet", {})
        write_table(table, tmp_path / "t.csv", {})
        with atomic_dir(tmp_path / "folder") as tmp:
            (tmp / "x").write_text("x")
    finally:
        os.umask(old)

    def mode(p: Path) -> int:
        return stat.S_IMODE(p.stat().st_mode)

    assert mode(tmp_path / "t.parquet") == 0o644
    assert mode(tmp_path / "t.csv") == mode(tmp_path / "t.csv.settings.json") == 0o644
    assert mode(tmp_path / "folder") == 0o755


def test_a_dangling_link_at_out_is_there_too(tmp_path: Path) -> None:
    from inspector.errors import ExportError
    from inspector.files import check_new_file

    link = tmp_path / "out.csv"
    link.symlink_to(tmp_path / "gone.csv")
    with pytest.raises(ExportError, match="exists"):
        check_new_file(link)
    check_new_file(link, force=True)  # with --force it may go
