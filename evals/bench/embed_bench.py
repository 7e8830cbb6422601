"""Embedding speed per runtime on real chunk texts (the bundled corpus chunked as ingest does), one process.

HF_HUB_OFFLINE=1 python evals/bench/embed_bench.py [--chunks 1500]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time


def main() -> None:
    from assistant.config import Settings, bundled_corpus_files
    from assistant.embeddings import get_embedder
    from assistant.ingest import chunk_paper, make_splitter
    from assistant.sources import read_file

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1500)
    args = parser.parse_args()
    base = Settings().updated(store={"path": tempfile.mkdtemp(prefix="embed-bench-")})
    splitter = make_splitter(base)
    texts = [
        c.embed_text for f in bundled_corpus_files() for p in read_file(f).papers for c in chunk_paper(p, splitter)
    ]
    texts = texts[: args.chunks]
    vectors, result = {}, {"chunks": len(texts)}
    for runtime in ("torch", "onnx", "onnx-int8"):
        embedder = get_embedder(base.updated(embedding={"runtime": runtime}))
        embedder.embed(texts[:16])  # warm-up (and the one-time ONNX export)
        started = time.perf_counter()
        vectors[runtime] = embedder.embed(texts)
        result[f"{runtime}_chunks_per_s"] = round(len(texts) / (time.perf_counter() - started), 1)
    for runtime in ("onnx", "onnx-int8"):
        cosine = (vectors[runtime] * vectors["torch"]).sum(axis=1)
        result[f"{runtime}_cosine_to_torch_min_mean"] = [round(float(cosine.min()), 4), round(float(cosine.mean()), 4)]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
