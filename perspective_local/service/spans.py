"""Sentence spans of a comment, with offsets in UTF-16 code units as Perspective reports them."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sentence runs up to its closing punctuation (plus closing quotes or brackets) or a line
# break. Whitespace between sentences belongs to no span, as in Perspective's examples.
_SENTENCE = re.compile(r"[^\s].*?(?:[.!?…]+[\"'\u201d\u2019)\]]*(?=\s|$)|(?=\n)|$)", re.DOTALL)


@dataclass(frozen=True)
class Span:
    """One sentence: ``text[begin:end]`` in UTF-16 code units (end exclusive)."""

    begin: int
    end: int
    text: str


def utf16_length(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (a character outside the BMP counts 2)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def sentences(text: str) -> list[Span]:
    """Split ``text`` into sentences; a text without sentence breaks is one span."""
    spans: list[Span] = []
    offset16 = 0  # UTF-16 offset of code point index ``position``
    position = 0
    for match in _SENTENCE.finditer(text):
        begin, end = match.start(), match.end()
        piece = match.group().rstrip()
        if not piece:
            continue
        offset16 += utf16_length(text[position:begin])
        begin16 = offset16
        end16 = begin16 + utf16_length(piece)
        offset16 += utf16_length(text[begin:end])
        position = end
        spans.append(Span(begin16, end16, piece))
    return spans
