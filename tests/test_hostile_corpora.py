"""Corpora against a careful attacker and a clumsy user: decompression bombs, cut and
corrupt streams, documents too long to hold, `datasets` folders that point elsewhere, FIFOs
and devices. Each gets one clear error, and reading a bomb stops early."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import zstandard

from conftest import run_cli
from corpora import read_corpus
from corpora.errors import CorpusError

DOCUMENT_MB_VARIABLE = "INSPECTOR_MAX_DOCUMENT_MB"  # the variable the README names
WORDS = " ".join(f"word{i} and some prose, {i * 7919 % 1000}." for i in range(20_000)).encode()


def _bomb(path: Path, mb: int) -> None:
    """`mb` MB of one repeated line, compressed as the name says, written without holding it."""
    chunk = b"All work and no play makes Jack a dull boy.\n" * 22_800  # about 1 MB
    if path.suffix == ".zst":
        with path.open("wb") as raw, zstandard.ZstdCompressor().stream_writer(raw) as out:
            for _ in range(mb):
                out.write(chunk)
        return
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[path.suffix]
    with opener(path, "wb") as out:
        for _ in range(mb):
            out.write(chunk)


@pytest.mark.parametrize("ext", [".gz", ".bz2", ".xz", ".zst"])
def test_a_decompression_bomb_is_refused_after_reading_a_documents_worth(
    tmp_path: Path, ext: str
) -> None:
    bomb = tmp_path / f"bomb.txt{ext}"
    _bomb(bomb, 200)  # 200 MB from a few hundred KB or less
    assert bomb.stat().st_size < 2_000_000
    tracemalloc.start()
    try:
        with pytest.raises(CorpusError, match=r"bomb.txt.*: a document of more than 8 MB"):
            read_corpus([bomb])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 60_000_000  # not the 200 MB it expands to


def test_a_corrupt_deflate_stream_is_named_not_a_traceback(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(WORDS))
    data[12] ^= 0xFF  # in the first block header: zlib's own error (the middle: the CRC's)
    path = tmp_path / "corrupt.txt.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(CorpusError, match=r"corrupt.txt.gz: not a complete gzip stream"):
        read_corpus([path])
    jsonl = tmp_path / "corrupt.jsonl.gz"
    lines = b"".join(json.dumps({"text": f"line {i} {WORDS[:200]!r}"}).encode() + b"\n"
                     for i in range(500))  # fmt: skip
    data = bytearray(gzip.compress(lines))
    data[12] ^= 0xFF
    jsonl.write_bytes(bytes(data))
    with pytest.raises(CorpusError, match=r"corrupt.jsonl.gz: not a complete gzip stream"):
        read_corpus([jsonl])
    done = run_cli("score", str(path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "gzip stream" in done.stderr


def test_documents_longer_than_the_limit_name_where_and_the_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DOCUMENT_MB_VARIABLE, "1")
    big = "x " * 600_000  # 1.2 MB
    line = tmp_path / "long.jsonl"
    line.write_text(json.dumps({"text": "short"}) + "\n" + json.dumps({"text": big}) + "\n")
    with pytest.raises(
        CorpusError, match=rf"long.jsonl:2: .*more than 1 MB.*{DOCUMENT_MB_VARIABLE}"
    ):
        read_corpus([line])
    table = tmp_path / "rows.parquet"
    pl.DataFrame({"text": ["a", "b", big]}).write_parquet(table)
    with pytest.raises(CorpusError, match=r"rows.parquet:3: a document of more than 1 MB"):
        read_corpus([table])
    text = tmp_path / "book.txt"
    text.write_text(big)
    with pytest.raises(CorpusError, match=r"book.txt: a document of more than 1 MB"):
        read_corpus([text])
    monkeypatch.setenv(DOCUMENT_MB_VARIABLE, "2")  # raised: all three read
    assert len(read_corpus([line, table, text])) == 2 + 3 + 1
    monkeypatch.setenv(DOCUMENT_MB_VARIABLE, "lots\x1b[31m")
    with pytest.raises(CorpusError, match=r"INSPECTOR_MAX_DOCUMENT_MB=lots\\x1b\[31m is not"):
        read_corpus([text])
    done = run_cli("score", str(text))  # the variable is this process's only: 8 MB
    assert "more than" not in done.stderr


def test_a_datasets_folder_reads_only_files_inside_it(tmp_path: Path) -> None:
    import datasets

    folder = tmp_path / "ds"
    datasets.Dataset.from_dict({"text": ["inside"]}).save_to_disk(str(folder))
    outside = tmp_path / "elsewhere.arrow"
    pl.DataFrame({"text": ["secret"]}).write_ipc_stream(outside)
    state = json.loads((folder / "state.json").read_text())
    for name in (str(outside), "../elsewhere.arrow", "/etc/passwd"):
        state["_data_files"] = [{"filename": name}]
        (folder / "state.json").write_text(json.dumps(state))
        with pytest.raises(CorpusError, match=r"ds: its state.json names .*not inside the folder"):
            read_corpus([folder])
    state["_data_files"] = [{"filename": "link.arrow"}]
    (folder / "state.json").write_text(json.dumps(state))
    (folder / "link.arrow").symlink_to(outside)  # a link out is outside too
    with pytest.raises(CorpusError, match=r"names link.arrow, which is not inside"):
        read_corpus([folder])
    (folder / "link.arrow").unlink()
    (folder / "link.arrow").symlink_to(folder / "link.arrow")  # a loop
    with pytest.raises(CorpusError, match=r"names link.arrow, which is not inside"):
        read_corpus([folder])
    splits = tmp_path / "dd"
    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": ["t"]})}).save_to_disk(
        str(splits)
    )
    (splits / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "../ds"]}))
    with pytest.raises(CorpusError, match=r"dd: its dataset_dict.json names ../ds"):
        read_corpus([splits])


def test_fifos_and_devices_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    caught: list[BaseException] = []

    def read() -> None:
        try:
            read_corpus([fifo])
        except BaseException as e:  # handed over to the test's thread
            caught.append(e)

    reader = threading.Thread(target=read, daemon=True)  # opening a FIFO blocks: not joined
    reader.start()
    reader.join(timeout=20)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert isinstance(caught[0], CorpusError) and "a FIFO, not a file" in str(caught[0])
    with pytest.raises(CorpusError, match=r"/dev/zero: a device, not a file"):
        read_corpus(["/dev/zero"])
    jsonl = tmp_path / "pipe.jsonl"
    os.mkfifo(jsonl)
    with pytest.raises(CorpusError, match=r"pipe.jsonl: a FIFO, not a file"):
        read_corpus([jsonl])
    folder = tmp_path / "mixed"  # in a folder, FIFOs beside files are passed over
    folder.mkdir()
    (folder / "a.txt").write_text("fine")
    os.mkfifo(folder / "b.txt")
    assert [d.text for d in read_corpus([folder])] == ["fine"]


def test_long_documents_are_parsed_in_pieces_that_join_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from taggers import pieces, tagger
    from taggers.rules import load_rules

    text = "\n\n".join(
        f"Paragraph {i}. Joe Biden married Neilia Hunter, a student, in {1900 + i}.\n"
        "She was born in Skaneateles, New York."
        for i in range(40)
    )
    cut = pieces.cut(text, 700)
    assert "".join(cut) == text and all(len(p) <= 700 for p in cut) and len(cut) > 5
    assert all(p.endswith("\n\n") for p in cut[:-1])  # at paragraph ends
    assert pieces.cut("a" * 2500, 1000) == ["a" * 1000, "a" * 1000, "a" * 500]  # anywhere
    spans = np.array([[m, m + 3] for m in range(0, len(text) - 3, 11)])
    tag = tagger.TaskTagger(load_rules())
    whole = tag.tag_here([text], [spans])
    seen: list[int] = []
    real_pipe = tag.nlp.pipe

    def pipe(texts, batch_size):  # type: ignore[no-untyped-def]
        seen.extend(len(t) for t in texts)
        return real_pipe(texts, batch_size=batch_size)

    monkeypatch.setattr(pieces, "PIECE_CHARS", 700)
    monkeypatch.setattr(
        type(tag.nlp), "pipe", lambda self, texts, batch_size: pipe(texts, batch_size)
    )
    joined = tag.tag_here([text, "Short one."], [spans, np.array([[0, 5]])])
    assert max(seen) <= 700 and sum(seen) == len(text) + len("Short one.")
    n = len(spans)
    assert joined["word_start"][:n] == whole["word_start"]  # alignment unchanged
    same = sum(a == b for a, b in zip(joined["task"][:n], whole["task"], strict=True))
    assert same >= 0.98 * n  # the parse differs only next to a cut


def test_a_bomb_of_many_small_documents_stops_at_the_corpus_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from corpora import iter_corpus

    monkeypatch.setenv("INSPECTOR_MAX_CORPUS_MB", "1")
    many = tmp_path / "many.jsonl.gz"
    with gzip.open(many, "wt") as out:
        for i in range(30_000):  # about 1.5 MB of text in 50-character documents
            out.write(json.dumps({"text": f"document {i:06d} " + "x" * 34}) + "\n")
    with pytest.raises(CorpusError, match=r"more than 1 MB of text.*score --parts"):
        read_corpus([many])
    assert sum(1 for _ in iter_corpus([many])) == 30_000  # streamed, any size is read
