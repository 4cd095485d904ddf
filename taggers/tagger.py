"""Tag every target with a task: spaCy over the documents, alignment, then the rules.

spaCy runs over all documents with `nlp.pipe`, with only the components the rules need, in
batches of at most 100,000 characters, a longer document in pieces (`pieces.py`). Each
target is aligned to its word (`align.py`) and the first matching rule decides;
whitespace-only targets are `whitespace` before any rule runs.

Tagging runs on the CPU, one document at a time, and on a GPU machine it, not the model, is
what bounds a big corpus: given `workers`, large inputs are cut into runs of whole documents
tagged by that many processes (started once per process, then reused), results in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np

from taggers import workers as _workers
from taggers.align import WHITESPACE, align
from taggers.parses import ParseCache, parse_ahead
from taggers.pieces import parse
from taggers.pipeline import load_spacy, spacy_model_id
from taggers.rules import RuleSet

WORD_CHARS = 200  # the `word` column keeps at most this much of a word, then "…"


def shown_word(text: str) -> str:
    """A word as the `word` column keeps it: whole, or cut to `WORD_CHARS` characters and
    "…". Every target of a word repeats it, so a 100,000-character "word" (a blob with no
    spaces) would otherwise cost 100,000 characters per target: gigabytes, quadratically.
    The full word is always `text[word_start:word_end]`."""
    return text if len(text) <= WORD_CHARS else text[:WORD_CHARS] + "…"


# The columns the tagger adds to each target, with their types: the token table's schema
# (inspector/tables/schema.py) is built from this, so they are named in one place.
TAG_COLUMNS: dict[str, type] = {
    "word": str,  # the spaCy token the target belongs to (for whitespace: the target's text), at most WORD_CHARS characters then "…"
    "word_start": int,  # the word's span in the document text
    "word_end": int,
    "word_initial": bool,  # the target is the first piece of its word
    "spacy_pos": str,
    "spacy_tag": str,
    "ent_type": str,  # named-entity label of the word, "" outside entities
    "task": str,
    "task_reason": str,  # the name of the rule that decided `task`
}


class _Word(dict):  # type: ignore[type-arg]
    """A word's attributes, its lemma (and `inflected`) found when a rule first reads them,
    as spaCy's lemmatizer would have set them: kept where the attribute ruler set one,
    else the lemmatizer's first lemma."""

    __slots__ = ("lemmatizer", "token")

    def __init__(self, attrs: dict[str, Any], token: Any, lemmatizer: Any) -> None:
        super().__init__(attrs)
        self.token, self.lemmatizer = token, lemmatizer

    def __missing__(self, key: str) -> Any:
        if key not in ("lemma", "inflected"):
            raise KeyError(key)
        t, lem = self.token, self.lemmatizer
        lemma = (
            lem.lemmatize(t)[0] if lem is not None and (lem.overwrite or t.lemma == 0) else t.lemma_
        )
        self["lemma"], self["inflected"] = lemma, bool(lemma) and lemma.lower() != t.lower_
        return self[key]


def _word_features(doc: Any, lemmatizer: Any = None) -> list[dict[str, Any]]:
    """The attributes rules test, per spaCy token, with the previous and next non-space words;
    `lemmatizer`, when it did not run over `doc`, finds a word's lemma when a rule reads it."""
    words: list[dict[str, Any]] = []
    for t in doc:
        words.append(
            _Word(
                {
                    "text": t.text,
                    "lower": t.lower_,
                    "pos": t.pos_,
                    "tag": t.tag_,
                    "dep": t.dep_,
                    "ent_type": t.ent_type_,
                    "morph": frozenset(str(t.morph).split("|")) - {""},
                    "is_punct": t.is_punct,
                    "is_alpha": t.is_alpha,
                    "is_digit": t.is_digit,
                    "like_num": t.like_num,
                    "is_lower": t.is_lower,
                    "is_upper": t.is_upper,
                    "is_title": t.is_title,
                    "is_stop": t.is_stop,
                    "in_entity": t.ent_iob_ in ("B", "I"),
                },
                t,
                lemmatizer,
            )
        )
    spaces = [t.is_space for t in doc]
    prev = ""
    for i, w in enumerate(words):
        w["prev_text"] = prev
        if not spaces[i]:
            prev = w["text"]
    nxt = ""
    for i in range(len(words) - 1, -1, -1):
        words[i]["next_text"] = nxt
        if not spaces[i]:
            nxt = words[i]["text"]
    return words


class TaskTagger:
    """Tags targets of documents with one rule set."""

    def __init__(self, rules: RuleSet, fast: bool = True, parses: Path | None = None) -> None:
        """`fast` (the default): identical documents tagged once, lemmas found only where a
        rule reads them; without it, every document and every lemma, as before (kept to
        measure the difference, and to check the tags are the same). `parses`: a folder
        where each text's spaCy parse is kept (`parses.py`), so a text is parsed once for
        every model and command."""
        self.rules = rules
        self.components = frozenset(rules.components())
        self.fast = self.lazy_lemmas = fast
        self.parses = parses
        self.cache: ParseCache | None = None  # this process's, made on first tagging

    @property
    def nlp(self) -> Any:
        return load_spacy(self.components, self.lazy_lemmas)  # on first use, once per process

    @property
    def lemmatizer(self) -> Any:
        """The lemmatizer, when it is not run over whole documents (found per word)."""
        nlp = self.nlp
        return nlp.get_pipe("lemmatizer") if "lemmatizer" in nlp.disabled else None

    @property
    def settings(self) -> dict[str, Any]:
        """What the tags depend on, known without loading spaCy (so a cache hit stays fast)."""
        return {
            "tagger_rules": self.rules.source,
            "tagger_rules_hash": self.rules.sha256,
            "spacy_model": spacy_model_id(),
            "spacy_components": sorted(self.components),
        }

    def tag(
        self,
        texts: Sequence[str],
        spans: Sequence[np.ndarray],
        workers: int = 1,
        min_chars: int | None = None,
    ) -> dict[str, list[Any]]:
        """Tag columns for every target, documents in order; `spans` are (n, 2) char offsets.

        With `workers` > 1 and at least `min_chars` (default `workers.PARALLEL_CHARS`) characters,
        documents are tagged by that many worker processes; the columns are the same either
        way."""
        return self.submit(texts, spans, workers, min_chars)()

    def submit(
        self,
        texts: Sequence[str],
        spans: Sequence[np.ndarray],
        workers: int = 1,
        min_chars: int | None = None,
    ) -> Callable[[], dict[str, list[Any]]]:
        """`tag`, started now in the workers (when it is worth them), collected by calling the
        result: this process can score the next part meanwhile. Tagged here, and only when
        collected, where workers are not used. Identical documents (same text, same
        targets: boilerplate, repeats) are tagged once: their tags are the same."""
        if self.fast:
            return self._submit_distinct(texts, spans, workers, min_chars)
        return self._submit(texts, spans, workers, min_chars)

    def _submit_distinct(
        self,
        texts: Sequence[str],
        spans: Sequence[np.ndarray],
        workers: int,
        min_chars: int | None,
    ) -> Callable[[], dict[str, list[Any]]]:
        """`_submit` of each distinct (text, targets) once, expanded back to every document."""
        index: dict[tuple[str, bytes], int] = {}  # (text, targets) -> its distinct number
        firsts: list[int] = []  # the first document of each distinct (text, targets)
        which = []  # each document's distinct number
        for i, (t, s) in enumerate(zip(texts, spans, strict=True)):
            key = (t, np.ascontiguousarray(s, dtype=np.int64).tobytes())
            if key not in index:
                index[key] = len(firsts)
                firsts.append(i)
            which.append(index[key])
        if len(firsts) == len(texts):
            return self._submit(texts, spans, workers, min_chars)
        inner = self._submit(
            [texts[i] for i in firsts], [spans[i] for i in firsts], workers, min_chars
        )

        def collect() -> dict[str, list[Any]]:
            cols = inner()
            ends = np.cumsum([len(spans[i]) for i in firsts])
            starts = ends - [len(spans[i]) for i in firsts]
            return {
                c: [v for w in which for v in values[starts[w] : ends[w]]]
                for c, values in cols.items()
            }

        return collect

    def _submit(
        self,
        texts: Sequence[str],
        spans: Sequence[np.ndarray],
        workers: int = 1,
        min_chars: int | None = None,
    ) -> Callable[[], dict[str, list[Any]]]:
        sizes = [len(t) for t in texts]
        least = _workers.PARALLEL_CHARS if min_chars is None else min_chars
        if workers <= 1 or len(texts) < 2 or sum(sizes) < least:
            return lambda: self.tag_here(texts, spans)
        runs = _workers.runs(sizes, workers * _workers.CHUNKS_PER_WORKER)
        try:
            pool = _workers.pool(workers)
            futures = [
                pool.submit(
                    _tag_run, self.rules, list(texts[a:b]), list(spans[a:b]), self.parses
                )  # fmt: skip
                for a, b in runs
            ]
        except BrokenProcessPool:
            _workers.POOLS.pop(workers, None)
            return lambda: self.tag_here(texts, spans)

        def collect() -> dict[str, list[Any]]:
            try:
                parts = [future.result() for future in futures]
            except BrokenProcessPool:  # a worker died (killed, or could not start): tag here
                _workers.POOLS.pop(workers, None)
                return self.tag_here(texts, spans)
            cols: dict[str, list[Any]] = {c: [] for c in TAG_COLUMNS}
            for part in parts:
                for c, values in part.items():
                    cols[c].extend(values)
            return cols

        return collect

    def parse_ahead(self, texts: Sequence[str], workers: int = 1) -> Callable[[], int]:
        """Parse the texts not kept yet in worker processes, started now, so a model can
        score meanwhile; the later `tag` reads the kept parses. Returns a wait that gives how
        many texts the workers parsed (nothing where parses are not kept, or the texts are
        too few to be worth a process: `parses.parse_ahead`; or `workers` is 0)."""
        if self.parses is None or workers < 1:
            return lambda: 0
        return parse_ahead(self.parses, self.components, self.fast, texts, workers)

    def tag_here(self, texts: Sequence[str], spans: Sequence[np.ndarray]) -> dict[str, list[Any]]:
        """`tag`, in this process."""
        cols: dict[str, list[Any]] = {c: [] for c in TAG_COLUMNS}
        nlp = self.nlp
        if self.parses is not None and self.cache is None:
            self.cache = ParseCache(self.parses, spacy_model_id(), self.components, self.fast)
        docs = parse(nlp, texts) if self.cache is None else self.cache.docs(nlp, texts)
        for doc, text, doc_spans in zip(docs, texts, spans, strict=True):
            self._tag_doc(doc, text, doc_spans, cols)
        return cols

    def _tag_doc(self, doc: Any, text: str, spans: np.ndarray, cols: dict[str, list[Any]]) -> None:
        words = _word_features(doc, self.lemmatizer)
        bounds = [(t.idx, t.idx + len(t.text)) for t in doc]
        pairs = [(int(s), int(e)) for s, e in spans]
        memo: dict[tuple[int, bool, str], tuple[str, str]] = {}
        for (s, e), a in zip(pairs, align(text, pairs, bounds), strict=True):
            if a.word == WHITESPACE:
                cols["word"].append(shown_word(text[s:e]))
                cols["spacy_pos"].append("SPACE")
                cols["spacy_tag"].append("")
                cols["ent_type"].append("")
                task, reason = "whitespace", "whitespace_only"
            else:
                w = words[a.word]
                piece = text[s:e]
                key = (a.word, a.initial, piece)
                if key not in memo:
                    rule = self.rules.decide(w, piece, a.initial)
                    memo[key] = (rule.task, rule.name) if rule else ("arbitrary", "no_rule")
                task, reason = memo[key]
                cols["word"].append(shown_word(w["text"]))
                cols["spacy_pos"].append(w["pos"])
                cols["spacy_tag"].append(w["tag"])
                cols["ent_type"].append(w["ent_type"])
            cols["word_start"].append(a.start)
            cols["word_end"].append(a.end)
            cols["word_initial"].append(a.initial)
            cols["task"].append(task)
            cols["task_reason"].append(reason)


def _tag_run(
    rules: RuleSet, texts: list[str], spans: list[np.ndarray], parses: Path | None = None
) -> dict[str, list[Any]]:
    """In a worker: tag one run of documents (spaCy is loaded once per worker)."""
    return TaskTagger(rules, parses=parses).tag_here(texts, spans)
