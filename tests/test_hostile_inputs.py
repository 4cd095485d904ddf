"""Hostile corpus files and rule files: each gives a result or one clear one-line error.

Specific cases first (lone surrogates, deep nesting, UTF-16/32 files, byte-order marks, slow
regular expressions, errors from worker processes), then fuzzing: arbitrary bytes and
JSONL-, CSV- and TOML-like text fed to the readers and the rule loader, which must answer
with documents, rules or an `InspectorError` of one line, never another exception.
"""

from __future__ import annotations

import json
import pickle
import re
import tempfile
import time
from pathlib import Path

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import plain_word, run_cli
from corpora import Document, iter_corpus, read_corpus
from corpora.errors import CorpusError
from taggers.rules import REGEX_TIMEOUT, RulesError, load_rules
from taggers.tagger import TaskTagger

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def one_line(error: BaseException) -> str:
    text = str(error)
    assert text and "\n" not in text and "\r" not in text, repr(text)
    text.encode("utf-8")  # printable on any terminal: no lone surrogates in messages
    return text


# -- lone surrogates and deep nesting in JSONL -------------------------------------------
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (r'{"text": "\ud800"}', r"the text holds a lone UTF-16 surrogate \(\\ud800\)"),
        (r'{"text": "ok \udfff end"}', r"the text holds a lone UTF-16 surrogate \(\\udfff\)"),
        (r'{"text": "ok", "id": "a\udc00"}', r"field 'id' holds a lone UTF-16 surrogate"),
        (r'{"text": "ok", "tags": [{"x": "\ud83d"}]}', r"field 'tags' holds a lone UTF-16"),
        (r'{"text": "ok", "\ud800": 1}', r"a field name holds a lone UTF-16 surrogate"),
    ],
)
def test_jsonl_lone_surrogate_is_one_clear_error(tmp_path: Path, line: str, expected: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"text": "fine"}\n\n' + line + "\n")
    with pytest.raises(CorpusError, match=r"x\.jsonl:3: " + expected) as info:
        read_corpus([path])
    assert "which is not a character; fix that line" in one_line(info.value)


def test_jsonl_surrogate_pair_escape_is_one_character(tmp_path: Path) -> None:
    path = tmp_path / "pair.jsonl"
    path.write_text(r'{"text": "smile \ud83d\ude00", "id": "\\ud800 is text"}' + "\n")
    [doc] = read_corpus([path])
    assert doc.text == "smile 😀" and doc.id == "\\ud800 is text"
    assert len(doc.content_hash) == 64


def test_jsonl_deep_nesting_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_text('{"text": "a"}\n{"text": "b"}\n' + "[" * 100_000 + "\n")
    with pytest.raises(CorpusError, match=r"deep\.jsonl:3: nested too deeply to read") as info:
        read_corpus([path])
    one_line(info.value)
    path.write_text('{"text": "a", "meta": ' + "[" * 5_000 + "]" * 5_000 + "}\n")
    with pytest.raises(CorpusError, match=r"deep\.jsonl:1: nested too deeply"):
        read_corpus([path])


# -- UTF-16 and UTF-32 files, byte-order marks -------------------------------------------
TEXT = "Hello there, a plain line.\nAnd a second one.\n"


@pytest.mark.parametrize(
    ("encoding", "bom", "name"),
    [
        ("utf-16", True, "UTF-16"),
        ("utf-16-le", False, "UTF-16LE"),
        ("utf-16-be", False, "UTF-16BE"),
        ("utf-16-be", True, "UTF-16"),  # FE FF: not UTF-8 at offset 0, not a NUL
        ("utf-32", True, "UTF-32"),
        ("utf-32-le", False, "UTF-32LE"),
        ("utf-32-be", False, "UTF-32BE"),
    ],
)
@pytest.mark.parametrize("suffix", [".txt", ".md", ".jsonl", ".csv"])
def test_utf16_and_utf32_files_are_named(
    tmp_path: Path, encoding: str, bom: bool, name: str, suffix: str
) -> None:
    text = {".jsonl": '{"text": "Hello there"}\n{"text": "again"}\n', ".csv": "text\nhi\nho\n"}
    body = text.get(suffix, TEXT)
    marked = bom and encoding.endswith(("-le", "-be"))  # "utf-16" and "utf-32" write their own
    data = (("\ufeff" if marked else "") + body).encode(encoding)
    path = tmp_path / f"wide{suffix}"
    path.write_bytes(data)
    with pytest.raises(CorpusError) as info:
        read_corpus([path])
    got = one_line(info.value)
    assert f"wide{suffix}: looks like {name.rstrip('LBE')} text" in got, got
    assert f"iconv -f {name} -t UTF-8 {path} > out{suffix}" in got, got


@pytest.mark.parametrize("name", ["ls", "program.bin"])
def test_a_binary_file_of_any_name_is_named_binary(tmp_path: Path, name: str) -> None:
    """Issue 43, item 4: a program (no suffix, or one no reader knows) is a binary file, as
    the same bytes saved as .txt are, not an "unknown format '(none)'"."""
    path = tmp_path / name
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    with pytest.raises(CorpusError, match=r"looks like a binary file \(NUL byte at offset 7\)"):
        read_corpus([path])
    text = tmp_path / "notes"  # text with no suffix: its format is what is unknown
    text.write_text("hello")
    with pytest.raises(CorpusError, match=r"unknown format '\(none\)'"):
        read_corpus([text])


def test_binary_file_is_still_binary(tmp_path: Path) -> None:
    path = tmp_path / "zip.txt"
    path.write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4)
    with pytest.raises(CorpusError, match=r"looks like a binary file \(NUL byte at offset 5\)"):
        read_corpus([path])


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("bom.txt", "Text"),
        ("bom.md", "Text"),
        ("bom.jsonl", '{"text": "Text"}\n'),
        ("bom.csv", "text,id\nText,1\n"),
    ],
)
def test_utf8_byte_order_mark_is_not_text(tmp_path: Path, name: str, body: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    [doc] = read_corpus([path])
    assert doc.text == "Text"
    assert not any("\ufeff" in str(k) for k in doc.meta)


# -- regular expressions: bounded, and the same matches as `re` --------------------------
RULES = (
    'version = 1\n\n[[rule]]\nname = "punct"\ntask = "punctuation"\nwhen = { is_punct = true }\n\n'
)


def slow_rules(tmp_path: Path, pattern: str, key: str = "text_regex") -> Path:
    path = tmp_path / "rules.toml"
    body = f'[[rule]]\nname = "slow"\ntask = "grammar"\nwhen = {{ {key} = "{pattern}" }}\n'
    path.write_text(RULES + body)
    return path


@pytest.mark.parametrize("key", ["text_regex", "piece_regex"])
def test_slow_regex_is_a_rules_error_naming_rule_and_word(tmp_path: Path, key: str) -> None:
    """`(a|a)+$` takes time exponential in the word's length (in `re` and `regex` alike):
    stopped after REGEX_TIMEOUT with the rule, its line and the word named."""
    path = slow_rules(tmp_path, "(a|a)+$", key)
    rules = load_rules(path)
    word = "a" * 22 + "b"
    started = time.perf_counter()
    with pytest.raises(RulesError) as info:
        rules.decide(plain_word(word), word, True)
    assert time.perf_counter() - started < 10 * REGEX_TIMEOUT
    what = "word" if key == "text_regex" else "piece"
    assert one_line(info.value) == (
        f"rule 'slow' ({path}:8): {key} took over {REGEX_TIMEOUT:g} s on the 23-character "
        f"{what} '{word}'; simplify the pattern (avoid nested or overlapping repeats such as "
        "(a|a)+)"
    )


def test_nested_repeat_that_re_backtracks_on_is_quick(tmp_path: Path) -> None:
    """`(a+)+$` on 26 a's and a b backtracks 2^26 times in `re` (seconds; 40 a's: days)."""
    rules = load_rules(slow_rules(tmp_path, "(a+)+$"))
    for n in (26, 40):
        word = "a" * n + "b"
        started = time.perf_counter()
        assert rules.decide(plain_word(word), word, True) is None
        assert time.perf_counter() - started < 1.0


def test_rules_error_survives_pickling() -> None:
    error = RulesError("rule 'x' (rules.toml:3): text_regex took over 0.1 s")
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is RulesError and str(back) == str(error)


def test_slow_regex_in_a_worker_is_the_same_one_line_error(tmp_path: Path) -> None:
    import numpy as np

    path = slow_rules(tmp_path, "(a|a)+$")
    tagger = TaskTagger(load_rules(path))
    texts = ["A short one.", "Then " + "a" * 24 + "b here.", "And a third."]
    spans = [np.array([m.span() for m in re.finditer(r"\S+", t)]) for t in texts]
    with pytest.raises(RulesError) as here:
        tagger.tag(texts, spans)
    with pytest.raises(RulesError) as there:
        tagger.tag(texts, spans, workers=2, min_chars=0)
    assert str(there.value) == str(here.value)
    assert one_line(there.value).startswith(f"rule 'slow' ({path}:8): text_regex took over")


def _default_patterns() -> list[str]:
    return sorted(
        {
            p.pattern
            for rule in load_rules().rules
            for key, p in rule.when.items()
            if key.endswith("_regex")
        }
    )


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(
        alphabet=st.one_of(
            st.sampled_from("0123456789.,esdingrtESDINGRT'’ſKk+-_ \u0130\u212a\u017f"),
            st.characters(blacklist_characters="\u0131"),
        ),
        max_size=12,
    )
)
def test_default_rules_match_exactly_as_re_would(text: str) -> None:
    rules = load_rules()
    compiled = {
        p.pattern: p for rule in rules.rules for k, p in rule.when.items() if k.endswith("_regex")
    }
    for pattern in _default_patterns():
        assert (re.search(pattern, text) is None) == (compiled[pattern].search(text) is None)
        assert (re.fullmatch(pattern, text) is None) == (compiled[pattern].fullmatch(text) is None)


def test_the_one_known_difference_from_re_in_the_default_rules() -> None:
    """`re` alone takes dotless ı for i under (?i); `regex` follows Unicode case folding."""
    [pattern] = [p for p in _default_patterns() if "ing" in p]
    assert re.fullmatch(pattern, "ıng") is not None
    assert regex.compile(pattern, flags=regex.V0).fullmatch("ıng") is None
    assert regex.compile(pattern, flags=regex.V0).fullmatch("İNG") is not None


# -- names, fields and ids with control characters stay on one line ---------------------
def test_messages_quote_odd_names_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_text(json.dumps({"a\nb": 1}) + "\n")
    with pytest.raises(CorpusError, match=r"no field 'text' \(fields here: a\\nb\)") as info:
        read_corpus([path])
    one_line(info.value)
    path.write_text("\n".join(json.dumps({"id": "x\ny", "text": t}) for t in "ab") + "\n")
    with pytest.raises(CorpusError, match=r"document id 'x\\ny' appears twice") as info:
        read_corpus([path])
    one_line(info.value)
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES + '[[rule]]\nname = "two\\nlines"\ntask = "9"\n')
    with pytest.raises(
        RulesError, match=r"rules.toml:9: rule name 'two\\nlines' holds a char"
    ) as info:
        load_rules(rules)
    one_line(info.value)


def test_rule_that_is_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("version = 1\nrule = [1, 2]\n")
    with pytest.raises(RulesError, match=r"rules\.toml:2: each rule must be a \[\[rule\]\] table"):
        load_rules(path)


def test_deeply_nested_toml(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(RULES + "x = " + "[" * 5_000 + "]" * 5_000 + "\n")
    with pytest.raises(RulesError, match=r"rules\.toml: nested too deeply to read") as info:
        load_rules(path)
    one_line(info.value)


# -- fuzzing: the readers ---------------------------------------------------------------
def check(docs: list[Document]) -> None:
    """Documents usable downstream: text, id and extra fields encode as UTF-8."""
    for doc in docs:
        assert isinstance(doc.text, str) and isinstance(doc.id, str)
        doc.content_hash  # noqa: B018 - encodes the text: no lone surrogates
        doc.id.encode("utf-8")
        json.dumps(doc.meta, ensure_ascii=False, default=str).encode("utf-8")


def read_or_one_line_error(suffix: str, data: bytes, **kwargs: str) -> None:
    """`data` as a file ending in `suffix`: `read_corpus` gives usable documents, or one
    one-line InspectorError."""
    with tempfile.TemporaryDirectory(prefix="hostile-") as folder:
        path = Path(folder) / f"f{suffix}"
        path.write_bytes(data)
        try:
            docs = read_corpus([path], **kwargs)
        except CorpusError as e:
            one_line(e)
            return
        check(docs)


@FUZZ
@given(
    suffix=st.sampled_from([".txt", ".md", ".jsonl", ".ndjson", ".csv", ".parquet"]),
    data=st.one_of(
        st.binary(max_size=300),
        st.sampled_from(
            [b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"PAR1"]
        ).flatmap(lambda head: st.binary(max_size=200).map(lambda rest: head + rest)),
    ),
)
def test_fuzz_arbitrary_bytes(suffix: str, data: bytes) -> None:
    read_or_one_line_error(suffix, data)


JSON_BITS = st.one_of(
    st.sampled_from(
        [
            "{", "}", "[", "]", ",", ":", " ", "\n", "\r\n", '"text"', '"id"', '"meta"', "null",
            "true", "1", "-0.5e9", "1e999", "NaN", "Infinity", '"ok"', r'"\ud800"', r'"\udc00x"',
            r'"\ud83d\ude00"', r'"a\nb"', r'"\u0000"', "\ufeff", '"\\', "[" * 2000, "1" * 5000,
            '{"text": "fine"}', '{"text": ', '"id": ["x"]', '{"text": "\\ud800"}\n',
            '{"text": "x", "id": "\\udfff"}\n', '{"text": "x", "\\ud800": [1]}\n',
            '{"text": "x", "id": ' + "[" * 900 + "]" * 900 + "}\n",
        ]
    ),
    st.text(max_size=8).map(json.dumps),
    st.text(max_size=8),
)  # fmt: skip


@FUZZ
@given(bits=st.lists(JSON_BITS, max_size=30), field=st.sampled_from(["text", "id", "meta"]))
def test_fuzz_jsonl_like_text(bits: list[str], field: str) -> None:
    data = "".join(bits).encode("utf-8", "surrogatepass")
    read_or_one_line_error(".jsonl", data, text_field=field)


CSV_BITS = st.one_of(
    st.sampled_from(
        [
            "text",
            "id",
            "text,id",
            ",",
            '"',
            '""',
            "\n",
            "\r\n",
            "\r",
            " ",
            "\ufeff",
            "\ud800",
            "\x00",
        ]
    ),
    st.text(max_size=8),
)


@FUZZ
@given(bits=st.lists(CSV_BITS, max_size=30), column=st.sampled_from(["text", "id"]))
def test_fuzz_csv_like_text(bits: list[str], column: str) -> None:
    data = "".join(bits).encode("utf-8", "surrogatepass")
    read_or_one_line_error(".csv", data, text_column=column)


@FUZZ
@given(bits=st.lists(JSON_BITS, max_size=20))
def test_fuzz_iter_corpus_over_a_folder(bits: list[str]) -> None:
    data = "".join(bits).encode("utf-8", "surrogatepass")
    with tempfile.TemporaryDirectory(prefix="hostile-") as folder:
        (Path(folder) / "a.jsonl").write_bytes(data)
        (Path(folder) / "sub").mkdir()
        (Path(folder) / "sub" / "b.txt").write_bytes(data)
        docs = []
        try:
            for doc in iter_corpus([folder]):
                docs.append(doc)
        except CorpusError as e:
            one_line(e)
        check(docs)


# -- fuzzing: the rule loader -----------------------------------------------------------
def load_or_one_line_error(text: str) -> None:
    """`load_rules` gives rules that can decide a word, or one one-line InspectorError."""
    with tempfile.TemporaryDirectory(prefix="hostile-rules-") as folder:
        path = Path(folder) / "rules.toml"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            rules = load_rules(path)
            for word in ("a" * 12 + "b", "Word", "\n", ""):
                rules.decide(plain_word(word), word, True)
            rules.components()
            rules.tasks()
        except RulesError as e:
            one_line(e)


@FUZZ
@given(text=st.text(max_size=300))
def test_fuzz_arbitrary_toml_text(text: str) -> None:
    load_or_one_line_error(text)


def toml_string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


REGEX_BITS = st.text(alphabet="()[]{}*+?|^$\\.abAB09:<>=!,iPpxwd-", max_size=20)
VALUES = st.recursive(
    st.one_of(
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=10),
        st.sampled_from(["DET", "NOUN", "PROPN", "", "a\nb", "\ud800", "(a|a)+$", "a" * 100]),
        REGEX_BITS,
    ).map(lambda v: toml_string(v) if isinstance(v, str) else json.dumps(v)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.sampled_from(["[" * 600 + "]" * 600, "inf", "nan", "1979-13-45", "07:32:00", "0x10"]),
    ),
    max_leaves=6,
)
KEYS = st.sampled_from(
    ["name", "task", "note", "when", "version", "text", "pos", "is_punct", "text_regex",
     "piece_regex", "morph", "word_initial", '"a\\nb"', "rule", "lower", "dep", "tag", "x"]
)  # fmt: skip
CONDITIONS = st.sampled_from(
    ["text", "pos", "is_punct", "text_regex", "piece_regex", "text_regex", "piece_regex",
     "morph", "word_initial", "lower", "in_entity", '"a\\nb"', "x"]
)  # fmt: skip
LINES = st.one_of(
    st.just("[[rule]]"),
    st.just("[rule]"),
    st.just("[[rule.when]]"),
    st.just("[rule.when]"),
    st.tuples(KEYS, VALUES).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    st.lists(st.tuples(KEYS, VALUES), max_size=3).map(
        lambda kvs: "when = { " + ", ".join(f"{k} = {v}" for k, v in kvs) + " }"
    ),
    st.text(max_size=10),
)


@FUZZ
@given(lines=st.lists(LINES, max_size=15), prefix=st.booleans())
def test_fuzz_rule_files_from_valid_fragments(lines: list[str], prefix: bool) -> None:
    load_or_one_line_error((RULES if prefix else "") + "\n".join(lines) + "\n")


CONDITION_VALUES = st.one_of(
    VALUES,
    REGEX_BITS.map(toml_string),
    st.sampled_from(["(a|a)+$", "(a+)+$", "^[0-9]+$", "(?i)ing", "[[:alpha:]]", "\\p{L}+"]).map(
        toml_string
    ),
    st.lists(st.sampled_from(["DET", "NOUN", "the", "", "Number=Sing", "x\ny"]), max_size=3).map(
        json.dumps
    ),
)
NAMES = st.text(min_size=1, max_size=8).map(toml_string)
TASKS = st.sampled_from(["grammar", "math", "x-1", "1x", ""]).map(toml_string)


def mostly(good: st.SearchStrategy[str], odd: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`good` nine times in ten, so most rule files get as far as their conditions."""
    return st.integers(0, 9).flatmap(lambda i: odd if i == 0 else good)


RULE = st.tuples(
    mostly(NAMES, VALUES),
    mostly(TASKS, VALUES),
    st.dictionaries(CONDITIONS, CONDITION_VALUES, max_size=3),
    st.lists(st.tuples(mostly(st.just("note"), st.just("nme")), VALUES), max_size=1),
).map(
    lambda r: "\n".join(
        [
            "[[rule]]",
            f"name = {r[0]}",
            f"task = {r[1]}",
            "when = { " + ", ".join(f"{k} = {v}" for k, v in r[2].items()) + " }",
            *(f"{k} = {v}" for k, v in r[3]),
        ]
    )
)


@FUZZ
@given(rules=st.lists(RULE, min_size=1, max_size=4), version=st.booleans())
def test_fuzz_rule_files_of_plausible_rules(rules: list[str], version: bool) -> None:
    load_or_one_line_error(("version = 1\n\n" if version else "") + "\n\n".join(rules) + "\n")


# -- through the command line: one line on stderr, exit status 2 ----------------------
@pytest.mark.parametrize(
    ("name", "content", "rules", "expected"),
    [
        ("x.jsonl", rb'{"text": "\ud800"}' + b"\n", None, "x.jsonl:1: the text holds a lone"),
        ("w.txt", "Hello there.".encode("utf-16"), None, "w.txt: looks like UTF-16 text"),
        ("a.txt", b"Then " + b"a" * 24 + b"b here.", "(a|a)+$", "rule 'slow' ("),
    ],
)
def test_cli_prints_one_line(
    tmp_path: Path,
    tiny_model_dir: Path,
    name: str,
    content: bytes,
    rules: str | None,
    expected: str,
) -> None:
    (tmp_path / name).write_bytes(content)
    extra = ["--rules", str(slow_rules(tmp_path, rules))] if rules else []
    args = [name, "--model", str(tiny_model_dir), "--cache-dir", str(tmp_path / "cache"), *extra]
    result = run_cli("score", *args, cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("inspector: error: "), result.stderr
    assert expected in lines[0], lines[0]
