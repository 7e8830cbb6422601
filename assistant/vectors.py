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

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from assistant import schema

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

        rows = [r for pid in paper_ids if (r := self.row_of.get(pid)) is not None]
        spans = [(int(self.offsets[r]), int(self.offsets[r + 1])) for r in rows]
        index = np.concatenate([np.arange(a, b) for a, b in spans] + [np.zeros(0, dtype="int64")])
        cosines = np.asarray(self.chunks[index]) @ vector
        out, at = {}, 0
        for r, (a, b) in zip(rows, spans, strict=True):
            for i in range(b - a):
                if not np.isnan(cosines[at + i]):
                    out[schema.chunk_id(self.paper_ids[r], i)] = float(cosines[at + i])
            at += b - a
        return out

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
    read_whole: Callable[[list[str]], dict[str, np.ndarray]],
    dimension: int,
    old: VectorIndex | None = None,
) -> VectorIndex:
    """One row per paper of the BM25 index; papers the old index holds with the same chunk count keep their
    rows, the others' vectors are read from Chroma (read_chunks: chunk ids -> vectors; read_whole: paper ids ->
    vectors)."""
    import numpy as np

    def kept(pid: str, n: int) -> bool:
        r = old.row_of.get(pid) if old is not None else None
        return r is not None and int(old.offsets[r + 1] - old.offsets[r]) == n

    pairs = list(zip(index.paper_ids, index.n_chunks, strict=True))
    new = [(pid, n) for pid, n in pairs if not kept(pid, n)]
    chunk_vectors = read_chunks([cid for pid, n in new for cid in schema.chunk_ids(pid, n)])
    whole_vectors = read_whole([pid for pid, _ in new])
    offsets = np.zeros(len(pairs) + 1, dtype="int64")
    offsets[1:] = np.cumsum([n for _, n in pairs])
    chunks = np.full((int(offsets[-1]), dimension), np.nan, dtype="float32")
    whole = np.full((len(pairs), dimension), np.nan, dtype="float32")
    for row, (pid, n) in enumerate(pairs):
        if kept(pid, n):
            r = old.row_of[pid]
            chunks[offsets[row] : offsets[row + 1]] = old.chunks[old.offsets[r] : old.offsets[r + 1]]
            whole[row] = old.whole[r]
            continue
        for i, cid in enumerate(schema.chunk_ids(pid, n)):
            if cid in chunk_vectors:
                chunks[offsets[row] + i] = chunk_vectors[cid]
        if pid in whole_vectors:
            whole[row] = whole_vectors[pid]
    return VectorIndex(list(index.paper_ids), offsets, chunks, whole)


def save(index: VectorIndex, folder: Path, count: int) -> None:
    """Write the index atomically: a reader never sees half an index."""
    import numpy as np

    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.save(tmp / "chunks.npy", index.chunks)
    np.save(tmp / "whole.npy", index.whole)
    np.save(tmp / "offsets.npy", index.offsets)
    (tmp / "state.json").write_text(json.dumps({"count": count, "paper_ids": index.paper_ids}))
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


def saved_count(folder: Path) -> int | None:
    """The chunk count the saved index was built at (None when there is no usable index)."""
    try:
        state = json.loads((folder / "state.json").read_text())
    except (OSError, ValueError):
        return None
    return state.get("count") if isinstance(state, dict) and "paper_ids" in state else None


def load(folder: Path) -> VectorIndex:
    """The saved index, memory-mapped: a query reads only the chunk rows of its candidates."""
    import numpy as np

    state = json.loads((folder / "state.json").read_text())
    return VectorIndex(
        state["paper_ids"],
        np.load(folder / "offsets.npy"),
        np.load(folder / "chunks.npy", mmap_mode="r"),
        np.load(folder / "whole.npy", mmap_mode="r"),
    )
