"""Word-by-word matching of a question against papers: contextual token vectors (the embedding model's output
before pooling, as BERTScore and ColBERT use them), stored per paper, and each question word's best match.

Two users: retrieve() reranks the fused top candidates by how well each paper matches the question's words
(IDF-weighted mean of each content word's best token cosine), and abstain.py finds the one question word a
near miss leaves unmatched. On researcher-phrased questions the rerank lifts hit@1 from 0.405 to 0.581 (dev)
and 0.536 to 0.589 (the first held-out set, now seen), and changes nothing on the lexical sets (evals/README.md,
"Ranking"). LlamaIndex's ColBERT reranker would need a ColBERT model from the Hugging Face hub; this uses the
embedding model the package already ships.

The index is derived data, like BM25 (bm25.py): built from the stored papers, saved beside the store and
updated when the collection changes; papers already indexed keep their vectors, so an ingest encodes only the
new ones. Vectors are stored as int8 with one scale per token (a quarter of float32; cosines move by < 0.005)
and memory-mapped, so a query reads only its candidates' rows.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant import derived
from assistant.bm25 import BM25Index, PaperRow, stop_words
from assistant.text import split_sentences

if TYPE_CHECKING:
    import numpy as np

    from assistant.embeddings import OnnxEmbedder

# Words that frame a question about papers rather than name its topic ("which paper argues that ...", "I remember
# someone showing ..."); with the larger English stop word list they are left out of the match.
_QUESTION_WORDS = (
    "paper papers study studies work works article articles method methods approach approaches propose proposes "
    "proposed introduce introduces introduced describe describes described tell explain explains use uses used "
    "using show shows showed shown showing argue argues argued arguing claim claims claimed present presents "
    "presented remember recall someone anyone"
)
WINDOW_WORDS = 150  # words per encoded window: title + sentences stay within the model's 256-token limit
ENCODE_BATCH = 16  # windows per encoder run at build time


@functools.cache
def question_stop_words() -> frozenset[str]:
    return stop_words() | frozenset(_QUESTION_WORDS.split())


def windows(title: str, abstract: str, words: int = WINDOW_WORDS) -> list[str]:
    """The abstract in runs of whole sentences of at most about `words` words, each led by the title, so every
    token is encoded with its context and within the model's 256-token limit."""
    out, current = [], title
    for sentence in split_sentences(abstract) or [abstract]:
        if len(f"{current} {sentence}".split()) > words and current != title:
            out.append(current)
            current = f"{title}. {sentence}"
        else:
            current = f"{current} {sentence}"
    return [*out, current]


def paper_vectors(encoder: OnnxEmbedder, title: str, abstract: str) -> np.ndarray:
    """A paper's contextual token vectors (unit length, [CLS]/[SEP] left out), over all its windows."""
    import numpy as np

    return np.concatenate(encoder.token_matrices(windows(title, abstract)))


@dataclass
class QuestionWord:
    word: str
    df: int  # papers in the store containing it
    weight: float  # its IDF
    positions: list[int]  # its word pieces in the question's encoding


@dataclass
class Question:
    """A question's content words and token vectors, encoded once and matched against any number of papers."""

    words: list[QuestionWord]
    vectors: np.ndarray  # one unit vector per word piece of the question

    def best_matches(self, paper: np.ndarray) -> list[float]:
        """Each content word's best cosine to any of the paper's tokens (mean over its word pieces)."""
        if not self.words or not len(paper):
            return [0.0] * len(self.words)
        best = (self.vectors @ paper.T).max(axis=1)
        return [float(best[w.positions].mean()) for w in self.words]

    def match(self, index: TokenIndex, paper_ids: list[str]) -> list[float]:
        """For each paper, the IDF-weighted mean of the words' best matches: how much of the question it covers
        (0 for a paper without tokens).

        One product of the content words' pieces against all the papers' int8 tokens at once, scaled after
        the product, then one max per paper and piece: per-paper products and dequantising each paper cost
        ~3x more, and pieces of stop words are never read.
        """
        import numpy as np

        scores = np.zeros(len(paper_ids), dtype="float32")
        weights = np.array([w.weight for w in self.words], dtype="float32")
        codes, scales, sizes = index.gather(paper_ids)
        present = np.flatnonzero(sizes)
        if not weights.sum() or not len(present):
            return scores.tolist()
        pieces = sorted({p for w in self.words for p in w.positions})
        similarity = self.vectors[pieces] @ codes.T.astype("float32")  # content pieces x all tokens
        similarity *= scales
        starts = np.concatenate([[0], np.cumsum(sizes[present])[:-1]])
        best = np.maximum.reduceat(similarity, starts, axis=1)  # content pieces x papers
        row = {p: i for i, p in enumerate(pieces)}
        pieces_to_words = np.zeros((len(self.words), len(pieces)), dtype="float32")
        for i, word in enumerate(self.words):
            pieces_to_words[i, [row[p] for p in word.positions]] = 1 / len(word.positions)
        scores[present] = weights @ (pieces_to_words @ best) / weights.sum()
        return scores.tolist()


def encode_question(
    question: str, encoder: OnnxEmbedder, index: BM25Index, encoded: tuple[object, np.ndarray] | None = None
) -> Question:
    """The question's token vectors and its content words (stop and question words left out) with their IDF.
    `encoded`: the question's encoding and token vectors when the caller has them (OnnxEmbedder.encode_query)."""
    encoding, vectors = encoded or encoder.token_vectors([question])[0]
    pieces: dict[int, list[int]] = {}
    for position, word in enumerate(encoding.word_ids):
        if word is not None:
            pieces.setdefault(word, []).append(position)
    stop = question_stop_words()
    words = []
    for positions in pieces.values():
        word = question[encoding.offsets[positions[0]][0] : encoding.offsets[positions[-1]][1]].lower()
        if len(word) < 2 or not word.isalnum() or word in stop:
            continue
        df = index.document_frequency(word)
        words.append(QuestionWord(word, df, math.log((len(index) + 1) / (df + 0.5)), positions))
    return Question(words, vectors)


class TokenIndex:
    """Every paper's token vectors: int8 rows with a float32 scale each, paper i owning rows
    offsets[i]:offsets[i+1]."""

    def __init__(self, paper_ids: list[str], offsets: np.ndarray, codes: np.ndarray, scales: np.ndarray):
        self.paper_ids, self.offsets, self.codes, self.scales = paper_ids, offsets, codes, scales
        self.row_of = {pid: i for i, pid in enumerate(paper_ids)}

    def __len__(self) -> int:
        return len(self.paper_ids)

    def __contains__(self, paper_id: str) -> bool:
        return paper_id in self.row_of

    def gather(self, paper_ids: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The int8 rows and scales of these papers' tokens, concatenated in their order, and each paper's
        number of rows (0 for a paper the index lacks)."""
        import numpy as np

        rows, sizes = derived.rows(self.offsets, self.row_of, paper_ids)
        return np.asarray(self.codes[rows]), np.asarray(self.scales[rows], dtype="float32"), sizes

    def vectors(self, paper_id: str) -> np.ndarray:
        """One paper's token vectors as float32 (none for a paper the index lacks)."""
        codes, scales, _ = self.gather([paper_id])
        return codes.astype("float32") * scales[:, None]


def _quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    scales = (np.abs(vectors).max(axis=1) / 127).clip(min=1e-12).astype("float32")
    return np.round(vectors / scales[:, None]).astype("int8"), scales


def build(
    rows: Iterable[list[PaperRow]],
    encoder: OnnxEmbedder,
    old: TokenIndex | None = None,
    progress: Callable[[int], None] | None = None,
) -> TokenIndex:
    """Index pages of papers; a paper the old index holds keeps its vectors, only new papers are encoded."""
    import numpy as np

    ids: list[str] = []
    codes: list[np.ndarray] = []
    scales: list[np.ndarray] = []
    for page in rows:
        todo = [row for row in page if old is None or row.paper_id not in old]
        encoded = {}
        for start in range(0, len(todo), ENCODE_BATCH):
            batch = todo[start : start + ENCODE_BATCH]
            split = [windows(row.title, row.abstract) for row in batch]
            matrices = encoder.token_matrices([w for ws in split for w in ws])
            for row, ws in zip(batch, split, strict=True):
                encoded[row.paper_id] = _quantise(np.concatenate(matrices[: len(ws)]))
                matrices = matrices[len(ws) :]
        for row in page:
            if row.paper_id in encoded:
                c, s = encoded[row.paper_id]
            else:
                assert old is not None
                c, s, _ = old.gather([row.paper_id])
            ids.append(row.paper_id)
            codes.append(c)
            scales.append(s)
        if progress:
            progress(len(page))
    offsets = np.zeros(len(ids) + 1, dtype="int64")
    offsets[1:] = np.cumsum([len(c) for c in codes])
    width = encoder.dimension
    return TokenIndex(
        ids,
        offsets,
        np.concatenate(codes) if codes else np.zeros((0, width), dtype="int8"),
        np.concatenate(scales) if scales else np.zeros(0, dtype="float32"),
    )


def save(index: TokenIndex, folder: Path, count: int, model: str) -> None:
    arrays = {"codes": index.codes, "scales": index.scales, "offsets": index.offsets}
    derived.save(folder, arrays, {"count": count, "model": model, "paper_ids": index.paper_ids})


def saved_state(folder: Path) -> dict:
    """The saved index's chunk count and encoder ({} when there is no usable index)."""
    return derived.state(folder)


def load(folder: Path) -> TokenIndex:
    """The saved index, memory-mapped: a query reads only the rows of the papers it matches."""
    return TokenIndex(
        derived.state(folder)["paper_ids"],
        derived.array(folder, "offsets", mapped=False),
        derived.array(folder, "codes"),
        derived.array(folder, "scales"),
    )
