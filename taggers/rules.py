"""The task rules: a TOML data file, read, checked and compiled into matchers.

A rule has a `name` (recorded as `task_reason`), a `task` (any label) and `when`, a table
of conditions on the target's word (a spaCy token) and on the target piece itself. The
first rule whose conditions all hold decides. Errors name the file and line.

`text_regex` and `piece_regex` are compiled by the `regex` module in its `re`-compatible
mode (V0), which can stop a match: each gets REGEX_TIMEOUT seconds, so a pattern that
backtracks exponentially, like `(a|a)+$`, is a clear error naming the rule instead of a hang
(and one that only `re` backtracks on, like `(a+)+$`, is quick). V0 differs from `re` only
in Unicode corners: `\\w` counts combining marks but not superscript digits, `\\s` leaves
out the separators U+001C to U+001F, `(?i)` does not equate dotless ı with i (the one
difference the shipped rules meet: a piece "ıng"), `\\d` follows a newer Unicode,
`[[:alpha:]]` is a POSIX class (a warned-about nested set to `re`), and extensions `re`
rejects (`\\p{L}`, variable-width look-behind) work.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import regex

from taggers.errors import RulesError, message

UPOS = {
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART",
    "PRON", "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X", "SPACE",
}  # fmt: skip
LIST_CONDITIONS = {
    "text",
    "lower",
    "lemma",
    "pos",
    "tag",
    "dep",
    "ent_type",
    "morph",
    "prev_text",
    "next_text",
}
BOOL_CONDITIONS = {
    "is_punct", "is_alpha", "is_digit", "like_num", "is_lower", "is_upper", "is_title",
    "is_stop", "in_entity", "inflected", "word_initial",
}  # fmt: skip
REGEX_CONDITIONS = {"text_regex", "piece_regex"}
CONDITIONS = LIST_CONDITIONS | BOOL_CONDITIONS | REGEX_CONDITIONS
PIECE_CONDITIONS = {"word_initial", "piece_regex"}  # about the target itself, not its word
RULE_FIELDS = {"name", "task", "note", "when"}

# The spaCy components each condition needs; anything else is excluded when loading spaCy.
TAGGING = {"tok2vec", "tagger", "attribute_ruler"}
NEEDS: dict[str, set[str]] = {
    "pos": TAGGING, "tag": TAGGING, "morph": TAGGING,
    "lemma": TAGGING | {"lemmatizer"}, "inflected": TAGGING | {"lemmatizer"},
    "dep": {"tok2vec", "parser"},
    "ent_type": {"ner"}, "in_entity": {"ner"},
}  # fmt: skip
WORD_COLUMNS = ("pos", "tag", "ent_type")  # always reported, so always computed
DEFAULT_RULES = "rules.toml"
REGEX_TIMEOUT = 0.1  # seconds one regex match may take: ordinary patterns take microseconds


def _show(text: str, limit: int = 60) -> str:
    """`text` (a name, key or value from a rule file) fit for a one-line message: control
    characters and the like escaped, anything past `limit` cut."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")


@dataclass(frozen=True)
class Rule:
    """One named rule: if every condition of `when` holds, the target's task is `task`."""

    name: str
    task: str
    note: str
    when: Mapping[str, Any]
    line: int
    file: str = ""  # the rule file, for messages
    word_only: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "word_only", not (set(self.when) & PIECE_CONDITIONS))

    def matches(self, word: Mapping[str, Any], piece: str, initial: bool) -> bool:
        """Whether the target (`piece` of `word`, first piece if `initial`) meets every condition."""
        for key, want in self.when.items():
            if key == "word_initial":
                ok = initial == want
            elif key == "piece_regex":
                ok = self._regex(key, want.fullmatch, piece.strip(), "piece")
            elif key == "text_regex":
                ok = self._regex(key, want.search, word["text"], "word")
            elif key == "morph":
                ok = not want.isdisjoint(word["morph"])
            elif key in LIST_CONDITIONS:
                ok = word[key] in want
            else:
                ok = word[key] == want
            if not ok:
                return False
        return True

    def _regex(self, key: str, match: Callable[..., Any], text: str, what: str) -> bool:
        """Whether `match` (a pattern's search or fullmatch) finds `text` within
        REGEX_TIMEOUT; a pattern that takes longer would take far longer on a longer word."""
        try:
            return match(text, timeout=REGEX_TIMEOUT) is not None
        except TimeoutError as e:
            raise RulesError(
                message(
                    "rule_slow", name=_show(self.name), file=self.file, line=self.line, key=key,
                    limit=REGEX_TIMEOUT, length=len(text), what=what, text=_show(text, 40),
                )
            ) from e  # fmt: skip


@dataclass(frozen=True)
class RuleSet:
    """The rules of one file, in order, with what they need from spaCy."""

    rules: tuple[Rule, ...]
    source: str  # the file, or "default"
    sha256: str  # of the file's bytes: part of every run's settings

    def components(self) -> set[str]:
        """The spaCy pipeline components these rules (and the reported columns) need."""
        needed = set().union(*(NEEDS[c] for c in WORD_COLUMNS))
        for rule in self.rules:
            for key in rule.when:
                needed |= NEEDS.get(key, set())
        return needed

    def tasks(self) -> list[str]:
        """Every task label the rules can produce, in first-appearance order, whitespace last."""
        seen = dict.fromkeys(r.task for r in self.rules)
        seen.pop("whitespace", None)
        return [*seen, "whitespace"]

    def decide(self, word: Mapping[str, Any], piece: str, initial: bool) -> Rule | None:
        for rule in self.rules:
            if rule.matches(word, piece, initial):
                return rule
        return None


def default_rules_path() -> Path:
    return Path(str(files("taggers") / DEFAULT_RULES))


def load_rules(path: Path | None = None) -> RuleSet:
    """The rules in `path` (default: the shipped `taggers/rules.toml`), checked."""
    file = path or default_rules_path()
    try:
        raw = file.read_bytes()
    except OSError as e:
        raise RulesError(message("rules_unreadable", file=file, reason=e.strerror or e)) from e
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as e:
        raise RulesError(message("rules_utf8", file=file, offset=e.start)) from e
    except tomllib.TOMLDecodeError as e:
        raise RulesError(message("rules_toml", file=file, reason=_show(str(e), 200))) from e
    except RecursionError as e:  # tomllib reads nested arrays and tables recursively
        raise RulesError(message("rules_nested", file=file)) from e
    where = _Locator(str(file), text)
    unknown = set(data) - {"version", "rule"}
    if unknown:
        key = sorted(unknown)[0]
        raise RulesError(message("rules_top_field", at=where.top(key), key=_show(key)))
    rules_raw = data.get("rule")
    if not isinstance(rules_raw, list) or not rules_raw:
        raise RulesError(message("rules_none", file=file))
    rules: list[Rule] = []
    names: set[str] = set()
    for i, entry in enumerate(rules_raw):
        if not isinstance(entry, dict):
            raise RulesError(message("rule_not_table", at=where.rule(i), kind=type(entry).__name__))
        rules.append(_parse_rule(entry, i, where, names))
    source = "default" if path is None else str(file)
    return RuleSet(tuple(rules), source, hashlib.sha256(raw).hexdigest())


def _parse_rule(entry: dict[str, Any], i: int, where: _Locator, names: set[str]) -> Rule:
    at = where.rule(i)
    for key in entry:
        if key not in RULE_FIELDS:
            raise RulesError(message("rule_field", at=where.rule(i, key), key=_show(key)))
    name, task = entry.get("name"), entry.get("task")
    if not isinstance(name, str) or not name.strip():
        raise RulesError(message("rule_no_name", at=at))
    if not name.isprintable():  # it is the `task_reason` of every target it decides
        raise RulesError(
            message("rule_name_unprintable", at=where.rule(i, "name"), name=_show(name))
        )
    if name in names:
        raise RulesError(message("rule_name_twice", at=where.rule(i, "name"), name=name))
    names.add(name)
    if not isinstance(task, str) or not re.fullmatch(r"[A-Za-z][\w-]*", task):
        raise RulesError(message("rule_no_task", at=at, name=name))
    when = entry.get("when", {})
    if not isinstance(when, dict):
        raise RulesError(message("rule_when", at=where.rule(i, "when"), name=name))
    compiled: dict[str, Any] = {}
    for key, value in when.items():
        line = where.rule(i, key)
        if key not in CONDITIONS:
            raise RulesError(
                message(
                    "rule_attribute", at=line, key=_show(key), name=name,
                    known=", ".join(sorted(CONDITIONS)),
                )
            )  # fmt: skip
        compiled[key] = _condition(key, value, line, name)
    return Rule(
        name, task, str(entry.get("note", "")), compiled, int(at.rsplit(":", 1)[1]), where.file
    )


def _condition(key: str, value: Any, line: str, name: str) -> Any:
    if key in BOOL_CONDITIONS:
        if not isinstance(value, bool):
            raise RulesError(message("rule_bool", at=line, key=key, name=name))
        return value
    if key in REGEX_CONDITIONS:
        if not isinstance(value, str):
            raise RulesError(message("rule_regex_type", at=line, key=key, name=name))
        try:
            return regex.compile(value, flags=regex.V0)
        except (regex.error, OverflowError, RecursionError) as e:
            reason = _show(str(e) or type(e).__name__, 200)
            raise RulesError(
                message("rule_regex", at=line, key=key, name=name, reason=reason)
            ) from e
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesError(message("rule_list", at=line, key=key, name=name))
    if key == "pos":
        bad = [v for v in value if v not in UPOS]
        if bad:
            raise RulesError(
                message(
                    "rule_pos", at=line, tag=_show(bad[0]), name=name, known=", ".join(sorted(UPOS))
                )
            )
    return frozenset(value)


class _Locator:
    """File:line strings for a rule's keys, found in the TOML text by scanning its lines."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = text.splitlines()
        self.headers = [
            n for n, line in enumerate(self.lines, 1) if re.match(r"\s*\[\[\s*rule\s*\]\]", line)
        ]

    def top(self, key: str) -> str:
        return (
            self._find(key, 1, self.headers[0] if self.headers else len(self.lines) + 1)
            or f"{self.file}:1"
        )

    def rule(self, i: int, key: str | None = None) -> str:
        if i >= len(self.headers):  # rules given inline (`rule = [{...}]`), not as [[rule]]
            return self.top("rule")
        start = self.headers[i]
        end = self.headers[i + 1] if i + 1 < len(self.headers) else len(self.lines) + 1
        found = self._find(key, start, end) if key else None
        return found or f"{self.file}:{start}"

    def _find(self, key: str, start: int, end: int) -> str | None:
        pattern = re.compile(rf'(^|[\s{{,])"?{re.escape(key)}"?\s*=')
        for n in range(start, end):
            line = self.lines[n - 1].split("#", 1)[0]
            if pattern.search(line):
                return f"{self.file}:{n}"
        return None
