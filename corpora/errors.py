"""What can be wrong with a corpus, each message saying what and what to do (one line)."""

from __future__ import annotations


class CorpusError(Exception):
    """A corpus path or file that cannot be read as documents."""


MESSAGES: dict[str, str] = {
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
    "missing_field": "{path}:{line}: no field '{field}' (fields here: {fields}); choose one with --text-field (or --text-column)",
    "field_not_text": "{path}:{line}: field '{field}' is {kind}, not text; choose another with --text-field",
    "missing_column": "{path}: no column '{column}' (columns: {columns}); choose one with --text-column (or --text-field)",
    "column_not_text": "{path}: column '{column}' has type {dtype}, not text; choose another with --text-column",
    "bad_table": "{path}: cannot be read as {kind} ({reason}); check the file",
    "unknown_format": "{path}: unknown format '{suffix}'; use .txt, .md, .jsonl, .ndjson, .csv, .parquet or .arrow (text, JSONL and CSV also compressed: .gz, .bz2, .xz, .zst)",
    "empty_folder": "{path}: no .txt, .md, .jsonl, .ndjson, .csv, .parquet or .arrow files in this folder",
    "duplicate_id": "document id '{doc_id}' appears twice ({first} and {second}); give each document a unique id",
    "bad_compressed": "{path}: not a complete {kind} stream ({reason}); check or replace the file",
    "bad_arrow": "{path}: cannot be read as Arrow ({reason}); check the file",
    "bad_dataset": "{path}: a datasets folder whose {file} cannot be read ({reason}); save it again with save_to_disk",
    "probe_fields": "{path}:{line}: this probe lacks {missing}; fix that line",
    "probe_types": "{path}:{line}: prefix, expected and task must be text and foils a list of one or more texts; fix that line",
    "probe_candidates": "{path}:{line}: expected and every foil must be non-empty and different; fix that line",
    "probe_duplicate": "{path}:{line}: probe id '{id}' appears twice; give each probe a unique id",
    "probes_folder": "{path}: a folder; give a probe suite file (JSONL, one probe a line)",
    "probes_empty": "{path}: no probes in this file (one JSON object per line)",
    "too_long": "{path}: a document of more than {mb} MB of text, which inspector holds whole "
    "(about 1.5 GB of memory per MB); split it into smaller documents (files or JSONL lines), "
    "or raise the limit with {variable}=MB",
    "corpus_too_big": "{paths}: more than {mb} MB of text, and this command holds a corpus whole "
    "(scored whole: about 1 GB of memory per MB); stream it with score --parts FOLDER, or raise the limit "
    "with {variable}=MB",
    "table_too_long": "{path}: decompresses to more than {mb} MB, and a table is read whole; "
    "give it as JSONL (read line by line) or uncompressed",
    "bad_limit": "{variable}={value} is not a number of MB; set it to one (e.g. 50) or unset it",
    "not_a_file": "{path}: {what}, not a file; give a file or folder",
    "outside_dataset": "{path}: its {file} names {name}, which is not inside the folder; "
    "save it again with save_to_disk",
    "empty_corpus": "the corpus has no text to score ({paths}); give files with some text in them",
}


def message(name: str, /, **fields: object) -> str:
    """The message template `name` filled in with `fields`."""
    return MESSAGES[name].format(**fields)
