"""Token tables from a scorer's arrays: one row per (document, target token), as DESIGN.md
fixes it (`tables/schema.py`), tokens decoded by the model's tokenizer."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from corpora import Document
from inspector.lm.batching import Tokenized
from inspector.lm.scorer import Scorer
from inspector.tables.schema import SCORE_SCHEMA


class TableScorer(Scorer):
    """A `Scorer` that returns token tables."""

    # -- scoring ----------------------------------------------------------------------
    def score(
        self, docs: Sequence[Document], progress: Callable[[int], None] | None = None
    ) -> pl.DataFrame:
        """The token table of `docs`: one row per (document, target token)."""
        tokenized = self.tokenize([d.text for d in docs])
        raw = self.score_tokenized(tokenized, progress)
        return self.to_table(docs, tokenized, raw)

    # -- the token table ----------------------------------------------------------------
    def vocab(self) -> pl.Series:
        """Each token id decoded on its own (a piece of a character's bytes as those bytes,
        `<0xE6>`: `lm/pieces.py`); ids the tokenizer lacks show as <id N>."""
        if self.lm.vocab is None:  # once per loaded model: decoding 50k ids takes a while
            from inspector.lm.pieces import piece_texts

            tok = self.lm.tokenizer
            size = max(len(tok), int(self.lm.model.config.vocab_size))
            known = piece_texts(tok, range(len(tok)))
            extra = [f"<id {i}>" for i in range(len(tok), size)]
            self.lm.vocab = pl.Series("vocab", known + extra, dtype=pl.String)
        return self.lm.vocab

    def to_table(
        self,
        docs: Sequence[Document],
        tokenized: Sequence[Tokenized],
        raw: dict[str, np.ndarray],
        first: int = 0,
    ) -> pl.DataFrame:
        """Assemble the token table (DESIGN.md) from per-target arrays; `first` is the position
        of the first target when `tokenized` is a range of one document (`slices`)."""
        k = self.config.top_k
        lengths = [len(t.ids) for t in tokenized]
        total = sum(lengths)
        if total == 0:
            return pl.DataFrame(schema=SCORE_SCHEMA)
        token_ids = np.concatenate([t.ids for t in tokenized])
        offsets = np.concatenate([t.offsets for t in tokenized])
        vocab = self.vocab()
        nll = raw["nll"].astype(np.float64)
        top_ids = raw["top_ids"].reshape(-1)
        table = pl.DataFrame(
            {
                "doc_id": pl.Series([d.id for d in docs], dtype=pl.String).gather(
                    np.repeat(np.arange(len(docs)), lengths)
                ),
                "pos": np.concatenate([np.arange(n) for n in lengths]) + first,
                "token_id": token_ids,
                "token": vocab.gather(token_ids),
                "char_start": offsets[:, 0],
                "char_end": offsets[:, 1],
                "nll": nll,
                "prob": np.exp(-nll),
                "rank": raw["rank"],
                "entropy": raw["entropy"].astype(np.float64),
                "top_ids": pl.Series(top_ids).reshape((total, k)),
                "top_tokens": vocab.gather(top_ids).reshape((total, k)),
                "top_probs": pl.Series(np.exp(raw["top_logprobs"].reshape(-1))).reshape((total, k)),
                "ctx_len": raw["ctx_len"],
            }
        )
        return table.cast(SCORE_SCHEMA)  # type: ignore[arg-type]
