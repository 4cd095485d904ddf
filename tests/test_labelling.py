"""Annotation mode, headless: orders, labelling, skips, undo, notes, going back, resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpora import Document
from inspector.agreement import between_annotators, cohen_kappa, heuristic_vs_human
from inspector.annotations import Store
from inspector.browse import Session
from inspector.errors import InspectorError
from inspector.labelling import Labelling, parse_order
from inspector.pipeline import corpus_hash, score_corpus

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
    from inspector.annotations import Label

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
