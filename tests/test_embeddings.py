"""The local encoders: ONNX agrees with sentence-transformers, int8 stays close to fp32, one run of the model
gives a paper's whole, chunk and word vectors, and a store refuses a model or a version it was not built with."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from assistant.cli import app
from assistant.embeddings import get_embedder, local_encoder
from assistant.ingest import ingest
from assistant.retrieve import retrieve
from assistant.store import open_store
from tests.conftest import SMALL_CORPUS, make_settings, write_jsonl

TEXTS = [c["title"] + "\n" + c["abstract"] for c in SMALL_CORPUS] + [
    "short query",
    "How do you find cracked solar panels from drones?",
    "A much longer passage about training graph neural networks with two billion parameters " * 6,
]
QUESTIONS = ["cracked solar panels from drones", "whale song units from hydrophones", "recompute activations"]


def test_onnx_fp32_matches_sentence_transformers(tmp_path):
    from sentence_transformers import SentenceTransformer

    from assistant.embeddings import local_model_folder

    settings = make_settings(tmp_path / "s").updated(embedding={"runtime": "onnx"})
    onnx = get_embedder(settings)
    reference = SentenceTransformer(str(local_model_folder(settings)), device="cpu").encode(
        TEXTS, normalize_embeddings=True
    )
    vectors = onnx.embed(TEXTS)
    assert vectors.shape == reference.shape == (len(TEXTS), 768)
    assert (vectors * reference).sum(axis=1).min() >= 0.99
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # batching and length sorting do not change a text's vector
    assert np.allclose(onnx.embed(TEXTS[:1])[0], vectors[0], atol=1e-5)


def test_a_text_longer_than_the_window_is_read_whole_not_cut(tmp_path):
    encoder = local_encoder(make_settings(tmp_path / "s"))
    long = " ".join(f"sentence {i} is about topic {i} in a long abstract." for i in range(60))
    encoding = encoder.encode([long])[0]
    assert len(encoding.ids) > encoder.model.max_tokens
    runs = encoder.runs
    hidden = encoder.hidden([encoding])[0]
    assert hidden.shape == (len(encoding.ids), 768)  # every token has an output: nothing truncated
    assert encoder.runs - runs == 2  # in two overlapping windows
    tail = encoder.embed([long[len(long) // 2 :]])[0]
    head = encoder.embed([long[: len(long) // 2]])[0]
    whole = encoder.embed([long])[0]
    assert whole @ tail > 0.5 and whole @ head > 0.5  # both halves count


def test_int8_store_finds_the_same_top_papers_and_refuses_fp32_queries(tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", SMALL_CORPUS)
    tops = {}
    for runtime in ("onnx", "onnx-int8"):
        settings = make_settings(tmp_path / runtime).updated(embedding={"runtime": runtime})
        ingest([corpus], settings)
        tops[runtime] = [retrieve(q, settings, mode="dense").hits[0].title for q in QUESTIONS]
    assert tops["onnx-int8"] == tops["onnx"]
    # the default runtime is int8: an fp32 store is refused with the setting that reads it
    mixed = CliRunner().invoke(app, ["--store", str(tmp_path / "onnx"), "search", "solar"])
    assert mixed.exit_code == 1
    assert "all-mpnet-base-v2-int8-pc" in mixed.output and "PAPERS_EMBED_RUNTIME=onnx " in mixed.output


def test_int8_vectors_stay_close_to_fp32(tmp_path):
    """mpnet's feed-forward outputs stay fp32 in the int8 export: quantising them too gives mean cosine 0.88."""
    settings = make_settings(tmp_path / "s")
    fp32 = get_embedder(settings.updated(embedding={"runtime": "onnx"})).embed(TEXTS)
    int8 = get_embedder(settings.updated(embedding={"runtime": "onnx-int8"})).embed(TEXTS)
    cosines = (fp32 * int8).sum(axis=1)
    assert cosines.mean() >= 0.98 and cosines.min() >= 0.97


def test_one_run_gives_the_whole_paper_vector_and_chunk_vectors_pooled_from_their_spans(tmp_path):
    """Late chunking: the whole-paper vector equals the paper embedded as one text, and each chunk's vector is
    the mean of its own tokens' and the title's outputs from that same run."""
    from assistant.ingest import chunk_paper, encode_papers, make_splitter
    from assistant.schema import whole_text
    from assistant.sources import Paper

    settings = make_settings(tmp_path / "s").updated(chunking={"size": 32, "overlap": 8})
    encoder = local_encoder(settings)
    record = SMALL_CORPUS[0]
    paper = Paper(id="p1", title=record["title"], abstract=record["abstract"], source="t")
    chunks = chunk_paper(paper, make_splitter(settings))
    assert len(chunks) >= 2
    runs = encoder.runs
    whole, chunk_vectors, word_rows = encode_papers(encoder, [(paper, chunks)])
    assert encoder.runs - runs == 1
    assert np.allclose(whole[0], encoder.embed([whole_text(paper)])[0], atol=1e-5)
    assert chunk_vectors.shape == (len(chunks), 768)
    encoding = encoder.encode([whole_text(paper)])[0]
    hidden = encoder.hidden([encoding])[0]
    start = len(paper.title) + 1 + paper.abstract.index(chunks[1].text)
    inside = [
        i
        for i, (a, b) in enumerate(encoding.offsets)
        if b > a and ((a >= start and b <= start + len(chunks[1].text)) or b <= len(paper.title))
    ]  # the chunk's own tokens and the title's
    expected = hidden[inside].mean(axis=0)
    assert np.allclose(chunk_vectors[1], expected / np.linalg.norm(expected), atol=1e-4)
    assert len(word_rows[0][0]) > 5  # the paper's content words, from the same run


def test_a_store_made_with_one_model_refuses_another_with_the_fix(tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", SMALL_CORPUS)
    store = tmp_path / "store"
    runner = CliRunner()
    made = runner.invoke(
        app, ["--store", str(store), "ingest", str(corpus)], env={"PAPERS_EMBED_MODEL": "all-MiniLM-L6-v2"}
    )
    assert made.exit_code == 0, made.output
    asked = runner.invoke(app, ["--store", str(store), "search", "solar"])  # the default model: mpnet
    assert asked.exit_code == 1
    assert "all-MiniLM-L6-v2-int8-pc" in asked.output and "PAPERS_EMBED_MODEL=all-MiniLM-L6-v2" in asked.output
    again = runner.invoke(
        app, ["--store", str(store), "search", "solar"], env={"PAPERS_EMBED_MODEL": "all-MiniLM-L6-v2"}
    )
    assert again.exit_code == 0 and "Solar Panel Defect Detection" in again.stdout


def test_a_store_of_the_previous_version_is_read_but_never_mixed_with_late_chunk_vectors(tmp_path):
    """A store whose chunks were embedded one by one answers queries; adding papers to it is refused with the
    rebuild, so its chunk vectors are never mixed with late-chunked ones."""
    corpus = write_jsonl(tmp_path / "c.jsonl", SMALL_CORPUS)
    settings = make_settings(tmp_path / "store")
    ingest([corpus], settings)
    store = open_store(settings)
    info = store.info()
    store._coll.modify(metadata={k: v for k, v in info.items() if k not in ("chunk_vectors", "hnsw:space")})
    assert "chunk_vectors" not in open_store(settings).info()
    assert retrieve("cracked solar panels from drones", settings).hits[0].title.startswith("Solar Panel")
    extra = write_jsonl(tmp_path / "d.jsonl", [{"title": "New", "abstract": "A new paper about penguins."}])
    refused = CliRunner().invoke(app, ["--store", str(tmp_path / "store"), "ingest", str(extra)])
    assert refused.exit_code == 1 and "ingest --rebuild" in refused.output
    assert open_store(settings).count() == 3


def test_a_store_built_with_torch_is_queried_with_onnx_fp32(tmp_path):
    """fp32 ONNX and torch vectors agree, so they share the model name and one store serves both."""
    corpus = write_jsonl(tmp_path / "c.jsonl", SMALL_CORPUS)
    torch_settings = make_settings(tmp_path / "s").updated(embedding={"runtime": "torch", "device": "cpu"})
    ingest([corpus], torch_settings)
    tops = {}
    for runtime in ("torch", "onnx"):
        settings = torch_settings.updated(embedding={"runtime": runtime})
        tops[runtime] = [retrieve(q, settings, mode="dense").hits[0].title for q in QUESTIONS]
    assert tops["onnx"] == tops["torch"]


def test_the_models_are_cached_per_user_not_in_each_store(tmp_path, monkeypatch):
    """A new store gets no copy of the model; the weights and exports live in the user's cache folder."""
    from assistant.embeddings import model_cache

    monkeypatch.delenv("PAPERS_EMBED_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    settings = make_settings(tmp_path / "store").updated(embedding={"cache_dir": None})
    assert model_cache(settings) == tmp_path / "cache" / "papers" / "models"
    assert not str(model_cache(settings)).startswith(str(tmp_path / "store"))
