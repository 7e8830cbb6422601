"""Word-by-word matching of a question against papers: one vector per distinct content word of each paper
(the mean of the embedding model's contextual outputs for its word pieces, as BERTScore and ColBERT use token
outputs), kept compact, and each question word's best match.

Two users: retrieve() reranks the fused top candidates by how well each paper matches the question's words
(IDF-weighted mean of each content word's best cosine), and abstain.py finds the question word a near miss
leaves unmatched (evals/README.md, Ranking). LlamaIndex's ColBERT reranker would need a ColBERT model from the
Hugging Face hub; this uses the embedding model the package already ships.

Compact: only content words (stop words and question-framing words left out), one vector per distinct word of
a paper, projected onto the model's top WORD_DIMS principal directions (word_basis/, fitted once on the
bundled corpus by evals/experiments/word_basis.py) and stored as int8 with one scale per word: 7.6 KB per
paper instead of 133 KB for every token at full width (docs/decisions.md, 2026-12-06).

The word vectors come from the same run of the model that gives a paper's chunk and whole-paper vectors
(ingest.py), and the index is derived data like BM25 (bm25.py): it grows by appending new papers' rows
(derived.py), and papers it lacks (another client ingested, an interrupted ingest) are encoded when read.
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

if TYPE_CHECKING:
    import numpy as np

    from assistant.embeddings import LocalEncoder

# Words that frame a question about papers rather than name its topic ("which paper argues that ...", "I remember
# someone showing ..."); with the larger English stop word list they are left out of the match.
_QUESTION_WORDS = (
    "paper papers study studies work works article articles method methods approach approaches propose proposes "
    "proposed introduce introduces introduced describe describes described tell explain explains use uses used "
    "using show shows showed shown showing argue argues argued arguing claim claims claimed present presents "
    "presented remember recall someone anyone"
)
WORD_DIMS = 64  # principal directions kept per word vector: 7.6 KB per paper (docs/decisions.md, 2026-12-06)
# a question word found in at most this many papers matches them fully (Question.match): on the dev sets,
# researcher-phrased hit@1 0.603/0.692/0.500/0.625 -> 0.632/0.692/0.519/0.643 and lexical held-out 3 and 4
# 0.917 -> 1.0; at 2, 3, 5 and 15 the researcher sets gain less or lose (docs/decisions.md, 2026-12-06)
EXACT_DF = 1
BASIS_DIR = Path(__file__).resolve().parent / "word_basis"


@functools.cache
def question_stop_words() -> frozenset[str]:
    return stop_words() | frozenset(_QUESTION_WORDS.split())


@functools.cache
def basis(model: str) -> tuple[np.ndarray, np.ndarray]:
    """The model's mean word vector and its top WORD_DIMS principal directions (dimension x WORD_DIMS)."""
    import numpy as np

    with np.load(BASIS_DIR / f"{model}.npz") as fitted:
        return fitted["mean"], np.ascontiguousarray(fitted["basis"][:, :WORD_DIMS].astype("float32"))


@functools.cache
def basis_id(model: str) -> str:
    """A short hash of the model's basis file: a word index records it, and one made with another basis is
    rebuilt, never mixed."""
    import hashlib

    return hashlib.sha256((BASIS_DIR / f"{model}.npz").read_bytes()).hexdigest()[:12]


def content_words(text: str, encoding) -> dict[str, list[int]]:
    """Each distinct content word of an encoded text (lower-cased) and the positions of all its word pieces."""
    stop = question_stop_words()
    pieces: dict[int, list[int]] = {}
    for position, word in enumerate(encoding.word_ids):
        if word is not None:
            pieces.setdefault(word, []).append(position)
    words: dict[str, list[int]] = {}
    for positions in pieces.values():
        word = text[encoding.offsets[positions[0]][0] : encoding.offsets[positions[-1]][1]].lower()
        if len(word) >= 2 and word.isalnum() and word not in stop:
            words.setdefault(word, []).extend(positions)
    return words


def word_vectors(words: dict[str, list[int]], hidden: np.ndarray, model: str) -> np.ndarray:
    """One unit vector per word: the mean of its pieces' outputs, centred and projected (basis), normalised."""
    import numpy as np

    if not words:
        return np.zeros((0, WORD_DIMS), dtype="float32")
    unit = hidden / np.linalg.norm(hidden, axis=1, keepdims=True).clip(min=1e-12)
    means = np.stack([unit[positions].mean(axis=0) for positions in words.values()])
    means /= np.linalg.norm(means, axis=1, keepdims=True).clip(min=1e-12)
    mean, directions = basis(model)
    projected = (means - mean) @ directions
    return projected / np.linalg.norm(projected, axis=1, keepdims=True).clip(min=1e-12)


def quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes with one float32 scale per row (cosines move by < 0.005)."""
    import numpy as np

    scales = (np.abs(vectors).max(axis=1) / 127).clip(min=1e-12).astype("float32")
    return np.round(vectors / scales[:, None]).astype("int8"), scales


def paper_words(text: str, encoding, hidden: np.ndarray, model: str) -> tuple[np.ndarray, np.ndarray]:
    """A paper's compact word rows (int8 codes, scales) from its encoding and the model's outputs for it."""
    return quantise(word_vectors(content_words(text, encoding), hidden, model))


@dataclass
class QuestionWord:
    word: str
    df: int  # papers in the store containing it
    weight: float  # its IDF
    papers: frozenset[str] = frozenset()  # the ids of those papers: the word itself is in them


@dataclass
class Question:
    """A question's content words and their vectors, encoded once and matched against any number of papers."""

    words: list[QuestionWord]
    vectors: np.ndarray  # one unit vector per word, projected as the papers' are

    def best_matches(self, paper: np.ndarray, paper_id: str = "") -> list[float]:
        """Each content word's best cosine to any of the paper's words; 1 where the paper has the word itself."""
        if not self.words:
            return []
        best = (self.vectors @ paper.T).max(axis=1) if len(paper) else [0.0] * len(self.words)
        return [
            1.0 if w.df <= EXACT_DF and paper_id in w.papers else float(c)
            for w, c in zip(self.words, best, strict=True)
        ]

    def match(self, index: WordIndex, paper_ids: list[str]) -> list[float]:
        """For each paper, the IDF-weighted mean of the words' best matches: how much of the question it covers
        (0 for a paper without words). One product against all the papers' int8 rows at once, scaled after
        the product, then one max per paper and word. A word the paper itself contains (BM25's index says
        which, after stemming) matches fully: the compact vectors blur rare words, so "rationales" matched
        its own paper at 0.68 (docs/decisions.md, 2026-12-06)."""
        import numpy as np

        scores = np.zeros(len(paper_ids), dtype="float32")
        weights = np.array([w.weight for w in self.words], dtype="float32")
        codes, scales, sizes = index.gather(paper_ids)
        present = np.flatnonzero(sizes)
        if not weights.sum() or not len(present):
            return scores.tolist()
        similarity = self.vectors @ codes.T.astype("float32")
        similarity *= scales
        starts = np.concatenate([[0], np.cumsum(sizes[present])[:-1]])
        best = np.maximum.reduceat(similarity, starts, axis=1)  # words x papers
        for i, word in enumerate(self.words):
            if word.df <= EXACT_DF:
                best[i, [j for j, p in enumerate(present) if paper_ids[p] in word.papers]] = 1.0
        scores[present] = weights @ best / weights.sum()
        return scores.tolist()


def encode_question(
    question: str, encoder: LocalEncoder, index: BM25Index, encoded: tuple[object, np.ndarray] | None = None
) -> Question:
    """The question's content words with their IDF and vectors. `encoded`: the question's encoding and token
    outputs when the caller has them (LocalEncoder.encode_query)."""
    encoding, hidden = encoded or encoder.encode_query(question)[1]
    words = content_words(question, encoding)
    asked = []
    for word in words:
        papers = index.containing(word)
        asked.append(QuestionWord(word, len(papers), math.log((len(index) + 1) / (len(papers) + 0.5)), papers))
    return Question(asked, word_vectors(words, hidden, encoder.model.name))


class WordIndex:
    """Every paper's word rows: int8 codes with a float32 scale each, paper i owning rows
    offsets[i]:offsets[i+1]."""

    def __init__(self, paper_ids: list[str], sizes: np.ndarray, codes: np.ndarray, scales: np.ndarray):
        self.paper_ids, self.codes, self.scales = paper_ids, codes, scales
        self.offsets = derived.offsets(sizes)
        self.row_of = {pid: i for i, pid in enumerate(paper_ids)}

    def __len__(self) -> int:
        return len(self.paper_ids)

    def __contains__(self, paper_id: str) -> bool:
        return paper_id in self.row_of

    def gather(self, paper_ids: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The int8 rows and scales of these papers' words, concatenated in their order, and each paper's
        number of rows (0 for a paper the index lacks)."""
        import numpy as np

        rows, sizes = derived.rows(self.offsets, self.row_of, paper_ids)
        return np.asarray(self.codes[rows]), np.asarray(self.scales[rows], dtype="float32"), sizes

    def vectors(self, paper_id: str) -> np.ndarray:
        """One paper's word vectors as float32 (none for a paper the index lacks)."""
        codes, scales, _ = self.gather([paper_id])
        return codes.astype("float32") * scales[:, None]


def arrays(rows: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """Papers' (codes, scales) as the index's arrays, to save or append."""
    import numpy as np

    return {
        "sizes": np.array([len(c) for c, _ in rows], dtype="int32"),
        "codes": np.concatenate([c for c, _ in rows]) if rows else np.zeros((0, WORD_DIMS), dtype="int8"),
        "scales": np.concatenate([s for _, s in rows]) if rows else np.zeros(0, dtype="float32"),
    }


def encode(rows: Iterable[PaperRow], encoder: LocalEncoder) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Papers' word rows, each paper from one run of the model over its title and abstract (for papers that
    ingest did not encode: a store built by another client or an older version)."""
    out = {}
    for row in rows:
        text = row.text
        encoding = encoder.encode([text])[0]
        out[row.paper_id] = paper_words(text, encoding, encoder.hidden([encoding])[0], encoder.model.name)
    return out


def add(folder: Path, papers: dict[str, tuple[np.ndarray, np.ndarray]], state: dict) -> None:
    """Append papers' word rows to the saved index (a new index when there is none); papers another process
    appended meanwhile are left out."""
    with derived.lock(folder):
        have = set(derived.state(folder).get("paper_ids", []))
        papers = {pid: rows for pid, rows in papers.items() if pid not in have}
        if papers:
            derived.append(folder, arrays(list(papers.values())), list(papers), state)


def update(
    folder: Path,
    pages: Iterable[list[PaperRow]],
    encoder: LocalEncoder,
    state: dict,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Append the papers the saved index lacks, encoded now; `progress(n)` after each page of n papers."""
    have = set(saved_state(folder).get("paper_ids", []))
    for page in pages:
        todo = [row for row in page if row.paper_id not in have]
        if todo:
            add(folder, encode(todo, encoder), state)
        if progress:
            progress(len(page))


def saved_state(folder: Path) -> dict:
    """The saved index's state (chunk count, model, paper ids; {} when there is no usable index)."""
    return derived.state(folder)


def load(folder: Path) -> WordIndex:
    """The saved index, memory-mapped: a query reads only the rows of the papers it matches."""
    saved = derived.state(folder)
    return WordIndex(
        saved["paper_ids"],
        derived.array(folder, "sizes", saved, mapped=False),
        derived.array(folder, "codes", saved),
        derived.array(folder, "scales", saved),
    )
