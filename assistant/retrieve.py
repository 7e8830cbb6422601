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
    unmatched: float | None = None  # share of the question the paper lacks (see unmatched()); set by answer()
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
            "unmatched": None if self.unmatched is None else round(self.unmatched, 4),
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
# word list they are left out of the match check.
_QUESTION_WORDS = "paper papers study work article propose introduce describe tell explain use method approach show"
MATCH_FLOOR = 0.6  # a question word whose best token match in the paper is below this cosine counts as missing


@functools.cache
def _question_stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS) | frozenset(_QUESTION_WORDS.split())


def _windows(title: str, abstract: str, words: int = 150) -> list[str]:
    """The abstract in runs of whole sentences of at most about `words` words, each led by the title, so every
    token is encoded with its context and within the model's 256-token limit."""
    from assistant.answer import split_sentences

    windows, current = [], title
    for sentence in split_sentences(abstract) or [abstract]:
        if len(f"{current} {sentence}".split()) > words and current != title:
            windows.append(current)
            current = f"{title}. {sentence}"
        else:
            current = f"{current} {sentence}"
    return [*windows, current]


def unmatched(question: str, hit: Hit, store: Store, settings: Settings) -> float:
    """How much of the question the paper leaves unmatched: each content word of the question is matched to
    its most similar token of the paper (contextual token vectors of the embedding model, as BERTScore does),
    and the shortfall below MATCH_FLOOR is summed, weighted by the word's IDF in the store, over the total IDF.

    A near miss ("locality-sensitive hashing for protein structures" against an LSH paper on entity records)
    shares most words with one abstract, so its embedding and its word overlap look fine; the missing topic
    word ("protein") matches nothing in that paper and carries a high IDF. Paraphrased words ("single pass"
    for "one epoch") find a close token. Written here because no library offers a per-word match against
    a document with corpus weights; measured against word overlap in evals/README.md.
    """
    import numpy as np

    from assistant.embeddings import token_encoder
    from assistant.store import _stemmer

    index = store.bm25()
    if index is None or not (hit.abstract or hit.chunks):
        return 0.0
    windows = _windows(hit.title, hit.abstract or " ".join(hit.chunks))
    (encoding, q_vectors), *paper = token_encoder(settings).token_vectors([question, *windows])
    # each question token's best cosine to any paper token ([CLS] and [SEP] left out of the paper side)
    best_match = (q_vectors @ np.concatenate([vectors[1:-1] for _, vectors in paper]).T).max(axis=1)
    pieces: dict[int, list[int]] = {}
    for position, word in enumerate(encoding.word_ids):
        if word is not None:
            pieces.setdefault(word, []).append(position)
    stop, stemmer = _question_stop_words(), _stemmer()
    scores = index.retriever.scores
    n_rows = len(index.paper_ids)
    shortfall = total = 0.0
    for positions in pieces.values():
        word = question[encoding.offsets[positions[0]][0] : encoding.offsets[positions[-1]][1]].lower()
        if len(word) < 2 or not word.isalnum() or word in stop:
            continue
        stem = stemmer.stemWord(word)
        tid = index.retriever.vocab_dict.get(stem) if stem in index.vocab else None
        df = 0 if tid is None else int(scores["indptr"][tid + 1] - scores["indptr"][tid])
        weight = math.log((n_rows + 1) / (df + 0.5))
        match = float(best_match[positions].mean())
        shortfall += weight * max(0.0, MATCH_FLOOR - match)
        total += weight
    return shortfall / total if total else 0.0


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
