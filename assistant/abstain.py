"""Abstention: whether the retrieved papers answer the question at all.

Two signals: the relevance of the best paper (its best chunk's cosine) and the near-miss score of the top
paper (`unmatched`): how much of the question that paper leaves unmatched.
The thresholds are settings (config.RetrievalSettings) chosen in evals/README.md.
"""

from __future__ import annotations

import functools
import math

from pydantic import BaseModel

from assistant.bm25 import BM25Index, stop_words
from assistant.config import Settings
from assistant.models import Confidence, Hit
from assistant.text import split_sentences

# Words that phrase a question about papers rather than name its topic; with the larger English stop
# word list they are left out of the match check.
_QUESTION_WORDS = "paper papers study work article propose introduce describe tell explain use method approach show"
MATCH_FLOOR = 0.6  # a question word whose best token match in the paper reaches this cosine is matched
# near misses (near_miss_words), chosen on the researcher-phrased and lexical dev sets (evals/README.md)
MATCHED_SHARE = 0.4
RARE_DF, GAP_ONE = 10, 0.25  # one rare word (in <= 10 papers) with no token of the paper above 0.25
COMMON_DF, GAP_TWO = 60, 0.40  # or two words in <= 60 papers, each below 0.40
WINDOW_WORDS = 150  # words per encoded window: title + sentences stay within the model's 256-token limit


@functools.cache
def _question_stop_words() -> frozenset[str]:
    return stop_words() | frozenset(_QUESTION_WORDS.split())


def _windows(title: str, abstract: str, words: int = WINDOW_WORDS) -> list[str]:
    """The abstract in runs of whole sentences of at most about `words` words, each led by the title, so every
    token is encoded with its context and within the model's 256-token limit."""
    windows, current = [], title
    for sentence in split_sentences(abstract) or [abstract]:
        if len(f"{current} {sentence}".split()) > words and current != title:
            windows.append(current)
            current = f"{title}. {sentence}"
        else:
            current = f"{current} {sentence}"
    return [*windows, current]


class WordMatch(BaseModel):
    word: str
    df: int  # papers in the store containing it
    weight: float  # its IDF
    match: float  # cosine of its best contextual token match in the paper


def word_matches(question: str, hit: Hit, index: BM25Index, settings: Settings) -> list[WordMatch]:
    """Each content word of the question with its best match among the paper's contextual token vectors
    (the embedding model's output before pooling, as BERTScore uses them) and its IDF in the store."""
    import numpy as np

    from assistant.embeddings import token_encoder

    if not (hit.abstract or hit.chunks):
        return []
    windows = _windows(hit.title, hit.abstract or " ".join(hit.chunks))
    (encoding, q_vectors), *paper = token_encoder(settings).token_vectors([question, *windows])
    # each question token's best cosine to any paper token ([CLS] and [SEP] left out of the paper side)
    best_match = (q_vectors @ np.concatenate([vectors[1:-1] for _, vectors in paper]).T).max(axis=1)
    pieces: dict[int, list[int]] = {}
    for position, word in enumerate(encoding.word_ids):
        if word is not None:
            pieces.setdefault(word, []).append(position)
    stop = _question_stop_words()
    out = []
    for positions in pieces.values():
        word = question[encoding.offsets[positions[0]][0] : encoding.offsets[positions[-1]][1]].lower()
        if len(word) < 2 or not word.isalnum() or word in stop:
            continue
        df = index.document_frequency(word)
        out.append(
            WordMatch(
                word=word,
                df=df,
                weight=math.log((len(index) + 1) / (df + 0.5)),
                match=float(best_match[positions].mean()),
            )
        )
    return out


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
