"""Every test runs with the store and user data under tmp_path and no LLM configured from the outside."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import EmbeddingSettings, LLMSettings, Settings, StoreSettings
from tests.llm_server import FakeLLM

os.environ["HF_HUB_OFFLINE"] = "1"
_OUTSIDE = ("OPENAI_API_KEY", "OPENAI_BASE_URL")


@pytest.fixture(scope="session")
def _model_cache(tmp_path_factory) -> Path:
    """One ONNX export of the local model for the whole run (a user's store keeps its own in models/)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path, _model_cache):
    for name in list(os.environ):
        if name.startswith("PAPERS_") or name in _OUTSIDE:
            monkeypatch.delenv(name)
    monkeypatch.setenv("PAPERS_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("PAPERS_EMBED_CACHE_DIR", str(_model_cache))


def make_settings(store: Path, **llm) -> Settings:
    return Settings(
        store=StoreSettings(path=store),
        embedding=EmbeddingSettings(),
        llm=LLMSettings(**llm),
    )


@pytest.fixture(scope="session")
def first_run(tmp_path_factory, _model_cache):
    """`papers ask` on an empty store: ingests the bundled corpus, then answers. Shared by read-only tests."""
    store = tmp_path_factory.mktemp("bundled") / "store"
    env = {name: None for name in os.environ if name.startswith("PAPERS_") or name in _OUTSIDE}
    env["PAPERS_EMBED_CACHE_DIR"] = str(_model_cache)
    result = CliRunner().invoke(
        app,
        [
            "--store",
            str(store),
            "ask",
            "--json",
            "Which method uses LLM rationales to train smaller models that beat bigger ones?",
        ],
        env=env,
    )
    return store, result


@pytest.fixture
def corpus_settings(first_run) -> Settings:
    store, result = first_run
    assert result.exit_code == 0, result.output
    return make_settings(store)


@pytest.fixture
def llm_server():
    server = FakeLLM().start()
    yield server
    server.stop()


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


SMALL_CORPUS = [
    {
        "title": "Gradient Checkpointing for Giant Graph Networks",
        "abstract": "We train graph neural networks with two billion parameters on a single GPU by recomputing "
        "activations during the backward pass. Memory use falls by a factor of eight while training time "
        "grows by only thirty percent. Experiments cover molecule property prediction and citation graphs.",
        "date": "2024-02-03",
    },
    {
        "title": "Whale Song Transcription with Self-Supervised Audio Models",
        "abstract": "Humpback whale songs are transcribed into discrete units with a self-supervised audio encoder "
        "trained on 9,000 hours of hydrophone recordings. The units reveal phrase structure that repeats "
        "across seasons. We release the recordings and the unit vocabulary.",
        "date": "2023-06-30",
    },
    {
        "title": "Solar Panel Defect Detection from Drone Imagery",
        "abstract": "A lightweight convolutional detector finds cracked and soiled solar panels in thermal drone "
        "images. It runs at 40 frames per second on an embedded board and reaches 0.91 mean average precision "
        "on a new dataset of 12,000 annotated panels from five power plants.",
        "date": "2022-11-15",
    },
]
