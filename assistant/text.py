"""Text utilities shared by the pipeline stages: sentence splitting.

Pure functions with no imports from the rest of the package, so every stage can use them.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
_ABBREVIATION = re.compile(r"\b(e\.g|i\.e|et al|vs|cf|Fig|Eq|approx|resp)\.$", re.IGNORECASE)
MIN_SENTENCE = 20  # characters; shorter pieces are headings, list numbers or split-off fragments


def split_sentences(text: str) -> list[str]:
    """The sentences of an abstract, not split after abbreviations ("e.g.", "et al."); fragments dropped."""
    parts, current = [], ""
    for piece in _SENTENCE_END.split(text):
        current = f"{current} {piece}".strip() if current else piece
        if not _ABBREVIATION.search(current):
            parts.append(current)
            current = ""
    if current:
        parts.append(current)
    return [p for p in parts if len(p) > MIN_SENTENCE]
