"""`inspector bench --peers`: inspector beside what a CPU user would pick instead, side by side
in one process on the same text and weights.

The text is real and written by nobody here: the licences in /usr/share/common-licenses (on
Debian and Ubuntu), cut at blank lines into documents of at most `DOC_TOKENS` tokens, so
every document fits one window and every way computes the same numbers: the loss of each
token given everything before it in its document, the first from the document-start token.
Per way: tokens/s (best of `repeats`, after a warm-up on the first document) and the total
loss against inspector's float32, with the largest per-token difference; the quantized peers
(llama.cpp on the Q4_1 GGUF, CTranslate2 int8) compute with other weights, and the difference
says by how much.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from corpora import Document, bundled_path, read_corpus
from inspector.bench import peer_engines as peers
from inspector.bench.peer_engines import PeerDoc, PeerMissing, Way
from inspector.lm.config import ScoreConfig
from inspector.lm.loading import LoadedModel, load_model
from inspector.run.score import score_corpus
from inspector.run.tokens import TableScorer

LICENCES = Path("/usr/share/common-licenses")
TOKENS = 20_000  # tokens of text, by default
DOC_TOKENS = 1024  # at most this many tokens a document: one window for every peer


def licence_texts() -> tuple[list[str], str]:
    """The texts to score and where they come from; the bundled prose where no licences are."""
    files = sorted(p for p in LICENCES.glob("*") if p.is_file() and not p.is_symlink())
    if files:
        return [p.read_text("utf-8", errors="replace") for p in files], f"{LICENCES}/*"
    docs = read_corpus([bundled_path()])
    return [d.text for d in docs if d.id.startswith("prose/")], "the bundled prose"


def peer_documents(
    lm: LoadedModel, tokens: int, doc_tokens: int = DOC_TOKENS
) -> tuple[list[PeerDoc], str]:
    """Documents of at most `doc_tokens` tokens, paragraphs kept whole (a longer paragraph is
    left out), about `tokens` in all."""
    texts, origin = licence_texts()
    docs: list[PeerDoc] = []
    total = 0

    def count(text: str) -> int:
        return len(lm.tokenizer(text, add_special_tokens=False)["input_ids"])

    for text in texts:
        current: list[str] = []
        paragraphs = [p.strip("\n") for p in text.split("\n\n") if p.strip()]
        for para in paragraphs:
            if count("\n\n".join([*current, para])) > doc_tokens and current:
                docs.append(_doc(lm, "\n\n".join(current)))
                total += len(docs[-1].ids)
                current = []
            if count(para) <= doc_tokens:
                current.append(para)
            if total >= tokens:
                return docs, origin
        if current:
            docs.append(_doc(lm, "\n\n".join(current)))
            total += len(docs[-1].ids)
        if total >= tokens:
            break
    return docs, origin


def _doc(lm: LoadedModel, text: str) -> PeerDoc:
    ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    return PeerDoc(text, np.asarray(ids, dtype=np.int64))


def _inspector_score(lm: LoadedModel, config: ScoreConfig) -> Way:
    """`inspector score` end to end, no cache: tokenize, window, batch, score, the token
    table, spaCy tags."""

    def run(docs: Sequence[PeerDoc]) -> list[np.ndarray]:
        corpus = [Document(f"d{i:05d}", d.text) for i, d in enumerate(docs)]
        table = score_corpus(corpus, lm, config).table
        parts = table.partition_by("doc_id", maintain_order=True)
        return [part["nll"].to_numpy() for part in parts]

    return run


def _inspector_scoring(lm: LoadedModel, config: ScoreConfig) -> Way:
    """Scoring alone: token ids in; loss, rank, entropy and top-k out (no table, no tags)."""
    scorer = TableScorer(lm, config)

    def run(docs: Sequence[PeerDoc]) -> list[np.ndarray]:
        raw = scorer.score_tokenized(scorer.tokenize([d.text for d in docs]))
        return np.split(raw["nll"], np.cumsum([len(d.ids) for d in docs])[:-1])

    return run


def ways(
    lm: LoadedModel, model: str, cache_dir: Path, threads: int
) -> list[tuple[str, str, Callable[[], Way]]]:
    """(name, the weights it computes with, what builds it) for every way; a peer is built
    only when its turn comes, so a missing one costs nothing."""
    window, config = 2 * DOC_TOKENS, ScoreConfig()
    return [
        ("inspector score", "float32", lambda: _inspector_score(lm, config)),
        ("inspector scoring only", "float32", lambda: _inspector_scoring(lm, config)),
        ("inspector score", "bfloat16",
         lambda: _inspector_score(load_model(model, cache_dir, "cpu", "bfloat16"), config)),
        ("transformers forward + log-softmax", "float32", lambda: peers.transformers_forward(lm)),
        ("lm-eval loglikelihood_rolling", "float32", lambda: peers.lm_eval_rolling(lm, window)),
        ("minicons IncrementalLMScorer", "float32", lambda: peers.minicons_scores(lm)),
        ("llama.cpp (llama-cpp-python)", "Q4_1 GGUF", lambda: peers.llama_cpp(lm, window, threads)),
        ("CTranslate2 score_batch", "int8",
         lambda: peers.ctranslate2_scores(lm, cache_dir, "int8", threads)),
        ("CTranslate2 score_batch", "float32",
         lambda: peers.ctranslate2_scores(lm, cache_dir, "float32", threads)),
    ]  # fmt: skip


def _measure_way(fn: Way, docs: Sequence[PeerDoc], repeats: int) -> tuple[float, list[np.ndarray]]:
    fn(docs[:1])  # warm-up: loads, thread pools, kernels picked
    best, out = float("inf"), []
    for _ in range(repeats):
        started = time.perf_counter()
        out = fn(docs)
        best = min(best, time.perf_counter() - started)
    return best, out


def measure_peers(
    model: str, cache_dir: Path, tokens: int = TOKENS, repeats: int = 1
) -> dict[str, Any]:
    """Every way on the same documents: tokens/s, total loss, differences from inspector's."""
    import torch

    threads = torch.get_num_threads()
    lm = load_model(model, cache_dir, "cpu")
    # every document one window of this model (a small model's may be under DOC_TOKENS)
    docs, origin = peer_documents(lm, tokens, min(DOC_TOKENS, lm.context_length or DOC_TOKENS))
    n = sum(len(d.ids) for d in docs)
    rows: list[dict[str, Any]] = []
    reference: np.ndarray | None = None
    for name, weights, build in ways(lm, model, cache_dir, threads):
        row: dict[str, Any] = {"way": name, "weights": weights}
        try:
            seconds, nll = _measure_way(build(), docs, repeats)
        except PeerMissing as e:
            rows.append({**row, "skipped": str(e)})
            continue
        except Exception as e:  # a peer that breaks is a row that says so, not a crash
            rows.append({**row, "skipped": f"failed: {type(e).__name__}: {_first_line(e)}"})
            continue
        row.update({"seconds": seconds, "tok_s": n / seconds, **_agreement(nll, docs, reference)})
        if reference is None:
            reference = np.concatenate(nll)
        rows.append(row)
    return {
        "model": lm.source.name,
        "text": origin,
        "documents": len(docs),
        "tokens": n,
        "threads": threads,
        "torch": torch.__version__,
        "repeats": repeats,
        "rows": rows,
    }


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:160] if text else ""


def _agreement(
    nll: list[np.ndarray], docs: Sequence[PeerDoc], reference: np.ndarray | None
) -> dict[str, Any]:
    """Total loss, and how far from inspector's float32 it is (per token where a peer gives them)."""
    total = float(sum(float(x.sum()) for x in nll))
    n = sum(len(d.ids) for d in docs)
    out: dict[str, Any] = {"total_nll": total, "nll_per_token": total / n}
    if reference is None:
        return out
    out["total_diff_per_token"] = (total - float(reference.sum(dtype=np.float64))) / n
    per_token = all(len(x) == len(d.ids) for x, d in zip(nll, docs, strict=True))
    if per_token:
        diff = np.abs(np.concatenate(nll) - reference)
        out["max_abs_diff"] = float(diff.max())
        out["mean_abs_diff"] = float(diff.mean())
    return out


def format_peers(r: dict[str, Any]) -> str:
    """The peers table, with the run's settings above it."""
    lines = [
        f"inspector bench --peers: {r['model']}, {r['tokens']:,} tokens in {r['documents']} "
        f"documents of {r['text']} (each one window), CPU, {r['threads']} threads, torch "
        f"{r['torch']}, best of {r['repeats']}",
        f"{'way':<36} {'weights':<10} {'tokens/s':>9} {'vs insp.':>8} {'nll/token':>10} "
        f"{'diff/token':>11} {'max |diff|':>10}",
    ]
    base = next((x["tok_s"] for x in r["rows"] if "tok_s" in x), None)
    for x in r["rows"]:
        head = f"{x['way']:<36} {x['weights']:<10}"
        if "skipped" in x:
            lines.append(f"{head} skipped: {x['skipped']}")
            continue
        diff = x.get("total_diff_per_token")
        worst = x.get("max_abs_diff")
        lines.append(
            f"{head} {x['tok_s']:>9,.0f} {x['tok_s'] / base:>7.2f}x {x['nll_per_token']:>10.5f} "
            f"{'' if diff is None else f'{diff:+.2e}':>11} "
            f"{'' if worst is None else f'{worst:.2e}':>10}"
        )
    lines.append(
        "diff/token: (total nll - inspector float32's) / tokens; max |diff|: the largest "
        "per-token difference (lm-eval gives only document sums)"
    )
    return "\n".join(lines)
