"""What the command line says (issue 13, items 16, 17 and 19)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import run_cli
from inspector import cli


def test_the_download_hint_names_the_client_that_is_installed() -> None:
    from inspector.errors import ModelError
    from inspector.lm.sources import resolve_model

    with pytest.raises(ModelError, match=r"hf download no-such-org/model"):
        resolve_model("no-such-org/model", Path("/nonexistent-cache"))
    assert (Path(sys.executable).parent / "hf").exists()  # huggingface_hub's CLI today


def test_an_option_a_command_lacks_names_that_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        cli.main(["browse", "x.txt", "--no-cache"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "inspector: error: unrecognized arguments: --no-cache (see inspector browse --help)"
    ]


def test_a_re_tag_only_run_does_not_claim_a_scoring_speed(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from taggers.rules import default_rules_path

    (tmp_path / "c.txt").write_text("Biden married Neilia Hunter, a student.")
    common = ["c.txt", "--model", str(tiny_model_dir), "--cache-dir", "cache"]
    first = run_cli("score", *common, cwd=tmp_path)
    assert first.returncode == 0 and "tokens/s" in first.stdout
    rules = tmp_path / "rules.toml"
    rules.write_text(
        default_rules_path().read_text().replace('task = "arbitrary"', 'task = "other"')
    )
    again = run_cli("score", *common, "--rules", str(rules), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    line = next(ln for ln in again.stdout.splitlines() if ln.startswith("time"))
    assert "scores from cache; tagged again in" in line and "tokens/s" not in line


def test_the_conversion_message_says_how_long_it_takes(tmp_path: Path) -> None:
    """It said "a few seconds"; the embedded model's conversion takes about 20 s (README)."""
    from inspector.lm import loading

    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    text = loading._converting_message(loading.resolve_model(str(gguf), tmp_path))
    assert "about 20 s" in text and "a few seconds" not in text
