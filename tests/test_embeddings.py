"""The ONNX Runtime embedder agrees with sentence-transformers; int8 (the default) keeps the same top papers."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from assistant.cli import app
from assistant.embeddings import LocalEmbedder, get_embedder
from assistant.ingest import ingest
from assistant.retrieve import retrieve
from tests.conftest import SMALL_CORPUS, make_settings, write_jsonl

TEXTS = [c["title"] + "\n" + c["abstract"] for c in SMALL_CORPUS] + [
    "short query",
    "How do you find cracked solar panels from drones?",
    "A much longer passage about training graph neural networks with two billion parameters " * 6,
]


def test_onnx_fp32_matches_sentence_transformers(tmp_path):
    onnx = get_embedder(make_settings(tmp_path / "s").updated(embedding={"runtime": "onnx"}))
    reference = LocalEmbedder().embed(TEXTS)
    vectors = onnx.embed(TEXTS)
    assert vectors.shape == reference.shape == (len(TEXTS), 384)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() >= 0.99
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # batching and length sorting do not change a text's vector
    assert np.allclose(onnx.embed(TEXTS[:1])[0], vectors[0], atol=1e-5)


def test_int8_store_finds_the_same_top_papers_and_refuses_fp32_queries(tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", SMALL_CORPUS)
    questions = ["cracked solar panels from drones", "whale song units from hydrophones", "recompute activations"]
    tops = {}
    for runtime in ("onnx", "onnx-int8"):
        settings = make_settings(tmp_path / runtime).updated(embedding={"runtime": runtime})
        ingest([corpus], settings)
        tops[runtime] = [retrieve(q, settings, mode="dense").hits[0].title for q in questions]
    assert tops["onnx-int8"] == tops["onnx"]
    # the default runtime is int8: an fp32 store is refused with the setting that reads it
    mixed = CliRunner().invoke(app, ["--store", str(tmp_path / "onnx"), "search", "solar"])
    assert mixed.exit_code == 1
    assert "all-MiniLM-L6-v2-int8-pc" in mixed.output and "PAPERS_EMBED_RUNTIME=onnx " in mixed.output


def test_int8_vectors_stay_close_to_fp32(tmp_path):
    """Per-channel int8 weights: per-tensor quantisation (mean cosine 0.949 on bundled chunks) fails this."""
    settings = make_settings(tmp_path / "s")
    fp32 = get_embedder(settings.updated(embedding={"runtime": "onnx"})).embed(TEXTS)
    int8 = get_embedder(settings.updated(embedding={"runtime": "onnx-int8"})).embed(TEXTS)
    cosines = (fp32 * int8).sum(axis=1)
    assert cosines.mean() >= 0.98 and cosines.min() >= 0.95


def test_a_store_built_with_torch_is_queried_with_onnx_fp32(tmp_path):
    """fp32 ONNX and sentence-transformers vectors agree, so they share the model name and one store serves
    both: a store ingested with torch answers an fp32 ONNX query, with the same top papers."""
    corpus = write_jsonl(tmp_path / "c.jsonl", SMALL_CORPUS)
    torch_settings = make_settings(tmp_path / "s").updated(embedding={"runtime": "torch"})
    ingest([corpus], torch_settings)
    questions = ["cracked solar panels from drones", "whale song units from hydrophones", "recompute activations"]
    tops = {}
    for runtime in ("torch", "onnx"):
        settings = torch_settings.updated(embedding={"runtime": runtime})
        tops[runtime] = [retrieve(q, settings, mode="dense").hits[0].title for q in questions]
    assert tops["onnx"] == tops["torch"]


def test_the_onnx_export_is_cached_per_user_not_in_each_store(tmp_path, monkeypatch):
    """A new store gets no 109 MB copy of the model; the export lives in the user's cache folder."""
    from assistant.embeddings import model_cache

    monkeypatch.delenv("PAPERS_EMBED_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    settings = make_settings(tmp_path / "store").updated(embedding={"cache_dir": None})
    assert model_cache(settings) == tmp_path / "cache" / "papers" / "models"
    assert not str(model_cache(settings)).startswith(str(tmp_path / "store"))
