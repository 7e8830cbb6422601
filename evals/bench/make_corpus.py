"""Build a large synthetic corpus from the bundled abstracts, deterministically (seeded).

Each synthetic paper takes a bundled paper, shuffles its sentence order and varies its title with a numbered
suffix, so texts are realistic (real vocabulary and lengths) yet distinct (new content hashes).

    python evals/bench/make_corpus.py --papers 20000 --out /tmp/synthetic-20k.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from pathlib import Path

from assistant.config import bundled_corpus_files
from assistant.sources import read_file
from assistant.text import split_sentences


def synthetic_papers(count: int, seed: int = 13) -> Iterator[tuple[str, str, str]]:
    """(title, abstract, ISO date) of `count` synthetic papers, one at a time."""
    base = {p.id: p for f in bundled_corpus_files() for p in read_file(f).papers}
    papers = sorted(base.values(), key=lambda p: p.id)
    rng = random.Random(seed)
    for i in range(count):
        paper = papers[i % len(papers)]
        sentences = split_sentences(paper.abstract) or [paper.abstract]
        rng.shuffle(sentences)
        yield f"{paper.title} (variant {i})", " ".join(sentences), paper.date_iso


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=20000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    with args.out.open("w", encoding="utf-8") as out:
        for title, abstract, date in synthetic_papers(args.papers, args.seed):
            out.write(json.dumps({"title": title, "abstract": abstract, "date": date}) + "\n")
    print(f"wrote {args.papers} papers to {args.out}")


if __name__ == "__main__":
    main()
