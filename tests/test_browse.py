"""The browsing session, headless: layout helpers, moves, jumps, search, resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from corpora import Document
from inspector.session.browse import (
    Session,
    load_place,
    loss_bucket,
    owners,
    rank_bucket,
    save_place,
    wrap_spans,
)


def test_wrap_spans_gold() -> None:
    assert wrap_spans("ab cd ef", 5) == [(0, 3), (3, 8)]
    assert wrap_spans("ab\ncd", 5) == [(0, 2), (3, 5)]
    assert wrap_spans("abcdefgh", 3) == [(0, 3), (3, 6), (6, 8)]
    assert wrap_spans("a\n\nb", 5) == [(0, 1), (2, 2), (3, 4)]
    assert wrap_spans("", 5) == [(0, 0)]


def test_wrap_spans_measures_cells() -> None:
    """Wide characters take two cells, combining marks none, and an emoji ZWJ sequence
    (one glyph of 2 cells) is never cut."""
    from inspector.visible import cell_widths

    def wrap(text: str, width: int) -> list[str]:
        return [text[a:b] for a, b in wrap_spans(text, width, cell_widths(text))]

    assert wrap("日本語のテキスト", 5) == ["日本", "語の", "テキ", "スト"]
    assert wrap("ae\u0301e\u0301e", 2) == ["ae\u0301", "e\u0301e"]
    assert wrap("ab 日本 cd", 6) == ["ab ", "日本 ", "cd"]
    assert wrap("x👨\u200d👩\u200d👧y", 2) == ["x", "👨\u200d👩\u200d👧", "y"]
    assert wrap("日本", 1) == ["日", "本"]  # wider than the line: a line of its own
    assert wrap("a\tb", 2) == ["a\t", "b"]  # a tab is drawn as one space


def test_owners_give_shared_characters_to_the_first_piece() -> None:
    starts, ends = np.array([0, 1, 4, 5, 5]), np.array([1, 5, 6, 6, 6])
    assert owners(7, starts, ends).tolist() == [0, 1, 1, 1, 1, 2, -1]


def test_buckets() -> None:
    assert loss_bucket(np.array([0.1, 0.5, 0.7, 3.0, 9.0])).tolist() == [0, 1, 1, 3, 5]
    assert rank_bucket(np.array([1, 2, 10, 11, 100, 101])).tolist() == [0, 1, 1, 2, 2, 3]


def table(
    doc_id: str, text: str, tasks: list[str], nll: list[float], rank: list[int]
) -> pl.DataFrame:
    """One target per whitespace-separated word of `text`."""
    spans, at = [], 0
    for word in text.split(" "):
        spans.append((at, at + len(word)))
        at += len(word) + 1
    n = len(spans)
    return pl.DataFrame(
        {
            "doc_id": [doc_id] * n,
            "pos": list(range(n)),
            "char_start": [s for s, _ in spans],
            "char_end": [e for _, e in spans],
            "word_start": [s for s, _ in spans],
            "nll": [float(v) for v in nll],
            "rank": rank,
            "task": tasks,
        }
    )


DOCS = [
    Document("a", "one two three four"),
    Document("b", "five six"),
    Document("c", "seven eight nine"),
]


def session() -> Session:
    s = Session(DOCS, top_k=5)
    s.add_table(
        pl.concat(
            [
                table(
                    "a",
                    DOCS[0].text,
                    ["grammar", "arbitrary", "grammar", "punctuation"],
                    [1, 6, 2, 7],
                    [1, 9, 2, 3],
                ),
                table(
                    "c",
                    DOCS[2].text,
                    ["arbitrary", "grammar", "world_knowledge"],
                    [0.5, 9, 1],
                    [1, 50, 1],
                ),
            ]
        )
    )
    return s


def test_steps_stay_inside_the_document() -> None:
    s = session()
    assert s.step(1) and s.pos == 1
    assert s.last() and s.pos == 3
    assert not s.step(1) and s.pos == 3
    assert s.first() and s.pos == 0
    assert not s.step(-1)


def test_documents_and_unscored_ones() -> None:
    s = session()
    assert s.document_step(1) and s.doc == 1 and s.current is None and s.row() is None
    assert not s.step(1)  # nothing to step through until it is scored
    assert s.document_step(1) and s.doc == 2 and s.row()["task"] == "arbitrary"  # type: ignore[index]
    assert not s.document_step(1)


def test_jumps_cross_documents_and_skip_unscored() -> None:
    s = session()
    s.task_filter = "grammar"
    assert s.next_match("task") and (s.doc, s.pos) == (0, 2)
    assert s.next_match("task") and (s.doc, s.pos) == (2, 1)
    assert not s.next_match("task")
    assert s.next_match("task", -1) and (s.doc, s.pos) == (0, 2)
    s.goto(0, 0)
    s.loss_threshold = 5.0
    assert s.next_match("loss") and s.pos == 1
    assert s.next_match("loss") and s.pos == 3
    assert s.next_match("loss") and (s.doc, s.pos) == (2, 1)
    s.goto(0, 0)
    assert s.next_match("outside") and s.pos == 1  # rank 9 > top-5
    assert s.next_match("outside") and (s.doc, s.pos) == (2, 1)


def test_word_moves() -> None:
    s = Session([Document("d", "Neilia Hunter")])
    t = pl.DataFrame(
        {
            "doc_id": ["d"] * 3, "pos": [0, 1, 2], "char_start": [0, 2, 6], "char_end": [2, 6, 13],
            "word_start": [0, 0, 7], "nll": [1.0] * 3, "rank": [1] * 3, "task": ["world_knowledge"] * 3,
        }
    )  # fmt: skip
    s.add_table(t)
    assert s.word(1) and s.pos == 2
    assert s.word(-1) and s.pos == 0
    s.goto(0, 1)
    assert s.word(-1) and s.pos == 0  # from the middle of a word: its first piece


def test_search_and_goto() -> None:
    s = session()
    assert s.search("THREE") and (s.doc, s.pos) == (0, 2)
    assert s.search("ei") and (s.doc, s.pos) == (2, 1)  # "eight", across an unscored document
    assert s.search("six") and s.doc == 1  # unscored: the document, at its start
    assert s.search("one") and (s.doc, s.pos) == (0, 0)  # wraps around
    assert not s.search("absent")
    assert s.find_document("c") == 2 and s.find_document("2") == 1 and s.find_document("9") is None
    assert s.goto(2, 99) and s.pos == 2  # clamped to the last target


def test_task_summary_shares_add_up() -> None:
    s = session()
    everything = s.task_summary(document_only=False)
    assert everything["tokens"].sum() == 7
    assert abs(everything["loss_share"].sum() - 1) < 1e-12
    assert s.task_summary(document_only=True)["tokens"].sum() == 4
    assert s.tasks()[0] == "grammar"


def test_place_is_saved_and_a_damaged_file_is_survived(tmp_path: Path) -> None:
    save_place(tmp_path, "k1", {"doc_id": "c", "pos": 2})
    save_place(tmp_path, "k2", {"doc_id": "a", "pos": 0})
    assert load_place(tmp_path, "k1") == {"doc_id": "c", "pos": 2}
    (tmp_path / "positions.json").write_text("{broken")
    assert load_place(tmp_path, "k1") is None
    save_place(tmp_path, "k1", {"doc_id": "a", "pos": 1})
    assert json.loads((tmp_path / "positions.json").read_text()) == {
        "k1": {"doc_id": "a", "pos": 1}
    }
