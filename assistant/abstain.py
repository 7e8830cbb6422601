"""Abstention: whether the retrieved papers answer the question at all.

Two signals, both about the top paper: its relevance (the best chunk's cosine, with the two retrievers'
agreement) and the near-miss score (`unmatched`): how much of the question that paper leaves unmatched.
The thresholds are settings (config.RetrievalSettings) chosen in evals/README.md.
"""

from __future__ import annotations

import functools
import math

from assistant.bm25 import BM25Index, stop_words
from assistant.config import Settings
from assistant.models import Hit
from assistant.text import split_sentences

# Words that phrase a question about papers rather than name its topic; with the larger English stop
# word list they are left out of the match check.
_QUESTION_WORDS = "paper papers study work article propose introduce describe tell explain use method approach show"
MATCH_FLOOR = 0.6  # a question word whose best token match in the paper is below this cosine counts as missing
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


def unmatched(question: str, hit: Hit, index: BM25Index, settings: Settings) -> float:
    """How much of the question the paper leaves unmatched: each content word of the question is matched to
    its most similar token of the paper (contextual token vectors of the embedding model, as BERTScore does),
    and the shortfall below MATCH_FLOOR is summed, weighted by the word's IDF in the store, over the total IDF.

    A near miss ("locality-sensitive hashing for protein structures" against an LSH paper on entity records)
    shares most words with one abstract, so its embedding and its word overlap look fine; the missing topic
    word ("protein") matches nothing in that paper and carries a high IDF. Paraphrased words ("single pass"
    for "one epoch") find a close token. Written here because no library offers a per-word match against
    a document with corpus weights; measured against word overlap in evals/README.md.
    """
    import numpy as np

    from assistant.embeddings import token_encoder

    if not (hit.abstract or hit.chunks):
        return 0.0
    windows = _windows(hit.title, hit.abstract or " ".join(hit.chunks))
    (encoding, q_vectors), *paper = token_encoder(settings).token_vectors([question, *windows])
    # each question token's best cosine to any paper token ([CLS] and [SEP] left out of the paper side)
    best_match = (q_vectors @ np.concatenate([vectors[1:-1] for _, vectors in paper]).T).max(axis=1)
    pieces: dict[int, list[int]] = {}
    for position, word in enumerate(encoding.word_ids):
        if word is not None:
            pieces.setdefault(word, []).append(position)
    stop = _question_stop_words()
    shortfall = total = 0.0
    for positions in pieces.values():
        word = question[encoding.offsets[positions[0]][0] : encoding.offsets[positions[-1]][1]].lower()
        if len(word) < 2 or not word.isalnum() or word in stop:
            continue
        weight = math.log((len(index) + 1) / (index.document_frequency(word) + 0.5))
        match = float(best_match[positions].mean())
        shortfall += weight * max(0.0, MATCH_FLOOR - match)
        total += weight
    return shortfall / total if total else 0.0


def should_abstain(hits: list[Hit], unmatched_score: float | None, settings: Settings) -> bool:
    """Nothing relevant retrieved: the best cosine is low, or middling while the two retrievers disagree, or the
    top paper leaves rare words of the question unmatched (a near miss: see unmatched)."""
    if not hits:
        return True
    top = hits[0]
    relevance = max(h.relevance for h in hits)
    cfg = settings.retrieval
    agree = top.dense_rank == 1 and top.bm25_rank == 1
    return (
        relevance < cfg.abstain_threshold
        or (relevance < cfg.agreement_threshold and not agree)
        or (unmatched_score or 0.0) >= cfg.unmatched_threshold
    )
