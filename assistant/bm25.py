"""BM25 over whole papers (title + abstract, one row per paper): the only code that knows bm25s.

The index is derived data: it is built from the papers in Chroma, saved beside the store and rebuilt when
the collection's chunk count differs from the count it was built at (see Store.bm25), so it can always be
thrown away. Tokens are lower-cased, English stop words removed and Snowball-stemmed, the same for papers
and queries.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class PaperRow:
    """What the index keeps per paper besides its tokens: enough to filter and to find its chunks."""

    paper_id: str
    n_chunks: int
    date_iso: str
    source: str
    title: str
    abstract: str  # indexed with the title, not kept

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.abstract}"


def _stemmer():  # a new one per call: PyStemmer objects are not safe to share between threads
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, English stop words removed, Snowball-stemmed: the same for documents and queries."""
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)


def stop_words() -> frozenset[str]:
    """bm25s' larger English stop word list (the one `tokenize` uses is its shorter one)."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS)


def stem(word: str) -> str:
    return _stemmer().stemWord(word.lower())


@dataclass
class BM25Index:
    """bm25s over whole papers: row i is paper_ids[i]."""

    retriever: Any
    count: int  # the collection's chunk count when it was built: a different count means stale
    paper_ids: list[str]
    n_chunks: list[int]
    date_iso: list[str]
    sources: list[str]
    row_of: dict[str, int] = field(default_factory=dict)  # paper id -> row

    def __post_init__(self):
        self.row_of = {pid: row for row, pid in enumerate(self.paper_ids)}
        self.vocab = set(self.retriever.vocab_dict)

    def __len__(self) -> int:
        return len(self.paper_ids)

    def scores(self, query: str, mask: np.ndarray | None = None) -> np.ndarray | None:
        """BM25 score of every paper (row order), or None when no query word is indexed."""
        tokens = [t for t in tokenize([query])[0] if t in self.vocab]
        if not tokens:
            return None
        return self.retriever.get_scores(tokens, weight_mask=mask)

    def top(self, query: str, k: int) -> list[str]:
        """The ids of the k papers that score best for the query (none when no query word is indexed)."""
        tokens = [t for t in tokenize([query])[0] if t in self.vocab]
        if not tokens:
            return []
        rows, _ = self.retriever.retrieve([tokens], k=min(k, len(self)), show_progress=False)
        return [self.paper_ids[int(r)] for r in rows[0]]

    def containing(self, word: str) -> frozenset[str]:
        """The ids of the papers that contain the word (after stemming)."""
        token_id = self.retriever.vocab_dict.get(stem(word))
        if token_id is None:
            return frozenset()
        indptr, rows = self.retriever.scores["indptr"], self.retriever.scores["indices"]
        return frozenset(self.paper_ids[int(r)] for r in rows[indptr[token_id] : indptr[token_id + 1]])

    def document_frequency(self, word: str) -> int:
        """How many papers contain the word (after stemming); 0 for a word the index never saw."""
        token_id = self.retriever.vocab_dict.get(stem(word))
        if token_id is None:
            return 0
        indptr = self.retriever.scores["indptr"]  # bm25s keeps one CSC column per token: its length is the df
        return int(indptr[token_id + 1] - indptr[token_id])


def build(rows: Iterable[list[PaperRow]], count: int) -> BM25Index:
    """Index pages of papers. Each page is tokenised to integer ids as it is read, so memory holds ids, not
    every token string at once."""
    import bm25s

    ids: list[str] = []
    n_chunks: list[int] = []
    dates: list[str] = []
    sources: list[str] = []
    vocab: dict[str, int] = {}
    corpus: list[list[int]] = []
    for page in rows:
        for row in page:
            ids.append(row.paper_id)
            n_chunks.append(row.n_chunks)
            dates.append(row.date_iso)
            sources.append(row.source)
        for tokens in tokenize([row.text for row in page]):
            corpus.append([vocab.setdefault(t, len(vocab)) for t in tokens])
    retriever = bm25s.BM25()
    retriever.index((corpus, vocab), show_progress=False)
    return BM25Index(retriever, count, ids, n_chunks, dates, sources)


def save(index: BM25Index, folder: Path) -> None:
    """Write the index atomically: a reader never sees half an index."""
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    index.retriever.save(str(tmp / "index"))
    state = {
        "count": index.count,
        "paper_ids": index.paper_ids,
        "n_chunks": index.n_chunks,
        "date_iso": index.date_iso,
        "sources": index.sources,
    }
    (tmp / "state.json").write_text(json.dumps(state))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


def saved_count(folder: Path) -> int | None:
    """The chunk count a saved index was built at, or None when there is no usable one."""
    try:
        state = json.loads((folder / "state.json").read_text())
    except (OSError, ValueError):
        return None
    return state.get("count") if "paper_ids" in state else None  # an older chunk-level index: rebuild


def load(folder: Path) -> BM25Index:
    import bm25s

    state = json.loads((folder / "state.json").read_text())
    retriever = bm25s.BM25.load(str(folder / "index"))
    return BM25Index(
        retriever, state["count"], state["paper_ids"], state["n_chunks"], state["date_iso"], state["sources"]
    )
