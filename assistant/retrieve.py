"""Hybrid retrieval: a dense ranking of chunks (Chroma) grouped by paper and a BM25 ranking of whole papers, fused by RRF.

Grouping before fusing means a paper counts once per ranking (at its best chunk), so one paper's many
chunks cannot crowd the others out. Chroma's own hybrid search exists only on hosted Chroma, so the fusion
happens here.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from typing import Literal

from assistant.config import Settings
from assistant.embeddings import get_embedder
from assistant.store import Store, open_store

Mode = Literal["hybrid", "dense", "bm25"]


@dataclass
class Filters:
    since: str | None = None  # YYYY-MM-DD, inclusive
    until: str | None = None
    source: str | None = None  # file name the paper came from

    def active(self) -> bool:
        return any((self.since, self.until, self.source))


@dataclass
class Hit:
    paper_id: str
    title: str
    score: float  # fused score (RRF), what the ranking uses
    relevance: float  # cosine of the best chunk to the question: the abstention signal
    coverage: float = 1.0  # rarity-weighted share of the question's content words the paper contains
    abstract: str = ""
    metadata: dict = field(default_factory=dict)
    chunks: list[str] = field(default_factory=list)  # matching chunk texts, best first
    dense_rank: int = 0  # the paper's rank among the candidates by cosine, and by BM25
    bm25_rank: int = 0

    @property
    def date(self) -> str:
        return self.metadata.get("date", "")

    def to_dict(self, n: int) -> dict:
        return {
            "n": n,
            "title": self.title,
            "paper_id": self.paper_id,
            "score": round(self.score, 6),
            "relevance": round(self.relevance, 4),
            "coverage": round(self.coverage, 4),
            "date": self.date,
            "url": self.metadata.get("url", ""),
            "snippet": self.chunks[0] if self.chunks else self.abstract[:300],
        }


@dataclass
class Retrieval:
    question: str
    hits: list[Hit]
    seconds: float
    query_vector: object = None  # the question's embedding, reused by the extractive answerer


def _date_int(text: str) -> int:
    return int(text.replace("-", ""))


def _chroma_where(filters: Filters | None) -> dict | None:
    """The filters as a Chroma `where` clause."""
    if not filters or not filters.active():
        return None
    parts: list[dict] = []
    if filters.since:
        parts.append({"date_int": {"$gte": _date_int(filters.since)}})
    if filters.until:
        parts.append({"date_int": {"$lte": _date_int(filters.until)}})
    if filters.source:
        parts.append({"source": {"$eq": filters.source}})
    return parts[0] if len(parts) == 1 else {"$and": parts}


def _bm25_mask(store: Store, filters: Filters | None):
    import numpy as np

    if not filters or not filters.active():
        return None
    index = store.bm25()
    if index is None:
        return None
    keep = np.ones(len(index.paper_ids), dtype="float32")
    for i, (date_iso, source) in enumerate(zip(index.date_iso, index.sources, strict=True)):
        if (filters.since and (not date_iso or date_iso < filters.since)) or (
            filters.until and (not date_iso or date_iso > filters.until)
        ):
            keep[i] = 0
        if filters.source and source != filters.source:
            keep[i] = 0
    return keep


def dense_search(store: Store, vector, k: int, filters: Filters | None = None) -> list[tuple[str, float, str]]:
    """(chunk id, cosine, chunk text) best first, from the Chroma collection.

    Queried with chromadb directly (writes go through llama-index's ChromaVectorStore): importing
    llama-index costs 1.8 s of a cold `papers search` (measured with pyinstrument), the query itself the same.
    """
    if store.collection is None:
        return []
    got = store.collection.query(
        query_embeddings=[vector.tolist()],
        n_results=k,
        where=_chroma_where(filters),
        include=["documents", "distances"],
    )
    # the collection uses cosine distance: cosine = 1 - distance
    return [
        (cid, 1.0 - float(dist), doc or "")
        for cid, dist, doc in zip(got["ids"][0], got["distances"][0], got["documents"][0], strict=True)
    ]


# Words that phrase a question about papers rather than name its topic; with bm25s' larger English stop
# word list they are left out of the coverage check.
_QUESTION_WORDS = "paper papers study work article propose introduce describe tell explain use method approach show"


@functools.cache
def _question_stop_words() -> tuple[list[str], frozenset[str]]:
    """bm25s' larger English stop list plus the question words, and the question words stemmed."""
    import bm25s
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    from assistant.store import _stemmer

    stemmed = bm25s.tokenize([_QUESTION_WORDS], stemmer=_stemmer(), return_ids=False, show_progress=False)[0]
    return list(STOPWORDS_EN_PLUS) + _QUESTION_WORDS.split(), frozenset(stemmed)


def _coverage(store: Store, question: str, papers: list[str]) -> dict[str, float]:
    """For each paper, the share of the question's content words found in it, each word weighted by its IDF.

    A question about a topic no retrieved paper mentions ("tokamak plasma control") leaves its rarest words
    uncovered, even when the embedding finds a paper that is vaguely close. Written here because no library
    gives per-term coverage; it reads the postings straight from the BM25 index.
    """
    import bm25s
    import numpy as np

    from assistant.store import _stemmer

    index = store.bm25()
    stop, stemmed_stop = _question_stop_words()
    terms = set(
        bm25s.tokenize([question], stopwords=stop, stemmer=_stemmer(), return_ids=False, show_progress=False)[0]
    )
    terms -= stemmed_stop
    if index is None or not terms:
        return {}
    n_rows = len(index.paper_ids)
    scores = index.retriever.scores  # bm25s' CSC matrix: a term's column lists the (sorted) rows holding it
    paper_rows = {pid: index.row_of[pid] for pid in papers if pid in index.row_of}
    covered = dict.fromkeys(papers, 0.0)
    total = 0.0
    for term in terms:
        rows = np.array([], dtype=scores["indices"].dtype)
        if term in index.vocab:
            tid = index.retriever.vocab_dict[term]
            rows = scores["indices"][scores["indptr"][tid] : scores["indptr"][tid + 1]]
        weight = math.log((n_rows + 1) / (len(rows) + 0.5))
        total += weight
        for pid, row in paper_rows.items():
            position = np.searchsorted(rows, row)
            if position < len(rows) and rows[position] == row:
                covered[pid] += weight
    return {pid: value / (total or 1.0) for pid, value in covered.items()}


def _ranks(values: dict[str, float]) -> dict[str, int]:
    """1-based rank of each key by descending value (ties broken by key, for stable output)."""
    order = sorted(values, key=lambda key: (-values[key], key))
    return {key: rank for rank, key in enumerate(order, start=1)}


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

    Candidates are the papers of the dense top chunks and the BM25 top papers. Every candidate then gets
    both scores (its best chunk's cosine and its BM25 score), so reciprocal rank fusion ranks
    all of them on both lists; a paper found by only one retriever is not penalised for being absent.
    `prefer` (paper ids, most relevant first: the papers a conversation cited last) is a third ranked list
    in the fusion, so a follow-up stays on the paper under discussion unless both retrievers agree elsewhere.
    """
    import numpy as np

    started = time.perf_counter()
    store = store or open_store(settings)
    cfg = settings.retrieval
    top_k = top_k or cfg.top_k
    embedder = get_embedder(settings)
    store.check_embedding(embedder.name)
    vector = embedder.embed([question])[0]
    index = store.bm25()
    if index is None:
        return Retrieval(question, [], time.perf_counter() - started, vector)

    dense = dense_search(store, vector, cfg.candidates, filters) if mode != "bm25" else []
    texts = {cid: text for cid, _, text in dense}
    cosine = {cid: cos for cid, cos, _ in dense}
    mask = _bm25_mask(store, filters)
    bm25 = store.bm25_scores(question, mask) if mode != "dense" else None
    bm25_top = [] if bm25 is None else [int(r) for r in np.argsort(-bm25)[: cfg.candidates] if bm25[r] > 0]

    prefer = [
        pid
        for pid in (prefer or [])
        if mode == "hybrid" and pid in index.row_of and (mask is None or mask[index.row_of[pid]])
    ]
    candidates = list(
        dict.fromkeys(
            [cid.rsplit(":", 1)[0] for cid in cosine]
            + [index.paper_ids[r] for r in bm25_top]
            + prefer
        )
    )
    # cosines for the candidates' chunks the dense search did not return
    missing = [cid for pid in candidates for cid in index.chunk_ids(pid) if cid not in cosine]
    for cid, emb in store.get_embeddings(missing).items():
        cosine[cid] = float(emb @ vector)
    best_cos: dict[str, float] = {}
    best_bm25: dict[str, float] = {}
    chunk_order: dict[str, list[tuple[float, str]]] = {}
    for pid in candidates:
        cids = index.chunk_ids(pid)
        best_cos[pid] = max((cosine.get(c, -1.0) for c in cids), default=-1.0)
        row = index.row_of.get(pid)
        best_bm25[pid] = float(bm25[row]) if bm25 is not None and row is not None else 0.0
        chunk_order[pid] = sorted(((cosine.get(c, -1.0), c) for c in cids), reverse=True)

    dense_rank, bm25_rank = _ranks(best_cos), _ranks(best_bm25)
    scores = {}
    for pid in candidates:
        score = 0.0
        if mode != "bm25":
            score += cfg.dense_weight / (cfg.rrf_k + dense_rank[pid])
        if mode != "dense":
            score += cfg.bm25_weight / (cfg.rrf_k + bm25_rank[pid])
        if pid in prefer:
            score += 1.0 / (cfg.rrf_k + prefer.index(pid) + 1)
        scores[pid] = score
    best = sorted(candidates, key=lambda pid: (-scores[pid], pid))[:top_k]

    coverage = _coverage(store, question, best) if mode != "dense" else {}

    # full abstract and metadata from each paper's first chunk; texts of chunks the dense search missed
    need = [f"{pid}:0" for pid in best] + [c for pid in best for _, c in chunk_order[pid][:2] if c not in texts]
    stored = store.get_chunks(list(dict.fromkeys(need)))
    hits = []
    for pid in best:
        _, meta = stored.get(f"{pid}:0", ("", {}))
        chunk_texts = [texts.get(c) or stored.get(c, ("", {}))[0] for _, c in chunk_order[pid][:2]]
        hits.append(
            Hit(
                paper_id=pid,
                title=meta.get("title", ""),
                score=scores[pid],
                relevance=best_cos[pid],
                coverage=coverage.get(pid, 1.0),
                abstract=meta.get("abstract", ""),
                metadata={k: v for k, v in meta.items() if k not in ("abstract", "_node_content", "_node_type")},
                chunks=[t for t in chunk_texts if t],
                dense_rank=dense_rank[pid],
                bm25_rank=bm25_rank[pid],
            )
        )
    return Retrieval(question, hits, time.perf_counter() - started, vector)


def paper(paper_id: str, settings: Settings, store: Store | None = None) -> dict:
    """A stored paper's title, full abstract and metadata (what a user opens from a cited source)."""
    store = store or open_store(settings)
    _, meta = store.get_chunks([f"{paper_id}:0"]).get(f"{paper_id}:0", ("", {}))
    return {
        k: v for k, v in meta.items() if k not in ("_node_content", "_node_type", "doc_id", "document_id", "ref_doc_id")
    }
