"""Warm latency of retrieve() or answer() over the 127 dev + held-out questions, one pass, in this process.

Run it once per code version, one after the other, to compare two versions under the same conditions:

    HF_HUB_OFFLINE=1 python evals/bench/latency_ab.py retrieve            # the checked-out code
    git worktree add /tmp/old COMMIT
    HF_HUB_OFFLINE=1 PYTHONPATH=/tmp/old python evals/bench/latency_ab.py retrieve   # an older commit
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

EVALS = Path(__file__).resolve().parent.parent


def main() -> None:
    import assistant
    from assistant.answer import answer
    from assistant.config import Settings
    from assistant.retrieve import retrieve
    from assistant.store import open_store

    what = sys.argv[1] if len(sys.argv) > 1 else "retrieve"
    settings = Settings()
    store = open_store(settings)
    questions = [
        json.loads(line)["question"]
        for name in ("questions-dev.jsonl", "questions-heldout.jsonl")
        for line in (EVALS / name).read_text().splitlines()
    ]
    call = retrieve if what == "retrieve" else answer
    for question in questions[:5]:  # warm-up: model load, caches
        call(question, settings, store=store)
    times = []
    for question in questions:
        started = time.perf_counter()
        call(question, settings, store=store)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    print(
        f"{what} ({Path(assistant.__file__).parent}): p50 {statistics.median(times):.1f} ms, "
        f"p95 {times[int(len(times) * 0.95)]:.1f} ms over {len(times)} questions"
    )


if __name__ == "__main__":
    main()
