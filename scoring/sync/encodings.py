"""Which text encoding a CSV that is not UTF-8 looks like, so the refusal can say what to write.

Excel and many Windows tools save "Unicode text" as UTF-16 and "CSV" as Windows-1252; read as
UTF-8 either fails with a parser error that names neither. A byte-order mark settles it; without
one, UTF-16 shows as a null byte in every other position (most CSV text is ASCII), and bytes
that are not valid UTF-8 are nearly always a Windows-1252 / Latin-1 file. Heuristics, not a
detector library: they only choose the hint; the user's `encoding:` decides how the file is read.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

SNIFF_BYTES = 64 * 1024
# Bytes 0x80-0x9F that Windows-1252 leaves undefined: a file with them is Latin-1 proper.
_UNDEFINED_IN_CP1252 = frozenset(b"\x81\x8d\x8f\x90\x9d")


@dataclass(frozen=True)
class Guess:
    name: str  # as people call it: "UTF-16 LE"
    key: str  # what to write in `encoding:`


_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, Guess("UTF-32 LE", "utf-32")),
    (codecs.BOM_UTF32_BE, Guess("UTF-32 BE", "utf-32")),
    (codecs.BOM_UTF16_LE, Guess("UTF-16 LE", "utf-16")),
    (codecs.BOM_UTF16_BE, Guess("UTF-16 BE", "utf-16")),
)


def head_of(path: Path, size: int | None = SNIFF_BYTES) -> bytes:
    """The first `size` bytes (None: all) of a file as its reader sees them (`.gz`/`.bz2`
    decompressed)."""
    with pa.input_stream(str(path), compression="detect") as stream:
        return stream.read(size)


def guess_encoding(data: bytes, complete: bool = False) -> Guess | None:
    """None when `data` reads as UTF-8 (ASCII and a UTF-8 BOM included), else what it looks
    like. `complete`: `data` is the whole file (else its last character may be cut short)."""
    if data.startswith(codecs.BOM_UTF8):
        return None
    for bom, guess in _BOMS:
        if data.startswith(bom):
            return guess
    sample = data[:4096]
    if len(sample) >= 4:
        pairs = len(sample) // 2
        odd = sample[1::2].count(0) / pairs
        even = sample[0::2].count(0) / pairs
        if odd > 0.3 and even < 0.05:
            return Guess("UTF-16 LE without a byte-order mark", "utf-16-le")
        if even > 0.3 and odd < 0.05:
            return Guess("UTF-16 BE without a byte-order mark", "utf-16-be")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=complete)
    except UnicodeDecodeError:
        if _UNDEFINED_IN_CP1252.intersection(data):
            return Guess("Latin-1 (ISO-8859-1)", "latin-1")
        return Guess("Windows-1252 / Latin-1", "cp1252")
    return None


def not_utf8(label: str, shown: str, guess: Guess) -> str:
    """The one-line refusal (readers.py wraps it in a DataError)."""
    return (
        f"source {label}: {shown} is not UTF-8 (it looks like {guess.name}); add"
        f" `encoding: {guess.key}` to the source; sync changed nothing"
    )
