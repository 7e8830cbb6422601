"""The chunk and whole-paper vectors copied out of Chroma (vectors.py): kept up to date, equal to Chroma's, and
scored as Chroma scores them."""

from __future__ import annotations

import shutil

import numpy as np

from assistant import vectors
from assistant.config import Settings
from assistant.embeddings import get_embedder
from assistant.ingest import ingest
from assistant.models import Filters
from assistant.retrieve import bm25_mask, retrieve
from assistant.store import Store, open_store, where_clause
from tests.conftest import SMALL_CORPUS, make_settings, write_jsonl
from tests.test_words import EXTRA

_whole = Store.whole_embeddings


def _unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype="float32")
    return v / np.linalg.norm(v)


def test_missing_vectors_get_no_cosine_and_the_filter_mask_is_honoured():
    nan = [np.nan, np.nan]
    index = vectors.VectorIndex(
        ["a", "b", "c"],
        np.array([2, 1, 1]),
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
    monkeypatch.setattr(Store, "whole_embeddings", lambda self, ids: read.extend(ids) or _whole(self, ids))
    ingest([write_jsonl(tmp_path / "b.jsonl", [*SMALL_CORPUS, EXTRA])], settings)
    store = open_store(make_settings(store_dir))
    copied = store.vectors(store.bm25())
    assert copied is not None and len(copied) == 4
    new = [pid for pid in copied.paper_ids if "Penguins" in store.paper(pid)["title"]]
    assert len(new) == 1 and {cid.split(":")[0] for cid in read} == set(new)
    for row, pid in enumerate(copied.paper_ids):
        n = int(copied.offsets[row + 1] - copied.offsets[row])
        ids = [f"{pid}:{i}" for i in range(n)]
        chroma = original(store, ids)
        assert np.array_equal(
            np.asarray(copied.chunks[copied.offsets[row] : copied.offsets[row + 1]]), np.stack([chroma[c] for c in ids])
        )
        assert np.array_equal(np.asarray(copied.whole[row]), _whole(store, [pid])[pid])


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


def test_the_copies_score_and_filter_as_chromas_own_searches(corpus_settings: Settings):
    store = open_store(corpus_settings)
    index = store.bm25()
    copy = store.vectors(index)
    vector = get_embedder(corpus_settings).embed(["making language models cheaper to train"])[0]
    dates = sorted(d for d in index.date_iso if d)
    middle, source = dates[len(dates) // 2], index.sources[-1]
    for filters in (None, Filters(since=middle), Filters(until=middle), Filters(source=source, since=dates[3])):
        ours = copy.nearest_whole(vector, 10, bm25_mask(index, filters), index)
        chroma = store._whole_coll.query(
            query_embeddings=[vector.tolist()], n_results=10, where=where_clause(filters), include=["distances"]
        )
        assert list(ours) == chroma["ids"][0], filters
        assert np.allclose(list(ours.values()), [1 - d for d in chroma["distances"][0]], atol=1e-5)
    nearest = store.query(vector, 40)
    cosines = copy.chunk_cosines(vector, list(dict.fromkeys(cid.split(":")[0] for cid, _, _ in nearest)))
    assert len(cosines) > len(nearest)  # every chunk of those papers, not only the nearest
    assert all(abs(cosines[cid] - cos) < 1e-5 for cid, cos, _ in nearest)


LONG = {
    "title": "Scheduling Irrigation with Soil Moisture Forecasts",
    "abstract": "Farms waste water when irrigation follows a fixed calendar. We forecast soil moisture two days "
    "ahead from cheap probes and weather reports, then schedule watering only where the forecast falls below "
    "what each crop needs. A gradient-boosted model trained on three seasons of probe readings from forty "
    "fields predicts moisture within four percent. In a season-long trial on twelve vineyards the schedule "
    "used a fifth less water than the calendar while yields stayed the same, and growers kept using it the "
    "following year. We release the probe readings, the weather data and the scheduler.",
    "date": "2022-04-01",
}


def test_a_vector_missing_when_the_copy_was_made_is_read_once_the_ingest_completes(tmp_path):
    settings = make_settings(tmp_path / "store")
    papers = write_jsonl(tmp_path / "a.jsonl", [*SMALL_CORPUS, LONG])
    ingest([papers], settings)
    store = open_store(settings)
    index = store.bm25()
    row = max(range(len(index)), key=lambda r: index.n_chunks[r])
    pid, n = index.paper_ids[row], index.n_chunks[row]
    assert n >= 2
    store._coll.delete(ids=[f"{pid}:{n - 1}"])  # as an ingest killed between a paper's chunks leaves it
    shutil.rmtree(tmp_path / "store" / "vectors")  # and a query copies the vectors then
    gap = open_store(make_settings(tmp_path / "store"))
    copy = gap.vectors(gap.bm25())
    assert np.isnan(copy.chunks[copy.offsets[copy.row_of[pid]] + n - 1]).all()
    ingest([papers], settings)  # the paper lacks its last chunk, so it is written again
    fixed = open_store(make_settings(tmp_path / "store"))
    assert not np.isnan(np.asarray(fixed.vectors(fixed.bm25()).chunks)).any()


def test_a_copy_made_from_a_deleted_collection_is_not_reused(tmp_path, monkeypatch):
    settings = make_settings(tmp_path / "store")
    papers = write_jsonl(tmp_path / "a.jsonl", SMALL_CORPUS)
    ingest([papers], settings)
    other = open_store(settings)
    for name in (other.name, other.name + "-whole"):  # as another client of a Chroma server does
        other._client.delete_collection(name)
    read: list[str] = []
    original = Store.get_embeddings
    monkeypatch.setattr(Store, "get_embeddings", lambda self, ids: read.extend(ids) or original(self, ids))
    ingest([papers], settings)  # the same papers again, in new collections
    store = open_store(make_settings(tmp_path / "store"))
    assert not store.vectors_stale() and len(read) == store.count()
