"""One settings object for the whole pipeline, read from the environment and CLI flags.

Every group reads its own environment variables (``PAPERS_*``; the LLM key also from ``OPENAI_API_KEY``).
Settings are passed explicitly to the pipeline functions; nothing deep inside reads the environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent


def _default_store() -> Path:
    """The checkout's store/ folder when running from a clone, else the platform's per-user data folder."""
    if (PACKAGE_DIR.parent / "pyproject.toml").exists():
        return PACKAGE_DIR.parent / "store"
    from platformdirs import user_data_path

    return user_data_path("papers")


def bundled_corpus_files() -> list[Path]:
    """The sample corpus shipped inside the package (Daily Papers dumps)."""
    return sorted((PACKAGE_DIR / "corpus").glob("daily-papers-*.txt"))


BUNDLED_PROMPTS = PACKAGE_DIR / "prompt_templates"  # package data; a folder in PAPERS_PROMPTS overrides files


class _Group(BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", populate_by_name=True)


class StoreSettings(_Group):
    model_config = SettingsConfigDict(env_prefix="PAPERS_", extra="forbid", populate_by_name=True)

    path: Path = Field(
        default_factory=_default_store,
        # not also "path": env lookup is case-insensitive, so that alias would read $PATH
        validation_alias=AliasChoices("PAPERS_STORE"),
        description="Folder holding the Chroma database, the BM25 index and saved conversations.",
    )
    chroma_url: str | None = Field(
        default=None, description="URL of a Chroma server (http://host:port); unset means the local store."
    )
    chroma_token: SecretStr | None = Field(default=None, description="Auth token for the Chroma server.")
    collection: str = Field(default="papers", description="Chroma collection name.")
    chat_dir: Path | None = Field(
        default=None, description="Where `papers chat` saves conversations (default: <store>/conversations)."
    )


class EmbeddingSettings(_Group):
    model_config = SettingsConfigDict(env_prefix="PAPERS_EMBED_", extra="forbid", populate_by_name=True)

    backend: Literal["local", "openai"] = Field(
        default="local",
        description="local: a model shipped with papers, offline (see PAPERS_EMBED_MODEL); openai: an embeddings API.",
    )
    model: str = Field(
        default="all-mpnet-base-v2",
        description="Embedding model name. Local: all-mpnet-base-v2 (default, best retrieval) or all-MiniLM-L6-v2 "
        "(2.6x faster to ingest, researcher dev hit@1 0.554 against 0.622; evals/README.md).",
    )
    runtime: Literal["onnx-int8", "onnx", "torch"] = Field(
        default="onnx-int8",
        description="How the local model runs on the CPU: onnx-int8 (ONNX Runtime, per-channel int8 weights; vectors "
        "recorded as <model>-int8-pc), onnx (fp32) or torch (fp32; fp32 stores work with either).",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto",
        description="Where the local model runs: auto uses a CUDA GPU when torch sees one (torch, fp16; vectors "
        "recorded under the model's plain name, as fp32), else the CPU runtime; cpu or cuda forces one.",
    )
    cache_dir: Path | None = Field(
        default=None,
        description="Where the ONNX export of the local model is cached (default: the per-user cache folder, "
        "~/.cache/papers/models on Linux).",
    )
    batch_size: int = Field(default=16, ge=1, description="Texts per embedding batch.")
    base_url: str | None = Field(default=None, description="Base URL of the OpenAI-compatible embeddings API.")
    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("PAPERS_EMBED_API_KEY", "OPENAI_API_KEY"),
        description="API key for the embeddings API.",
    )


class ChunkSettings(_Group):
    model_config = SettingsConfigDict(env_prefix="PAPERS_CHUNK_", extra="forbid", populate_by_name=True)

    size: int = Field(default=64, ge=16, description="Chunk size in embedding-model tokens (title excluded).")
    overlap: int = Field(default=16, ge=0, description="Overlap between consecutive chunks, in tokens.")


class RetrievalSettings(_Group):
    model_config = SettingsConfigDict(env_prefix="PAPERS_", extra="forbid", populate_by_name=True)

    top_k: int = Field(default=5, ge=1, description="Papers returned per question.")
    candidates: int = Field(default=40, ge=1, description="Chunks fetched from each retriever before fusion.")
    dense_weight: float = Field(
        default=1.0, ge=0, description="Weight of the best chunk's cosine (standardised) in the fused score."
    )
    paper_weight: float = Field(
        default=1.0, ge=0, description="Weight of the whole paper's cosine (title + abstract, standardised)."
    )
    bm25_weight: float = Field(default=0.5, ge=0, description="Weight of the BM25 score (standardised).")
    rerank_depth: int = Field(
        default=20, ge=0, description="Fused top papers reranked by word-by-word match with the question (0: off)."
    )
    match_weight: float = Field(
        default=2.0, ge=0, description="Weight of the word-by-word match (standardised over the reranked papers)."
    )

    @property
    def reranks(self) -> bool:
        """Whether the word-match rerank runs (and ingest keeps its token index)."""
        return self.rerank_depth > 1 and self.match_weight > 0

    prefer_bonus: float = Field(
        default=1.0,
        ge=0,
        description="In a conversation, standard deviations added to the paper the last answer cited first.",
    )
    abstain_threshold: float = Field(
        default=0.25,
        description="Abstain (nothing relevant retrieved) when the best paper's relevance (cosine of its best "
        "chunk) is below this.",
    )
    confident_threshold: float = Field(
        default=0.35,
        description="Below this relevance an answer is given but labelled low-confidence (the closest match).",
    )


class LLMSettings(_Group):
    model_config = SettingsConfigDict(env_prefix="PAPERS_LLM_", extra="forbid", populate_by_name=True)

    base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("PAPERS_LLM_BASE_URL", "OPENAI_BASE_URL"),
        description="Base URL of an OpenAI-compatible server (Ollama, vLLM, llama.cpp, OpenAI).",
    )
    model: str = Field(default="gpt-4o-mini", description="Chat model name.")
    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("PAPERS_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key; never printed or stored.",
    )
    timeout: float = Field(default=60.0, gt=0, description="Seconds before an LLM request times out.")
    max_retries: int = Field(default=2, ge=0, description="Retries (with backoff) on 429, 5xx and timeouts.")
    temperature: float = Field(default=0.1, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(
        default=1024,
        ge=16,
        description="Most tokens the model may write per request (a small local model can otherwise repeat "
        "itself until the timeout).",
    )
    disabled: bool = Field(default=False, description="Always answer extractively, even with an LLM configured.")
    prompts_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("PAPERS_PROMPTS"),
        description="Folder with your own prompt templates (answer.md, system.md, condense.md); a file it lacks "
        "comes from the ones shipped with papers.",
    )

    @property
    def configured(self) -> bool:
        """An LLM is set up: a base URL or a key that is not empty (OPENAI_API_KEY= counts as unset)."""
        key = self.api_key.get_secret_value().strip() if self.api_key else ""
        return not self.disabled and (bool((self.base_url or "").strip()) or bool(key))


def describe_error(exc: Exception) -> tuple[str, str]:
    """A settings validation error as (message, fix) naming the environment variable and what it accepts."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError) or not exc.errors():
        return f"invalid setting: {exc}", "correct the PAPERS_* environment variable"
    error = exc.errors()[0]
    group = next((g for g in _GROUPS if g.__name__ == exc.title), None)
    field = str(error["loc"][0]) if error["loc"] else ""
    prefix = group.model_config.get("env_prefix", "PAPERS_") if group else "PAPERS_"
    info = group.model_fields.get(field) if group else None
    alias = info.validation_alias.choices[0] if info and isinstance(info.validation_alias, AliasChoices) else None
    name = alias or f"{prefix}{field}".upper()
    wanted = f" ({info.description})" if info and info.description else ""
    return (
        f"invalid setting {name}={error.get('input')!r}: {error['msg']}",
        f"set {name} to a valid value{wanted}, or unset it",
    )


class Settings(BaseModel):
    """All settings; each group reads its own environment variables when created."""

    model_config = ConfigDict(extra="forbid")

    store: StoreSettings = Field(default_factory=StoreSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkSettings = Field(default_factory=ChunkSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)

    def updated(self, **groups: dict) -> Settings:
        """A copy with some fields of some groups replaced; ``None`` values are ignored."""
        changes = {}
        for group, values in groups.items():
            values = {k: v for k, v in values.items() if v is not None}
            if values:
                current = getattr(self, group)
                changes[group] = type(current).model_validate({**current.model_dump(), **values})
        return self.model_copy(update=changes)


_GROUPS = (StoreSettings, EmbeddingSettings, ChunkSettings, RetrievalSettings, LLMSettings)
