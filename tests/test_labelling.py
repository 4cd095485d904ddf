"""Annotation mode, headless: orders, labelling, skips, undo, notes, going back, resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpora import Document
from inspector.errors import InspectorError
from inspector.labels.agreement import between_annotators, cohen_kappa, heuristic_vs_human
from inspector.labels.queue import Labelling, parse_order
from inspector.labels.store import Store
from inspector.run.cache import corpus_hash
from inspector.run.score import score_corpus
from inspector.session.browse import Session

DOCS = [
    Document("biden", "Biden married Neilia Hunter, a student."),
    Document("quiz", "The answer to 3 + 4 is 7, said the teacher."),
]


@pytest.fixture(scope="module")
def table(tiny_lm):
    return score_corpus(DOCS, tiny_lm).table


def labelling(table, db: Path, annotator: str = "ann", order: str = "text") -> Labelling:
    session = Session(DOCS)
    session.add_table(table)
    return Labelling(session, Store(db), annotator, corpus_hash(DOCS), "tiny", order)


def test_orders() -> None:
    assert parse_order("stratified:5") == ("stratified", 5)
    for bad in ("random", "loss:3", "stratified:0", "stratified:x"):
        with pytest.raises(InspectorError, match="--order"):
            parse_order(bad)


def test_text_order_skips_whitespace_and_moves_on(table, tmp_path: Path) -> None:
    lab = labelling(table, tmp_path / "a.sqlite")
    assert all(lab.session.rows[d].task[p] != "whitespace" for d, p in lab.queue)
    assert lab.queue == sorted(lab.queue)
    first = lab.current()
    lab.act("world_knowledge")
    assert lab.current() == lab.queue[1] and lab.current() != first
    lab.accept()
    lab.act(None)  # skip
    p = lab.progress()
    assert (p.labelled, p.skipped, p.left) == (2, 1, len(lab.queue) - 3)
    assert p.per_label["world_knowledge"] >= 1


def test_undo_note_back_and_resume(table, tmp_path: Path) -> None:
    db = tmp_path / "b.sqlite"
    lab = labelling(table, db)
    first = lab.current()
    lab.note("a surname")  # before labelling: goes with the next action
    lab.act("world_knowledge")
    second = lab.current()
    lab.act("grammar")
    assert lab.undo() and lab.current() == second  # back on the undone target
    assert lab.progress().labelled == 1
    assert lab.back() and lab.current() == first
    assert lab.note("changed my mind") == "saved"  # it has a label: the note is saved on it
    lab.store.close()
    again = labelling(table, db)  # reopening resumes at the next unlabelled target
    assert again.current() == second
    rows = again.store.table()
    assert rows["note"].to_list() == ["changed my mind"] and rows.height == 1


def test_loss_and_stratified_orders(table, tmp_path: Path) -> None:
    lab = labelling(table, tmp_path / "c.sqlite", order="loss")
    losses = [lab.session.rows[d].nll[p] for d, p in lab.queue]
    assert losses == sorted(losses, reverse=True)
    strat = labelling(table, tmp_path / "d.sqlite", order="stratified:2")
    tasks = [strat.session.rows[d].task[p] for d, p in strat.queue]
    assert all(tasks.count(t) <= 2 for t in set(tasks)) and len(set(tasks)) >= 3
    again = labelling(table, tmp_path / "d.sqlite", order="stratified:2")
    assert again.queue == strat.queue  # seeded: the same sample every time


def test_uncertain_order_puts_the_least_trusted_rules_first(table, tmp_path: Path) -> None:
    db = tmp_path / "e.sqlite"
    lab = labelling(table, db)
    for _ in range(4):  # disagree with whatever the heuristic said
        d, p = lab.current()
        heuristic = lab.session.rows[d].task[p]
        lab.act("arbitrary" if heuristic != "arbitrary" else "grammar")
    rules = {row["heuristic_reason"] for row in lab.store.table().iter_rows(named=True)}
    unsure = labelling(table, db, order="uncertain")
    trust = unsure.rule_agreement()
    first_rule = unsure.session.rows[unsure.queue[0][0]].table["task_reason"][unsure.queue[0][1]]
    assert first_rule in rules and trust[first_rule] == min(trust.values())


def test_agreement_on_a_fixture_with_known_kappa(tmp_path: Path) -> None:
    # two annotators, 10 spans: 8 agreements; labels A: 5 g, 5 w; B: 5 g, 5 w -> p_o .8, p_e .5, kappa .6
    assert cohen_kappa(list("gggggwwwww"), list("ggggwgwwww")) == pytest.approx(0.6)
    from inspector.labels.columns import Label

    db = tmp_path / "k.sqlite"
    with Store(db) as store:
        a = ["grammar"] * 5 + ["world_knowledge"] * 5
        b = ["grammar"] * 4 + ["world_knowledge"] + ["grammar"] + ["world_knowledge"] * 4
        heuristic = ["grammar"] * 5 + ["arbitrary"] * 5
        for i in range(10):
            for who, labels in (("ann", a), ("bob", b)):
                store.add(
                    Label(
                        "c",
                        "d",
                        "h",
                        i * 5,
                        i * 5 + 4,
                        "tok",
                        labels[i],
                        who,
                        heuristic=heuristic[i],
                        heuristic_reason="r",
                    )
                )
        store.add(
            Label("c", "d", "h", 0, 4, "tok", None, "ann")
        )  # a later skip does not erase a label
        table = store.table()
    pair = between_annotators(table, "ann", "bob")
    assert (
        pair.items == 10
        and pair.kappa == pytest.approx(0.6)
        and pair.accuracy == pytest.approx(0.8)
    )
    versus = heuristic_vs_human(table, "ann")
    assert versus.items == 10
    per = {r["task"]: r for r in versus.per_task.iter_rows(named=True)}
    assert per["grammar"]["precision"] == 1.0 and per["grammar"]["recall"] == 1.0
    assert per["arbitrary"]["precision"] == 0.0 and per["world_knowledge"]["recall"] == 0.0
    assert "Cohen's kappa" in versus.render()


def test_export_names_the_corpus_path_and_the_text_around_each_label(table, tmp_path: Path) -> None:
    """Issue 13, item 15: a JSONL export reads without the corpus."""
    import json

    from inspector.labels.columns import CONTEXT_CHARS
    from inspector.labels.exchange import export_labels, read_export

    session = Session(DOCS)
    session.add_table(table)
    db = tmp_path / "c.sqlite"
    lab = Labelling(
        session, Store(db), "ann", corpus_hash(DOCS), "tiny", corpus_path="/data/quiz.jsonl"
    )
    lab.session.goto("quiz")
    for _ in range(3):
        lab.act("grammar")
    with Store(db, readonly=True) as store:
        rows = store.table()
    text = export_labels(rows, "jsonl", None)
    assert text is not None
    spans = [span for line in text.splitlines() for span in json.loads(line)["spans"]]
    assert len(spans) == 3
    docs = {d.id: d.text for d in DOCS}
    for line in text.splitlines():
        doc = json.loads(line)
        body = docs[doc["doc_id"]]
        for span in doc["spans"]:
            assert span["corpus_path"] == "/data/quiz.jsonl"
            start, end = span["start"], span["end"]
            assert span["context_before"] == body[max(0, start - CONTEXT_CHARS) : start]
            assert span["context_after"] == body[end : end + CONTEXT_CHARS]
            # what the label was given to reads from the export alone
            assert span["context_before"] + body[start:end] + span["context_after"] in body
    out = tmp_path / "labels.jsonl"
    out.write_text(text)
    back = read_export(out)
    assert back.select("corpus_path", "context_before", "context_after").equals(
        rows.select("corpus_path", "context_before", "context_after")
    )


def test_a_version_1_database_is_upgraded_without_losing_a_label(tmp_path: Path) -> None:
    """A file written before the context columns: read-only it reads (empty context) and
    stays byte for byte; opened to write it gains the columns, every old row kept."""
    import sqlite3

    from inspector.labels.store import APPLICATION_ID

    db = tmp_path / "v1.sqlite"
    con = sqlite3.connect(db)
    con.executescript(
        """CREATE TABLE labels (id INTEGER PRIMARY KEY, corpus TEXT NOT NULL, doc_id TEXT NOT NULL,
        doc_hash TEXT NOT NULL, char_start INTEGER NOT NULL, char_end INTEGER NOT NULL,
        token TEXT NOT NULL, label TEXT, action TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
        annotator TEXT NOT NULL, model TEXT NOT NULL DEFAULT '', nll REAL, rank INTEGER,
        heuristic TEXT, heuristic_reason TEXT, created REAL NOT NULL, undone REAL);
        INSERT INTO labels VALUES (1, 'c', 'd', 'h', 0, 5, 'Biden', 'world_knowledge', 'label',
        'a name', 'ann', 'm', 4.5, 3, 'world_knowledge', 'named_entity', 1700000000.0, NULL);"""
    )
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    before = db.read_bytes()
    with Store(db, readonly=True) as store:
        old = store.table()
    assert db.read_bytes() == before
    assert old["label"].to_list() == ["world_knowledge"] and old["note"].to_list() == ["a name"]
    assert old["context_before"].to_list() == [""] and old["corpus_path"].to_list() == [""]
    with Store(db) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == 2
        upgraded = store.table()
    assert upgraded.drop("corpus_path", "context_before", "context_after").equals(
        old.drop("corpus_path", "context_before", "context_after")
    )
