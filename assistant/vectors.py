"""Every stored paper's chunk vectors and whole-paper vector, copied out of the Chroma collections into two
memory-mapped arrays (derived, like the BM25 and token indexes: rebuilt from Chroma, never the other way round).

Retrieval scores every candidate paper (~70 per question) on each of its chunks and on its whole-paper vector,
not only the ones Chroma's nearest-chunk search returned. Through Chroma that took a query restricted to the
candidates (`where paper_id $in [...]`, ~500 chunks), a search of the whole-paper collection and a read of the
whole-paper vectors it missed: 10.7 + 1.8 + 2.3 ms at the median, 18.2 + 5.4 + 6.0 ms at p95, over 127
questions on the bundled corpus (evals/bench/README.md, the profile before the copy). Reading and multiplying the same rows here
takes well under a millisecond. Chroma keeps the search over all chunks, with its filters.

The copy grows by appending the papers it lacks (derived.py), so rows are in the order papers were copied;
`keep` masks in the BM25 index's order are mapped onto them (bm25_rows).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from assistant import derived, schema

if TYPE_CHECKING:
    import numpy as np

    from assistant.bm25 import BM25Index


class VectorIndex:
    """Paper i owns chunk rows offsets[i]:offsets[i+1] (its chunks in order) and whole row i. A chunk or
    whole-paper vector that Chroma does not hold (an interrupted ingest, a store built before whole-paper
    vectors) is a row of NaN and gets no cosine."""

    def __init__(self, paper_ids: list[str], sizes: np.ndarray, chunks: np.ndarray, whole: np.ndarray):
        self.paper_ids, self.chunks, self.whole = paper_ids, chunks, whole
        self.sizes, self.offsets = sizes, derived.offsets(sizes)
        self.row_of = {pid: i for i, pid in enumerate(paper_ids)}
        self._bm25_rows: tuple[BM25Index, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.paper_ids)

    def bm25_rows(self, index: BM25Index) -> np.ndarray:
        """For each row here, the paper's row in the BM25 index (-1 for a paper it lacks)."""
        import numpy as np

        if self._bm25_rows is None or self._bm25_rows[0] is not index:
            rows = np.array([index.row_of.get(pid, -1) for pid in self.paper_ids], dtype="int64")
            self._bm25_rows = (index, rows)
        return self._bm25_rows[1]

    def chunk_cosines(self, vector: np.ndarray, paper_ids: list[str]) -> dict[str, float]:
        """Chunk id -> cosine with the (unit) question vector, for every stored chunk of these papers."""
        import numpy as np

        rows, sizes = derived.rows(self.offsets, self.row_of, paper_ids)
        cosines = np.asarray(self.chunks[rows]) @ vector
        ids = [schema.chunk_id(pid, i) for pid, n in zip(paper_ids, sizes.tolist(), strict=True) for i in range(n)]
        return {cid: c for cid, c, ok in zip(ids, cosines.tolist(), ~np.isnan(cosines), strict=True) if ok}

    def whole_cosines(self, vector: np.ndarray, paper_ids: list[str]) -> dict[str, float]:
        """Paper id -> cosine of its whole-paper vector, for those of these papers that have one."""
        import numpy as np

        rows = [r for pid in paper_ids if (r := self.row_of.get(pid)) is not None]
        cosines = np.asarray(self.whole[rows]) @ vector
        return {self.paper_ids[r]: float(c) for r, c in zip(rows, cosines, strict=True) if not np.isnan(c)}

    def nearest_whole(
        self, vector: np.ndarray, k: int, keep: np.ndarray | None = None, index: BM25Index | None = None
    ) -> dict[str, float]:
        """Paper id -> cosine of the k papers whose whole-paper vectors are nearest, best first (only papers
        with keep > 0: the BM25 filter mask, in the rows of `index`, or in this copy's rows without one)."""
        import numpy as np

        cosines = np.nan_to_num(np.asarray(self.whole) @ vector, nan=-np.inf)
        if keep is not None and index is not None:
            rows = self.bm25_rows(index)
            cosines[(rows < 0) | (keep[rows] <= 0)] = -np.inf
        elif keep is not None:
            cosines[keep <= 0] = -np.inf
        top = np.argsort(-cosines, kind="stable")[:k]
        return {self.paper_ids[r]: float(cosines[r]) for r in top if np.isfinite(cosines[r])}


def extends(folder: Path, state: dict, index: BM25Index) -> bool:
    """Whether a saved copy can grow into one for `index`: every paper it holds is still stored with the same
    number of chunks, and none had missing vectors when it was copied (those are read again by a full copy)."""
    if state.get("incomplete"):
        return False
    sizes = derived.array(folder, "sizes", state, mapped=False).tolist()
    return all(
        (r := index.row_of.get(pid)) is not None and index.n_chunks[r] == n
        for pid, n in zip(state["paper_ids"], sizes, strict=True)
    )


def read(
    papers: list[tuple[str, int]],
    read_chunks: Callable[[list[str]], dict[str, np.ndarray]],
    read_whole: Callable[[list[str]], dict[str, np.ndarray]] | None,
    dimension: int,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """The arrays of these papers' rows (paper id, chunk count), read from Chroma (read_chunks: chunk ids ->
    vectors; read_whole: paper ids -> vectors, None when the store has no whole-paper vectors), and the papers
    with a vector missing."""
    import numpy as np

    chunk_vectors = read_chunks([cid for pid, n in papers for cid in schema.chunk_ids(pid, n)])
    whole_vectors = read_whole([pid for pid, _ in papers]) if read_whole else {}
    dimension = dimension or next((len(v) for v in chunk_vectors.values()), 0)  # a store without embed_dim
    sizes = np.array([n for _, n in papers], dtype="int32")
    offsets = derived.offsets(sizes)
    chunks = np.full((int(offsets[-1]), dimension), np.nan, dtype="float32")
    whole = np.full((len(papers), dimension), np.nan, dtype="float32")
    incomplete = []
    for row, (pid, n) in enumerate(papers):
        for i, cid in enumerate(schema.chunk_ids(pid, n)):
            if cid in chunk_vectors:
                chunks[offsets[row] + i] = chunk_vectors[cid]
        if pid in whole_vectors:
            whole[row] = whole_vectors[pid]
        if np.isnan(chunks[offsets[row] : offsets[row + 1]]).any() or (read_whole and pid not in whole_vectors):
            incomplete.append(pid)
    return {"sizes": sizes, "chunks": chunks, "whole": whole}, incomplete


def update(
    folder: Path,
    index: BM25Index,
    read_chunks: Callable[[list[str]], dict[str, np.ndarray]],
    read_whole: Callable[[list[str]], dict[str, np.ndarray]] | None,
    dimension: int,
    built_from: dict,
) -> None:
    """Bring the saved copy up to date with `index`: append the papers it lacks when it can grow (extends),
    else copy every paper afresh. built_from: what the copy must match to be used (the chunk count, the
    collections, the model)."""
    with derived.lock(folder):
        _update(folder, index, read_chunks, read_whole, dimension, built_from)


def _update(folder, index, read_chunks, read_whole, dimension, built_from) -> None:
    state = derived.state(folder)
    same = state and all(state.get(k) == built_from[k] for k in ("collections", "model"))
    papers = list(zip(index.paper_ids, index.n_chunks, strict=True))
    grow = bool(same) and extends(folder, state, index)
    if grow:
        have = set(state["paper_ids"])
        papers = [(pid, n) for pid, n in papers if pid not in have]
    arrays, incomplete = read(papers, read_chunks, read_whole, dimension)
    (derived.append if grow else derived.save)(
        folder, arrays, [p for p, _ in papers], {**built_from, "incomplete": incomplete}
    )


def saved_state(folder: Path) -> dict:
    return derived.state(folder)


def load(folder: Path) -> VectorIndex:
    """The saved index, memory-mapped: a query reads only the chunk rows of its candidates."""
    saved = derived.state(folder)
    return VectorIndex(
        saved["paper_ids"],
        derived.array(folder, "sizes", saved, mapped=False),
        derived.array(folder, "chunks", saved),
        derived.array(folder, "whole", saved),
    )
