"""Corpora as people have them (issue 17): compressed text and JSONL read as streams, Hugging
Face `datasets` folders and Arrow files, nested JSON fields by dotted path."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
from pathlib import Path

import polars as pl
import pytest
import zstandard

from conftest import run_cli
from corpora import read_corpus
from corpora.errors import CorpusError

LINES = [
    {"id": "a", "text": "Café, naïve: 日本語."},
    {"id": "b", "text": "The capital of Azerbaijan is Baku."},
]
COMPRESS = {
    ".gz": gzip.compress,
    ".bz2": bz2.compress,
    ".xz": lzma.compress,
    ".zst": lambda data: zstandard.ZstdCompressor().compress(data),
}


def _jsonl(lines: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode()


@pytest.mark.parametrize("ext", list(COMPRESS))
def test_compressed_files_read_as_their_uncompressed_selves(tmp_path: Path, ext: str) -> None:
    plain = tmp_path / "plain.jsonl"
    plain.write_bytes(_jsonl(LINES))
    folder_path = tmp_path / "shards"
    folder_path.mkdir()
    packed = folder_path / f"shard.jsonl{ext}"
    packed.write_bytes(COMPRESS[ext](_jsonl(LINES)))
    got = read_corpus([packed])
    assert [(d.id, d.text) for d in got] == [(d.id, d.text) for d in read_corpus([plain])]
    text = folder_path / f"note.txt{ext}"
    text.write_bytes(COMPRESS[ext](b"Biden married Neilia Hunter, a student."))
    csv = folder_path / f"rows.csv{ext}"
    csv.write_bytes(COMPRESS[ext](b"id,text\nr1,one\nr2,two\n"))
    folder = read_corpus(
        [folder_path]
    )  # a folder finds them all, by the suffix under the compression
    assert {d.id for d in folder} == {"a", "b", f"note.txt{ext}", "r1", "r2"}
    assert next(d for d in folder if d.id == f"note.txt{ext}").text.startswith("Biden")


def test_damaged_and_hostile_streams_are_named(tmp_path: Path) -> None:
    cut = tmp_path / "cut.jsonl.gz"
    many = [{"id": f"d{i}", "text": f"line {i}"} for i in range(200)]
    cut.write_bytes(gzip.compress(_jsonl(many))[:-30])
    with pytest.raises(CorpusError, match=r"cut.jsonl.gz: not a complete gzip stream"):
        read_corpus([cut])
    junk = tmp_path / "junk.txt.zst"
    junk.write_bytes(b"not zstd at all")
    with pytest.raises(CorpusError, match=r"junk.txt.zst: not a complete zstd stream"):
        read_corpus([junk])
    latin = tmp_path / "latin.jsonl.xz"
    latin.write_bytes(lzma.compress(b'{"text": "caf\xe9"}\n'))
    with pytest.raises(CorpusError, match=r"latin.jsonl.xz: not valid UTF-8 at byte offset 13"):
        read_corpus([latin])
    odd = tmp_path / "table.parquet.gz"
    odd.write_bytes(gzip.compress(b"x"))
    with pytest.raises(CorpusError, match=r"unknown format '.parquet.gz'"):
        read_corpus([odd])
    done = run_cli("score", str(cut))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "gzip" in done.stderr


def test_datasets_folders_and_arrow_files(tmp_path: Path) -> None:
    import datasets

    texts = [f"Document number {i}." for i in range(7)]
    one = tmp_path / "one"
    datasets.Dataset.from_dict({"text": texts}).save_to_disk(str(one), num_shards=3)
    got = read_corpus([one])
    assert [d.text for d in got] == texts  # the shards in the order state.json lists them
    assert [d.id for d in got] == [f"one:{i}" for i in range(1, 8)]
    both = tmp_path / "both"
    datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"id": ["t1", "t2"], "body": ["x", "y"]}),
        "test": datasets.Dataset.from_dict({"id": ["s1"], "body": ["z"]}),
    }).save_to_disk(str(both))  # fmt: skip
    got = read_corpus([both], text_column="body")
    assert [(d.id, d.text) for d in got] == [("t1", "x"), ("t2", "y"), ("s1", "z")]
    with pytest.raises(CorpusError, match=r"no column 'text' \(columns: id, body\)"):
        read_corpus([both])
    frame = pl.DataFrame({"id": ["f1", "f2"], "text": ["file", "format"]})
    frame.write_ipc(tmp_path / "table.arrow")
    frame.write_ipc_stream(tmp_path / "stream.arrow")
    for name in ("table.arrow", "stream.arrow"):
        assert [d.text for d in read_corpus([tmp_path / name])] == ["file", "format"]
    (one / "state.json").write_text("{broken")
    with pytest.raises(
        CorpusError, match=r"one: a datasets folder whose state.json cannot be read"
    ):
        read_corpus([one])


def test_a_nested_field_by_dotted_path(tmp_path: Path) -> None:
    path = tmp_path / "nested.jsonl"
    path.write_bytes(_jsonl([{"id": "n", "meta": {"body": "Deep text.", "lang": "en"}}]))
    (doc,) = read_corpus([path], text_field="meta.body")
    assert doc.text == "Deep text."
    with pytest.raises(CorpusError, match=r"no field 'meta.title' \(fields here: body, lang\)"):
        read_corpus([path], text_field="meta.title")
    with pytest.raises(CorpusError, match=r"field 'meta' is dict, not text"):
        read_corpus([path], text_field="meta")
