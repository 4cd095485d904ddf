"""A failed write (a full disk; here the process's file-size limit, RLIMIT_FSIZE, which gives
the OS's own "File too large" from the real write path) is one line that names the file, the
reason and what to do, exit code 2, no traceback; the old file is kept byte for byte and no
temporary file is left. Issue 34, item 11: every writer."""

from __future__ import annotations

import contextlib
import resource
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspector import cli

LIMIT = 8192  # bytes: more than any small file a run writes on the way, less than a table
OLD = b"the old file, kept\n" * 600  # larger than LIMIT: nothing may be written over it


@contextlib.contextmanager
def file_size_limit(limit: int = LIMIT) -> Iterator[None]:
    """Writes past `limit` bytes of a file fail with EFBIG (SIGXFSZ ignored, as Python does)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)


def limited(
    capsys: pytest.CaptureFixture[str], *argv: str, limit: int = LIMIT
) -> tuple[int, str, str]:
    capsys.readouterr()
    with file_size_limit(limit):
        code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str, path: Path, option: str = "--out") -> None:
    lines = err.strip().splitlines()
    assert lines[-1] == (
        f"inspector: error: cannot write {path} (File too large); nothing there was changed: "
        f"free some space or choose another {option}"
    ), err
    assert "Traceback" not in err and "ComputeError" not in err


def no_temporary(folder: Path) -> None:
    assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []


@pytest.fixture(scope="module")
def warm(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    """The tiny model's run of the bundled corpus in a cache (scored once, without a limit),
    and that run as a table."""
    cache = tmp_path_factory.mktemp("cache")
    table = tmp_path_factory.mktemp("table") / "run.parquet"
    model = str(tiny_model_dir)
    assert (
        cli.main(["score", "--model", model, "--cache-dir", str(cache), "--out", str(table)]) == 0
    )
    return model, str(cache), table


def old_file(path: Path) -> Path:
    path.write_bytes(OLD)
    return path


@pytest.mark.parametrize("name", ["t.parquet", "t.csv", "t.jsonl"])
def test_score_out_every_format(warm, tmp_path: Path, capsys, name: str) -> None:
    model, cache, _ = warm
    out = old_file(tmp_path / name)
    sidecar = tmp_path / (name + ".settings.json")
    if name != "t.parquet":
        sidecar.write_text('{"old": "sidecar"}\n')
    code, _, err = limited(capsys, "score", "--model", model, "--cache-dir", cache,
                           "--out", str(out), "--force")  # fmt: skip
    assert code == 2
    one_line(err, out)
    assert out.read_bytes() == OLD
    if name != "t.parquet":
        assert sidecar.read_text() == '{"old": "sidecar"}\n'  # the pair is kept together
    no_temporary(tmp_path)


def test_score_out_by_word(warm, tmp_path: Path, capsys) -> None:
    model, cache, _ = warm
    out = old_file(tmp_path / "words.parquet")
    code, _, err = limited(capsys, "score", "--model", model, "--cache-dir", cache,
                           "--unit", "word", "--out", str(out), "--force")  # fmt: skip
    assert code == 2
    one_line(err, out)
    assert out.read_bytes() == OLD
    no_temporary(tmp_path)


def test_score_parts(warm, tmp_path: Path, capsys) -> None:
    model, _, _ = warm
    folder = tmp_path / "parts"
    code, _, err = limited(capsys, "score", "--model", model, "--parts", str(folder))
    assert code == 2
    part = folder / "part-s0of1-00000.parquet"
    one_line(err, part, "--parts folder")
    assert not part.exists()
    no_temporary(folder)


def test_compare_out(warm, tmp_path: Path, capsys) -> None:
    model, cache, table = warm
    out = old_file(tmp_path / "units.parquet")
    argv = ["compare", "--from", str(table), "--model", model, "--window", "32",
            "--cache-dir", cache]  # fmt: skip
    assert cli.main(argv) == 0  # the second run, scored into the cache without a limit
    code, _, err = limited(capsys, *argv, "--out", str(out), "--force")
    assert code == 2
    one_line(err, out)
    assert out.read_bytes() == OLD
    no_temporary(tmp_path)


def test_examples_out(warm, tmp_path: Path, capsys) -> None:
    _, _, table = warm
    for name in ("examples.csv", "examples.jsonl"):
        out = old_file(tmp_path / name)
        code, _, err = limited(capsys, "examples", "--from", str(table), "--top", "10000",
                               "--out", str(out), "--force")  # fmt: skip
        assert code == 2
        one_line(err, out)
        assert out.read_bytes() == OLD
    no_temporary(tmp_path)


def test_probes_out(warm, tmp_path: Path, capsys) -> None:
    model, cache, _ = warm
    out = old_file(tmp_path / "probes.parquet")
    code, _, err = limited(capsys, "probes", "--model", model, "--cache-dir", cache,
                           "--out", str(out), "--force", limit=1024)  # a small table  # fmt: skip
    assert code == 2
    one_line(err, out)
    assert out.read_bytes() == OLD
    no_temporary(tmp_path)


def labelled_db(path: Path, n: int, note_bytes: int = 0) -> Path:
    import os

    from inspector.labels.columns import Label
    from inspector.labels.store import Store

    with Store(path) as store:
        for i in range(n):
            note = os.urandom(note_bytes).hex()
            store.add(Label("bundled", f"doc-{i}", "hash", 0, 3, "The", "grammar", "ann", note))
    return path


def test_annotations_export_out(tmp_path: Path, capsys) -> None:
    db = labelled_db(tmp_path / "labels.sqlite", 200, note_bytes=400)  # an export of 100 kB
    out = old_file(tmp_path / "labels.parquet")
    # the limit above SQLite's 32 kB shared-memory file, which opening the store writes
    code, _, err = limited(capsys, "annotations", "export", "--db", str(db), "--format",
                           "parquet", "--out", str(out), "--force", limit=65536)  # fmt: skip
    assert code == 2
    one_line(err, out)
    assert out.read_bytes() == OLD
    no_temporary(tmp_path)


def test_label_store_on_a_full_disk_loses_nothing_saved(tmp_path: Path) -> None:
    from inspector.labels.columns import Label
    from inspector.labels.store import AnnotationError, Store

    db = labelled_db(tmp_path / "labels.sqlite", 20)
    big = "x" * 20_000  # a note longer than the limit: its page cannot be written
    with Store(db) as store, file_size_limit(), pytest.raises(AnnotationError) as e:
        store.add(Label("bundled", "doc-x", "hash", 0, 3, "The", "grammar", "ann", note=big))
    text = str(e.value)
    assert "\n" not in text and text.startswith(f"{db}: cannot save (")
    assert text.endswith("what was saved before is kept, this last action was not saved: "
                         "free some space (or check the disk) and do it again")  # fmt: skip
    with Store(db) as store:
        assert store.table().height == 20  # every label saved before is there


def test_saving_your_texts_keeps_the_file(tmp_path: Path) -> None:
    """The app's M key: your texts added to a JSONL file. A failed write leaves it whole
    (before: an append cut off at the limit, the file changed)."""
    from corpora import Document
    from inspector.session.texts import SaveError, save_texts

    path = tmp_path / "mine.jsonl"
    old = '{"id": "a", "text": "older"}\n' * 200  # 5,800 bytes: under the limit
    path.write_text(old)
    texts = [Document(f"t{i}", f"text {i} of mine " * 20) for i in range(40)]
    with file_size_limit(), pytest.raises(SaveError) as e:
        save_texts(path, texts)
    assert str(e.value) == (
        f"cannot save to {path} (File too large); the file was not changed: free some space "
        "or choose another file"
    )
    assert path.read_text() == old
    no_temporary(tmp_path)


def test_a_cache_that_cannot_be_written_is_a_warning_and_the_run_goes_on(
    warm, tmp_path: Path, capsys
) -> None:
    model, _, _ = warm
    cache = tmp_path / "cache"
    code, out, err = limited(capsys, "score", "--model", model, "--cache-dir", str(cache))
    assert code == 0, err
    assert "targets" in out  # the run's summary: it was scored and shown
    assert err.strip().splitlines() == [
        f"inspector: the cache in {cache} could not be written (File too large), so "
        "this run will be scored again next time: free some space or pass another --cache-dir"
    ]
    no_temporary(cache / "tables")
