"""Citation markers: finding them, dropping the ones that point to no source (also in streamed text), and
turning the cited numbers into Citations.

The invariant both answer modes rely on: a marker [n] survives only when 1 <= n <= number of sources, and a
Citation is only ever made from a retrieved Hit, so no title that was not retrieved can be cited.
"""

from __future__ import annotations

import re

from assistant.models import Citation, Hit

MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_PARTIAL_MARKER = re.compile(r"\[[\d,\s]*")
_MAX_PARTIAL = 24  # characters held back while a marker may still be arriving


_RANGE = re.compile(r"\[(\d+)\s*[-–]\s*(\d+)\]")
_OTHER_FORMS = [
    (re.compile(r"【\s*(\d+(?:\s*[,，]\s*\d+)*)\s*】"), r"[\1]"),  # 【1】, 【1，2】
    (re.compile(r"\((\d{1,2}(?:\s*,\s*\d{1,2})*)\)"), r"[\1]"),  # (1), (1, 2)
    (re.compile(r"\[(?:Source|source|n=)\s*(\d+)\]"), r"[\1]"),  # [Source 1], [n=1] (the prompt's own tag)
    (re.compile(r"\b[Ss]ources?\s+(\d+)\b"), r"[\1]"),  # Source 1
]


def normalise_markers(text: str) -> str:
    """The marker forms models write, as [n]: [1][2] -> [1, 2], [1-3] -> [1, 2, 3], 【1】, (1), Source 1 -> [1]."""
    for pattern, replacement in _OTHER_FORMS:
        text = pattern.sub(lambda m, r=replacement: m.expand(r).replace("，", ","), text)
    text = _RANGE.sub(
        lambda m: (
            "[" + ", ".join(map(str, range(int(m[1]), int(m[2]) + 1))) + "]" if int(m[2]) - int(m[1]) < 10 else m[0]
        ),
        text,
    )
    return re.sub(r"\](\s*)\[(?=\d)", ", ", text)  # adjacent markers merge


def clean_markers(text: str, n_sources: int, removed: list[str] | None = None) -> str:
    """Drop marker numbers that point to no source; a marker left empty disappears with the space before it."""

    def fix(match: re.Match) -> str:
        space, marker = match.group(1), match.group(2)
        numbers = [int(x) for x in re.findall(r"\d+", marker)]
        good = [n for n in dict.fromkeys(numbers) if 1 <= n <= n_sources]
        if removed is not None and len(good) != len(numbers):
            removed.append(marker)
        return f"{space}[{', '.join(map(str, good))}]" if good else ""

    return re.sub(r"([ \t]*)(" + MARKER.pattern + ")", fix, text)


class CitationStream:
    """Cleans markers in streamed text: holds back a possible marker (and the space before it) until complete."""

    def __init__(self, n_sources: int):
        self.n_sources, self.removed = n_sources, []
        self._buffer = self._space = ""

    def feed(self, piece: str) -> str:
        self._buffer += piece
        text, self._space = self._space, ""
        while self._buffer:
            start = self._buffer.find("[")
            if start < 0:
                text += self._buffer
                self._buffer = ""
                break
            text += self._buffer[:start]
            rest = self._buffer[start:]
            match = MARKER.match(rest)
            if match:
                cleaned = clean_markers(match.group(0), self.n_sources, self.removed)
                text = (text if cleaned else text.rstrip(" \t")) + cleaned
                self._buffer = rest[match.end() :]
            elif _PARTIAL_MARKER.fullmatch(rest) and len(rest) < _MAX_PARTIAL:
                self._buffer = rest  # wait for the rest of the marker
                break
            else:
                text += "["
                self._buffer = rest[1:]
        kept = text.rstrip(" \t")
        self._space = text[len(kept) :]
        return kept

    def finish(self) -> str:
        rest = self._space + self._buffer
        self._space = self._buffer = ""
        return rest


def cited_numbers(text: str) -> list[int]:
    """The source numbers the text cites, in order of first appearance."""
    return list(dict.fromkeys(int(n) for m in MARKER.finditer(text) for n in re.findall(r"\d+", m.group(1))))


def citations(text: str, hits: list[Hit], passages: dict[int, str] | None = None) -> list[Citation]:
    """A Citation for each valid number the text cites, in source order; the passage is the quoted sentence
    when given, else the paper's best matching chunk."""
    out = []
    for n in sorted(cited_numbers(text)):
        if 1 <= n <= len(hits):
            hit = hits[n - 1]
            passage = (passages or {}).get(n) or hit.snippet
            out.append(
                Citation(
                    n=n, title=hit.title, paper_id=hit.paper_id, score=round(hit.score, 6), text=passage, date=hit.date
                )
            )
    return out
