"""Query latency (warm) and start-up (cold processes), ours vs the LlamaIndex default, in the same run.

Warm: every question of evals/questions-dev.jsonl and questions-heldout.jsonl (127), --rounds times after a warm-up, through the product's own
retrieve() and answer() (extractive), and through LlamaIndex's default VectorStoreIndex retriever over the
same papers with the same model. Cold: new processes for `papers --help`, `papers search`, `papers ask`, and
a LlamaIndex script that opens a persisted Chroma collection and retrieves for one question.

    HF_HUB_OFFLINE=1 python evals/bench/query_bench.py [--store DIR] [--rounds 3] [--cold 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUESTION = "Which method uses LLM rationales to train smaller models that beat bigger ones?"
LI_QUERY = """
import sys, chromadb
from llama_index.core import Settings, VectorStoreIndex
from llama_index.embeddings.huggingface import HuggingFaceEmbedding
from llama_index.vector_stores.chroma import ChromaVectorStore
from assistant.config import Settings as PapersSettings
from assistant.embeddings import local_model_folder
Settings.embed_model = HuggingFaceEmbedding(model_name=str(local_model_folder(PapersSettings())), device="cpu")
Settings.llm = None
store = ChromaVectorStore(chroma_collection=chromadb.PersistentClient(path=sys.argv[1]).get_collection("baseline"))
nodes = VectorStoreIndex.from_vector_store(store).as_retriever(similarity_top_k=5).retrieve(sys.argv[2])
print(nodes[0].get_content().splitlines()[0])
"""


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))], 1)


def _timed(fn, items, rounds: int) -> dict:
    for item in items[:3]:
        fn(item)
    times = []
    for _ in range(rounds):
        for item in items:
            started = time.perf_counter()
            fn(item)
            times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": _pct(times, 50), "p95_ms": _pct(times, 95), "n": len(times)}


def _cold(cmd: list[str], env: dict, repeats: int) -> dict:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if proc.returncode != 0:
            raise SystemExit(f"{cmd} failed: {proc.stderr[-1500:]}")
    return {"median_s": round(statistics.median(times), 2), "runs_s": [round(t, 2) for t in times]}


def main() -> None:
    from assistant.answer import answer
    from assistant.config import Settings
    from assistant.evaluate import _llamaindex_baseline, load_questions
    from assistant.retrieve import retrieve
    from assistant.store import open_store

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, help="store to query (default: PAPERS_STORE or store/)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold", type=int, default=3)
    parser.add_argument("--skip-llamaindex", action="store_true", help="skip the in-memory LlamaIndex baseline")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    settings = Settings().updated(store={"path": args.store})
    store = open_store(settings)
    root = HERE.parent
    questions = [
        q.question for f in ("questions-dev.jsonl", "questions-heldout.jsonl") for q in load_questions(root / f)
    ]
    result: dict = {"store": str(settings.store.path), "chunks": store.count(), "questions": len(questions)}
    result["retrieve"] = _timed(lambda q: retrieve(q, settings, store=store), questions, args.rounds)
    result["answer_extractive"] = _timed(lambda q: answer(q, settings, store=store), questions, args.rounds)
    if not args.skip_llamaindex:
        search = _llamaindex_baseline(store)
        result["llamaindex_retrieve"] = _timed(search, questions, args.rounds)
        result["retrieve_ratio_p95"] = round(result["llamaindex_retrieve"]["p95_ms"] / result["retrieve"]["p95_ms"], 2)

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PAPERS_STORE": str(settings.store.path)}
    papers = [sys.executable, "-m", "assistant"]
    result["cold_help"] = _cold([*papers, "--help"], env, max(args.cold, 5))
    result["cold_search"] = _cold([*papers, "search", QUESTION], env, args.cold)
    result["cold_ask"] = _cold([*papers, "ask", QUESTION], env, args.cold)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, str(HERE / "llamaindex_ingest.py"), tmp, *map(str, _bundled())],
            env=env,
            check=True,
            capture_output=True,
        )
        result["llamaindex_cold_query"] = _cold([sys.executable, "-c", LI_QUERY, tmp, QUESTION], env, args.cold)
    result["cold_ask_ratio"] = round(result["llamaindex_cold_query"]["median_s"] / result["cold_ask"]["median_s"], 2)
    print(json.dumps(result, indent=1))
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(result, indent=1))


def _bundled() -> list[Path]:
    from assistant.config import bundled_corpus_files

    return bundled_corpus_files()


if __name__ == "__main__":
    main()
