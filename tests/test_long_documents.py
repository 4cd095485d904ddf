"""One long document: progress while it is scored, in a log as on a terminal (issue 12, 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector import cli, pipeline


@pytest.mark.parametrize("parts", [False, True])
def test_a_long_document_reports_progress_without_a_terminal(
    tiny_model_dir: Path, tmp_path: Path, parts: bool, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setattr(pipeline, "PROGRESS_EVERY", 0.0)  # a line per batch, not per 30 s
    corpus = tmp_path / "long.txt"
    corpus.write_text("x" * 3000)  # no spaces: one word, many windows
    args = ["score", str(corpus), "--model", str(tiny_model_dir), "--window", "16"]
    args += ["--cache-dir", str(tmp_path / "cache"), "--batch-tokens", "64"]
    if parts:
        args += ["--parts", str(tmp_path / "parts")]
    assert cli.main(args) == 0
    lines = [ln for ln in capsys.readouterr().err.splitlines() if "scoring:" in ln]
    assert len(lines) > 3, lines  # capsys' stderr is not a terminal: lines, not a bar
    if not parts:
        assert "of " in lines[-1] and "left" in lines[-1]
