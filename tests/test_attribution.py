"""Attribution of a target's log-probability to its context (issue 35): occlusion equals a
brute-force loop of forward passes; gradient x input equals a finite difference."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch

from inspector.lm.attribution import gradient_x_input, occlusion, target_nll

IDS = [0, 5, 17, 9, 33, 2, 41, 8, 19, 27, 3, 11]
TARGET = 23


def _nll(model, ids: list[int], target: int) -> float:  # type: ignore[no-untyped-def]
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([ids])).logits[0, -1]
    return float(-torch.log_softmax(logits.double(), -1)[target])


def test_occlusion_equals_a_brute_force_loop(tiny_lm) -> None:  # type: ignore[no-untyped-def]
    ids = [tiny_lm.prefix_id, *IDS[1:]]
    got = occlusion(tiny_lm, ids, TARGET)
    base = _nll(tiny_lm.model, ids, TARGET)
    assert got.nll == pytest.approx(base, abs=1e-6) and np.isnan(got.scores[0])
    for j in range(1, len(ids)):
        without = ids[:j] + ids[j + 1 :]
        assert got.scores[j] == pytest.approx(_nll(tiny_lm.model, without, TARGET) - base, abs=1e-5)
    # a word's pieces removed together: one pass, its score on each of them
    words = occlusion(tiny_lm, ids, TARGET, groups=[[1, 2], [3], [4, 5, 6]])
    pair = _nll(tiny_lm.model, ids[:1] + ids[3:], TARGET) - base
    assert words.scores[1] == words.scores[2] == pytest.approx(pair, abs=1e-5)
    assert np.isnan(words.scores[7:]).all()  # not in any group: not measured


def test_gradient_x_input_equals_a_finite_difference(tiny_lm) -> None:  # type: ignore[no-untyped-def]
    model = copy.deepcopy(tiny_lm.model).double()
    lm = replace(tiny_lm, model=model, dtype=torch.float64)
    ids = [tiny_lm.prefix_id, *IDS[1:]]
    got = gradient_x_input(lm, ids, TARGET)
    assert got.nll == pytest.approx(target_nll(lm, ids, TARGET), abs=1e-6)
    embeds = model.get_input_embeddings()(torch.tensor([ids])).detach()

    def logprob(scale: float, j: int) -> float:
        e = embeds.clone()
        e[0, j] *= scale
        with torch.inference_mode():
            logits = model(inputs_embeds=e).logits[0, -1]
        return float(torch.log_softmax(logits, -1)[TARGET])

    # d/da log p(target | e_j (1 + a)) at a = 0 is grad . e_j. The model's RMSNorm computes
    # in float32 even in a float64 model, so the step is large (1e-2; a central difference's
    # error is of order step^2) and the tolerance float32's
    eps = 1e-2
    for j in range(1, len(ids)):
        numeric = (logprob(1 + eps, j) - logprob(1 - eps, j)) / (2 * eps)
        assert got.scores[j] == pytest.approx(numeric, rel=2e-3, abs=2e-6)
    assert np.isnan(got.scores[0])  # the document-start token is not attributed


def test_top_contributors_and_distances(tiny_lm) -> None:  # type: ignore[no-untyped-def]
    ids = [tiny_lm.prefix_id, *IDS[1:]]
    got = occlusion(tiny_lm, ids, TARGET)
    assert got.distance.tolist() == list(range(len(ids), 0, -1))  # the last token: 1 back
    top = got.top(3)
    assert len(top) == 3 and all(abs(top[i][1]) >= abs(top[i + 1][1]) for i in range(2))
    assert 0 not in [j for j, _ in top]


def test_several_targets_of_one_input_are_each_their_own_gradient(tiny_lm) -> None:  # type: ignore[no-untyped-def]
    from inspector.lm.attribution import gradient_x_input_at

    ids = [tiny_lm.prefix_id, *IDS[1:]]
    positions = [3, 7, len(ids) - 1]
    targets = [ids[4], ids[8], TARGET]
    scores, nll = gradient_x_input_at(tiny_lm, ids, positions, targets)
    for i, (p, t) in enumerate(zip(positions, targets, strict=True)):
        alone = gradient_x_input(tiny_lm, ids[: p + 1], t)  # the same target, its own context
        np.testing.assert_allclose(scores[i, 1 : p + 1], alone.scores[1:], rtol=1e-4, atol=1e-7)
        assert (scores[i, p + 1 :] == 0).all()  # causal: nothing after the position
        assert nll[i] == pytest.approx(alone.nll, abs=1e-5)
