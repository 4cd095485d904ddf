"""Tables given back with --from (tasks, compare, examples, html) that were edited after
inspector wrote them: rows removed or repeated, impossible numbers, settings changed by hand.
Each is refused with the reason, never summed into a silent number."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from test_app import DOCS

from conftest import run_cli
from inspector.run.score import score_corpus
from inspector.run.stored import open_table
from inspector.tables.schema import write_table


@pytest.fixture(scope="module")
def written(tiny_lm, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    run = score_corpus(DOCS, tiny_lm)
    folder = tmp_path_factory.mktemp("tables")
    table = run.table
    for name in ("run.parquet", "run.csv"):
        write_table(table, folder / name, run.settings)
    return folder / "run.parquet", folder / "run.csv"


EDITS = {
    "rows removed": (lambda t: t.filter(pl.col("pos") != 3), r"rows where its settings say"),
    "rows repeated": (lambda t: pl.concat([t, t.head(2)]), r"rows where its settings say"),
    "nll NaN": (lambda t: t.with_columns(nll=pl.when(pl.col("pos") == 2).then(float("nan"))
                                         .otherwise("nll")), r"a loss that is missing or not a number"),
    "nll null": (lambda t: t.with_columns(nll=pl.when(pl.col("pos") == 2).then(None)
                                          .otherwise("nll")), r"a loss that is missing"),
    "nll inf": (lambda t: t.with_columns(nll=pl.when(pl.col("pos") == 2).then(float("inf"))
                                         .otherwise("nll")), r"an infinite loss"),
    "nll negative": (lambda t: t.with_columns(nll=-pl.col("nll") - 1), r"a negative loss"),
    "rank 0": (lambda t: t.with_columns(rank=pl.lit(0)), r"a rank below 1"),
    "entropy NaN": (lambda t: t.with_columns(entropy=pl.lit(float("nan"))), r"an entropy that"),
    "nll as text": (lambda t: t.with_columns(pl.col("nll").cast(pl.String)), r"cannot|text"),
}  # fmt: skip


@pytest.mark.parametrize("edit", list(EDITS))
def test_edited_rows_and_numbers_are_refused(
    written: tuple[Path, Path], tmp_path: Path, edit: str
) -> None:
    parquet, _ = written
    change, expected = EDITS[edit]
    source, meta = pq.read_table(parquet), dict(pq.read_metadata(parquet).metadata)
    edited = change(pl.from_arrow(source))
    if edit == "rows repeated":  # the count kept right: the repeat itself is what is found
        settings = json.loads(meta[b"inspector.settings"])
        expected = r"the same document and position twice"
        settings["tokens"] += 2
        meta[b"inspector.settings"] = json.dumps(settings).encode()
        meta.pop(b"inspector.settings_sha256")  # as a table from before seals
    out = tmp_path / "edited.parquet"
    pq.write_table(edited.to_arrow().replace_schema_metadata(meta), out)
    with pytest.raises(Exception, match=expected) as refused:
        open_table(str(out))
    assert "score the corpus again" in str(refused.value) or "cannot" in str(refused.value)
    done = run_cli("tasks", "--from", str(out))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1


def test_settings_edited_by_hand_are_found_by_their_seal(
    written: tuple[Path, Path], tmp_path: Path
) -> None:
    parquet, csv = written
    assert open_table(str(parquet)).frame.collect().height > 0  # unedited: read as written
    assert open_table(str(csv)).frame.collect().height > 0
    source, meta = pq.read_table(parquet), dict(pq.read_metadata(parquet).metadata)
    settings = json.loads(meta[b"inspector.settings"])
    for key, value in (("window", 32), ("model", "gpt-5"), ("stride", 1)):
        meta[b"inspector.settings"] = json.dumps({**settings, key: value}, indent=2).encode()
        out = tmp_path / f"{key}.parquet"
        pq.write_table(source.replace_schema_metadata(meta), out)
        with pytest.raises(Exception, match=r"its settings were edited after inspector wrote"):
            open_table(str(out))
    sidecar = csv.with_name(csv.name + ".settings.json")
    edited = json.loads(sidecar.read_text())
    edited["window"] = 32
    copy = tmp_path / "copy.csv"
    copy.write_bytes(csv.read_bytes())
    copy.with_name("copy.csv.settings.json").write_text(json.dumps(edited))
    with pytest.raises(Exception, match=r"settings were edited"):
        open_table(str(copy))
    for bad, reason in (("{nope", "not JSON"), ('{"window": "32"}', 'window is "32"')):
        copy.with_name("copy.csv.settings.json").write_text(bad)
        with pytest.raises(Exception, match=reason):
            open_table(str(copy))
    done = run_cli("compare", "--from", str(parquet), "--from", str(tmp_path / "window.parquet"))
    assert done.returncode == 2 and "settings were edited" in done.stderr
