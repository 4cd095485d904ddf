"""Tiny models made here for measuring and trying things without a download: a byte-level
BPE tokenizer trained on given texts (shared by `bench --parses` and
`scripts/tiny_series.py`)."""

from __future__ import annotations

from typing import Any


def byte_bpe(texts: list[str], vocab: int) -> Any:
    """A byte-level BPE of `vocab` pieces trained on `texts`, with `<s>` and `</s>`, as a
    transformers tokenizer (every text is covered: the 256 bytes are in its alphabet)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        special_tokens=["<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>")
