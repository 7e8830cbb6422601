"""Ingest throughput and peak memory: `papers ingest` vs the LlamaIndex default, same files, same run.

Each system runs in a new process on a new store, --repeats times, alternating; the median wall time gives
papers per second, and the ratio is baseline / ours. Peak RSS comes from the child's rusage. Both use the
model PAPERS_EMBED_MODEL names (all-mpnet-base-v2 by default). Our ONNX export is made once before timing (it
is cached in the per-user model cache and reused by every later ingest).

    HF_HUB_OFFLINE=1 python evals/bench/ingest_bench.py --repeats 3 [--runtime onnx] [--keep DIR] [FILE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _run(cmd: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a child process (peak from GNU time's %M)."""
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        started = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", rss.name, *cmd], env=env, capture_output=True, text=True
        )
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
        peak = int(Path(rss.name).read_text().split()[-1]) / 1024
    return elapsed, peak


def main() -> None:
    from assistant.config import bundled_corpus_files
    from assistant.sources import read_file

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runtime", default="onnx-int8", help="PAPERS_EMBED_RUNTIME for ours (default: the product's)")
    parser.add_argument("--keep", type=Path, help="move our last store here (for query_bench.py and bm25_bench.py)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    files = args.files or bundled_corpus_files()
    papers = len({p.id for f in files for p in read_file(f).papers})
    work = Path(tempfile.mkdtemp(prefix="papers-bench-"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PAPERS_EMBED_RUNTIME": args.runtime}
    papers_cmd = [sys.executable, "-m", "assistant"]
    # one-time ONNX export into the per-user model cache the timed runs share
    warm = work / "warm"
    subprocess.run([*papers_cmd, "--store", str(warm), "search", "warm up"], env=env, capture_output=True)
    times: dict[str, list[float]] = {"papers": [], "llamaindex": []}
    peaks: dict[str, list[float]] = {"papers": [], "llamaindex": []}
    for i in range(args.repeats):
        ours = work / f"ours-{i}"
        ours.mkdir()
        t, peak = _run([*papers_cmd, "--store", str(ours), "ingest", *map(str, files)], env)
        times["papers"].append(t)
        peaks["papers"].append(peak)
        if not args.skip_baseline:
            baseline = [sys.executable, str(HERE / "llamaindex_ingest.py"), str(work / f"li-{i}"), *map(str, files)]
            t, peak = _run(baseline, env)
            times["llamaindex"].append(t)
            peaks["llamaindex"].append(peak)
    result = {"n_papers": papers, "files": [str(f) for f in files], "runtime": args.runtime, "repeats": args.repeats}
    for name, values in times.items():
        if values:
            median = statistics.median(values)
            result[name] = {
                "seconds": [round(v, 1) for v in values],
                "median_s": round(median, 1),
                "papers_per_s": round(papers / median, 2),
                "peak_rss_mb": round(max(peaks[name]), 0),
            }
    if times["llamaindex"]:
        result["ratio"] = round(statistics.median(times["llamaindex"]) / statistics.median(times["papers"]), 2)
    print(json.dumps(result, indent=1))
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=1))
    if args.keep:
        shutil.move(str(work / f"ours-{args.repeats - 1}"), str(args.keep))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
