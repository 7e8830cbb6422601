"""What the front ends show of an Answer, computed once: the sources list (cited papers, or the nearest ones
when it abstained) and the --json shape. The CLI, the TUI and Markdown export all render from here.
"""

from __future__ import annotations

from pydantic import BaseModel

from assistant.models import EXTRACTIVE_LABEL, LOW_CONFIDENCE_LABEL, Answer, Hit

CITED, NEAREST = "Sources", "Nearest papers (not cited)"


class SourceEntry(BaseModel):
    n: int
    title: str
    paper_id: str
    score: float
    date: str = ""
    passage: str = ""  # the quoted sentence or best matching chunk


class SourcesView(BaseModel):
    heading: str  # CITED or NEAREST
    entries: list[SourceEntry]


def sources_view(result: Answer) -> SourcesView:
    """The cited papers of an answer; the nearest retrieved papers (not cited) when it abstained."""
    if result.abstained:
        entries = [
            SourceEntry(
                n=n, title=h.title, paper_id=h.paper_id, score=round(h.score, 6), date=h.date, passage=h.snippet
            )
            for n, h in enumerate(result.sources, start=1)
        ]
        return SourcesView(heading=NEAREST, entries=entries)
    entries = [
        SourceEntry(n=c.n, title=c.title, paper_id=c.paper_id, score=c.score, date=c.date, passage=c.text)
        for c in result.citations
    ]
    return SourcesView(heading=CITED, entries=entries)


def answer_label(result: Answer) -> str | None:
    """The line that says how an answer was made, for the CLI and export (None for an abstention)."""
    if result.abstained:
        return None
    if result.mode == "extractive" and result.fallback:
        return "Extractive answer (the LLM's was not used): sentences quoted from the retrieved abstracts."
    return EXTRACTIVE_LABEL if result.mode == "extractive" else f"Answered by {result.model}"


def confidence_label(result: Answer) -> str | None:
    """The warning shown before a low-confidence answer (the closest match), None otherwise."""
    return LOW_CONFIDENCE_LABEL if result.confidence == "low" and not result.abstained else None


UNSUPPORTED_MARK = "(unsupported)"


def marked_text(result: Answer) -> str:
    """The answer with UNSUPPORTED_MARK after each cited sentence its sources do not support."""
    text = result.text
    for check in result.unsupported:
        text = text.replace(check.sentence, f"{check.sentence} {UNSUPPORTED_MARK}", 1)
    return text


def source_line(n: int, title: str, date: str) -> str:
    return f"[{n}] {title}" + (f" ({date})" if date else "")


def hit_json(hit: Hit, n: int, unmatched: float | None = None) -> dict:
    return {
        "n": n,
        "title": hit.title,
        "paper_id": hit.paper_id,
        "score": round(hit.score, 6),
        "relevance": round(hit.relevance, 4),
        "unmatched": None if unmatched is None else round(unmatched, 4),
        "date": hit.date,
        "url": hit.metadata.get("url", ""),
        "snippet": hit.snippet,
    }


def answer_json(result: Answer) -> dict:
    """The `papers ask --json` object (DESIGN.md's keys; the near-miss score on the top source)."""
    return {
        "question": result.question,
        "answer": result.text,
        "mode": result.mode,
        "model": result.model,
        "abstained": result.abstained,
        "confidence": result.confidence,
        "citations": [c.model_dump() for c in result.citations],
        "sources": [
            hit_json(h, n, result.unmatched if n == 1 else None) for n, h in enumerate(result.sources, start=1)
        ],
        "unsupported_sentences": len(result.unsupported),
        "checks": [c.model_dump() for c in result.checks],
        "removed_markers": result.removed_markers,
        "uncited": result.uncited,
        "standalone_question": result.standalone_question,
        "fallback": result.fallback,
        "degenerate": result.degenerate,
        "rejected_text": result.rejected_text,
        "notes": result.notes,
        "timings": {f"{k}_ms": round(v * 1000, 1) for k, v in result.timings.items()},
    }
