"""Typed objects that cross module boundaries: filters, retrieved papers, citations and answers.

Every stage takes and returns these (never dicts read by string keys); a saved conversation stores `Answer`s
and loads them back with `model_validate`, so the CLI, the TUI, export and eval read the same fields.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["hybrid", "dense", "bm25"]
Confidence = Literal["high", "low"]
CANNOT_ANSWER = "The indexed papers don't answer this."
LOW_CONFIDENCE_LABEL = "Closest match: the papers below may not answer this exactly."
EXTRACTIVE_LABEL = "Extractive answer (no LLM configured): sentences quoted from the retrieved abstracts."


class Filters(BaseModel):
    since: str | None = None  # YYYY-MM-DD, inclusive
    until: str | None = None
    source: str | None = None  # file name the paper came from

    def active(self) -> bool:
        return any((self.since, self.until, self.source))


class Hit(BaseModel):
    """One retrieved paper."""

    paper_id: str
    title: str
    score: float  # fused score (RRF), what the ranking uses
    relevance: float  # cosine of the best chunk to the question: the abstention signal
    abstract: str = ""
    metadata: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    chunks: list[str] = Field(default_factory=list)  # matching chunk texts, best first
    dense_rank: int = 0  # the paper's rank among the candidates by cosine, and by BM25
    bm25_rank: int = 0

    @property
    def date(self) -> str:
        return str(self.metadata.get("date") or "")

    @property
    def snippet(self) -> str:
        return self.chunks[0] if self.chunks else self.abstract[:300]


class Retrieval(BaseModel):
    """The ranked papers for one question, best first, with the question's embedding (reused to answer)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    question: str
    hits: list[Hit]
    seconds: float
    query_vector: list[float] = Field(default_factory=list, repr=False)
    notes: list[str] = Field(default_factory=list)  # what the user should know about this ranking


class Citation(BaseModel):
    n: int
    title: str
    paper_id: str
    score: float
    text: str  # the cited passage (the sentence quoted, or the best matching chunk)
    date: str = ""
    supported: bool | None = None  # every answer sentence citing it is supported by its abstract (support.py)


class SentenceCheck(BaseModel):
    """One cited sentence of an answer, checked against the abstracts it cites."""

    sentence: str
    markers: list[int]
    supported: bool
    reasons: list[str] = Field(default_factory=list)


class Answer(BaseModel):
    """What every front end shows and eval scores."""

    question: str
    text: str
    mode: Literal["llm", "extractive"]
    abstained: bool
    confidence: Confidence | None = None  # None when it abstained; "low": the closest match, labelled so
    citations: list[Citation] = Field(default_factory=list)
    sources: list[Hit] = Field(default_factory=list)  # the retrieved papers the answer could cite, numbered 1..n
    ranking: list[str] = Field(default_factory=list)  # titles of the retrieval ranking eval scores (depth 10)
    unmatched: float | None = None  # the top paper's near-miss score (see abstain.unmatched)
    removed_markers: list[str] = Field(default_factory=list)
    uncited: bool = False  # an LLM answer that cites nothing
    checks: list[SentenceCheck] = Field(default_factory=list)  # the cited sentences, checked (support.py)
    standalone_question: str | None = None  # the follow-up rewritten for retrieval
    model: str | None = None
    timings: dict[str, float] = Field(default_factory=dict)  # seconds per stage
    fallback: str | None = None  # why the LLM was not used although configured (answer(fallback=True))
    degenerate: str | None = None  # what was wrong with the model's answer, which was replaced (answer.py)
    rejected_text: str | None = None  # that answer, as the model wrote it
    notes: list[str] = Field(default_factory=list)  # the retrieval's notes (e.g. the rerank was skipped)

    @property
    def cited_ids(self) -> list[str]:
        return [c.paper_id for c in self.citations]

    @property
    def unsupported(self) -> list[SentenceCheck]:
        return [c for c in self.checks if not c.supported]
