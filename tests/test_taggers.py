"""Task rules: the hand-labelled gold set, each rule and edge case, and rule-file errors."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import plain_word
from taggers.rules import RulesError, load_rules
from taggers.tagger import TaskTagger, _word_features

GOLD = Path(__file__).parent / "gold" / "tasks.tsv"
LABELS = {"G": "grammar", "W": "world_knowledge", "P": "punctuation", "A": "arbitrary"}


@pytest.fixture(scope="module")
def tagger() -> TaskTagger:
    return TaskTagger(load_rules())


def gold_sentences() -> list[tuple[str, list[tuple[str, str]]]]:
    out = []
    for line in GOLD.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        text, labels = line.split("\t")
        out.append((text, [tuple(item.rsplit("=", 1)) for item in labels.split(" ")]))
    return out  # type: ignore[return-value]


def test_gold_set_accuracy(tagger: TaskTagger) -> None:
    """At least 97% of the hand-labelled words get the labelled task."""
    right, total, misses = 0, 0, []
    for text, gold in gold_sentences():
        doc = tagger.nlp(text)
        words = [(w, t) for w, t in zip(_word_features(doc), doc, strict=True) if not t.is_space]
        assert [t.text for _, t in words] == [g for g, _ in gold], (
            f"gold tokens differ from spaCy's: {text}"
        )
        for (w, t), (_, label) in zip(words, gold, strict=True):
            rule = tagger.rules.decide(w, t.text, True)
            total += 1
            if rule is not None and rule.task == LABELS[label]:
                right += 1
            else:
                misses.append(f"{t.text}: {LABELS[label]} != {rule.task if rule else None}")
    accuracy = right / total
    print(f"gold set: {right}/{total} words = {accuracy:.1%}; misses: {misses}")
    assert total >= 200
    assert accuracy >= 0.97, misses


def test_gold_set_covers_every_default_task() -> None:
    labels = {label for _, gold in gold_sentences() for _, label in gold}
    assert labels == set(LABELS)


def _tags(
    tagger: TaskTagger, text: str, spans: list[tuple[int, int]]
) -> list[tuple[str, str, str]]:
    import numpy as np

    cols = tagger.tag([text], [np.array(spans)])
    return list(zip(cols["word"], cols["task"], cols["task_reason"], strict=True))


def test_talk_example_with_reasons(tagger: TaskTagger) -> None:
    text = "Biden married Neilia Hunter, a student."
    spans = [
        (0, 1),
        (1, 5),
        (5, 13),
        (13, 16),
        (16, 20),
        (20, 27),
        (27, 28),
        (28, 30),
        (30, 38),
        (38, 39),
    ]
    got = _tags(tagger, text, spans)
    assert got[5] == ("Hunter", "world_knowledge", "named_entity")
    assert got[6] == (",", "punctuation", "punctuation")
    assert got[7] == ("a", "grammar", "function_word")
    assert got[8] == ("student", "arbitrary", "content_word")
    assert got[3][:2] == got[4][:2] == ("Neilia", "world_knowledge")  # " Ne" + "ilia": one word


def test_edge_cases_of_the_rule_file(tagger: TaskTagger) -> None:
    text = "It flows into the Black Sea near Romania's border."
    words = {w: (t, r) for w, t, r in _tags(tagger, text, _word_spans(tagger, text))}
    assert words["the"] == ("grammar", "function_word")  # a determiner inside an entity
    assert words["Black"] == ("world_knowledge", "named_entity")
    assert words["'s"] == ("grammar", "possessive")
    text = "They won't see 3 + 4 = 7 on the well-known board."
    tags = _tags(tagger, text, _word_spans(tagger, text))
    assert ("n't", "grammar", "contraction") in tags
    assert ("+", "punctuation", "arithmetic_operator") in tags
    assert ("7", "world_knowledge", "arithmetic_number") in tags
    assert ("-", "punctuation", "punctuation") in tags  # a hyphenated word: the hyphen ...
    assert ("known", "arbitrary", "content_word") in tags  # ... and its parts on their own
    text = "It is the second-longest river."
    tags = _tags(tagger, text, _word_spans(tagger, text))
    assert all(reason not in ("arithmetic_number", "arithmetic_operand") for _, _, reason in tags)


def _word_spans(tagger: TaskTagger, text: str) -> list[tuple[int, int]]:
    """One target per spaCy word, as if the model's tokens were whole words."""
    return [(t.idx, t.idx + len(t.text)) for t in tagger.nlp.make_doc(text)]


def test_piece_level_rules() -> None:
    rules = load_rules()
    mangoes = {
        **plain_word("mangoes"),
        "pos": "NOUN",
        "tag": "NNS",
        "lemma": "mango",
        "inflected": True,
    }
    assert rules.decide(mangoes, " mango", True).name == "content_word"  # type: ignore[union-attr]
    assert rules.decide(mangoes, "es", False).name == "inflection"  # type: ignore[union-attr]
    neilia = {**plain_word("Neilia"), "pos": "PROPN", "tag": "NNP", "is_lower": False}
    assert rules.decide(neilia, "ilia", False).name == "proper_noun"  # type: ignore[union-attr]
    iphone = {**plain_word("iphone"), "pos": "PROPN", "tag": "NNP"}
    assert rules.decide(iphone, " iphone", True).name == "lowercase_proper_noun"  # type: ignore[union-attr]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=60))
def test_every_target_gets_exactly_one_known_task(tagger: TaskTagger, text: str) -> None:
    spans = [(i, i + 1) for i in range(len(text))]  # one target per character, the finest split
    cols = tagger.tag([text], [__import__("numpy").array(spans, dtype=int).reshape(-1, 2)])
    assert len(cols["task"]) == len(spans)
    assert set(cols["task"]) <= set(tagger.rules.tasks())
    starts = cols["word_start"]
    assert all(a <= b for a, b in itertools.pairwise(starts))


# -- the rule file ---------------------------------------------------------------------
def write_rules(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(body)
    return path


GOOD = (
    'version = 1\n\n[[rule]]\nname = "punct"\ntask = "punctuation"\nwhen = { is_punct = true }\n\n'
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            GOOD + '[[rule]]\nname = "x"\ntask = "grammar"\nwhen = { pos = ["DET"] \n',
            r"rules.toml: TOML syntax error: .*line 11",
        ),
        (
            GOOD + '[[rule]]\nname = "x"\ntaks = "grammar"\n',
            r"rules.toml:10: unknown field 'taks' in a rule",
        ),
        (
            GOOD + '[[rule]]\nname = "x"\ntask = "grammar"\n\nwhen = { poss = ["DET"] }\n',
            r"rules.toml:12: unknown spaCy attribute 'poss'",
        ),
        (
            GOOD + '[[rule]]\nname = "x"\ntask = "grammar"\nwhen = { pos = ["DETERMINER"] }\n',
            r"rules.toml:11: unknown POS tag 'DETERMINER'",
        ),
        (
            GOOD + '[[rule]]\nname = "x"\ntask = "g"\nwhen = { text_regex = "(" }\n',
            r"rules.toml:11: 'text_regex' in rule 'x' is not a valid regular expression",
        ),
        (
            GOOD + '[[rule]]\nname = "x"\ntask = "g"\nwhen = { is_punct = "yes" }\n',
            r"rules.toml:11: 'is_punct' in rule 'x' must be true or false",
        ),
        (
            GOOD + '[[rule]]\nname = "punct"\ntask = "g"\n',
            r"rules.toml:9: a second rule named 'punct'",
        ),
        (GOOD + '[[rule]]\nname = "y"\n', r"rules.toml:8: rule 'y' needs a `task` label"),
        ('colour = "red"\n' + GOOD, r"rules.toml:1: unknown top-level field 'colour'"),
        ("version = 1\n", r"rules.toml: no \[\[rule\]\] tables"),
    ],
)
def test_bad_rule_files_name_file_and_line(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(RulesError, match=expected):
        load_rules(write_rules(tmp_path, body))


def test_missing_rule_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read the rule file"):
        load_rules(tmp_path / "none.toml")


def test_user_rules_add_their_own_task(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path,
        GOOD + '[[rule]]\nname = "sum"\ntask = "math"\nwhen = { like_num = true }\n\n'
        '[[rule]]\nname = "rest"\ntask = "arbitrary"\nwhen = {}\n',
    )
    rules = load_rules(path)
    assert rules.tasks() == ["punctuation", "math", "arbitrary", "whitespace"]
    assert rules.source == str(path) and len(rules.sha256) == 64
    tagger = TaskTagger(rules)
    text = "3 + 4 = 7."
    got = _tags(tagger, text, _word_spans(tagger, text))
    assert ("7", "math", "sum") in got and (".", "punctuation", "punct") in got


def test_only_needed_spacy_components_are_loaded(tmp_path: Path) -> None:
    default = load_rules().components()
    assert "parser" not in default and {"ner", "tagger", "lemmatizer"} <= default
    with_dep = load_rules(write_rules(tmp_path, GOOD.replace("is_punct = true", 'dep = ["punct"]')))
    assert "parser" in with_dep.components()


def test_worker_processes_tag_exactly_as_one_process(tagger: TaskTagger) -> None:
    """Two spawned workers (the threshold lowered so a small input uses them) give the same
    columns, in document order, as tagging in this process."""
    import numpy as np

    from taggers.workers import runs as _runs

    texts = [
        "Biden married Neilia Hunter, a student.",
        "The capital of Azerbaijan is Baku.",
        "In 1969 they had 3 sons; Beau was born first.",
        "Swarms of bees leave the hive in spring.",
        "Ships steered by the lighthouse at night.",
    ]
    spans = []
    for text in texts:  # one target per character pair, like subword tokens
        starts = np.arange(0, len(text), 2)
        spans.append(np.stack([starts, np.minimum(starts + 2, len(text))], axis=1))
    here = tagger.tag(texts, spans)
    there = tagger.tag(texts, spans, workers=2, min_chars=0)
    assert there == here and len(here["task"]) == sum(len(s) for s in spans)
    runs = _runs([len(t) for t in texts], 3)
    assert runs[0][0] == 0 and runs[-1][1] == len(texts) and len(runs) <= 3
    assert all(a < b and b == c for (a, b), (c, _) in itertools.pairwise([*runs, (len(texts), 0)]))


def test_the_fast_path_tags_exactly_as_the_plain_one(tiny_lm) -> None:  # type: ignore[no-untyped-def]
    """Issue 15: identical documents tagged once, and lemmas found only where a rule reads
    them, give the same columns, row for row and in document order, as tagging every
    document with the whole pipeline: on the bundled corpus (repeated, interleaved, one copy
    with other targets) and the gold sentences."""
    import numpy as np

    from corpora import bundled_path, read_corpus

    texts = [d.text for d in read_corpus([bundled_path()]) if d.text]
    texts += [text for text, _ in gold_sentences()]
    texts.append("She walked home, running past the mangoes and the oranges.")
    enc = tiny_lm.tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
    spans = [np.asarray(o, dtype=np.int64).reshape(-1, 2) for o in enc["offset_mapping"]]
    pairs = np.stack([np.arange(0, len(texts[0]), 2), np.arange(2, len(texts[0]) + 2, 2)], 1)
    order = [*range(len(texts)), 3, 0, len(texts) - 1, 3, 0]  # repeats, interleaved
    all_texts = [texts[i] for i in order] + [texts[0]]
    all_spans = [spans[i] for i in order] + [
        np.minimum(pairs, len(texts[0]))
    ]  # same text, other targets
    rules = load_rules()
    fast = TaskTagger(rules).tag(all_texts, all_spans)
    plain = TaskTagger(rules, fast=False).tag(all_texts, all_spans)
    assert fast == plain
    assert TaskTagger(rules).tag(all_texts, all_spans, workers=2, min_chars=0) == plain
    assert len(fast["task"]) == sum(len(s) for s in all_spans)
    assert "inflection" in fast["task_reason"]  # a lemma was found on demand, and used
