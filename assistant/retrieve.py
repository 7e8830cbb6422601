"""Hybrid retrieval: three signals per paper, fused (fusion.py): the cosine of its best chunk (Chroma),
the cosine of its whole-paper vector (title + abstract), and BM25 over whole papers.

Candidates are the papers of the nearest chunks, the nearest whole-paper vectors and the best BM25 scores;
every candidate then gets all three scores, so a paper found by only one retriever is scored on all.
Chunks are grouped by paper before fusing, so one paper's many chunks cannot crowd the others out. Chroma's
own hybrid search exists only on hosted Chroma, so the fusion happens here.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from assistant import schema
from assistant.bm25 import BM25Index
from assistant.config import Settings
from assistant.embeddings import embedder_name, get_embedder, token_encoder
from assistant.fusion import fuse, order, ranks, zscores
from assistant.models import Filters, Hit, Mode, Retrieval
from assistant.store import Store, open_store
from assistant.words import WordIndex, encode_question

if TYPE_CHECKING:
    import numpy as np

CHUNKS_SHOWN = 2  # matching chunk texts kept per hit (the snippet and one more)
# A query encodes at most this many papers missing from the word index (another client ingested them) before
# it reranks, about 3 s; with more missing (a store built before the index existed) it does not rerank and the
# CLI says how to build the index (index_note).
QUERY_BUILD_LIMIT = 64


def bm25_mask(index: BM25Index, filters: Filters | None):
    """Row weights for BM25 scoring: 0 for papers the filters leave out, None when nothing is filtered."""
    import numpy as np

    if not filters or not filters.active():
        return None
    keep = np.ones(len(index), dtype="float32")
    for i, (date_iso, source) in enumerate(zip(index.date_iso, index.sources, strict=True)):
        if (filters.since and (not date_iso or date_iso < filters.since)) or (
            filters.until and (not date_iso or date_iso > filters.until)
        ):
            keep[i] = 0
        if filters.source and source != filters.source:
            keep[i] = 0
    return keep


def dense_candidates(store: Store, vector: np.ndarray, k: int, filters: Filters | None) -> dict[str, tuple[float, str]]:
    """Chunk id -> (cosine, text) of the k chunks nearest to the question."""
    return {cid: (cos, text) for cid, cos, text in store.query(vector, k, filters)}


def bm25_candidates(index: BM25Index, question: str, k: int, mask) -> tuple[np.ndarray | None, list[str]]:
    """Every paper's BM25 score (None when no question word is indexed) and the ids of the k best scoring > 0."""
    import numpy as np

    scores = index.scores(question, mask)
    if scores is None:
        return None, []
    return scores, [index.paper_ids[int(r)] for r in np.argsort(-scores)[:k] if scores[r] > 0]


def retrieve(
    question: str,
    settings: Settings,
    store: Store | None = None,
    top_k: int | None = None,
    filters: Filters | None = None,
    mode: Mode = "hybrid",
    prefer: list[str] | None = None,
) -> Retrieval:
    """The top papers for a question, best first.

    `prefer` (paper ids, most relevant first: the papers a conversation cited last) adds prefer_bonus / i
    standard deviations to the i-th, so a follow-up stays on the paper under discussion unless the signals
    clearly favour another one. mode "dense" ranks by the best chunk alone and "bm25" by BM25 alone (the
    baselines of `papers eval`).
    """
    started = time.perf_counter()
    store = store or open_store(settings)
    cfg = settings.retrieval
    store.check_embedding(embedder_name(settings))  # before loading a model the store would refuse
    embedder = get_embedder(settings)
    encoded = None
    if mode == "hybrid" and settings.retrieval.reranks and embedder is token_encoder(settings):
        vector, encoded = embedder.encode_query(question)  # one model run for the vector and the rerank
    else:
        vector = embedder.embed([question])[0]
    index = store.bm25()
    if index is None:
        return Retrieval(
            question=question, hits=[], seconds=time.perf_counter() - started, query_vector=vector.tolist()
        )

    mask = bm25_mask(index, filters)
    stored = store.vectors(index)
    dense = dense_candidates(store, vector, cfg.candidates, filters) if mode != "bm25" else {}
    whole = stored.nearest_whole(vector, cfg.candidates, mask, index) if mode == "hybrid" else {}
    bm25_scores, bm25_top = bm25_candidates(index, question, cfg.candidates, mask) if mode != "dense" else (None, [])
    prefer = [
        pid
        for pid in (prefer or [])
        if mode == "hybrid" and pid in index.row_of and (mask is None or mask[index.row_of[pid]])
    ]
    candidates = list(dict.fromkeys([schema.paper_of(cid) for cid in dense] + list(whole) + bm25_top + prefer))

    # every chunk of every candidate is scored, not only those the nearest-chunk search returned
    cosine = stored.chunk_cosines(vector, candidates)
    cosine.update({cid: cos for cid, (cos, _) in dense.items()})
    chunks_of = {
        pid: schema.chunk_ids(pid, index.n_chunks[index.row_of[pid]]) if pid in index.row_of else []
        for pid in candidates
    }
    chunk_order = {
        pid: sorted(((cosine.get(c, -1.0), c) for c in cids), reverse=True) for pid, cids in chunks_of.items()
    }
    best_cos = {pid: max((cos for cos, _ in chunk_order[pid]), default=-1.0) for pid in candidates}
    signals: dict[str, dict[str, float]] = {}
    if mode != "bm25":
        signals["dense"] = best_cos
    if mode == "hybrid":
        whole.update(stored.whole_cosines(vector, [pid for pid in candidates if pid not in whole]))
        # a store built before whole-paper vectors: the best chunk stands in for the paper
        signals["paper"] = {pid: whole.get(pid, best_cos[pid]) for pid in candidates}
    if mode != "dense":
        signals["bm25"] = {
            pid: float(bm25_scores[index.row_of[pid]]) if bm25_scores is not None and pid in index.row_of else 0.0
            for pid in candidates
        }
    weights = {"dense": cfg.dense_weight, "paper": cfg.paper_weight, "bm25": cfg.bm25_weight}
    scores = fuse(signals, weights, prefer=prefer, prefer_bonus=cfg.prefer_bonus)
    ranked = order(scores)
    notes = []
    if mode == "hybrid" and settings.retrieval.reranks:
        token_index = store.words(build_limit=QUERY_BUILD_LIMIT)
        if token_index is None:
            notes.append(index_note(settings, store))
        else:
            ranked = rerank(question, scores, ranked, token_index, index, settings, encoded)
    best = ranked[: top_k or cfg.top_k]
    texts = {cid: text for cid, (_, text) in dense.items()}
    hits = _hits(store, best, chunk_order, texts)
    dense_rank, bm25_rank = ranks(best_cos), ranks(signals.get("bm25", {}))
    for hit in hits:
        hit.score, hit.relevance = scores[hit.paper_id], best_cos[hit.paper_id]
        hit.dense_rank, hit.bm25_rank = dense_rank[hit.paper_id], bm25_rank.get(hit.paper_id, 0)
    return Retrieval(
        question=question,
        hits=hits,
        seconds=time.perf_counter() - started,
        query_vector=vector.tolist(),
        notes=notes,
    )


def rerank(
    question: str,
    scores: dict[str, float],
    ranked: list[str],
    token_index: WordIndex,
    index: BM25Index,
    settings: Settings,
    encoded: tuple[object, np.ndarray] | None = None,
) -> list[str]:
    """The fused top rerank_depth papers reordered by fused score plus match_weight x how well each matches
    the question word by word (words.py), both standardised over those papers; the rest follow unchanged.

    Scores are updated in place on the fused scale (the match term is scaled by the spread of the fused
    scores over the reranked papers), so shares of the top score (extractive.py) keep their meaning.
    """
    import numpy as np

    cfg = settings.retrieval
    top = ranked[: cfg.rerank_depth]
    if len(top) < 2:
        return ranked
    asked = encode_question(question, token_encoder(settings), index, encoded)
    if not asked.words:
        return ranked
    match = zscores(dict(zip(top, asked.match(token_index, top), strict=True)))
    fused = {pid: scores[pid] for pid in top}
    spread = float(np.std(list(fused.values()))) if max(fused.values()) > min(fused.values()) else 1.0
    for pid in top:
        scores[pid] = fused[pid] + cfg.match_weight * spread * match[pid]
    return order({pid: scores[pid] for pid in top}) + ranked[cfg.rerank_depth :]


def _hits(
    store: Store, best: list[str], chunk_order: dict[str, list[tuple[float, str]]], texts: dict[str, str]
) -> list[Hit]:
    """Hits for the chosen papers: full abstract and metadata from each paper's first chunk, the texts of its
    best chunks (read from the store when the dense search did not return them)."""
    shown = {pid: [c for _, c in chunk_order[pid][:CHUNKS_SHOWN]] for pid in best}
    need = [schema.first_chunk(pid) for pid in best] + [c for cids in shown.values() for c in cids if c not in texts]
    stored = store.get_chunks(list(dict.fromkeys(need)))
    hits = []
    for pid in best:
        _, meta = stored.get(schema.first_chunk(pid), ("", {}))
        chunk_texts = [texts.get(c) or stored.get(c, ("", {}))[0] for c in shown[pid]]
        hits.append(
            Hit(
                paper_id=pid,
                title=meta.get("title", ""),
                score=0.0,
                relevance=0.0,
                abstract=meta.get(schema.ABSTRACT, ""),
                metadata=schema.paper_fields(meta),
                chunks=[t for t in chunk_texts if t],
            )
        )
    return hits


def index_note(settings: Settings, store: Store | None = None) -> str:
    """What to tell the user when the word-match rerank is on but too much of the store lacks token vectors
    for a query to build them ("" when all is well)."""
    if not settings.retrieval.reranks:
        return ""
    store = store or open_store(settings)
    index = store.bm25()
    missing = store.words_missing() if index is not None else 0
    if missing <= QUERY_BUILD_LIMIT:
        return ""
    return (
        f"the word index lacks {missing} of {len(index)} papers, so results are not reranked by word match; "
        "run `papers ingest` on your input files again to build it (nothing is added twice)"
    )


def undated(settings: Settings, store: Store | None = None) -> int:
    """How many stored papers have no known date (a date filter leaves them out)."""
    index = (store or open_store(settings)).bm25()
    return sum(1 for d in index.date_iso if not d) if index else 0
