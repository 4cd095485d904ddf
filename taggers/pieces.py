"""spaCy over long documents in pieces, so tagging memory stays bounded.

spaCy's parser and NER hold about 3 KB per character of the text they are given (measured:
1.75 GB for a 560 KB licence), so a book, or a decompressed bomb, given whole would take
the machine's memory. A document longer than PIECE_CHARS is cut at paragraph ends (else line
ends, else spaces, else anywhere), each piece parsed on its own, and the pieces joined back
into one `Doc` over the same text (`Doc.from_docs`), so offsets and alignment are unchanged.
Documents up to PIECE_CHARS are parsed whole, and their tags are exactly as before; a longer
one's differ near the cuts only (2 of 3,280 tokens of the bundled corpus joined and cut into
6 pieces).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

PIECE_CHARS = 100_000  # about 330 MB of spaCy memory per piece, and per batch of pieces
BATCH_TEXTS = 64  # texts parsed together at most (spaCy's default batch)
CUTS = ("\n\n", "\n", " ")  # where a piece may end, best first


def cut(text: str, most: int | None = None) -> list[str]:
    """`text` as consecutive pieces of at most `most` characters that join back to it, each
    ending after a paragraph break where one falls in its second half (else a line break,
    else a space, else at `most`); `most` is PIECE_CHARS unless given."""
    most = most or PIECE_CHARS
    pieces, start = [], 0
    while len(text) - start > most:
        end = start + most
        for sep in CUTS:
            at = text.rfind(sep, start + most // 2, end)
            if at >= 0:
                end = at + len(sep)
                break
        pieces.append(text[start:end])
        start = end
    pieces.append(text[start:])
    return pieces


def parse(nlp: Any, texts: Sequence[str]) -> Iterator[Any]:
    """A `Doc` per text, as `nlp.pipe(texts)` gives, long texts parsed piece by piece and
    joined."""
    from spacy.tokens import Doc

    pieces = [cut(t) for t in texts]
    docs = _pipe(nlp, [p for ps in pieces for p in ps])
    for ps in pieces:
        if len(ps) == 1:
            yield next(docs)
        else:
            yield Doc.from_docs([next(docs) for _ in ps], ensure_whitespace=False)


def _pipe(nlp: Any, texts: list[str]) -> Iterator[Any]:
    """`nlp.pipe` over batches of at most BATCH_TEXTS texts and PIECE_CHARS characters (one
    longer text alone): spaCy holds a whole batch's parse at once (8 texts of 50,000
    characters: 1.3 GB in one batch, 0.2 GB one at a time), and the tags do not depend on
    how texts are batched."""
    start = 0
    while start < len(texts):
        end, size = start + 1, len(texts[start])
        while end < len(texts) and end - start < BATCH_TEXTS:
            size += len(texts[end])
            if size > PIECE_CHARS:
                break
            end += 1
        yield from nlp.pipe(texts[start:end], batch_size=end - start)
        start = end
