"""Hostile and damaged model folders: refused in one line, nothing in them is run (issue 12).

Security first: a folder asking for its own code, pickles, garbage weights, a converted copy
damaged in the cache, weights that give NaN. Each case once failed with a prompt, a traceback
or `loss nan` with exit 0.
"""

from __future__ import annotations

import ast
import json
import os
import pickle
import shutil
import struct
from pathlib import Path

import pytest

from conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]


def _variant(base: Path, where: Path, name: str) -> Path:
    folder = where / name
    shutil.copytree(base, folder)
    return folder


def _one_line_error(proc: object) -> str:
    assert proc.returncode == 2, proc.stderr  # type: ignore[attr-defined]
    lines = proc.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1, proc.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in proc.stderr  # type: ignore[attr-defined]
    return lines[0]


class _Evil:
    """A pickle that would create a file when loaded by a plain `pickle.load`."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.target}",))


@pytest.mark.parametrize("config_file", ["config.json", "tokenizer_config.json"])
def test_a_folder_that_asks_to_run_its_own_code_is_refused_without_a_prompt(
    tiny_model_dir: Path, tmp_path: Path, config_file: str
) -> None:
    folder = _variant(tiny_model_dir, tmp_path, "remote")
    marker = tmp_path / "PWNED"
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    config = json.loads((folder / config_file).read_text())
    config["auto_map"] = {
        "AutoConfig": "evil.C",
        "AutoModelForCausalLM": "evil.M",
        "AutoTokenizer": ["evil.T", None],
    }
    (folder / config_file).write_text(json.dumps(config))
    proc = run_cli("score", "--model", str(folder), "--cache-dir", str(tmp_path / "cache"))
    line = _one_line_error(proc)
    assert "auto_map" in line and "never runs" in line
    assert not marker.exists()


def test_every_transformers_load_passes_trust_remote_code_false() -> None:
    """Belt and braces: the pre-check above refuses such folders, and transformers is never
    left to decide (it prompts on a terminal when the argument is missing). Read from the
    syntax tree, so a call split over lines is checked as one call."""
    calls = 0
    for path in (ROOT / "inspector").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr != "from_pretrained":
                continue
            calls += 1
            given = {k.arg: k.value for k in node.keywords}
            value = given.get("trust_remote_code")
            assert isinstance(value, ast.Constant) and value.value is False, (
                f"{path}:{node.lineno}: from_pretrained without trust_remote_code=False"
            )
    assert calls >= 4  # the folder load (tokenizer, model) and the GGUF conversion (both)


@pytest.mark.parametrize("kind", ["garbage-safetensors", "random-bin", "malicious-bin"])
def test_damaged_or_malicious_weights_are_one_line_and_never_run(
    tiny_model_dir: Path, tmp_path: Path, kind: str
) -> None:
    folder = _variant(tiny_model_dir, tmp_path, kind)
    marker = tmp_path / "PWNED"
    if kind == "garbage-safetensors":
        (folder / "model.safetensors").write_bytes(os.urandom(4096))
    else:
        (folder / "model.safetensors").unlink()
        payload = os.urandom(4096) if kind == "random-bin" else pickle.dumps({"w": _Evil(marker)})
        (folder / "pytorch_model.bin").write_bytes(payload)
    proc = run_cli("score", "--model", str(folder), "--cache-dir", str(tmp_path / "cache"))
    line = _one_line_error(proc)
    assert str(folder) in line
    assert not marker.exists()


def _nan_weights(folder: Path) -> None:
    """Overwrite half the tensor data of model.safetensors with 0xFF (a NaN in float32),
    leaving its header intact so the file still opens."""
    weights = folder / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    start = 8 + struct.unpack("<Q", raw[:8])[0]
    half = (len(raw) - start) // 2
    raw[start : start + half] = b"\xff" * half
    weights.write_bytes(bytes(raw))


def test_nan_logits_are_an_error_naming_the_model_never_rank_one(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    folder = _variant(tiny_model_dir, tmp_path, "nan")
    _nan_weights(folder)
    proc = run_cli("score", "--model", str(folder), "--cache-dir", str(tmp_path / "cache"))
    line = _one_line_error(proc)
    assert "non-finite" in line and str(folder) in line


def test_a_converted_copy_damaged_in_the_cache_is_converted_again(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The safetensors copy of a GGUF model is checked against the hash recorded when it was
    made; 0xFF written into its tensor data (header intact, so it still opens) is noticed."""
    from inspector.lm import loading

    conversions: list[Path] = []

    def fake_convert(source: loading.ModelSource, out: Path) -> None:
        conversions.append(out)
        for name in ("config.json", "model.safetensors"):
            shutil.copy(tiny_model_dir / name, out / name)

    monkeypatch.setattr(loading, "_convert_gguf", fake_convert)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF-not-really")
    cache = tmp_path / "cache"
    source = loading.resolve_model(str(gguf), cache)
    folder, converted = loading._converted_gguf(source, cache)
    assert converted and len(conversions) == 1
    assert loading._converted_gguf(source, cache) == (folder, False)  # sound: kept
    _nan_weights(folder)
    assert loading._converted_gguf(source, cache) == (folder, True)  # damaged: made again
    assert len(conversions) == 2
    assert (folder / "model.safetensors").read_bytes() == (
        tiny_model_dir / "model.safetensors"
    ).read_bytes()


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p.mkdir(), "no config.json"),
        (lambda p: p.write_bytes(os.urandom(64)), "not a .gguf model"),
        (lambda p: None, "no such file or folder"),
    ],
)
def test_a_local_path_that_is_not_a_model_is_not_called_a_hub_id(
    tmp_path: Path, make: object, expected: str
) -> None:
    from inspector.errors import ModelError
    from inspector.lm.sources import resolve_model

    path = tmp_path / "not-a-model"
    make(path)  # type: ignore[operator]
    with pytest.raises(ModelError) as e:
        resolve_model(str(path), tmp_path / "cache")
    assert expected in str(e.value)
    assert "hf download" not in str(e.value)
