"""What attribution costs (`C` in the app, `inspector context`): gradient x input at the last
target of contexts of 100 to 1,000 tokens of the bundled prose, and occlusion of its last
`OCCLUDED` tokens (one batched forward pass per token removed), beside a plain forward pass
of the same context, best of 3."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspector.bench.asking import REPEATS, best_ms

CONTEXTS = (100, 500, 1000)
OCCLUDED = 16  # tokens removed one at a time, nearest the target first


def measure_attribution(model: str, device: str, cache_dir: Path) -> list[dict[str, Any]]:
    import torch

    from corpora import bundled_path, read_corpus
    from inspector.lm.attribution import gradient_x_input, occlusion
    from inspector.lm.loading import load_model

    lm = load_model(model, cache_dir, device)
    text = "\n\n".join(d.text for d in read_corpus([bundled_path() / "prose"]))
    ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    rows = []
    for n in CONTEXTS:
        n = min(n, len(ids), lm.context_length)
        context = [lm.prefix_id, *ids[: n - 1]]
        x = torch.tensor([context], device=lm.device)

        def plain(x: Any = x) -> None:
            with torch.inference_mode():
                lm.model(input_ids=x, use_cache=False, logits_to_keep=1)

        plain()  # warm up
        last = [[j] for j in range(max(1, n - OCCLUDED), n)]
        rows.append({
            "context_tokens": n,
            "gradient_ms": best_ms(lambda c=context, n=n: gradient_x_input(lm, c, ids[n - 1])),
            "occlusion_ms": best_ms(lambda c=context, n=n, g=last: occlusion(lm, c, ids[n - 1], g)),
            "occluded": len(last),
            "forward_ms": best_ms(plain),
        })  # fmt: skip
    return rows


def format_attribution(rows: list[dict[str, Any]], device: str) -> str:
    occluded = rows[0]["occluded"] if rows else 0
    lines = [
        f"attribution (C, inspector context): one target, {device}, best of {REPEATS}",
        f"{'context tokens':>14} {'gradient ms':>12} {'x fwd':>6} "
        f"{f'occlusion of {occluded} ms':>18} {'forward ms':>11}",
    ]
    lines += [
        f"{r['context_tokens']:>14,} {r['gradient_ms']:>12,.0f} "
        f"{r['gradient_ms'] / max(r['forward_ms'], 1e-9):>5.2f}x "
        f"{r['occlusion_ms']:>18,.0f} {r['forward_ms']:>11,.0f}"
        for r in rows
    ]
    lines.append(f"(gradient x input: a forward and a backward pass; occlusion: {occluded} "
                 "forward passes, the nearest tokens removed one at a time, batched; forward: "
                 "a plain pass)")  # fmt: skip
    return "\n".join(lines)
