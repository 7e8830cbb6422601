"""Abstention: whether the retrieved papers answer the question at all.

Two signals: the relevance of the best paper (its best chunk's cosine) and the near-miss score of the top
paper (`unmatched`): how much of the question that paper leaves unmatched.
The thresholds are settings (config.RetrievalSettings) chosen in evals/README.md.
"""

from __future__ import annotations

from pydantic import BaseModel

from assistant import words
from assistant.bm25 import BM25Index
from assistant.config import Settings
from assistant.models import Confidence, Hit
from assistant.store import Store
from assistant.text import split_sentences

WINDOW_WORDS = 150  # words per encoded window of the top paper
MATCH_FLOOR = 0.6  # a question word whose best token match in the paper reaches this cosine is matched
# near misses (near_miss_words), chosen on the researcher-phrased and lexical dev sets (evals/README.md)
MATCHED_SHARE = 0.4
RARE_DF, GAP_ONE = 10, 0.25  # one rare word (in <= 10 papers) with no token of the paper above 0.25
COMMON_DF, GAP_TWO = 60, 0.45  # or two words in <= 60 papers, each below 0.45


class WordMatch(BaseModel):
    word: str
    df: int  # papers in the store containing it
    weight: float  # its IDF
    match: float  # cosine of its best contextual token match in the paper


def word_matches(
    question: str, hit: Hit, index: BM25Index, settings: Settings, store: Store | None = None
) -> list[WordMatch]:
    """Each content word of the question with its best match among the paper's contextual token vectors and
    its IDF in the store.

    The vectors are all-MiniLM-L6-v2's, every token at full width (embeddings.support_encoder), whatever
    model embeds the store: the thresholds below were calibrated on them, and the compact word index of the
    rerank (words.py) matched near misses' missing words too well to tell them apart (researcher dev sets:
    near misses caught 0.10 against 0.50-0.90 with these; docs/decisions.md, 2026-12-06). One run of the
    small model over the top paper and one over the question, about 40 ms on 2 cores.
    """
    import math

    import numpy as np

    from assistant.embeddings import support_encoder

    if not (hit.abstract or hit.chunks):
        return []
    encoder = support_encoder(settings)
    paper = np.concatenate(
        [
            vectors[1:-1]
            for _, vectors in encoder.token_vectors(_windows(hit.title, hit.abstract or " ".join(hit.chunks)))
        ]
    )
    encoding, vectors = encoder.token_vectors([question])[0]
    best = (vectors @ paper.T).max(axis=1)
    out = []
    for word, positions in words.content_words(question, encoding).items():
        df = index.document_frequency(word)
        weight = math.log((len(index) + 1) / (df + 0.5))
        out.append(WordMatch(word=word, df=df, weight=weight, match=float(best[positions].mean())))
    return out


def _windows(title: str, abstract: str, limit: int = WINDOW_WORDS) -> list[str]:
    """The abstract in runs of whole sentences of at most about `limit` words, each led by the title, so every
    token is encoded with its context and within the small model's 256-token window."""
    out, current = [], title
    for sentence in split_sentences(abstract) or [abstract]:
        if len(f"{current} {sentence}".split()) > limit and current != title:
            out.append(current)
            current = f"{title}. {sentence}"
        else:
            current = f"{current} {sentence}"
    return [*out, current]


def unmatched(words: list[WordMatch]) -> float:
    """How much of the question the paper leaves unmatched: the shortfall of each content word's best token
    match below MATCH_FLOOR, weighted by the word's IDF in the store, over the total IDF (reported in --json
    as `unmatched`; the decision uses near_miss_words, which separates near misses from paraphrases)."""
    total = sum(w.weight for w in words)
    shortfall = sum(w.weight * max(0.0, MATCH_FLOOR - w.match) for w in words)
    return shortfall / total if total else 0.0


def near_miss_words(words: list[WordMatch]) -> list[WordMatch]:
    """The words that make the question a near miss of the paper (none when it is not one): most of the
    question is matched (at least MATCHED_SHARE of its words match a paper token at MATCH_FLOOR or better),
    yet one rare word (in at most RARE_DF papers) matches nothing in the paper (below GAP_ONE), or two
    words that are not common (in at most COMMON_DF papers) match poorly (below GAP_TWO).

    A near miss ("locality-sensitive hashing for protein structures" against an LSH paper on entity records)
    is written in the paper's own vocabulary except for its missing topic ("protein structure"). A paraphrase
    of an answerable question instead matches many words only loosely ("beat" for "outperform"), so it is
    not flagged. The IDF-weighted shortfall (`unmatched`) alone could not tell them apart on
    researcher-phrased questions: paraphrases scored higher than near misses (evals/README.md, "Abstention").
    """
    if not words or sum(w.match >= MATCH_FLOOR for w in words) < MATCHED_SHARE * len(words):
        return []
    one = [w for w in words if w.df <= RARE_DF and w.match < GAP_ONE]
    two = [w for w in words if w.df <= COMMON_DF and w.match < GAP_TWO]
    return one or (two if len(two) >= 2 else [])


class Verdict(BaseModel):
    abstain: bool  # nothing relevant was retrieved
    confidence: Confidence | None  # for an answer: "low" when the top paper may not answer the question
    reason: str = ""


def judge(hits: list[Hit], words: list[WordMatch], settings: Settings) -> Verdict:
    """Whether to answer, and how confidently.

    Refusing an answerable question costs the user more than a near miss answered with an honest label, so
    only "nothing relevant retrieved" (the best cosine below abstain_threshold) abstains. A middling best
    cosine (below confident_threshold), or a near miss (near_miss_words), gives a low-confidence answer,
    labelled as the closest match. Thresholds and the trade-off curve: evals/README.md, "Abstention".
    """
    if not hits:
        return Verdict(abstain=True, confidence=None, reason="nothing retrieved")
    cfg = settings.retrieval
    relevance = max(h.relevance for h in hits)
    if relevance < cfg.abstain_threshold:
        return Verdict(abstain=True, confidence=None, reason=f"best cosine {relevance:.2f}")
    if relevance < cfg.confident_threshold:
        return Verdict(abstain=False, confidence="low", reason=f"best cosine {relevance:.2f}")
    gaps = near_miss_words(words)
    if gaps:
        missing = ", ".join(f"'{w.word}'" for w in gaps)
        return Verdict(abstain=False, confidence="low", reason=f"the top paper does not mention {missing}")
    return Verdict(abstain=False, confidence="high")
