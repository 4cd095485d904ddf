"""Token pieces as text a person can read: a piece that holds part of a character's UTF-8
bytes shows those bytes (`<0xE6>`), not the replacement character every such piece decodes to.

A byte-level BPE vocabulary (GPT-2, SmolLM2, Llama 3) splits a character it has no token for
into pieces of its bytes; decoded on its own, each piece is `'�'`, so `' �'`, `'�' 25.6%` and
`'�' 7.9%` cannot be told apart. Shown as bytes, `' <0xE6>'` and `'<0x97><0xA5>'` can; the
pieces of one character still share its span in the text (the token table's `char_start`).
SentencePiece's byte-fallback tokens are already named so (`<0xE6>`) and keep their names.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

REPLACEMENT = "\ufffd"
_BYTE_TOKEN = re.compile(r"<0x[0-9A-Fa-f]{2}>")


def piece_texts(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """Each id decoded on its own, a piece of a character's bytes shown as those bytes."""
    texts = tokenizer.batch_decode([[i] for i in ids])
    broken = [j for j, t in enumerate(texts) if REPLACEMENT in t]
    if broken:
        names = tokenizer.convert_ids_to_tokens([ids[j] for j in broken])
        for j, name in zip(broken, names, strict=True):
            texts[j] = _as_bytes(name) or texts[j]
    return texts


def readable(data: bytes) -> str:
    """`data` decoded as UTF-8, each byte that is not part of a whole character as `<0xE6>`."""
    out: list[str] = []
    while data:
        try:
            out.append(data.decode("utf-8"))
            break
        except UnicodeDecodeError as e:
            out.append(data[: e.start].decode("utf-8"))
            out += [f"<0x{b:02X}>" for b in data[e.start : e.end]]
            data = data[e.end :]
    return "".join(out)


def shown_bytes(piece: str) -> bytes:
    """A piece as `piece_texts` shows it, back to its bytes (`<0xE6>` is the byte 0xE6)."""
    parts = _SHOWN_BYTE.split(piece)
    return b"".join(
        bytes([int(p[3:5], 16)]) if i % 2 else p.encode("utf-8", "surrogatepass")
        for i, p in enumerate(parts)
    )


_SHOWN_BYTE = re.compile(r"(<0x[0-9A-F]{2}>)")


def _as_bytes(name: object) -> str | None:
    """A vocabulary entry's name as readable bytes, if it is a byte-level or byte-fallback
    piece; None for anything else (a special token, a name of another scheme)."""
    if not isinstance(name, str) or not name:
        return None
    if _BYTE_TOKEN.fullmatch(name):
        return name.upper().replace("0X", "0x")
    decoder = _byte_decoder()
    if all(c in decoder for c in name):
        return readable(bytes(decoder[c] for c in name))
    return None


@functools.cache
def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet read backwards: each of the 256 bytes has a printable
    character standing for it (printable Latin-1 bytes themselves, the others moved up
    past 255 in order), and vocabulary entries are spelled in those characters."""
    kept = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAC + 1), *range(0xAE, 0xFF + 1)]
    moved = [b for b in range(256) if b not in kept]
    chars = {b: chr(b) for b in kept} | {b: chr(256 + i) for i, b in enumerate(moved)}
    return {c: b for b, c in chars.items()}
