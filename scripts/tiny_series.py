"""Train a series of tiny Llama models of different widths on the bundled corpus, on the
CPU, in a few minutes: real checkpoints (trained, not random weights), so that fitting how
each task's loss scales (`inspector tasks --model A --model B ... --fit`) can be tried here,
without downloading a model family.

    python scripts/tiny_series.py OUT [--widths 16,32,64,128,256] [--steps 200] [--seed 0]

writes OUT/w16, OUT/w32, ... (each a model folder `--model` reads) and prints each model's
parameter count, training loss and time. One byte-level BPE tokenizer (512 pieces, trained
on the same text) is shared by the series, so their nats per token compare directly.

What the series is: models of 2 layers, trained on the 15 bundled documents themselves (the
scores are in-sample: the loss falls with width because a wider model memorises more of the
text in the same steps, not because it generalises better). It exercises the fits, tables
and charts end to end; the scaling of real model families is what they are for.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

VOCAB = 512
CONTEXT = 128  # tokens per training window and the models' positions
LAYERS = 2


def corpus_texts() -> list[str]:
    """The bundled corpus's documents, as `inspector` reads them."""
    from corpora import bundled_path, read_corpus

    return [doc.text for doc in read_corpus([bundled_path()])]


def train_tokenizer(texts: list[str]):  # a transformers tokenizer
    from inspector.bench.tiny import byte_bpe

    return byte_bpe(texts, VOCAB)


def train_one(
    tokenizer, stream, width: int, steps: int, seed: int, out: Path
) -> tuple[int, float, float]:
    """Train one model of `width` on the token `stream`; save it with the tokenizer in
    `out`. Returns (parameters, final training loss, seconds)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=width,
        intermediate_size=4 * width,
        num_hidden_layers=LAYERS,
        num_attention_heads=max(1, width // 16),
        num_key_value_heads=max(1, width // 16),
        max_position_embeddings=CONTEXT,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    params = sum(p.numel() for p in model.parameters())
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser,
        lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s / steps, 1.0))),
    )
    generator = torch.Generator().manual_seed(seed)
    started, loss = time.perf_counter(), float("nan")
    model.train()
    for _ in range(steps):
        starts = torch.randint(0, len(stream) - CONTEXT - 1, (16,), generator=generator)
        batch = torch.stack([stream[s : s + CONTEXT] for s in starts.tolist()])
        result = model(input_ids=batch, labels=batch)
        optimiser.zero_grad()
        result.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        loss = float(result.loss.detach())
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return params, loss, time.perf_counter() - started


def train_series(out: Path, widths: list[int], steps: int, seed: int = 0) -> list[Path]:
    """The series in `out` (one folder per width, `w<width>`), progress on stderr."""
    import torch
    from transformers.utils import logging

    logging.disable_progress_bar()  # its "Writing model shards" bar per save
    texts = corpus_texts()
    tokenizer = train_tokenizer(texts)
    ids: list[int] = []
    for text in texts:  # each document after the document-start token scoring puts first
        ids += [tokenizer.bos_token_id, *tokenizer(text)["input_ids"], tokenizer.eos_token_id]
    stream = torch.tensor(ids, dtype=torch.long)
    folders = []
    for width in widths:
        folder = out / f"w{width}"
        params, loss, seconds = train_one(tokenizer, stream, width, steps, seed, folder)
        print(f"{folder}: {params:,} parameters, training loss {loss:.3f} nats/token after "
              f"{steps} steps, {seconds:.1f} s", file=sys.stderr)  # fmt: skip
        folders.append(folder)
    return folders


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the folder to write the models into")
    parser.add_argument(
        "--widths", default="16,32,64,128,256", help="hidden sizes, comma-separated"
    )
    parser.add_argument("--steps", type=int, default=200, help="training steps per model")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        widths = [int(w) for w in args.widths.split(",")]
    except ValueError:
        parser.error(f"--widths {args.widths!r}: give whole numbers, e.g. 16,32,64")
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} is not empty: give a new folder (nothing there is replaced)")
    train_series(args.out, widths, args.steps, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
