"""Rolling windows: hand-written gold lists, and every target predicted exactly once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.lm.windows import Window, rolling_windows, window_token_lists

P = 0  # the prefix (document-start) token in the gold lists


def test_short_document_is_one_window() -> None:
    assert list(window_token_lists([11, 12, 13], P, window=4, stride=2)) == [
        ([P, 11, 12], [11, 12, 13])
    ]


def test_exact_fit_is_one_window() -> None:
    assert list(window_token_lists([11, 12, 13, 14], P, window=4, stride=2)) == [
        ([P, 11, 12, 13], [11, 12, 13, 14])
    ]


def test_gold_windows_stride_half() -> None:
    tokens = [11, 12, 13, 14, 15, 16, 17, 18, 19]
    assert list(window_token_lists(tokens, P, window=4, stride=2)) == [
        ([P, 11, 12, 13], [11, 12, 13, 14]),
        ([12, 13, 14, 15], [15, 16]),
        ([14, 15, 16, 17], [17, 18]),
        ([15, 16, 17, 18], [19]),  # the last window keeps a full context
    ]


def test_gold_windows_stride_one() -> None:
    assert list(window_token_lists([11, 12, 13, 14, 15], P, window=3, stride=1)) == [
        ([P, 11, 12], [11, 12, 13]),
        ([11, 12, 13], [14]),
        ([12, 13, 14], [15]),
    ]


def test_gold_window_records() -> None:
    assert list(rolling_windows(7, window=4, stride=2)) == [
        Window(0, 4, 4),
        Window(2, 6, 2),
        Window(3, 7, 1),
    ]


def test_empty_document_has_no_windows() -> None:
    assert list(rolling_windows(0, window=4, stride=2)) == []


def test_gold_windows_stride_whole_window() -> None:
    # disjoint windows, as lm-eval's loglikelihood_rolling cuts them: a later window's first
    # target is predicted from one token
    tokens = [11, 12, 13, 14, 15, 16, 17, 18, 19]
    assert list(window_token_lists(tokens, P, window=4, stride=4)) == [
        ([P, 11, 12, 13], [11, 12, 13, 14]),
        ([14, 15, 16, 17], [15, 16, 17, 18]),
        ([15, 16, 17, 18], [19]),
    ]


@pytest.mark.parametrize(("window", "stride"), [(1, 1), (4, 0), (4, 5), (8, 9)])
def test_bad_window_settings_are_refused(window: int, stride: int) -> None:
    with pytest.raises(ValueError):
        list(rolling_windows(10, window, stride))


@given(
    n=st.integers(min_value=0, max_value=300),
    window=st.integers(min_value=2, max_value=64),
    data=st.data(),
)
def test_every_target_predicted_exactly_once(n: int, window: int, data: st.DataObject) -> None:
    stride = data.draw(st.integers(min_value=1, max_value=window))
    tokens = list(range(100, 100 + n))
    predicted: list[int] = []
    windows = list(rolling_windows(n, window, stride))
    for (inputs, targets), w in zip(
        window_token_lists(tokens, P, window, stride), windows, strict=True
    ):
        assert 1 <= len(inputs) <= window
        assert len(targets) == w.n_targets <= len(inputs)
        seq = [P, *tokens]
        # each scored prediction's input position is followed, in the full sequence, by its target
        for j, target in enumerate(targets):
            i = w.end - w.n_targets + j  # sequence index of the predicting input
            assert seq[i + 1] == target
            if w.start > 0:  # later windows: at least window - stride + 1 tokens of context
                assert i - w.start + 1 >= window - stride + 1
        predicted.extend(targets)
    assert predicted == tokens
