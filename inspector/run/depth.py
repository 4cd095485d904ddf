"""Where inside the model a prediction forms: the logit lens (`lm/lens.py`) at one target of
a scored document, as a table of layers, for the app's depth screen and the Python API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from inspector.lm.lens import DocumentLens
    from inspector.lm.loading import LoadedModel

BAR = 20  # cells of the bar drawn beside each layer: full at rank 1, empty at the last rank,
# on a log scale (a rank of 100 in a vocabulary of 49,152 fills 57% of it)


@dataclass(frozen=True)
class TargetDepth:
    """The lens at one target: a row per layer, and the layers where it becomes top-1."""

    layers: pl.DataFrame  # layer, rank, p, nll, top (each layer's first candidate), rank bar
    first_top1: int  # the first layer at which the target is top-1 (0: never)
    settled: int  # the first layer from which it stays top-1 to the last (0: never)


def target_depth(lm: LoadedModel, tokens: Sequence[int], pos: int, ctx_len: int,
                 document: DocumentLens | None = None) -> TargetDepth:  # fmt: skip
    """The lens at target `pos` of a document's `tokens`, read from the `ctx_len` tokens it
    saw when scored (its token-table row's): what each layer would predict there. With
    `document` (`document_lens` of these tokens), a target that saw the document from its
    start is read from its kept cache: the first call costs the tokens up to the target,
    later ones only the tokens past the furthest so far."""
    import numpy as np

    from inspector.lm.lens import logit_lens, target_context
    from inspector.lm.pieces import piece_texts
    from inspector.tables.render import bar

    if document is not None and ctx_len == pos + 1 and pos < len(document.ids):
        depth = document.at(pos, tokens[pos])
    else:
        context = target_context(lm.prefix_id, tokens, pos, ctx_len)
        depth = logit_lens(lm, context, [len(context) - 1], [tokens[pos]])
    rank, nll, top = depth.rank[0], depth.nll[0], depth.top_id[0]
    vocab = max(2, int(lm.model.config.vocab_size))
    frame = pl.DataFrame({
        "layer": np.arange(1, depth.layers + 1),
        "rank": rank,
        "p": depth.prob[0],
        "nll": nll,
        "top": [repr(t) for t in piece_texts(lm.tokenizer, top.tolist())],
        "rank by layer": [bar(1 - np.log(r) / np.log(vocab), BAR) for r in rank],
    })  # fmt: skip
    ones = np.flatnonzero(rank == 1)
    return TargetDepth(frame, int(ones[0]) + 1 if len(ones) else 0, int(depth.settled()[0]))


def document_lens(lm: LoadedModel, tokens: Sequence[int]) -> DocumentLens:
    """A lens over one document's first model input (its document-start token, then its
    tokens up to the model's context), its cache kept across `target_depth` calls."""
    from inspector.lm.lens import DocumentLens

    return DocumentLens(lm, [lm.prefix_id, *tokens][: lm.context_length])
