"""BM25 index build time and memory on a store, through the product's own Store.rebuild_bm25().

Runs in this (new) process: peak RSS before and after the build (ru_maxrss), wall time, index size on disk.

    HF_HUB_OFFLINE=1 python evals/bench/bm25_bench.py --store DIR
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    from assistant.config import Settings
    from assistant.store import open_store

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    args = parser.parse_args()
    store = open_store(Settings().updated(store={"path": args.store}))
    chunks = store.count()
    before = _rss_mb()
    started = time.perf_counter()
    store.rebuild_bm25()
    seconds = time.perf_counter() - started
    folder = store._bm25_dir
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    started = time.perf_counter()
    store._bm25 = None
    store.bm25()  # loads the saved index (the count matches)
    load = time.perf_counter() - started
    print(
        json.dumps(
            {
                "chunks": chunks,
                "papers": len(store.bm25().paper_ids),
                "build_s": round(seconds, 1),
                "load_s": round(load, 2),
                "peak_rss_before_mb": round(before),
                "peak_rss_after_mb": round(_rss_mb()),
                "index_mb_on_disk": round(size / 1e6, 1),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
