"""Record what the packaged local model (the local-llm extra) answers to a few varied questions.

Each question goes through `python -m assistant ask --json --top-k 3` against llama.cpp serving the model on
127.0.0.1; one JSON line per question is written with the question, the answer, the cited titles and the
sources, plus what the citation check removed. The output is material for spotting degenerate answers.

    HF_HUB_OFFLINE=1 python evals/llm_samples.py [OUT.jsonl]      # default: evals/llm-samples.jsonl

Uses the store PAPERS_STORE points to (ingested first, as `papers ask` does on an empty store).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

QUESTIONS = [
    "Which method uses LLM rationales to train smaller models that beat bigger ones?",
    "How many parameters does GPT-4 have?",
    "How many parameters does Orca-Math have and how well does it do on GSM8K?",
    "Which papers propose or study methods for merging fine-tuned models into one?",
    "How does TokenFormer scale a transformer without retraining from scratch?",
    "Which papers are about the ZeRO family of memory optimisations for large-scale training?",
    "How large is the Prithvi WxC weather foundation model?",
]


def main() -> None:
    from assistant import local_llm

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "llm-samples.jsonl"
    rows = []
    with local_llm.serve(seed=7) as url:
        env = {
            **os.environ,
            "PAPERS_LLM_BASE_URL": url,
            "PAPERS_LLM_MODEL": local_llm.MODEL_NAME,
            "PAPERS_LLM_TIMEOUT": "600",
            "PAPERS_LLM_MAX_RETRIES": "0",
        }
        for question in QUESTIONS:
            started = time.perf_counter()
            run = subprocess.run(
                [sys.executable, "-m", "assistant", "ask", question, "--top-k", "3", "--json"],
                env=env,
                capture_output=True,
                text=True,
            )
            seconds = round(time.perf_counter() - started, 1)
            if run.returncode != 0:
                rows.append({"question": question, "error": run.stderr.strip(), "seconds": seconds})
                continue
            data = json.loads(run.stdout)
            rows.append(
                {
                    "question": question,
                    "answer": data["answer"],
                    "cited_titles": [c["title"] for c in data["citations"]],
                    "sources": [s["title"] for s in data["sources"]],
                    "mode": data["mode"],
                    "model": data["model"],
                    "abstained": data["abstained"],
                    "uncited": data["uncited"],
                    "removed_markers": data["removed_markers"],
                    "seconds": seconds,
                }
            )
            print(f"{seconds:6.1f} s  {question}", file=sys.stderr)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} answers to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
