"""The per-task table as people read it (issue 13, item 18)."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

from conftest import run_cli
from inspector import cli
from inspector.tables.render import fit_width, render


def _table() -> pl.DataFrame:
    return pl.DataFrame(
        {"task": ["grammar", "all"], "tokens": [3, 4], "median_rank": [11.0, 2.5],
         "mean_nll": [1.0, 2.0], "mean_entropy": [3.0, 3.1], "loss_share": [0.5, 1.0]}
    )  # fmt: skip


def test_median_rank_reads_as_a_rank() -> None:
    text = render(_table(), "table")
    assert " 11 " in text + " " and "2.5" in text and "11.0000" not in text


def test_the_aligned_table_fits_the_width_dropping_the_least_needed_first() -> None:
    table = _table()
    narrow, dropped = fit_width(table, 40)
    assert max(len(line) for line in render(narrow, "table").splitlines()) <= 40
    assert dropped[0] == "mean_entropy" and "mean_nll" in narrow.columns
    assert fit_width(table, 500) == (table, [])


def test_usage_and_the_note_on_chosen_tasks(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["tasks", "--help"])
    assert "--by task|doc|task,doc" in capsys.readouterr().out
    (tmp_path / "c.txt").write_text("Biden married Neilia Hunter, a student.")
    args = ["tasks", "c.txt", "--model", str(tiny_model_dir), "--cache-dir", "cache"]
    proc = run_cli(*args, "--task", "grammar", "--task", "punctuation", cwd=tmp_path)
    assert "shares are of the tasks chosen (grammar, punctuation)" in proc.stdout


def test_a_terminal_gets_a_table_that_fits(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    corpus = tmp_path / "c.txt"
    corpus.write_text("Biden married Neilia Hunter, a student.")
    out = Terminal()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setenv("COLUMNS", "80")
    code = cli.main(["tasks", str(corpus), "--model", str(tiny_model_dir),
                     "--cache-dir", str(tmp_path / "cache")])  # fmt: skip
    assert code == 0
    lines = out.getvalue().splitlines()
    table = lines[lines.index("") + 1 :]
    assert max(len(line) for line in table if line) <= 80
    assert any(line.startswith("left out to fit this terminal:") for line in lines)
