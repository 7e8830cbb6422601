"""Every stored paper's chunk vectors and whole-paper vector, copied out of the Chroma collections into two
memory-mapped arrays (derived, like the BM25 and token indexes: rebuilt from Chroma, never the other way round).

Retrieval scores every candidate paper (~70 per question) on each of its chunks and on its whole-paper vector,
not only the ones Chroma's nearest-chunk search returned. Through Chroma that took a query restricted to the
candidates (`where paper_id $in [...]`, ~500 chunks), a search of the whole-paper collection and a read of the
whole-paper vectors it missed: 10.7 + 1.8 + 2.3 ms at the median, 18.2 + 5.4 + 6.0 ms at p95, over 127
questions on the bundled corpus (session 8 profile, evals/bench/README.md). Reading and multiplying the same
rows here takes well under a millisecond. Chroma keeps the search over all chunks, with its filters.

Rows are in the BM25 index's paper order (bm25.py), so its filter mask applies to the whole-paper rows as is.
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

    def __init__(self, paper_ids: list[str], offsets: np.ndarray, chunks: np.ndarray, whole: np.ndarray):
        self.paper_ids, self.offsets, self.chunks, self.whole = paper_ids, offsets, chunks, whole
        self.row_of = {pid: i for i, pid in enumerate(paper_ids)}

    def __len__(self) -> int:
        return len(self.paper_ids)

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

    def nearest_whole(self, vector: np.ndarray, k: int, keep: np.ndarray | None = None) -> dict[str, float]:
        """Paper id -> cosine of the k papers whose whole-paper vectors are nearest, best first (only rows
        where keep > 0: the BM25 filter mask)."""
        import numpy as np

        cosines = np.nan_to_num(np.asarray(self.whole) @ vector, nan=-np.inf)
        if keep is not None:
            cosines[keep <= 0] = -np.inf
        top = np.argsort(-cosines, kind="stable")[:k]
        return {self.paper_ids[r]: float(cosines[r]) for r in top if np.isfinite(cosines[r])}


def build(
    index: BM25Index,
    read_chunks: Callable[[list[str]], dict[str, np.ndarray]],
    read_whole: Callable[[list[str]], dict[str, np.ndarray]] | None,
    dimension: int,
    old: VectorIndex | None = None,
) -> VectorIndex:
    """One row per paper of the BM25 index. A paper the old index holds complete (same chunk count, no
    missing vector) keeps its rows; the others' vectors are read from Chroma (read_chunks: chunk ids ->
    vectors; read_whole: paper ids -> vectors, None when the store has no whole-paper vectors)."""
    import numpy as np

    def kept(pid: str, n: int) -> int | None:
        r = old.row_of.get(pid) if old is not None else None
        if r is None or int(old.offsets[r + 1] - old.offsets[r]) != n:
            return None
        rows = np.asarray(old.chunks[old.offsets[r] : old.offsets[r + 1]])
        complete = not np.isnan(rows).any() and (read_whole is None or not np.isnan(old.whole[r]).any())
        return r if complete else None  # an ingest interrupted when it was built: read again

    pairs = list(zip(index.paper_ids, index.n_chunks, strict=True))
    reuse = {pid: r for pid, n in pairs if (r := kept(pid, n)) is not None}
    new = [(pid, n) for pid, n in pairs if pid not in reuse]
    chunk_vectors = read_chunks([cid for pid, n in new for cid in schema.chunk_ids(pid, n)])
    whole_vectors = read_whole([pid for pid, _ in new]) if read_whole else {}
    dimension = dimension or next((len(v) for v in chunk_vectors.values()), 0)  # a store without embed_dim
    offsets = np.zeros(len(pairs) + 1, dtype="int64")
    offsets[1:] = np.cumsum([n for _, n in pairs])
    chunks = np.full((int(offsets[-1]), dimension), np.nan, dtype="float32")
    whole = np.full((len(pairs), dimension), np.nan, dtype="float32")
    for row, (pid, n) in enumerate(pairs):
        if (r := reuse.get(pid)) is not None:
            chunks[offsets[row] : offsets[row + 1]] = old.chunks[old.offsets[r] : old.offsets[r + 1]]
            whole[row] = old.whole[r]
            continue
        for i, cid in enumerate(schema.chunk_ids(pid, n)):
            if cid in chunk_vectors:
                chunks[offsets[row] + i] = chunk_vectors[cid]
        if pid in whole_vectors:
            whole[row] = whole_vectors[pid]
    return VectorIndex(list(index.paper_ids), offsets, chunks, whole)


def save(index: VectorIndex, folder: Path, built_from: dict) -> None:
    """built_from: what the copy must match to be used (the chunk count, the collections, the model)."""
    arrays = {"chunks": index.chunks, "whole": index.whole, "offsets": index.offsets}
    derived.save(folder, arrays, {**built_from, "paper_ids": index.paper_ids})


def saved_state(folder: Path) -> dict:
    return derived.state(folder)


def load(folder: Path) -> VectorIndex:
    """The saved index, memory-mapped: a query reads only the chunk rows of its candidates."""
    return VectorIndex(
        derived.state(folder)["paper_ids"],
        derived.array(folder, "offsets", mapped=False),
        derived.array(folder, "chunks"),
        derived.array(folder, "whole"),
    )
