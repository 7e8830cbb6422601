"""Sweep the fusion and rerank weights of the full pipeline (retrieve()) on dev question sets: hit@1 and MRR@10
on single-paper questions per variant, each set scored separately. Chooses the RetrievalSettings defaults
(evals/README.md, Ranking). Never run it on a held-out set.

    HF_HUB_OFFLINE=1 python evals/experiments/weight_sweep.py --store STORE SET.jsonl [...] \
        --grid 'paper_weight=0.5,1,2 bm25_weight=0.25,0.5' [--examples]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

from assistant.config import Settings, StoreSettings
from assistant.retrieve import retrieve
from assistant.store import open_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", nargs="+", type=Path)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--grid", default="", help="space-separated name=v1,v2 (RetrievalSettings fields)")
    parser.add_argument("--examples", action="store_true", help="list questions the rerank lifts to first")
    args = parser.parse_args()
    base = Settings(store=StoreSettings(path=args.store))
    store = open_store(base)
    axes = [(name, [float(v) for v in values.split(",")]) for name, values in (p.split("=") for p in args.grid.split())]
    variants = [
        dict(zip([a for a, _ in axes], combo, strict=True)) for combo in itertools.product(*[v for _, v in axes])
    ]
    sets = {}
    for path in args.questions:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        sets[path.stem] = [q for q in rows if q["kind"] in ("lookup", "fact") and len(q["expected_titles"]) == 1]
    scores = {i: {name: [0, 0.0] for name in sets} for i in range(len(variants))}
    for name, questions in sets.items():
        for q in questions:
            expected = q["expected_titles"][0]
            for i, variant in enumerate(variants):
                settings = base.updated(retrieval={k: int(v) if k == "rerank_depth" else v for k, v in variant.items()})
                titles = [h.title for h in retrieve(q["question"], settings, store=store, top_k=10).hits]
                scores[i][name][0] += bool(titles) and titles[0] == expected
                scores[i][name][1] += 1 / (titles.index(expected) + 1) if expected in titles else 0
            if args.examples:
                fused = [
                    h.title
                    for h in retrieve(
                        q["question"], base.updated(retrieval={"rerank_depth": 0}), store=store, top_k=10
                    ).hits
                ]
                reranked = [h.title for h in retrieve(q["question"], base, store=store, top_k=10).hits]
                if reranked and reranked[0] == expected and fused[0] != expected:
                    print(
                        f"lifted ({fused.index(expected) if expected in fused else '>10'} -> 0): {q['id']} {q['question']}"
                    )
    header = " | ".join(f"{n} hit@1/MRR" for n in sets)
    print(f"variant | {header} | mean hit@1")
    for i, variant in enumerate(variants):
        cells = [f"{s[0] / len(sets[n]):.3f} / {s[1] / len(sets[n]):.3f}" for n, s in scores[i].items()]
        mean = sum(s[0] / len(sets[n]) for n, s in scores[i].items()) / len(sets)
        print(f"{variant or 'defaults'} | {' | '.join(cells)} | {mean:.3f}", flush=True)


if __name__ == "__main__":
    main()
