"""Word-by-word matching (tokens.py): the stored token index, kept up to date, and the rerank it drives."""

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


def test_an_ingest_encodes_only_the_new_papers_and_keeps_the_others_vectors(tmp_path):
    store_dir = tmp_path / "store"
    settings = make_settings(store_dir)
    ingest([write_jsonl(tmp_path / "a.jsonl", SMALL_CORPUS)], settings)
    first = open_store(settings).tokens()
    assert first is not None and len(first) == 3
    before = {pid: first.vectors(pid).copy() for pid in first.paper_ids}
    steps: list[tuple[str, tuple[int, int]]] = []
    ingest(
        [write_jsonl(tmp_path / "b.jsonl", [*SMALL_CORPUS, EXTRA])],
        settings,
        progress=lambda at: steps.append((at.stage, at.encoded)),
    )
    after = open_store(make_settings(store_dir)).tokens()
    assert len(after) == 4 and ("words", (4, 4)) in steps
    for pid, vectors in before.items():  # the papers already indexed were not encoded again
        assert np.array_equal(after.vectors(pid), vectors)


def test_a_stale_token_index_is_brought_up_to_date_when_read(tmp_path):
    store_dir = tmp_path / "store"
    settings = make_settings(store_dir)
    ingest([write_jsonl(tmp_path / "a.jsonl", SMALL_CORPUS)], settings)
    store = open_store(settings)
    assert store.tokens() is not None
    import shutil

    shutil.rmtree(store_dir / "tokens")  # as after an interrupted ingest or an older version's store
    fresh = open_store(make_settings(store_dir))
    assert fresh.tokens_stale()
    hits = retrieve("penguin colonies from space", make_settings(store_dir), store=fresh).hits
    assert hits and not fresh.tokens_stale() and len(fresh.tokens()) == 3


def test_stored_vectors_match_freshly_encoded_ones_within_rounding(corpus_settings: Settings):
    from assistant.embeddings import token_encoder
    from assistant.tokens import paper_vectors

    store = open_store(corpus_settings)
    index = store.tokens()
    pid = index.paper_ids[7]
    paper = store.paper(pid)
    fresh = paper_vectors(token_encoder(corpus_settings), paper["title"], paper["abstract"])
    stored = index.vectors(pid)
    assert stored.shape == fresh.shape
    cosines = (stored * fresh).sum(axis=1) / np.linalg.norm(stored, axis=1)
    assert cosines.min() > 0.995


def test_the_word_match_rerank_lifts_a_paraphrased_question_to_its_paper(corpus_settings: Settings):
    # a researcher's words for "large-sparse vs small-dense models" and "gradual pruning"
    question = (
        "Given the same storage budget, does a wide net with most links removed beat a narrow unpruned one? "
        "I recall a comparison on LSTMs and convnets with a slowly ramped sparsity schedule."
    )
    expected = "To prune, or not to prune: exploring the efficacy of pruning for model compression"
    reranked = retrieve(question, corpus_settings, top_k=10).hits
    fused_only = retrieve(question, corpus_settings.updated(retrieval={"rerank_depth": 0}), top_k=10).hits
    assert reranked[0].title == expected
    assert [h.title for h in fused_only].index(expected) > 0


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
    shutil.rmtree(store_dir / "tokens")  # a store built before the word index existed
    result = runner.invoke(app, ["--store", str(store_dir), "search", "solar panels"])
    assert result.exit_code == 0 and "Solar Panel Defect Detection" in result.stdout
    assert "the word index lacks 3 of 3 papers" in result.stderr and "papers ingest" in result.stderr
    assert not (store_dir / "tokens").exists()  # the query did not spend minutes encoding the store
    doctor = runner.invoke(app, ["--store", str(store_dir), "doctor"])
    assert doctor.exit_code == 1 and "word index lacks 3 of 3 papers" in doctor.output
    assert runner.invoke(app, ["--store", str(store_dir), "ingest", str(good)]).exit_code == 0
    again = runner.invoke(app, ["--store", str(store_dir), "search", "solar panels"])
    assert again.exit_code == 0 and "word index" not in again.stderr
