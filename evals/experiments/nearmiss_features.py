"""Per-question word matches against the top paper, to design the near-miss signal (evals/README.md,
"Abstention"). Prints one JSON line per question: kind, whether the top paper is expected, and each content
word's document frequency and best contextual token match in the top paper.

    HF_HUB_OFFLINE=1 python evals/experiments/nearmiss_features.py evals/questions-researcher-dev.jsonl ... > words.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from assistant import abstain
from assistant.chat import condense
from assistant.config import Settings
from assistant.evaluate import load_questions
from assistant.retrieve import retrieve
from assistant.store import open_store


def main() -> None:
    settings = Settings()
    store = open_store(settings)
    index = store.bm25()
    for path in sys.argv[1:]:
        for q in load_questions(Path(path)):
            text = condense(q.question, q.history, settings)
            hits = retrieve(text, settings, store=store).hits
            words = abstain.word_matches(text, hits[0], index, settings, store)
            print(
                json.dumps(
                    {
                        "set": Path(path).stem,
                        "id": q.id,
                        "kind": q.kind,
                        "answerable": q.answerable,
                        "top_expected": hits[0].title in q.expected_titles,
                        "relevance": max(h.relevance for h in hits),
                        "words": [[w.word, w.df, round(w.match, 3)] for w in words],
                    }
                )
            )


if __name__ == "__main__":
    main()
