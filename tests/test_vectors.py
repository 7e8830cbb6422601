"""The chunk and whole-paper vectors copied out of Chroma (vectors.py): kept up to date, equal to Chroma's, and
scored as Chroma scores them."""

from __future__ import annotations

import shutil

import numpy as np

from assistant import vectors
from assistant.ingest import ingest
from assistant.models import Filters
from assistant.retrieve import retrieve
from assistant.store import Store, open_store
from tests.conftest import SMALL_CORPUS, make_settings, write_jsonl
from tests.test_tokens import EXTRA


def _unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype="float32")
    return v / np.linalg.norm(v)


def test_missing_vectors_get_no_cosine_and_the_filter_mask_is_honoured():
    nan = [np.nan, np.nan]
    index = vectors.VectorIndex(
        ["a", "b", "c"],
        np.array([0, 2, 3, 4]),
        np.array([_unit(1, 0), nan, _unit(0, 1), _unit(1, 1)], dtype="float32"),  # a's second chunk is missing
        np.array([_unit(1, 0.1), nan, _unit(1, 0.5)], dtype="float32"),  # b has no whole-paper vector
    )
    question = _unit(1, 0)
    assert index.chunk_cosines(question, ["c", "a", "unknown"]) == {
        "c:0": np.float32(_unit(1, 1) @ question).item(),
        "a:0": 1.0,
    }
    assert list(index.nearest_whole(question, 5)) == ["a", "c"]
    assert list(index.nearest_whole(question, 1)) == ["a"]
    assert list(index.nearest_whole(question, 5, keep=np.array([0, 1, 1], dtype="float32"))) == ["c"]
    assert set(index.whole_cosines(question, ["b", "c"])) == {"c"}


def test_the_copies_equal_chromas_vectors_and_only_new_papers_are_read(tmp_path, monkeypatch):
    store_dir = tmp_path / "store"
    settings = make_settings(store_dir)
    ingest([write_jsonl(tmp_path / "a.jsonl", SMALL_CORPUS)], settings)
    assert (store_dir / "vectors").is_dir()  # built by the ingest, so a query (or a read-only store) need not
    read: list[str] = []
    original = Store.get_embeddings

    def counting(self, ids):
        read.extend(ids)
        return original(self, ids)

    monkeypatch.setattr(Store, "get_embeddings", counting)
    ingest([write_jsonl(tmp_path / "b.jsonl", [*SMALL_CORPUS, EXTRA])], settings)
    store = open_store(make_settings(store_dir))
    copied = store.vectors()
    assert copied is not None and len(copied) == 4
    new = [pid for pid in copied.paper_ids if "Penguins" in store.paper(pid)["title"]]
    assert len(new) == 1 and {cid.rsplit(":", 1)[0] for cid in read} == set(new)
    for row, pid in enumerate(copied.paper_ids):
        n = int(copied.offsets[row + 1] - copied.offsets[row])
        ids = [f"{pid}:{i}" for i in range(n)]
        chroma = original(store, ids)
        assert np.array_equal(
            np.asarray(copied.chunks[copied.offsets[row] : copied.offsets[row + 1]]), np.stack([chroma[c] for c in ids])
        )
        assert np.array_equal(np.asarray(copied.whole[row]), store.whole_embeddings([pid])[pid])


def test_a_store_without_the_copies_rebuilds_them_and_answers_the_same(tmp_path):
    store_dir = tmp_path / "store"
    settings = make_settings(store_dir)
    ingest([write_jsonl(tmp_path / "a.jsonl", [*SMALL_CORPUS, EXTRA])], settings)
    question, since = "counting birds from orbit", Filters(since="2023-01-01")
    before = [(h.paper_id, h.score, h.relevance) for h in retrieve(question, settings).hits]
    dated = [h.paper_id for h in retrieve(question, settings, filters=since).hits]
    shutil.rmtree(store_dir / "vectors")  # as a store built by an older version
    fresh = open_store(make_settings(store_dir))
    assert fresh.vectors_stale()
    assert [(h.paper_id, h.score, h.relevance) for h in retrieve(question, settings, store=fresh).hits] == before
    assert [h.paper_id for h in retrieve(question, settings, store=fresh, filters=since).hits] == dated
    assert not fresh.vectors_stale() and len(dated) < len(before)
