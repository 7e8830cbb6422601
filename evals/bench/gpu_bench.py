"""The GPU path against the CPU in one run: papers encoded per second by ingest's one-run-per-paper encoder
(ingest.encode_papers: whole-paper, chunk and word vectors) on the CPU runtime (ONNX int8, the default) and on
a CUDA device (torch, fp16), on the same papers, and how closely the fp16 vectors agree with fp32 ones.

Runs as is on a GPU machine with the project installed (`pip install .` and a CUDA build of torch); on a
machine without CUDA it says so and exits 2. Papers: the bundled corpus, repeated with shuffled sentences
(make_corpus.py) up to --papers.

    HF_HUB_OFFLINE=1 python evals/bench/gpu_bench.py --papers 2000 [--cpu-papers 200] [--json-out FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _papers(count: int):
    from make_corpus import synthetic_papers  # beside this script

    from assistant.sources import Paper

    return [
        Paper(id=f"s{i}", title=title, abstract=abstract, date_iso=date, source="bench")
        for i, (title, abstract, date) in enumerate(synthetic_papers(count))
    ]


def _rate(encoder, papers, splitter) -> tuple[float, np.ndarray]:
    """Papers per second through encode_papers, and the whole-paper vectors."""
    from assistant.ingest import BATCH_PAPERS, chunk_paper, encode_papers

    chunked = [(p, chunk_paper(p, splitter)) for p in papers]
    encode_papers(encoder, chunked[:8])  # warm up (CUDA kernels, ONNX arenas)
    started = time.perf_counter()
    wholes = [encode_papers(encoder, chunked[i : i + BATCH_PAPERS])[0] for i in range(0, len(chunked), BATCH_PAPERS)]
    return len(papers) / (time.perf_counter() - started), np.concatenate(wholes)


def main() -> None:
    from assistant.config import Settings
    from assistant.embeddings import cuda_available, local_encoder
    from assistant.ingest import make_splitter

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=2000, help="papers encoded on the GPU")
    parser.add_argument("--cpu-papers", type=int, default=200, help="the first N of them encoded on the CPU")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    if not cuda_available():
        print("no CUDA device: torch sees none (or is a CPU build); run this on a GPU machine", file=sys.stderr)
        raise SystemExit(2)
    import torch

    settings = Settings()
    papers = _papers(args.papers)
    splitter = make_splitter(settings)
    cpu = local_encoder(settings.updated(embedding={"device": "cpu"}))
    cpu_rate, _ = _rate(cpu, papers[: args.cpu_papers], splitter)
    fp32 = local_encoder(settings.updated(embedding={"device": "cpu", "runtime": "onnx"}))
    _, reference = _rate(fp32, papers[:64], splitter)
    gpu = local_encoder(settings.updated(embedding={"device": "cuda"}))
    gpu_rate, vectors = _rate(gpu, papers, splitter)
    agreement = (vectors[:64] * reference).sum(axis=1)
    result = {
        "device": torch.cuda.get_device_name(0),
        "model": settings.embedding.model,
        "papers_gpu": len(papers),
        "papers_cpu": args.cpu_papers,
        "cpu_runtime": cpu.name,
        "cpu_papers_per_s": round(cpu_rate, 2),
        "gpu_papers_per_s": round(gpu_rate, 2),
        "speedup": round(gpu_rate / cpu_rate, 1),
        "fp16_vs_fp32_cosine_min": round(float(agreement.min()), 5),
        "fp16_vs_fp32_cosine_mean": round(float(agreement.mean()), 5),
        "peak_gpu_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20),
    }
    print(json.dumps(result, indent=1))
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
