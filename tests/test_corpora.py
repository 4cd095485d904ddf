"""Readers: every format, folders, and one clear error per kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from corpora import bundled_path, read_corpus
from corpora.errors import CorpusError


def test_text_and_markdown_files_are_one_document_each(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Hello there.")
    (tmp_path / "b.md").write_text("# Title\n\nBody.")
    docs = read_corpus([tmp_path / "a.txt", tmp_path / "b.md"])
    assert [(d.id, d.text) for d in docs] == [
        ("a.txt", "Hello there."),
        ("b.md", "# Title\n\nBody."),
    ]


def test_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "bom.txt").write_bytes("\ufeffText".encode())
    assert read_corpus([tmp_path / "bom.txt"])[0].text == "Text"


def test_jsonl_with_ids_fields_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "x", "text": "one", "lang": "en"}\n\n{"body": "two", "text": "t"}\n')
    docs = read_corpus([path])
    assert [d.id for d in docs] == ["x", "c.jsonl:3"]
    assert docs[0].meta == {"lang": "en", "line": 1}
    alt = tmp_path / "d.ndjson"
    alt.write_text('{"body": "two"}\n')
    assert read_corpus([alt], text_field="body")[0].text == "two"


def test_csv_and_parquet_columns(tmp_path: Path) -> None:
    frame = pl.DataFrame({"id": ["r1", "r2"], "content": ["first row", "second, with a comma"]})
    frame.write_csv(tmp_path / "t.csv")
    frame.write_parquet(tmp_path / "t.parquet")
    for name in ("t.csv", "t.parquet"):
        docs = read_corpus([tmp_path / name], text_column="content")
        assert [(d.id, d.text) for d in docs] == [
            ("r1", "first row"),
            ("r2", "second, with a comma"),
        ]


def test_folder_is_read_recursively_in_order(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "z.txt").write_text("z")
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "notes.bin").write_bytes(b"\x00\x01")  # not a corpus format: ignored
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "h.txt").write_text("h")
    assert [d.id for d in read_corpus([tmp_path])] == ["a.txt", "sub/z.txt"]


def test_bundled_corpus_has_probes_and_prose() -> None:
    docs = read_corpus([bundled_path()])
    ids = [d.id for d in docs]
    assert "probe-biden" in ids and "probe-world" in ids
    prose = [d for d in docs if d.id.startswith("prose/")]
    assert len(prose) >= 4
    assert sum(len(d.text.split()) for d in prose) >= 2500
    assert (
        next(d for d in docs if d.id == "probe-biden").text
        == "Biden married Neilia Hunter, a student."
    )


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.txt", b"caf\xc3\xa9 ok \xff here", r"bad.txt: not valid UTF-8 at byte offset 9"),
        (
            "bin.txt",
            b"PK\x03\x04\x00\x00",
            r"bin.txt: looks like a binary file \(NUL byte at offset 4\)",
        ),
        ("bad.jsonl", b'{"text": "ok"}\n{"text": oops}\n', r"bad.jsonl:2: not valid JSON"),
        ("list.jsonl", b'["text"]\n', r"list.jsonl:1: expected a JSON object per line, got list"),
        (
            "nofield.jsonl",
            b'{"body": "x"}\n',
            r"nofield.jsonl:1: no field 'text' \(fields here: body\)",
        ),
        ("num.jsonl", b'{"text": 3}\n', r"num.jsonl:1: field 'text' is int, not text"),
        ("nocol.csv", b"a,b\n1,2\n", r"nocol.csv: no column 'text' \(columns: a, b\)"),
        ("bad.parquet", b"not parquet at all", r"bad.parquet: cannot be read as parquet"),
        ("weird.docx", b"x", r"weird.docx: unknown format '.docx'"),
        ("empty.txt", b"", r"the corpus has no text to score"),
    ],
)
def test_bad_input_gets_one_clear_error(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=expected) as info:
        read_corpus([path])
    assert "\n" not in str(info.value)


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no such file or folder"):
        read_corpus([tmp_path / "nope.txt"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match=r"no \.txt, \.md"):
        read_corpus([tmp_path / "empty"])


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_text("\n".join(json.dumps({"id": "same", "text": t}) for t in ("a", "b")))
    with pytest.raises(CorpusError, match="document id 'same' appears twice"):
        read_corpus([path])


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("x")

    def refuse(self: Path, *args: object, **kwargs: object) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)  # tests run as root, where chmod 0 still reads
    with pytest.raises(CorpusError, match=r"secret.txt: cannot be read \(Permission denied\)"):
        read_corpus([path])
