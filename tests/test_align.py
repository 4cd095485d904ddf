"""Alignment of model tokens to words: gold lists, and properties on arbitrary Unicode."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taggers.align import WHITESPACE, Alignment, align

NLP = spacy.blank("en")


def words_of(text: str) -> list[tuple[int, int]]:
    return [(t.idx, t.idx + len(t.text)) for t in NLP(text)]


def test_gold_alignment_with_spaces_and_byte_pieces() -> None:
    text = "Café 日本 😀  two"
    # spans as a byte-level BPE gives them: leading spaces included, byte pieces share a character
    spans = [(0, 3), (3, 4), (4, 6), (5, 6), (5, 6), (6, 7), (7, 9), (8, 9), (9, 10), (10, 14)]
    words = words_of(text)  # Café, 日本, 😀, " ", two
    assert [text[s:e] for s, e in words] == ["Café", "日本", "😀", " ", "two"]
    assert align(text, spans, words) == [
        Alignment(0, 0, 4, True),  # Caf
        Alignment(0, 0, 4, False),  # é
        Alignment(1, 5, 7, True),  # " " + first byte of 日
        Alignment(1, 5, 7, False),  # second byte of 日
        Alignment(1, 5, 7, False),  # third byte of 日
        Alignment(1, 5, 7, False),  # 本
        Alignment(2, 8, 9, True),  # " " + first bytes of 😀
        Alignment(2, 8, 9, False),  # last byte of 😀
        Alignment(WHITESPACE, 9, 10, True),  # the extra space
        Alignment(4, 11, 14, True),  # " two"
    ]


def test_gold_alignment_of_a_token_across_words() -> None:
    text = "I don't know."
    words = words_of(text)  # I, do, n't, know, .
    spans = [(0, 1), (1, 5), (5, 7), (7, 12), (12, 13)]  # I | " don" | "'t" | " know" | .
    got = align(text, spans, words)
    assert [(a.word, a.initial) for a in got] == [
        (0, True),
        (1, True),
        (2, False),
        (3, True),
        (4, True),
    ]


def test_empty_and_out_of_range_spans_are_defined() -> None:
    text = "ab cd"
    got = align(text, [(0, 2), (2, 2), (3, 5), (5, 9)], words_of(text))
    assert [a.word for a in got] == [0, WHITESPACE, 1, WHITESPACE]


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=80))
def test_alignment_properties_on_arbitrary_unicode(tokenizer, text: str) -> None:
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    spans = [tuple(o) for o in enc["offset_mapping"]]
    words = words_of(text)
    got = align(text, spans, words)
    assert len(got) == len(spans)  # one result per target
    last = -1
    for (s, e), a in zip(spans, got, strict=True):
        if a.word == WHITESPACE:
            assert not text[s:e].strip()
        else:
            assert text[s:e].strip()
            assert words[a.word] == (a.start, a.end)
            assert a.start >= last  # never backwards
            last = a.start
