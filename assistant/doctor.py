"""`papers doctor`: checks the installation, the embedding model, the store, the LLM and the Chroma server."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import metadata

from assistant.config import Settings
from assistant.errors import PapersError

PACKAGES = ("chromadb", "llama-index-core", "openai", "sentence-transformers", "torch", "textual", "typer", "bm25s")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    missing = []
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            missing.append(name)
    ok = sys.version_info >= (3, 11) and not missing
    detail = f"Python {version}; " + ", ".join(found) + (f"; missing: {', '.join(missing)}" if missing else "")
    return Check("python and packages", ok, detail, "" if ok else "pip install -e . (Python 3.11 or newer)")


def _embedding(settings: Settings) -> Check:
    from assistant.embeddings import get_embedder

    embedder = get_embedder(settings)
    vector = embedder.embed(["a test sentence"])[0]
    return Check("embedding model", True, f"{embedder.name} loads and embeds ({len(vector)} dimensions)")


def _store(settings: Settings) -> Check:
    from assistant.embeddings import embedder_name
    from assistant.store import open_store

    store = open_store(settings)
    if not store.exists():
        return Check("store", False, f"{store.where} holds no collection", "papers ingest PATH ... (or papers ingest)")
    store.check_embedding(embedder_name(settings))
    store.check_chunking()
    index = store.bm25()
    papers = len(index.paper_ids) if index else 0
    from assistant.retrieve import index_note

    note = index_note(settings, store)
    if note:
        return Check("store", False, f"{store.where}: {note.split(';')[0]}", note.split("; ", 1)[1])
    return Check("store", True, f"{store.where}: {papers} papers, {store.count()} chunks, model and chunking match")


def _llm(settings: Settings) -> Check:
    if not settings.llm.configured:
        return Check("LLM", True, "not configured: answers are extractive (set OPENAI_API_KEY or PAPERS_LLM_BASE_URL)")
    from assistant.llm import ChatModel

    model = ChatModel(settings.llm.model_copy(update={"max_retries": 0}))
    model.complete([{"role": "user", "content": "Reply with the word OK."}])
    return Check("LLM", True, f"{model.base_url} answers with model '{model.model}' and accepts the key")


def _prompts(settings: Settings) -> Check:
    from assistant.prompts import load_prompt, prompt_path

    names = ("system.md", "answer.md", "condense.md")
    for name in names:
        load_prompt(settings.llm.prompts_dir, name)
    where = sorted({str(prompt_path(settings.llm.prompts_dir, name).parent) for name in names})
    return Check("prompt templates", True, f"{', '.join(where)}: {', '.join(names)} have their placeholders")


def _chroma(settings: Settings) -> Check:
    from assistant.store import open_store

    store = open_store(settings)
    store.ping()
    return Check("Chroma server", True, f"{settings.store.chroma_url} answers")


def run(settings: Settings, progress: Callable[[str], None] | None = None) -> list[Check]:
    """Run every check; one that fails says what to fix and does not stop the others."""
    steps: list[tuple[str, Callable[[], Check]]] = [
        ("python and packages", _python),
        ("embedding model", lambda: _embedding(settings)),
        ("prompt templates", lambda: _prompts(settings)),
    ]
    if settings.store.chroma_url:
        steps.append(("Chroma server", lambda: _chroma(settings)))
    steps += [("store", lambda: _store(settings)), ("LLM", lambda: _llm(settings))]
    checks = []
    for name, step in steps:
        if progress:
            progress(name)
        try:
            checks.append(step())
        except PapersError as exc:
            checks.append(Check(name, False, exc.message, exc.fix or ""))
        except Exception as exc:  # a check must report, never crash the doctor
            checks.append(Check(name, False, f"{type(exc).__name__}: {exc}", "see the message"))
    return checks
