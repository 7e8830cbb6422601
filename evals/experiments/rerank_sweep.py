"""Sweep of the word-match rerank (tokens.py) on question sets, single-paper questions: every paper's token
vectors encoded once (cached in /tmp/exp/tokvecs.pkl), then each variant ranked: rerank depth 10/20/30,
weight 1-3, the question as asked or with its framing ("I remember a paper that ...") removed, and the paper
tokens stored as float32, int8, or PCA-reduced to 128 / 64 dimensions. Results: evals/README.md, "Session 6".

    HF_HUB_OFFLINE=1 python evals/experiments/rerank_sweep.py evals/questions-researcher-dev.jsonl \
        evals/questions-researcher-heldout.jsonl evals/questions-dev.jsonl evals/questions-heldout.jsonl \
        evals/questions-heldout-4.jsonl
"""

import json
import pickle
import re
import sys
from pathlib import Path

import numpy as np

from assistant import schema
from assistant.chat import is_followup
from assistant.config import Settings
from assistant.embeddings import get_embedder, token_encoder
from assistant.evaluate import load_questions
from assistant.store import open_store
from assistant.tokens import encode_question
from assistant.tokens import question_stop_words as _question_stop_words
from assistant.tokens import windows as _windows

settings = Settings()
store = open_store(settings)
index = store.bm25()
emb = get_embedder(settings)
ids = [cid for pid, n in zip(index.paper_ids, index.n_chunks, strict=False) for cid in schema.chunk_ids(pid, n)]
E = store.get_embeddings(ids)
C = np.stack([E[c] for c in ids])
owner = np.array([index.row_of[schema.paper_of(c)] for c in ids])
W = store.whole_embeddings(list(index.paper_ids))
P = np.stack([W[p] for p in index.paper_ids])
rows = {r.paper_id: r for page in store.papers() for r in page}
titles = [rows[p].title for p in index.paper_ids]
n = len(index)
# token vectors per paper (cached)
cache = Path("/tmp/exp/tokvecs.pkl")
cache.parent.mkdir(exist_ok=True)
if cache.exists():
    TV = pickle.loads(cache.read_bytes())
else:
    enc = token_encoder(settings)
    TV = []
    for pid in index.paper_ids:
        meta = store.paper(pid)
        wins = _windows(meta.get("title", ""), meta.get("abstract", ""))
        vs = [v[1:-1] for _, v in enc.token_vectors(wins)]
        TV.append(np.concatenate(vs).astype("float32"))
    cache.write_bytes(pickle.dumps(TV))
enc = token_encoder(settings)
STOP = _question_stop_words()
FRAME = re.compile(
    r"^(i (remember|recall|think there was|saw|read)( reading)?|i'm looking for|looking for|is there( any)?( work| research| a paper)?( on| about| that)?|are there( any)?( papers| works)?( on| about| that)?|which paper(s)?|what paper(s)?|does anyone know|anyone know|what's the (thing|one|paper) where|what was (the|that) (paper|one))\b[ ,:]*",
    re.I,
)


def clean(q):
    return FRAME.sub("", q.strip()).strip()


def keywords(q):
    return " ".join(w for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9\-]*", q) if w.lower() not in STOP)


def late(q, rowsel, TVx):
    asked = encode_question(q, enc, index)  # the product's content words and IDF weights
    out = np.zeros(n)
    if not asked.words:
        return out
    qv = proj(asked.vectors, TVx)
    wts = np.array([w.weight for w in asked.words])
    for r in rowsel:
        m = (qv @ TVx[r].T).max(axis=1)
        out[r] = sum(w.weight * m[w.positions].mean() for w in asked.words) / wts.sum()
    return out


def zc(x, cand):
    m, sd = x[cand].mean(), x[cand].std() + 1e-9
    return np.where(cand, (x - m) / sd, -1e9)


def signals(text):
    v = emb.embed([text])[0]
    cos = C @ v
    best = np.full(n, -1.0)
    np.maximum.at(best, owner, cos)
    return v, cos, best, P @ v


allt = np.concatenate(TV)
mu = allt.mean(0)
U, S, Vt = np.linalg.svd(allt[::7] - mu, full_matrices=False)


def pca(x, k):
    y = (x - mu) @ Vt[:k].T
    return y / np.linalg.norm(y, axis=1, keepdims=True)


def q8(x):
    sc = np.abs(x).max(1, keepdims=True) / 127
    y = np.round(x / sc).astype(np.int8).astype(np.float32) * sc
    return y / np.linalg.norm(y, axis=1, keepdims=True)


TVS = {"full": TV, "pca128": [pca(t, 128) for t in TV], "pca64": [pca(t, 64) for t in TV], "int8": [q8(t) for t in TV]}


def proj(qv, TVx):
    if TVx is TVS["pca128"]:
        return pca(qv, 128)
    if TVx is TVS["pca64"]:
        return pca(qv, 64)
    return qv


files = sys.argv[1:]
allres = {}
for path in files:
    qs = [q for q in load_questions(Path(path)) if len(q.expected_titles) == 1]
    res = {}
    for q in qs:
        text = f"{q.history[-1]} {q.question}" if q.history and is_followup(q.question) else q.question
        v, cos, best, pc = signals(text)
        b = index.scores(text)
        b = np.zeros(n) if b is None else np.asarray(b, float)
        cand = np.zeros(n, bool)
        cand[owner[np.argsort(-cos)[:40]]] = True
        cand[np.argsort(-pc)[:40]] = True
        top = np.argsort(-b)[:40]
        cand[top[b[top] > 0]] = True
        base = zc(best, cand) + zc(pc, cand) + 0.5 * zc(b, cand)
        ct = clean(text)
        kt = keywords(text)
        V = {"default": base}
        for depth in (10, 20, 30):
            topd = np.argsort(-base)[:depth]
            cd = np.zeros(n, bool)
            cd[topd] = True
            for qname, qtext in (("clean", ct), ("raw", text)):
                for tv in TVS:
                    if qname == "raw" and tv != "full":
                        continue
                    li = late(qtext, topd, TVS[tv])
                    for wl in (1.0, 1.5, 2.0, 3.0):
                        V[f"d{depth} {qname} {tv} w{wl}"] = np.where(cd, zc(base, cd) + wl * zc(li, cd), -1e9)
        target = titles.index(q.expected_titles[0])
        for name, s in V.items():
            order = np.argsort(-s, kind="stable")[:10]
            rank = next((i + 1 for i, r in enumerate(order) if r == target), None)
            h = res.setdefault(name, [0, 0.0])
            h[0] += rank == 1
            h[1] += 1 / rank if rank else 0
    allres[path] = {k: (h / len(qs), m / len(qs)) for k, (h, m) in res.items()}

Path("/tmp/exp/res.json").write_text(json.dumps(allres, indent=0))
names = list(next(iter(allres.values())))
print("variant".ljust(30), " ".join(Path(p).stem[-12:].rjust(13) for p in allres))
for nm in names:
    print(nm.ljust(30), " ".join(f"{allres[p][nm][0]:.3f}/{allres[p][nm][1]:.3f}".rjust(13) for p in allres))
