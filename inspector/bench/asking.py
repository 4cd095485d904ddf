"""How fast the app answers a question about continuations (`p`): after prefixes of 16 to
1,024 tokens of the bundled corpus, three candidates (one to three pieces); cold (the prefix
read with the question) and warm (the prefix read while the question is typed, as the app
does: only the candidates are left to read), best of 3; beside them the plain way, one whole
forward pass per candidate."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

CONTEXTS = (16, 128, 512, 1024)
CANDIDATES = [" Baku", " London", " the capital city"]
REPEATS = 3


def _prefix(lm: Any, tokens: int) -> str:
    """About `tokens` tokens of the bundled prose, cut at a token boundary."""
    from corpora import bundled_path, read_corpus

    text = "\n\n".join(d.text for d in read_corpus([bundled_path() / "prose"]))
    ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"][: tokens - 1]
    return str(lm.tokenizer.decode(ids))


def best_ms(fn: Any) -> float:
    """The fastest of REPEATS calls of `fn`, in milliseconds."""
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return 1000 * best


def _plain(lm: Any, prefix: str) -> None:
    """Each candidate scored the plain way: the whole sequence through the model."""
    import torch

    ctx = [lm.prefix_id, *lm.tokenizer(prefix, add_special_tokens=False)["input_ids"]]
    for c in CANDIDATES:
        ids = ctx + lm.tokenizer(c, add_special_tokens=False)["input_ids"]
        with torch.inference_mode():
            torch.log_softmax(lm.model(torch.tensor([ids], device=lm.device)).logits.float(), -1)


def measure_asking(model: str, device: str, cache_dir: Path) -> list[dict[str, Any]]:
    from inspector.lm.continuations import Asker
    from inspector.lm.loading import load_model

    lm = load_model(model, cache_dir, device)
    Asker(lm).ask("warm up", CANDIDATES)
    rows = []
    for n in CONTEXTS:
        prefix = _prefix(lm, n)
        first = best_ms(lambda p=prefix: Asker(lm).ask(p, CANDIDATES))
        asker = Asker(lm)
        asker.read(prefix)  # what the app does while the question is typed
        again = best_ms(lambda p=prefix, a=asker: a.ask(p, CANDIDATES))
        plain = best_ms(lambda p=prefix: _plain(lm, p))
        rows.append({"context_tokens": n, "first_ms": first, "again_ms": again, "plain_ms": plain})
    return rows


def format_asking(rows: list[dict[str, Any]], device: str) -> str:
    lines = [
        f"asking the model (p): 3 candidates after a prefix, {device}, best of {REPEATS}",
        f"{'prefix tokens':>13} {'cold ms':>9} {'warm ms':>9} {'plain ms':>9}",
    ]
    lines += [
        f"{r['context_tokens']:>13,} {r['first_ms']:>9,.0f} {r['again_ms']:>9,.0f} {r['plain_ms']:>9,.0f}"
        for r in rows
    ]
    lines.append("(cold: the prefix read with the question; warm: read while the question is "
                 "typed, as the app does, then answered; plain: one whole forward pass per candidate)")  # fmt: skip
    return "\n".join(lines)
