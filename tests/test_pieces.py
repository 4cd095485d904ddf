"""Byte pieces shown as their bytes (issue 34, item 8): `'<0xE6><0x97>'`, not `'�'`, in the
token table (and so in the app, `score`'s hardest list and the html page, which read it) and
in the pieces of an asked continuation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corpora import Document
from inspector.lm.pieces import _byte_decoder, piece_texts, readable

TEXT = "Emoji 😀🎉 and 日本語のテキストです。Привет, мир! Café naïve."


def as_bytes(piece: str) -> bytes:
    """A shown piece back to its bytes: `<0xE6>` is one byte, anything else its UTF-8."""
    parts = re.split(r"(<0x[0-9A-F]{2}>)", piece)
    return b"".join(
        bytes([int(p[3:5], 16)]) if re.fullmatch(r"<0x[0-9A-F]{2}>", p) else p.encode()
        for p in parts
    )


def test_readable_shows_only_the_bytes_of_no_whole_character() -> None:
    assert readable("日".encode()) == "日"
    assert readable(b"\xe6\x97") == "<0xE6><0x97>"
    assert readable(b" \xe6") == " <0xE6>"
    assert readable(b"a\xffb\xa5") == "a<0xFF>b<0xA5>"
    assert readable(b"\x97\xa5\xe6\x97\xa5") == "<0x97><0xA5>日"
    assert readable(b"") == ""


def test_the_byte_alphabet_has_one_character_for_each_byte() -> None:
    decoder = _byte_decoder()
    assert sorted(decoder.values()) == list(range(256))
    assert decoder["Ġ"] == 0x20 and decoder["!"] == 0x21 and decoder["Ċ"] == 0x0A


def test_a_byte_level_vocabulary_shows_its_byte_pieces_as_bytes(tiny_lm) -> None:
    tok = tiny_lm.tokenizer
    ids = tok(TEXT, add_special_tokens=False)["input_ids"]
    plain = tok.batch_decode([[i] for i in ids])
    shown = piece_texts(tok, ids)
    assert "\ufffd" in "".join(plain)  # the tiny vocabulary splits CJK and emoji into bytes
    assert "\ufffd" not in "".join(shown) and "<0x" in "".join(shown)
    assert b"".join(as_bytes(p) for p in shown) == TEXT.encode()  # nothing lost or added
    for p, s in zip(plain, shown, strict=True):
        assert s == p or "\ufffd" in p  # whole pieces exactly as decoded


@pytest.mark.embedded
def test_the_token_table_and_asked_pieces_show_bytes(embedded_lm) -> None:
    from inspector.lm.continuations import Asker
    from inspector.run.tokens import TableScorer

    table = TableScorer(embedded_lm).score([Document("d", TEXT)])
    tokens = table["token"].to_list()
    assert b"".join(as_bytes(t) for t in tokens) == TEXT.encode()
    assert any("<0x" in t for t in tokens)
    candidates = [t for row in table["top_tokens"].to_list() for t in row]
    assert not any("\ufffd" in t for t in candidates) and any("<0x" in t for t in candidates)
    (answer,) = Asker(embedded_lm).ask("I like", [" 日本"])
    assert b"".join(as_bytes(p) for p in answer.pieces) == " 日本".encode()
    assert "\ufffd" not in "".join(answer.pieces)


async def test_the_app_shows_byte_pieces_as_bytes(tiny_model_dir: Path, tmp_path: Path) -> None:
    from inspector.tui.app import InspectorApp
    from inspector.tui.source import Scoring
    from inspector.tui.widgets.next_token import NextTokenPanel

    app = InspectorApp(Scoring([Document("d", TEXT)], model_spec=str(tiny_model_dir),
                               device="cpu"), "pieces", tmp_path)  # fmt: skip
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(1200):
            if app.scoring == "done":
                break
            await pilot.pause(0.05)
        rows = app.session.current
        assert rows is not None
        byte_pos = next(i for i, t in enumerate(rows.table["token"]) if "<0x" in t)
        app.session.goto(0, byte_pos)
        app.refresh_view()
        await pilot.pause()
        shown = str(app.query_one(NextTokenPanel).render())
        assert "<0x" in shown and "\ufffd" not in shown


def test_shown_pieces_go_back_to_their_bytes() -> None:
    from inspector.lm.pieces import shown_bytes

    for data in ("日本".encode(), b" \xe6\x97", b"plain", "é".encode()[:1]):
        assert shown_bytes(readable(data)) == data
    assert shown_bytes("<0xE6><0x97><0xA5>") == "日".encode()


def test_examples_from_a_table_alone_rebuild_byte_pieces(tiny_lm) -> None:
    from inspector.run.tokens import TableScorer
    from inspector.tables.examples import rebuilt_texts

    table = TableScorer(tiny_lm).score([Document("d", TEXT)])
    assert rebuilt_texts(table.lazy(), ["d"])["d"] == TEXT  # every character, CJK and emoji too


def test_a_token_that_is_only_a_joiner_or_selector_is_shown_escaped() -> None:
    from inspector.tui.widgets.next_token import shown

    assert shown("\ufe0f") == "'\\ufe0f'"  # a variation selector alone: not empty quotes
    assert shown("\ufe0f\u200d") == "'\\ufe0f\\u200d'"
    assert shown("\u0301x") == "'\\u0301x'"
    assert shown("e\u0301") == "'e\u0301'" and shown(" a") == "' a'"  # joined: as written


def test_true_and_false_print_as_such_in_tables() -> None:
    import polars as pl

    from inspector.tables.render import render

    assert render(pl.DataFrame({"won": [True, False], "n": [1829, 3]}), "md").split() == [
        "|", "won", "|", "n", "|", "|", "---", "|", "---", "|",
        "|", "True", "|", "1,829", "|", "|", "False", "|", "3", "|",
    ]  # fmt: skip


async def test_asking_keys_say_at_once_that_a_given_table_has_no_model(
    tiny_lm, tmp_path: Path
) -> None:
    from inspector.run.tokens import TableScorer
    from inspector.tui.app import InspectorApp
    from inspector.tui.asking import NO_MODEL
    from inspector.tui.screens.prompt import PromptScreen
    from inspector.tui.source import Given

    docs = [Document("d", TEXT)]
    app = InspectorApp(Given(docs, table=TableScorer(tiny_lm).score(docs)), "given", tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(400):
            if app.scoring == "done":
                break
            await pilot.pause(0.05)
        for key in ("p", "L", "m"):
            app.clear_notifications()
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, PromptScreen), key  # no question typed for nothing
            assert [n.message for n in app._notifications] == [NO_MODEL], key
