"""Build a large synthetic corpus from the bundled abstracts, deterministically (seeded).

Each synthetic paper takes a bundled paper, shuffles its sentence order and varies its title with a numbered
suffix, so texts are realistic (real vocabulary and lengths) yet distinct (new content hashes).

    python evals/bench/make_corpus.py --papers 20000 --out /tmp/synthetic-20k.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from assistant.answer import split_sentences
from assistant.config import bundled_corpus_files
from assistant.sources import read_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=20000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    base = {p.id: p for f in bundled_corpus_files() for p in read_file(f).papers}
    papers = sorted(base.values(), key=lambda p: p.id)
    rng = random.Random(args.seed)
    with args.out.open("w", encoding="utf-8") as out:
        for i in range(args.papers):
            paper = papers[i % len(papers)]
            sentences = split_sentences(paper.abstract) or [paper.abstract]
            rng.shuffle(sentences)
            record = {"title": f"{paper.title} (variant {i})", "abstract": " ".join(sentences), "date": paper.date_iso}
            out.write(json.dumps(record) + "\n")
    print(f"wrote {args.papers} papers to {args.out}")


if __name__ == "__main__":
    main()
