"""How many principal directions the word index keeps (assistant/words.py, WORD_DIMS): hit@1 and MRR@10 of the
full pipeline on single-paper questions, with the word vectors projected to each width (and unprojected),
against the size per paper on disk. Uses an ingested store (the bundled corpus).

    HF_HUB_OFFLINE=1 python evals/experiments/word_dims.py --store STORE QUESTIONS.jsonl [...] [--dims 32,64,96,768]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from assistant import words
from assistant.config import Settings, StoreSettings
from assistant.embeddings import token_encoder
from assistant.retrieve import retrieve
from assistant.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="+", type=Path)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--dims", default="32,48,64,96,128,768")
    args = parser.parse_args()
    settings = Settings(store=StoreSettings(path=args.store))
    store = open_store(settings)
    encoder = token_encoder(settings)
    full: dict[str, np.ndarray] = {}
    for page in store.papers():
        for row in page:
            encoding = encoder.encode([row.text])[0]
            hidden = encoder.hidden([encoding])[0]
            unit = hidden / np.linalg.norm(hidden, axis=1, keepdims=True)
            found = words.content_words(row.text, encoding)
            means = np.stack([unit[p].mean(axis=0) for p in found.values()])
            full[row.paper_id] = means / np.linalg.norm(means, axis=1, keepdims=True)
    questions = [json.loads(line) for f in args.questions for line in f.read_text().splitlines() if line.strip()]
    lookups = [q for q in questions if q["kind"] in ("lookup", "fact") and len(q["expected_titles"]) == 1]
    with np.load(words.BASIS_DIR / f"{encoder.model.name}.npz") as saved:
        center, fitted = saved["mean"], saved["basis"].astype("float32")
    for dims in [int(d) for d in args.dims.split(",")]:
        if dims >= encoder.dimension:
            projection, mean = np.eye(encoder.dimension, dtype="float32"), np.zeros_like(center)
        else:
            projection, mean = np.ascontiguousarray(fitted[:, :dims]), center
        words.basis = lambda _model, m=mean, p=projection: (m, p)  # what encode_question projects with
        rows = []
        for pid in store.bm25().paper_ids:
            projected = (full[pid] - mean) @ projection
            rows.append(words.quantise(projected / np.linalg.norm(projected, axis=1, keepdims=True)))
        arrays = words.arrays(rows)
        store._words = words.WordIndex(store.bm25().paper_ids, arrays["sizes"], arrays["codes"], arrays["scales"])
        store._words_papers = len(store.bm25())
        hit, rr = 0, 0.0
        for q in lookups:
            titles = [h.title for h in retrieve(q["question"], settings, store=store, top_k=10).hits]
            expected = q["expected_titles"][0]
            hit += bool(titles) and titles[0] == expected
            rr += 1 / (titles.index(expected) + 1) if expected in titles else 0
        size = sum(a.nbytes for a in arrays.values()) / len(rows)
        print(
            f"dims {dims:4d}: hit@1 {hit / len(lookups):.3f}  MRR@10 {rr / len(lookups):.3f}  {size / 1000:.1f} KB/paper",
            flush=True,
        )


if __name__ == "__main__":
    main()
