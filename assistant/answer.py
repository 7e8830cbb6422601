"""The answer entry point: retrieve, decide whether the papers answer at all, then generate (LLM) or extract.

Both modes go through the same citation check (citations.py): a marker [n] that does not point to a
retrieved source is removed and reported, and only retrieved titles can ever be listed as sources. The
Answer carries the retrieval ranking it used, so `papers eval` scores exactly what a user gets.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable

from assistant import abstain, citations
from assistant.bm25 import BM25Index
from assistant.config import Settings
from assistant.errors import PapersError
from assistant.extractive import asks_plural, extractive, papers_wanted
from assistant.generate import generate
from assistant.models import CANNOT_ANSWER, Answer, Filters, Retrieval, SentenceCheck
from assistant.retrieve import retrieve
from assistant.store import Store, open_store

RANKING_DEPTH = 10  # papers kept in Answer.ranking: what eval's MRR@10 and recall@10 read


def answer(
    question: str,
    settings: Settings,
    *,
    store: Store | None = None,
    top_k: int | None = None,
    filters: Filters | None = None,
    standalone: str | None = None,
    prefer: list[str] | None = None,
    on_token: Callable[[str], None] | None = None,
    fallback: bool = False,
) -> Answer:
    """Answer a question from the store, citing the papers used. on_token receives streamed LLM text.

    standalone: a follow-up rewritten to stand alone (chat.condense); it is what retrieval searches for,
    while the user's own words pick the sentences. prefer: the paper ids the conversation cited last.
    fallback: when the LLM fails, answer extractively and say why in Answer.fallback instead of raising.
    """
    store = store or open_store(settings)
    top_k = top_k or settings.retrieval.top_k
    followup = standalone is not None
    ranked = retrieve(
        standalone or question,
        settings,
        store=store,
        top_k=max(top_k, RANKING_DEPTH),
        filters=filters,
        prefer=prefer if followup else None,
    )
    # the first top_k of a deeper ranking are the top_k papers: the fused order does not depend on depth
    retrieval = ranked.model_copy(update={"hits": ranked.hits[:top_k]})
    hits = retrieval.hits
    started = time.perf_counter()
    mode = "llm" if settings.llm.configured else "extractive"
    result = Answer(
        question=question,
        text="",
        mode=mode,
        abstained=False,
        sources=hits,
        ranking=[h.title for h in ranked.hits],
        notes=ranked.notes,
        standalone_question=standalone,
        model=settings.llm.model if mode == "llm" else None,
    )
    index = store.bm25()
    words = []
    if hits and index is not None:  # the near-miss check runs here, not in retrieve(): `papers search` skips it
        words = abstain.word_matches(retrieval.question, hits[0], index, settings, store)
        result.unmatched = abstain.unmatched(words)
    verdict = abstain.judge(hits, words, settings)
    result.confidence = verdict.confidence
    if verdict.abstain:
        result.abstained, result.text = True, CANNOT_ANSWER
        if on_token:
            on_token(result.text)
    elif mode == "llm":
        try:
            _generate(result, settings, on_token)
        except PapersError as exc:
            if not fallback:
                raise
            result.fallback = exc.message
            result.mode, result.model = "extractive", None
            _extract(result, retrieval, settings, question if followup else None, None)  # shown by the caller
    else:
        _extract(result, retrieval, settings, question if followup else None, on_token)
    if not result.abstained and index is not None:
        check_support(result, index, settings)
    if result.mode == "llm" and not result.abstained:
        reason = degenerate(result)
        if reason:  # not shown as an answer: replaced by the extractive one, with the reason
            result.degenerate, result.rejected_text = reason, result.text
            result.fallback = f"the model's answer {reason}"
            result.mode, result.uncited = "extractive", False
            _extract(result, retrieval, settings, question if followup else None, None)
            if not result.abstained:
                check_support(result, index, settings)
    if result.abstained:  # by the gate, the model, or an extractive answer that found no sentence
        result.confidence = None
    result.timings = {"condense": 0.0, "retrieve": ranked.seconds, "answer": time.perf_counter() - started}
    return result


MIN_LETTERS = 25  # an answer with fewer letters outside markers and source titles says nothing
REPEAT_SHARE = 0.5  # an answer whose distinct sentences are at most this share of its sentences repeats itself


def degenerate(result: Answer) -> str | None:
    """What makes a model's answer unusable, or None: empty, only markers (or the sources' titles), repeating
    itself, citing nothing, or with no cited sentence its sources support (it ignores them). Small local
    models write all of these (evals/llm-samples.jsonl: "[2]", "[1] [2] [3]", lists of "[n] Title")."""
    from assistant.support import split_sentences

    text = citations.MARKER.sub(" ", result.text)
    for hit in result.sources:
        text = text.replace(hit.title, " ")
    if len(re.findall(r"[^\W\d_]", text)) < MIN_LETTERS:
        return "was empty or only citation markers"
    sentences = [s.strip().lower() for s in split_sentences(result.text) if s.strip()]
    if len(sentences) >= 3 and len(set(sentences)) <= REPEAT_SHARE * len(sentences):
        return "repeated itself"
    if not result.citations:
        return "cited no source"
    if result.checks and not any(c.supported for c in result.checks):
        return "was not supported by the sources it cites"
    return None


def check_support(result: Answer, index: BM25Index, settings: Settings) -> None:
    """Check every cited sentence against the abstracts it cites (support.py) and record the outcome on the
    Answer and its Citations. A sentence quoted verbatim from the abstract it cites (every sentence of an
    extractive answer) is supported as it stands; the model runs only on the others."""
    from assistant import support

    sources = [f"{h.title}. {h.abstract}" for h in result.sources]
    n = len(index)

    def idf(word: str) -> float:
        return math.log((n + 1) / (index.document_frequency(word) + 0.5))

    checks = []
    for sentence in support.split_sentences(result.text):
        markers = support.parse_markers(sentence)
        if not markers:
            continue
        if not all(1 <= m <= len(sources) for m in markers):  # cannot happen after clean_markers; never trusted
            checks.append(
                SentenceCheck(sentence=sentence, markers=markers, supported=False, reasons=["no such source"])
            )
            continue
        bare = support.strip_markers(sentence).strip()
        if any(bare in result.sources[m - 1].abstract for m in markers):
            checks.append(SentenceCheck(sentence=sentence, markers=markers, supported=True))
            continue
        verdict = support.check_support(sentence, [sources[m - 1] for m in markers], settings, idf=idf)
        checks.append(
            SentenceCheck(sentence=sentence, markers=markers, supported=verdict.supported, reasons=verdict.reasons)
        )
    result.checks = checks
    for citation in result.citations:
        mine = [c for c in checks if citation.n in c.markers]
        citation.supported = all(c.supported for c in mine) if mine else None


def _extract(result: Answer, retrieval: Retrieval, settings: Settings, focus: str | None, on_token) -> None:
    wanted = papers_wanted(result.question, retrieval.hits)
    plural = asks_plural(result.question)
    text, passages = extractive(retrieval, settings, max_papers=wanted, focus=focus, plural=plural)
    result.mode, result.text, result.abstained = "extractive", text or CANNOT_ANSWER, not text
    result.citations = citations.citations(text, retrieval.hits, passages)
    if on_token:
        on_token(result.text)


def _generate(result: Answer, settings: Settings, on_token: Callable[[str], None] | None) -> None:
    text, removed, cut_off = generate(result.question, result.sources, settings, on_token)
    if cut_off:
        result.notes = [
            *result.notes,
            f"the model's answer was cut off at {settings.llm.max_tokens} tokens; raise PAPERS_LLM_MAX_TOKENS for "
            "longer answers",
        ]
    text = citations.clean_markers(citations.normalise_markers(text), len(result.sources), removed)
    result.text, result.removed_markers = text, removed
    result.abstained = text.startswith(CANNOT_ANSWER.rstrip("."))
    result.citations = citations.citations(text, result.sources)
    result.uncited = not result.abstained and not result.citations
