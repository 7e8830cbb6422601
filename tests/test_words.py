"""Word-by-word matching (words.py): the stored word index, kept up to date, and the rerank it drives."""

from __future__ import annotations

import numpy as np

from assistant.config import Settings
from assistant.ingest import ingest
from assistant.retrieve import retrieve
from assistant.store import open_store
from tests.conftest import SMALL_CORPUS, make_settings, write_jsonl

EXTRA = {
    "title": "Counting Penguins in Antarctic Satellite Images",
    "abstract": "Colonies of emperor penguins are counted from their guano stains in medium-resolution satellite "
    "images. A segmentation network trained on 300 labelled colonies estimates population trends across a "
    "decade of imagery.",
    "date": "2021-09-01",
}


def test_an_ingest_runs_the_model_once_per_new_paper_and_appends_to_the_indexes(tmp_path):
    from assistant.embeddings import local_encoder

    store_dir = tmp_path / "store"
    settings = make_settings(store_dir)
    encoder = local_encoder(settings)
    runs = encoder.runs
    ingest([write_jsonl(tmp_path / "a.jsonl", SMALL_CORPUS)], settings)
    assert encoder.runs - runs == 3  # chunks, whole papers and words of 3 papers from 3 runs of the model
    first = open_store(settings).words()
    assert first is not None and len(first) == 3
    before = {pid: first.vectors(pid).copy() for pid in first.paper_ids}
    sizes = {p.name: p.stat().st_size for p in (store_dir / "words" / "papers").glob("*.bin")}
    steps: list[str] = []
    runs = encoder.runs
    ingest(
        [write_jsonl(tmp_path / "b.jsonl", [*SMALL_CORPUS, EXTRA])],
        settings,
        progress=lambda at: steps.append(at.stage),
    )
    assert encoder.runs - runs == 1  # only the new paper is read by the model
    assert "words" not in steps  # its words came from that run: nothing left to encode afterwards
    after = open_store(make_settings(store_dir)).words()
    assert len(after) == 4
    for pid, vectors in before.items():  # the papers already indexed kept their rows
        assert np.array_equal(after.vectors(pid), vectors)
    grown = {p.name: p.stat().st_size for p in (store_dir / "words" / "papers").glob("*.bin")}
    assert all(grown[name] >= size for name, size in sizes.items())  # appended, the old rows kept in place


def test_a_stale_word_index_is_brought_up_to_date_when_read(tmp_path):
    store_dir = tmp_path / "store"
    settings = make_settings(store_dir)
    ingest([write_jsonl(tmp_path / "a.jsonl", SMALL_CORPUS)], settings)
    store = open_store(settings)
    assert store.words() is not None
    import shutil

    shutil.rmtree(store_dir / "words")  # as after an interrupted ingest or an older version's store
    fresh = open_store(make_settings(store_dir))
    assert fresh.words_stale()
    hits = retrieve("penguin colonies from space", make_settings(store_dir), store=fresh).hits
    assert hits and not fresh.words_stale() and len(fresh.words()) == 3


def test_a_truncated_word_index_is_rebuilt_not_misread(tmp_path):
    store_dir = tmp_path / "store"
    settings = make_settings(store_dir)
    ingest([write_jsonl(tmp_path / "a.jsonl", SMALL_CORPUS)], settings)
    codes = store_dir / "words" / "papers" / "codes.bin"
    whole = open_store(settings).words().vectors(open_store(settings).words().paper_ids[0]).copy()
    codes.write_bytes(codes.read_bytes()[:100])
    fresh = open_store(make_settings(store_dir))
    assert fresh.words_stale()
    assert retrieve("solar panels", make_settings(store_dir), store=fresh).hits
    assert np.array_equal(fresh.words().vectors(fresh.words().paper_ids[0]), whole)


def test_stored_word_vectors_match_freshly_encoded_ones_within_rounding_and_stay_compact(corpus_settings: Settings):
    from assistant.bm25 import PaperRow
    from assistant.embeddings import token_encoder
    from assistant.words import encode

    store = open_store(corpus_settings)
    index = store.words()
    pid = index.paper_ids[7]
    paper = store.paper(pid)
    codes, scales = encode(
        [PaperRow(pid, 1, "", "", paper["title"], paper["abstract"])], token_encoder(corpus_settings)
    )[pid]
    fresh = codes.astype("float32") * scales[:, None]
    stored = index.vectors(pid)
    assert stored.shape == fresh.shape
    cosines = (stored * fresh).sum(axis=1) / np.linalg.norm(stored, axis=1) / np.linalg.norm(fresh, axis=1)
    assert cosines.min() > 0.99
    folder = corpus_settings.store.path / "words" / "papers"
    per_paper = sum(p.stat().st_size for p in folder.iterdir()) / len(index)
    assert per_paper <= 10_000  # the budget: at most 10 KB per paper on disk


def test_the_word_match_rerank_lifts_a_paraphrased_question_to_its_paper(corpus_settings: Settings):
    # a researcher's words for "Hadamard updated transformation" instead of LoRA's additive update
    question = (
        "rather than summing an increment onto pretrained weights, apply an elementwise-product map to them "
        "built from two thin factors"
    )
    expected = "HUT: A More Computation Efficient Fine-Tuning Method With Hadamard Updated Transformation"
    reranked = retrieve(question, corpus_settings, top_k=10).hits
    fused_only = retrieve(question, corpus_settings.updated(retrieval={"rerank_depth": 0}), top_k=10).hits
    assert reranked[0].title == expected
    assert [h.title for h in fused_only].index(expected) >= 3  # fifth (index 5) without the rerank


def test_a_store_without_its_word_index_says_how_to_build_it_instead_of_stalling(tmp_path, monkeypatch):
    import shutil

    from typer.testing import CliRunner

    from assistant import retrieve as retrieve_module
    from assistant.cli import app

    monkeypatch.setattr(retrieve_module, "QUERY_BUILD_LIMIT", 2)  # as a store of thousands of papers
    store_dir = tmp_path / "store"
    good = write_jsonl(tmp_path / "a.jsonl", SMALL_CORPUS)
    runner = CliRunner()
    assert runner.invoke(app, ["--store", str(store_dir), "ingest", str(good)]).exit_code == 0
    shutil.rmtree(store_dir / "words")  # a store built before the word index existed
    result = runner.invoke(app, ["--store", str(store_dir), "search", "solar panels"])
    assert result.exit_code == 0 and "Solar Panel Defect Detection" in result.stdout
    assert "the word index lacks 3 of 3 papers" in result.stderr and "papers ingest" in result.stderr
    assert not (store_dir / "words").exists()  # the query did not spend minutes encoding the store
    doctor = runner.invoke(app, ["--store", str(store_dir), "doctor"])
    assert doctor.exit_code == 1 and "word index lacks 3 of 3 papers" in doctor.output
    assert runner.invoke(app, ["--store", str(store_dir), "ingest", str(good)]).exit_code == 0
    again = runner.invoke(app, ["--store", str(store_dir), "search", "solar panels"])
    assert again.exit_code == 0 and "word index" not in again.stderr
