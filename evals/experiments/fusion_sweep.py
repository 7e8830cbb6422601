"""Offline sweep of ranking variants on question sets: every paper scored by each signal once, then each
fusion variant ranked from those scores. Chooses the default fusion (evals/README.md, "Ranking").

    HF_HUB_OFFLINE=1 python evals/experiments/fusion_sweep.py evals/questions-researcher-dev.jsonl evals/questions-dev.jsonl
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from assistant import schema
from assistant.bm25 import tokenize
from assistant.chat import is_followup
from assistant.config import Settings
from assistant.embeddings import get_embedder
from assistant.evaluate import load_questions
from assistant.store import open_store


def signals(settings: Settings):
    store = open_store(settings)
    index = store.bm25()
    embedder = get_embedder(settings)
    ids = [cid for pid, n in zip(index.paper_ids, index.n_chunks, strict=True) for cid in schema.chunk_ids(pid, n)]
    emb = store.get_embeddings(ids)
    chunk_matrix = np.stack([emb[c] for c in ids])
    owner = np.array([index.row_of[schema.paper_of(c)] for c in ids])
    rows = {row.paper_id: row for page in store.papers() for row in page}
    titles = [rows[pid].title for pid in index.paper_ids]
    paper_vecs = embedder.embed([rows[pid].text for pid in index.paper_ids])
    centroids = np.zeros((len(index), chunk_matrix.shape[1]), dtype="float32")
    np.add.at(centroids, owner, chunk_matrix)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    paper_vecs = (paper_vecs, centroids)
    return store, index, embedder, chunk_matrix, owner, titles, paper_vecs


def rrf(*rankings, weights=None, k=60):
    n = len(rankings[0])
    score = np.zeros(n)
    for i, r in enumerate(rankings):
        ranks = np.empty(n)
        ranks[np.argsort(-r, kind="stable")] = np.arange(1, n + 1)
        score += (1.0 if weights is None else weights[i]) / (k + ranks)
    return score


def coverage(index, question: str) -> np.ndarray:
    """IDF-weighted share of the question's BM25 tokens each paper contains."""
    toks = [t for t in dict.fromkeys(tokenize([question])[0]) if t in index.vocab]
    n = len(index)
    out = np.zeros(n)
    total = 0.0
    for t in toks:
        tid = index.retriever.vocab_dict[t]
        indptr, rows = index.retriever.scores["indptr"], index.retriever.scores["indices"]
        docs = rows[indptr[tid] : indptr[tid + 1]]
        idf = math.log((n + 1) / (len(docs) + 0.5))
        out[docs] += idf
        total += idf
    return out / total if total else out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    settings = Settings()
    store, index, embedder, chunks, owner, titles, paper_vecs = signals(settings)
    n = len(index)
    for path in args.files:
        qs = [q for q in load_questions(path) if len(q.expected_titles) == 1]
        results: dict[str, list[float]] = {}
        for q in qs:
            text = f"{q.history[-1]} {q.question}" if q.history and is_followup(q.question) else q.question
            v = embedder.embed([text])[0]
            cos = chunks @ v
            best = np.full(n, -1.0)
            np.maximum.at(best, owner, cos)
            pcos = paper_vecs[0] @ v
            ccos = paper_vecs[1] @ v
            mean = np.zeros(n)
            np.add.at(mean, owner, cos)
            mean /= np.bincount(owner, minlength=n)
            # candidates as the product sees them: papers of the 40 nearest chunks and the BM25 top 40
            b0 = index.scores(text)
            b0 = np.zeros(n) if b0 is None else np.asarray(b0, dtype=float)
            cand = np.zeros(n, bool)
            cand[owner[np.argsort(-cos)[:40]]] = True
            cand[np.argsort(-b0)[:40][b0[np.argsort(-b0)[:40]] > 0]] = True

            def zc(x, cand=cand):
                m, sd = x[cand].mean(), x[cand].std() + 1e-9
                return np.where(cand, (x - m) / sd, -1e9)

            b = index.scores(text)
            b = np.zeros(n) if b is None else np.asarray(b, dtype=float)
            cov = coverage(index, text)
            top_cov = cov[np.argmax(b)] if b.max() > 0 else 0.0
            variants = {
                "dense(chunk max)": best,
                "dense(paper vec)": pcos,
                "dense(centroid)": ccos,
                "bm25": b,
                "rrf(chunk,bm25) [previous default]": rrf(best, b),
                "rrf(chunk,paper,bm25)": rrf(best, pcos, b),
                "rrf(chunk,paper,bm25*cov)": rrf(best, pcos, b, weights=[1, 1, top_cov]),
                "zc(chunk+centroid)+0.3zc(bm25)": zc(best + ccos) + 0.3 * zc(b),
            }
            for wc, wp, wb in [
                (1, 1, 0.5),
                (1, 1.5, 0.5),
                (1, 2, 0.5),
                (1, 1.5, 0.75),
                (1, 2, 0.75),
                (0.5, 1, 0.3),
                (1, 1, 0.3),
            ]:
                variants[f"{wc}zc(chunk)+{wp}zc(paper)+{wb}zc(bm25)"] = wc * zc(best) + wp * zc(pcos) + wb * zc(b)
            # pseudo-relevance feedback: the query moved toward the top 3 papers of the first pass
            first = zc(best) + zc(pcos) + 0.5 * zc(b)
            top3 = np.argsort(-first)[:3]
            v2 = v + 0.5 * paper_vecs[0][top3].mean(axis=0)
            v2 /= np.linalg.norm(v2)
            cos2 = chunks @ v2
            best2 = np.full(n, -1.0)
            np.maximum.at(best2, owner, cos2)
            variants["prf: zc(chunk)+zc(paper)+0.5zc(bm25)"] = zc(best2) + zc(paper_vecs[0] @ v2) + 0.5 * zc(b)
            target = titles.index(q.expected_titles[0]) if q.expected_titles[0] in titles else -1
            for name, score in variants.items():
                order = np.argsort(-score, kind="stable")[:10]
                rank = next((i + 1 for i, r in enumerate(order) if r == target), None)
                results.setdefault(name, [0.0, 0.0])
                results[name][0] += rank == 1
                results[name][1] += 1 / rank if rank else 0
        print(f"\n{path} ({len(qs)} single-paper questions)")
        print("| variant | hit@1 | MRR@10 |\n| --- | --- | --- |")
        for name, (h, m) in results.items():
            print(f"| {name} | {h / len(qs):.3f} | {m / len(qs):.3f} |")


if __name__ == "__main__":
    main()
