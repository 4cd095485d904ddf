"""The logit lens (issue 35): after the last layer it is the model's own prediction, to
1e-5, at every target, windows of long documents included; each earlier layer is the final
norm and head on that layer's residual stream; the settled layer and the tuned lens."""

from __future__ import annotations

import numpy as np
import pytest

from corpora import Document
from inspector.errors import ModelError
from inspector.lm.config import ScoreConfig
from inspector.lm.lens import Depth, final_norm, logit_lens, target_context
from inspector.run.tokens import TableScorer

TEXT = "Biden married Neilia Hunter, a student. The Danube flows into the Black Sea."


def _check_last_layer(lm, table, atol: float = 1e-5) -> None:  # type: ignore[no-untyped-def]
    """At every target, the lens's last layer, read from the tokens the target saw, is the
    scored nll, rank and first candidate."""
    tokens = table["token_id"].to_list()
    for row in table.iter_rows(named=True):
        context = target_context(lm.prefix_id, tokens, row["pos"], row["ctx_len"])
        assert len(context) == row["ctx_len"]
        depth = logit_lens(lm, context, [len(context) - 1], [tokens[row["pos"]]])
        assert abs(depth.nll[0, -1] - row["nll"]) < atol, row["pos"]
        assert depth.rank[0, -1] == row["rank"] and depth.top_id[0, -1] == row["top_ids"][0]


def test_the_last_layer_is_the_models_own_prediction(tiny_lm) -> None:
    _check_last_layer(tiny_lm, TableScorer(tiny_lm).score([Document("d", TEXT)]))


def test_every_window_of_a_long_document_is_read_as_it_was_scored(tiny_lm) -> None:
    """Windows of 16, stride 5: later targets saw fewer tokens than their position."""
    scorer = TableScorer(tiny_lm, ScoreConfig(window=16, stride=5))
    table = scorer.score([Document("long", " ".join([TEXT] * 3))])
    assert (table["ctx_len"] < table["pos"] + 1).any()
    _check_last_layer(tiny_lm, table)


def test_each_layer_is_the_norm_and_head_on_its_stream(tiny_lm) -> None:
    import torch

    tok = tiny_lm.tokenizer
    ids = [tiny_lm.prefix_id, *tok(TEXT, add_special_tokens=False)["input_ids"]]
    positions, targets = list(range(len(ids) - 1)), ids[1:]
    depth = logit_lens(tiny_lm, ids, positions, targets)
    model = tiny_lm.model
    with torch.inference_mode():
        states = model(torch.tensor([ids]), output_hidden_states=True).hidden_states
        first = torch.log_softmax(model.lm_head(final_norm(model)(states[1][0, :-1])), -1)
    want = -first[torch.arange(len(targets)), torch.tensor(targets)].double().numpy()
    assert depth.layers == model.config.num_hidden_layers
    assert np.allclose(depth.nll[:, 0], want, atol=1e-5)
    assert (depth.top_id[:, 0] == first.argmax(-1).numpy()).all()


def test_the_settled_layer_is_where_top_1_begins_and_stays() -> None:
    rank = np.array([[5, 1, 1, 1], [1, 1, 3, 1], [1, 2, 1, 2], [9, 9, 9, 9], [1, 1, 1, 1]])
    depth = Depth(np.zeros(5, dtype=np.int64), rank, np.zeros(rank.shape), np.zeros(rank.shape))
    assert depth.settled().tolist() == [2, 4, 0, 0, 1]


def test_a_tuned_lens_translates_each_layer_but_the_last(tiny_lm) -> None:
    ids = [tiny_lm.prefix_id, 5, 6, 7, 8]
    plain = logit_lens(tiny_lm, ids, [1, 2, 3], [6, 7, 8])
    layers = plain.layers
    same = logit_lens(tiny_lm, ids, [1, 2, 3], [6, 7, 8], tuned=[lambda h: h] * (layers - 1))
    assert np.allclose(same.nll, plain.nll)
    doubled = logit_lens(tiny_lm, ids, [1, 2, 3], [6, 7, 8], tuned=[lambda h: 2 * h] * (layers - 1))
    assert np.allclose(doubled.nll[:, -1], plain.nll[:, -1])  # the last layer is the model's
    with pytest.raises(ModelError, match="needs 1 translators"):
        logit_lens(tiny_lm, ids, [1], [6], tuned=[])


def test_a_target_context_is_the_tokens_it_saw() -> None:
    assert target_context(0, [10, 11, 12, 13], 0, 1) == [0]
    assert target_context(0, [10, 11, 12, 13], 3, 4) == [0, 10, 11, 12]
    assert target_context(0, [10, 11, 12, 13], 3, 2) == [11, 12]
    with pytest.raises(ValueError):
        target_context(0, [10, 11], 1, 3)


@pytest.mark.embedded
def test_the_embedded_models_last_layer_is_its_prediction(embedded_lm) -> None:
    table = TableScorer(embedded_lm).score([Document("d", TEXT)])
    # the scorer's batched forward pass and a plain one of the 135M model differ in float32
    # by up to ~1.3e-5 nats here (measured); the project's parity bound with a plain pass
    _check_last_layer(embedded_lm, table, atol=1e-4)
    context = target_context(embedded_lm.prefix_id, table["token_id"].to_list(), 3, 4)
    depth = logit_lens(embedded_lm, context, [3], [int(table["token_id"][3])])
    assert depth.layers == 30 and depth.rank.shape == (1, 30)


def test_the_document_lens_equals_a_fresh_pass_in_any_order(tiny_lm) -> None:  # type: ignore[no-untyped-def]
    """The app's cached lens (extended, or cut to an earlier position) is the plain lens."""
    import numpy as np

    from inspector.lm.lens import DocumentLens, logit_lens

    rng = np.random.default_rng(0)
    ids = [tiny_lm.prefix_id, *rng.integers(3, 200, 40).tolist()]
    lens = DocumentLens(tiny_lm, ids)
    for q in [5, 30, 2, 0, 31, 17, 39, 39]:  # forwards, back, the start, the same twice
        target = ids[q + 1] if q + 1 < len(ids) else 7
        cached = lens.at(q, target)
        fresh = logit_lens(tiny_lm, ids[: q + 1], [q], [target])
        np.testing.assert_allclose(cached.nll, fresh.nll, atol=1e-5)
        assert (cached.rank == fresh.rank).all() and (cached.top_id == fresh.top_id).all()
    assert lens.length == 39  # the furthest position asked, read once
