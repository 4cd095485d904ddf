"""What keeping each text's spaCy parse saves when runs of several models are compared
(`inspector bench --parses`): three runs of the bundled corpus (made distinct and repeated,
so nothing is tagged twice by accident) by three tiny random-weight models, each with its own
tokenizer (so each run's targets differ and its tags are computed, not read back), scored
into a fresh cache without the kept parses and then with them. Per run: its tokens, the
seconds tagging and in all. Scoring such tiny models costs little, as scoring a larger one on a
GPU would: the tagging is what the comparison waits for (a GPU is not measured here)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from corpora import Document, bundled_path, read_corpus

VOCABS = (300, 600, 1200)  # one tokenizer per run: other pieces, other targets
COPIES = 4  # the bundled corpus this many times, each copy's documents made distinct


def bench_documents(copies: int) -> list[Document]:
    texts = [d.text for d in read_corpus([bundled_path()]) if d.text]
    return [
        Document(f"copy{r}-{i}", f"Copy {r} of document {i}.\n{text}")
        for r in range(copies)
        for i, text in enumerate(texts)
    ]


def _tiny_model(
    folder: Path, texts: list[str], vocab: int, hidden: int = 32, layers: int = 2
) -> Path:
    """A random-weight Llama with a byte-level BPE of `vocab` pieces trained on `texts`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    from transformers.utils import logging

    from inspector.bench.tiny import byte_bpe

    logging.disable_progress_bar()
    tok = byte_bpe(texts, vocab)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=512, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id, tie_word_embeddings=True)  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def measure_parses(copies: int | None = None) -> dict[str, Any]:
    """Per run, without and with the kept parses: tokens, tagging and total seconds; and
    how many texts spaCy parsed in each case."""
    from inspector.lm.loading import load_model
    from inspector.run.score import score_corpus
    from taggers.rules import load_rules

    docs = bench_documents(COPIES if copies is None else copies)
    rules = load_rules()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        texts = [d.text for d in docs]
        lms = [load_model(str(_tiny_model(root / f"m{v}", texts, v)), root / "models", "cpu")
               for v in VOCABS]  # fmt: skip
        score_corpus(docs[:1], lms[0], rules=rules)  # spaCy loaded before anything is timed
        rows = []
        for keep in (False, True):
            cache = root / f"cache-{keep}"
            started = time.perf_counter()
            for vocab, lm in zip(VOCABS, lms, strict=True):
                run = score_corpus(docs, lm, cache_dir=cache, rules=rules, keep_parses=keep)
                rows.append({"parses_kept": keep, "tokenizer_pieces": vocab,
                             "tokens": run.table.height, "tag_s": run.timings["tag_s"],
                             "score_s": run.timings["score_s"], "total_s": run.seconds})  # fmt: skip
            rows[-1]["compare_total_s"] = time.perf_counter() - started
    chars = sum(len(d.text) for d in docs)
    return {"documents": len(docs), "characters": chars, "runs": rows, "ahead": measure_ahead()}


AHEAD_COPIES = 14  # the bundled corpus 14 times: about 220,000 characters, worth the workers
AHEAD_MODEL = {"vocab": 1200, "hidden": 256, "layers": 4}  # slow enough that scoring takes
# about as long as tagging here, as a large model on a GPU scores about as fast as many
# cores tag


def measure_ahead(
    copies: int | None = None, workers: int | None = None, threads: int | None = None
) -> dict[str, Any]:
    """One run of distinct text into a fresh cache, tagged after scoring against parsed in
    `workers` processes while the model scores on `threads` (by default half the cores
    each: the parse needs cores the scoring leaves, as on a GPU's host): seconds scoring,
    tagging after scoring, in all. The workers are started (spaCy loaded) before either is
    timed, as in a session."""
    import os

    import torch

    from inspector.lm.loading import load_model
    from inspector.run.score import score_corpus
    from taggers.rules import load_rules
    from taggers.tagger import TaskTagger

    docs = bench_documents(AHEAD_COPIES if copies is None else copies)
    rules = load_rules()
    cores = os.cpu_count() or 1
    workers = workers or max(1, cores // 2)
    threads = threads or max(1, cores - workers)
    rows, before = [], torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            texts = [d.text for d in docs]
            lm = load_model(str(_tiny_model(root / "m", texts, **AHEAD_MODEL)), root / "models",
                            "cpu")  # fmt: skip
            score_corpus(docs[:2], lm, rules=rules)  # spaCy loaded here, the model warm
            tagger = TaskTagger(rules, parses=root / "warm")
            _start_workers(tagger, texts[: 4 * workers], workers)
            for ahead in (False, True):
                run = score_corpus(docs, lm, cache_dir=root / f"cache-{ahead}", rules=rules,
                                   tag_workers=workers, parse_ahead=ahead)  # fmt: skip
                rows.append({"parse_ahead": ahead, "tokens": run.table.height,
                             "parsed_ahead": int(run.timings["parsed_ahead"]),
                             "score_s": run.timings["score_s"], "tag_s": run.timings["tag_s"],
                             "total_s": run.seconds})  # fmt: skip
    finally:
        torch.set_num_threads(before)
    chars = sum(len(d.text) for d in docs)
    return {"documents": len(docs), "characters": chars, "workers": workers,
            "threads": threads, "cores": cores, "runs": rows}  # fmt: skip


def _start_workers(tagger: Any, texts: list[str], workers: int) -> None:
    """The pool of `workers` that both ways use, started and spaCy loaded in each, untimed:
    the parse ahead of a few texts, however few (the threshold lowered for it)."""
    from taggers import workers as pools

    least, pools.PARALLEL_CHARS = pools.PARALLEL_CHARS, 0
    try:
        tagger.parse_ahead(texts, workers)()
    finally:
        pools.PARALLEL_CHARS = least


def format_ahead(result: dict[str, Any]) -> str:
    off, on = result["runs"]
    return "\n".join([
        f"one run of {result['documents']} distinct documents ({result['characters']:,} "
        f"characters, {off['tokens']:,} tokens) into a fresh cache: scoring on {result['threads']} "
        f"thread(s), {result['workers']} tagging worker(s), {result['cores']} cores",
        "parse ahead  parsed ahead  score s  tag s after scoring  total s",
        *(f"{'yes' if r['parse_ahead'] else 'no':>11}  {r['parsed_ahead']:>12,}  {r['score_s']:7.2f}"
          f"  {r['tag_s']:18.2f}  {r['total_s']:7.2f}" for r in (off, on)),
        f"tagging after scoring {off['tag_s']:.2f} s -> {on['tag_s']:.2f} s; in all "
        f"{off['total_s']:.2f} s -> {on['total_s']:.2f} s ({off['total_s'] / on['total_s']:.2f}x)",
    ])  # fmt: skip


def format_parses(result: dict[str, Any]) -> str:
    lines = [
        f"three runs of one corpus ({result['documents']} documents, {result['characters']:,} "
        "characters), three tokenizers, into a fresh cache",
        "parses kept  tokenizer  tokens  tag s  score s  total s",
    ]
    totals = {}
    for row in result["runs"]:
        lines.append(
            f"{'yes' if row['parses_kept'] else 'no':>11}  {row['tokenizer_pieces']:>9,}"
            f"  {row['tokens']:>6,}  {row['tag_s']:5.2f}  {row['score_s']:7.2f}  {row['total_s']:7.2f}"
        )
        if "compare_total_s" in row:
            totals[row["parses_kept"]] = row["compare_total_s"]
    tag = {k: sum(r["tag_s"] for r in result["runs"] if r["parses_kept"] == k) for k in (0, 1)}
    lines.append(
        f"all three: tagging {tag[0]:.2f} s -> {tag[1]:.2f} s ({tag[0] / tag[1]:.1f}x), "
        f"in all {totals[False]:.2f} s -> {totals[True]:.2f} s ({totals[False] / totals[True]:.2f}x)"
    )
    return "\n".join(lines) + "\n\n" + format_ahead(result["ahead"])
