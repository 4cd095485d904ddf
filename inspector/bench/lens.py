"""What the logit lens costs (`L` in the app, `run/depth.py`): the lens at the last target of
contexts of 100 to 1,000 tokens of the bundled prose, beside a plain forward pass of the same
context, best of 3; the difference is the hidden states kept and the head over every layer.
And the step the app pays as the cursor moves on: the same target read from the document's
kept cache (`run/depth.document_lens`), already read up to the target before it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from inspector.bench.asking import REPEATS, best_ms

CONTEXTS = (100, 500, 1000)


def measure_lens(model: str, device: str, cache_dir: Path) -> list[dict[str, Any]]:
    import torch

    from corpora import bundled_path, read_corpus
    from inspector.lm.loading import load_model
    from inspector.run.depth import document_lens, target_depth

    lm = load_model(model, cache_dir, device)
    text = "\n\n".join(d.text for d in read_corpus([bundled_path() / "prose"]))
    ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    rows = []
    for n in CONTEXTS:
        n = min(n, len(ids), lm.context_length)
        plain_ids = torch.tensor([[lm.prefix_id, *ids[: n - 1]]], device=lm.device)

        def plain(x: Any = plain_ids) -> None:
            with torch.inference_mode():
                lm.model(input_ids=x, use_cache=False, logits_to_keep=1)

        plain()  # warm up
        lens = best_ms(lambda n=n: target_depth(lm, ids, n - 1, n))
        step = float("inf")
        for _ in range(REPEATS):  # a lens kept up to the target before: the next one's cost
            kept = document_lens(lm, ids)
            target_depth(lm, ids, n - 2, n - 1, kept)
            started = time.perf_counter()
            target_depth(lm, ids, n - 1, n, kept)
            step = min(step, 1000 * (time.perf_counter() - started))
        rows.append({"context_tokens": n, "lens_ms": lens, "forward_ms": best_ms(plain),
                     "step_ms": step, "layers": int(lm.model.config.num_hidden_layers)})  # fmt: skip
    return rows


def format_lens(rows: list[dict[str, Any]], device: str) -> str:
    layers = rows[0]["layers"] if rows else 0
    lines = [
        f"the logit lens (L): one target, {layers} layers, {device}, best of {REPEATS}",
        f"{'context tokens':>14} {'lens ms':>9} {'forward ms':>11} {'ratio':>6} {'next target ms':>15}",
    ]
    lines += [
        f"{r['context_tokens']:>14,} {r['lens_ms']:>9,.0f} {r['forward_ms']:>11,.0f} "
        f"{r['lens_ms'] / max(r['forward_ms'], 1e-9):>5.2f}x {r['step_ms']:>15,.0f}"
        for r in rows
    ]
    lines.append("(lens: the forward pass keeping every layer's hidden states, then the final "
                 "norm and head over every layer at the target; forward: a plain pass; next "
                 "target: the app's L one target on, from the document's kept cache)")  # fmt: skip
    return "\n".join(lines)
