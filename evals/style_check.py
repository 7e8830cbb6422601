"""Check that eval questions are phrased the way researchers ask, not copied from the abstracts.

Usage: python evals/style_check.py QUESTIONS.jsonl [MORE.jsonl ...] [--corpus DIR]

The corpus is every assistant/corpus/daily-papers-*.txt of the repository (or in --corpus DIR), read with
assistant.sources.read_file. For each question it prints:

- share: the share of the question's distinct content words that occur in the expected paper's title +
  abstract. Content words are lowercase alphanumeric tokens that are not stop words (bm25s's English list
  plus question and function words such as "paper", "which", "remember", "from"), compared after Snowball
  stemming (PyStemmer).
  With several expected papers, the highest share over them.
- run: the longest run of consecutive question words (all words, lowercased, punctuation stripped, not
  stemmed) that also occurs consecutively in the expected paper's title or abstract.

Rules, for lookup, fact and followup questions (for a followup, its history turns are checked with it):
share <= 1/3 and run < 3. A broken rule is flagged. An expected title that is not in the corpus is an
error. Per set it prints the count by kind, the mean share by checked kind and over all of them, and the
number of violations. Exit status 1 when any rule is broken, a title is missing or a line is not JSON.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from assistant.sources import read_file

MAX_SHARE = 1 / 3
MAX_RUN = 2  # a run of 3 or more copied words breaks the rule
CHECKED_KINDS = {"lookup", "fact", "followup"}
# Question words ("this is a question"), English function words and contraction remnants ("it's" -> s),
# on top of bm25s's short list.
QUESTION_WORDS_TEXT = """
    paper papers work works study studies method methods approach approaches research article articles
    which what who whom whose how why when where whether does do did done doing is was were be been being
    am has have had having can could would should may might must shall any some i me my mine we our us you
    your one ones remember recall find finding looking look know there here about also so than very just
    anyone someone something anything show shows showed shown he she him her his its itself them themselves
    those from via per without within between through over under up down out off both each every all other
    others another more most less least only own same too nor because while during before after above below
    again further once until against like get got many much
    s t d ll re ve m e g don doesn didn isn aren wasn weren won wouldn couldn shouldn hasn haven
"""
STOP = set(STOPWORDS_EN) | set(QUESTION_WORDS_TEXT.split())
STEMMER = Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def content_stems(text: str) -> set[str]:
    return set(STEMMER.stemWords([w for w in words(text) if w not in STOP]))


def longest_run(question: str, source: str) -> tuple[int, str]:
    """Longest run of consecutive question words that occurs consecutively in the source."""
    q, src = words(question), " " + " ".join(words(source)) + " "
    best = (0, "")
    for i in range(len(q)):
        n = best[0] + 1
        while i + n <= len(q) and " " + " ".join(q[i : i + n]) + " " in src:
            best = (n, " ".join(q[i : i + n]))
            n += 1
    return best


def load_corpus(folder: Path) -> dict[str, str]:
    papers = [p for f in sorted(folder.glob("daily-papers-*.txt")) for p in read_file(f).papers]
    if not papers:
        sys.exit(f"no papers found in {folder}/daily-papers-*.txt")
    return {p.title: p.abstract for p in papers}


def check_set(path: Path, corpus: dict[str, str]) -> int:
    print(f"== {path}")
    kinds: Counter[str] = Counter()
    shares: dict[str, list[float]] = {}
    violations = errors = 0
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
        except json.JSONDecodeError as exc:
            print(f"{path}:{n}: ERROR not JSON: {exc}")
            errors += 1
            continue
        kind, titles = q.get("kind", "lookup"), q.get("expected_titles", [])
        kinds[kind] += 1
        missing = [t for t in titles if t not in corpus]
        for t in missing:
            print(f"{path}:{n}: ERROR {q['id']}: expected title not in corpus: {t!r}")
        errors += len(missing)
        found = [t for t in titles if t in corpus]
        if not found:
            print(f"{q['id']:>6} {kind:<12} share    -  run -")
            continue
        texts = [*q.get("history", []), q["question"]] if kind == "followup" else [q["question"]]
        stems = set().union(*(content_stems(t) for t in texts))
        share, run, copied = 0.0, 0, ""
        for title in found:
            source = f"{title}\n{corpus[title]}"
            share = max(share, len(stems & content_stems(source)) / max(len(stems), 1))
            for text in texts:
                for part in (title, corpus[title]):
                    r, s = longest_run(text, part)
                    if r > run:
                        run, copied = r, s
        flags = []
        if kind in CHECKED_KINDS:
            shares.setdefault(kind, []).append(share)
            if share > MAX_SHARE:
                flags.append(f"share>{MAX_SHARE:.2f}")
            if run > MAX_RUN:
                flags.append(f"run {run}: {copied!r}")
            violations += bool(flags)
        flag = ("  VIOLATION " + "; ".join(flags)) if flags else ""
        print(f"{q['id']:>6} {kind:<12} share {share:.2f}  run {run}{flag}")
    checked = [s for v in shares.values() for s in v]
    means = [f"{k} {sum(v) / len(v):.3f}" for k, v in sorted(shares.items())]
    print(
        f"-- {path.name}: {sum(kinds.values())} questions: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    )
    print(f"-- mean share: {', '.join(means) or '-'}; all checked {sum(checked) / max(len(checked), 1):.3f}")
    print(f"-- violations {violations}; errors {errors}")
    return violations + errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    default = Path(__file__).resolve().parent.parent / "assistant" / "corpus"
    parser.add_argument(
        "--corpus", type=Path, default=default, metavar="DIR", help=f"folder of daily-papers-*.txt (default {default})"
    )
    args = parser.parse_args()
    corpus = load_corpus(args.corpus)
    bad = sum(check_set(f, corpus) for f in args.files)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
