"""The README's examples of command output are the real output (issue 34, item 9): each
`$ inspector ...` line of a README block is run as written (on the embedded model, offline;
the error examples on files made to match) and what it prints must be the lines under it,
verbatim, so the two can never drift apart."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from conftest import run_cli

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_examples(command: str) -> list[tuple[str, str]]:
    """(command line, the output shown under it) for every `$ inspector COMMAND ...` line in
    the README's fenced blocks; an output runs to the next `$` line or the block's end."""
    found: list[tuple[str, str]] = []
    block: list[str] | None = None
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            if block is not None:
                found += _split(block, command)
            block = None if block is not None else []
        elif block is not None:
            block.append(line)
    return found


def _split(block: list[str], command: str) -> list[tuple[str, str]]:
    runs: list[tuple[str, list[str]]] = []
    for line in block:
        if line.startswith("$ "):
            runs.append((line[2:], []))
        elif runs:
            runs[-1][1].append(line)
    return [
        (cmd, "\n".join(out).strip("\n") + "\n")
        for cmd, out in runs
        if shlex.split(cmd)[:2] == ["inspector", command]
    ]


# The input files the README's error examples name, made to give those errors
FILES = {
    "broken.jsonl": b'{"text": "ok"}\n{bad: 1}\n',
    "latin1.txt": b"Bonjour \xe0 tous\n",  # the first byte that is not UTF-8 at offset 8
    "notes.txt": b"A note.\n",
    "my_rules.toml": b'# mine\n\n[[rule]]\nname = "x"\ntask = "grammar"\nwhen = { poss = "DET" }\n',
}


@pytest.mark.parametrize(("command", "shown"), readme_examples("score"))
def test_the_readme_error_examples_are_the_real_output(
    command: str, shown: str, tmp_path: Path
) -> None:
    for name, data in FILES.items():
        (tmp_path / name).write_bytes(data)
    result = run_cli(*shlex.split(command)[1:], cwd=tmp_path)
    assert result.returncode == 2 and result.stdout + result.stderr == shown


def test_probabilities_share_one_format_per_column() -> None:
    import polars as pl

    from inspector.tables.render import render

    mixed = render(pl.DataFrame({"prob": [0.1753, 1.76e-4], "nll": [1.7, 8.6]}), "table")
    assert mixed.split() == ["prob", "nll", "1.75e-01", "1.7000", "1.76e-04", "8.6000"]
    plain = render(pl.DataFrame({"prob": [0.5, 0.0012]}), "md")
    assert "| 0.5000 |" in plain and "| 0.0012 |" in plain


def test_the_readme_has_probe_examples() -> None:
    examples = readme_examples("probe")
    assert len(examples) == 2 and all("candidate" in out for _, out in examples)


@pytest.mark.embedded
@pytest.mark.parametrize(
    ("command", "shown"), readme_examples("probe") + readme_examples("examples")
)
def test_the_readme_model_examples_are_the_real_output(
    command: str,
    shown: str,
    embedded_cache: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from inspector.cli import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    args = shlex.split(command)[1:]
    assert main([*args, "--cache-dir", str(embedded_cache), "--device", "cpu"]) == 0
    assert_same_output(capsys.readouterr().out, shown)


def assert_same_output(real: str, shown: str) -> None:
    """`real` is `shown` word for word, each number to within one unit of its last printed
    digit (a model's float sums differ in the last bit with the machine's thread count)."""
    real_lines, shown_lines = real.splitlines(), shown.splitlines()
    assert len(real_lines) == len(shown_lines), real
    for got, want in zip(real_lines, shown_lines, strict=True):
        got_words, want_words = got.split(" "), want.split(" ")
        assert len(got_words) == len(want_words), (got, want)
        for a, b in zip(got_words, want_words, strict=True):
            if a != b:
                assert _number(a) is not None and _number(b) is not None, (got, want)
                assert abs(_number(a) - _number(b)) <= 1.01 * _last_digit(b), (got, want)  # type: ignore[operator]


def _number(word: str) -> float | None:
    try:
        return float(word.rstrip("%,"))
    except ValueError:
        return None


def _last_digit(word: str) -> float:
    """The size of one unit in the last printed digit of `word` (`1.7414` 1e-4, `1.75e-01` 1e-3)."""
    mantissa, _, exponent = word.rstrip("%,").partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def test_output_comparison_allows_the_last_digit_only() -> None:
    assert_same_output("a 1.7413 1.75e-01\n", "a 1.7414 1.76e-01\n")
    for wrong in ("a 1.7411 1.75e-01\n", "b 1.7414 1.75e-01\n", "a 1.7414 1.78e-01\n"):
        with pytest.raises(AssertionError):
            assert_same_output(wrong, "a 1.7414 1.76e-01\n")
