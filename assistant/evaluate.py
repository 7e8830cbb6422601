"""Evaluation: question sets, metrics, baselines and reports. Uses exactly the answer() users get."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.answer import RANKING_DEPTH as RANK_DEPTH
from assistant.config import Settings
from assistant.errors import PapersError
from assistant.retrieve import retrieve
from assistant.store import Store, open_store

BASELINES = ("bm25", "dense", "paper", "llamaindex")


class Question(BaseModel):
    model_config = ConfigDict(extra="ignore")  # a `note` (why the answer is unique, ...) is kept in the file only

    id: str
    question: str = Field(min_length=1)
    expected_titles: list[str] = Field(default_factory=list)
    answer_contains: list[str] = Field(default_factory=list)
    history: list[str] = Field(default_factory=list)
    kind: Literal["lookup", "fact", "multi", "followup", "unanswerable"] | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.expected_titles)


def load_questions(path: Path) -> list[Question]:
    """Questions from a JSONL file; a bad line is an error naming the file and line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PapersError(f"cannot read question set {path}: {exc}", fix="give a UTF-8 JSONL file") from exc
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            questions.append(Question.model_validate_json(line))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "line"
            raise PapersError(
                f"{path}:{number}: {where}: {first['msg']}", fix="see evals/README.md for the format"
            ) from None
    if not questions:
        raise PapersError(f"{path} holds no questions", fix="one JSON object per line")
    return questions


# --- metrics ----------------------------------------------------------------------------------------------


def _norm(title: str) -> str:
    return " ".join(title.casefold().split())


def retrieval_metrics(q: Question, ranked: list[str]) -> dict[str, float]:
    """hit@1, hit@5, MRR@10 (single-paper questions) and recall@10 (multi-paper questions)."""
    if not q.answerable:
        return {}
    expected = {_norm(t) for t in q.expected_titles}
    ranked = [_norm(t) for t in ranked[:RANK_DEPTH]]
    if len(expected) > 1:
        return {"recall@10": len(expected & set(ranked)) / len(expected)}
    rank = next((i for i, t in enumerate(ranked, start=1) if t in expected), None)
    return {
        "hit@1": float(rank == 1),
        "hit@5": float(rank is not None and rank <= 5),
        "mrr@10": 1.0 / rank if rank else 0.0,
    }


def answer_metrics(
    q: Question, text: str, cited: list[str], abstained: bool, confidence: str | None = None
) -> dict[str, float]:
    out: dict[str, float] = {}
    low = not abstained and confidence == "low"
    if not q.answerable:
        out["abstained"] = float(abstained)
        out["caught"] = float(abstained or low)  # a near miss refused, or answered with the low-confidence label
        return out
    out["false_abstention"] = float(abstained)
    out["low_confidence"] = float(low)
    expected, cited_set = {_norm(t) for t in q.expected_titles}, {_norm(t) for t in cited}
    if cited_set:
        out["citation_precision"] = len(cited_set & expected) / len(cited_set)
    out["citation_recall"] = len(cited_set & expected) / len(expected)
    if q.answer_contains:
        out["answer_accuracy"] = float(all(s.casefold() in text.casefold() for s in q.answer_contains))
    return out


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def summarise(rows: list[dict]) -> dict[str, float]:
    """Mean of each metric over the questions that have it, plus latency percentiles in ms."""
    keys = sorted({k for r in rows for k in r["metrics"]})
    summary = {}
    for key in keys:
        values = [r["metrics"][key] for r in rows if key in r["metrics"]]
        summary[key] = round(statistics.fmean(values), 4)
    p = summary.get("citation_precision")
    r = summary.get("citation_recall")
    if p is not None and r is not None:
        summary["citation_f1"] = round(2 * p * r / (p + r), 4) if p + r else 0.0
    for part in ("retrieve_ms", "answer_ms", "total_ms"):
        values = [row["timings"][part] for row in rows if part in row.get("timings", {})]
        if values:
            summary[f"{part}_p50"] = round(_percentile(values, 50), 1)
            summary[f"{part}_p95"] = round(_percentile(values, 95), 1)
    return summary


# --- systems under test -----------------------------------------------------------------------------------


def _query(q: Question) -> str:
    """What the baselines search for: the follow-up joined to the last earlier turn (as ours does offline)."""
    return f"{q.history[-1]} {q.question}" if q.history else q.question


def run_ours(questions: list[Question], settings: Settings, store: Store, tick: Callable[[], None]) -> list[dict]:
    """Each question asked as a user would in `papers chat` (earlier turns replayed first), scored on the
    Answer it gets, including the retrieval ranking that Answer used."""
    from assistant import chat

    rows = []
    for q in questions:
        conversation = chat.Conversation()
        for turn in q.history:  # replay the earlier turns as a chat would have answered them
            chat.ask(conversation, turn, settings, store=store)
        started = time.perf_counter()
        result = chat.ask(conversation, q.question, settings, store=store).answer
        total = time.perf_counter() - started
        cited = [c.title for c in result.citations]
        metrics = retrieval_metrics(q, result.ranking)
        metrics.update(answer_metrics(q, result.text, cited, result.abstained, result.confidence))
        if q.kind == "multi" and q.answerable:
            metrics["multi_citation_recall"] = metrics["citation_recall"]
        if q.answer_contains and q.kind == "fact":
            metrics["fact_accuracy"] = metrics["answer_accuracy"]
        if settings.llm.configured:  # LLM mode: how often the model's answer was unusable or unsupported
            metrics["degenerate"] = float(result.degenerate is not None)
            if result.checks and result.degenerate is None:
                metrics["unsupported_rate"] = len(result.unsupported) / len(result.checks)
        rows.append(
            {
                "id": q.id,
                "kind": q.kind,
                "question": q.question,
                "answer": result.text,
                "abstained": result.abstained,
                "confidence": result.confidence,
                "mode": result.mode,
                "degenerate": result.degenerate,
                "cited": cited,
                "signals": {
                    "relevance": max((h.relevance for h in result.sources), default=None),
                    "unmatched": result.unmatched,
                },
                "retrieved": result.ranking,
                "metrics": metrics,
                "timings": {
                    "retrieve_ms": result.timings["retrieve"] * 1000,
                    "answer_ms": result.timings["answer"] * 1000,
                    "total_ms": total * 1000,
                },
            }
        )
        tick()
    return rows


def _titles(store: Store) -> dict[str, tuple[str, str]]:
    """Paper id -> (title, abstract) of every paper in the store."""
    return {row.paper_id: (row.title, row.abstract) for page in store.papers() for row in page}


def _bm25_baseline(store: Store) -> Callable[[str], list[str]]:
    """Plain BM25 over whole papers: the store's own index, ranked without fusion."""
    index, papers = store.bm25(), _titles(store)

    def search(query: str) -> list[str]:
        return [papers[pid][0] for pid in index.top(query, RANK_DEPTH)] if index else []

    return search


def _paper_baseline(settings: Settings, store: Store) -> Callable[[str], list[str]]:
    """Dense retrieval over whole papers (title + abstract): the cosine of each paper's stored whole-paper vector
    with the question's, nothing else."""
    from assistant.embeddings import get_embedder

    index, papers, embedder = store.bm25(), _titles(store), get_embedder(settings)
    stored = store.vectors(index) if index else None

    def search(query: str) -> list[str]:
        if stored is None:
            return []
        nearest = stored.nearest_whole(embedder.embed([query])[0], RANK_DEPTH)
        return [papers[pid][0] for pid in nearest if pid in papers]

    return search


def _llamaindex_baseline(store: Store) -> Callable[[str], list[str]]:
    """LlamaIndex's default VectorStoreIndex (default splitter, in-memory store) with the same embedding model."""
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core import Settings as LISettings
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from transformers.utils import logging as hf_logging

    from assistant.embeddings import local_model_folder

    hf_logging.disable_progress_bar()  # "Loading weights" bars would cut through our progress display
    LISettings.embed_model = HuggingFaceEmbedding(model_name=str(local_model_folder(store.settings)), device="cpu")
    docs = [Document(text=f"{t}\n{a}", metadata={"title": t}) for t, a in _titles(store).values()]
    retriever = VectorStoreIndex.from_documents(docs).as_retriever(similarity_top_k=RANK_DEPTH)

    def search(query: str) -> list[str]:
        titles: list[str] = []
        for node in retriever.retrieve(query):
            if node.metadata["title"] not in titles:
                titles.append(node.metadata["title"])
        return titles

    return search


def run_baseline(
    name: str, questions: list[Question], settings: Settings, store: Store, tick: Callable[[], None]
) -> list[dict]:
    if name == "bm25":
        search = _bm25_baseline(store)
    elif name == "dense":

        def search(query: str) -> list[str]:
            return [h.title for h in retrieve(query, settings, store=store, top_k=RANK_DEPTH, mode="dense").hits]

    elif name == "paper":
        search = _paper_baseline(settings, store)
    elif name == "llamaindex":
        search = _llamaindex_baseline(store)
    else:
        raise PapersError(f"unknown baseline '{name}'", fix=f"use some of: {', '.join(BASELINES)}")
    rows = []
    for q in questions:
        started = time.perf_counter()
        ranked = search(_query(q))
        elapsed = (time.perf_counter() - started) * 1000
        rows.append(
            {
                "id": q.id,
                "kind": q.kind,
                "retrieved": ranked,
                "metrics": retrieval_metrics(q, ranked),
                "timings": {"retrieve_ms": elapsed},
            }
        )
        tick()
    return rows


@dataclass
class Report:
    questions_file: str
    configuration: dict
    systems: dict[str, dict] = field(default_factory=dict)  # name -> {"summary", "rows"}

    def to_dict(self) -> dict:
        return {"questions_file": self.questions_file, "configuration": self.configuration, "systems": self.systems}


def configuration(settings: Settings) -> dict:
    """The settings that shape results (secrets left out), so two reports can be compared."""
    return {
        "embedding": settings.embedding.model_dump(mode="json", exclude={"api_key", "cache_dir"}),
        "chunking": settings.chunking.model_dump(),
        "retrieval": settings.retrieval.model_dump(),
        "llm": {
            "configured": settings.llm.configured,
            "model": settings.llm.model if settings.llm.configured else None,
        },
    }


def evaluate(
    path: Path,
    settings: Settings,
    compare: list[str],
    progress: Callable[[str, int, int], None] | None = None,
) -> Report:
    questions = load_questions(path)
    store = open_store(settings)
    if not store.exists():
        raise PapersError(f"the store at {store.where} is empty", fix="run `papers ingest` first")
    report = Report(str(path), configuration(settings))
    for name in ["papers", *compare]:
        done = 0

        def tick(name=name) -> None:
            nonlocal done
            done += 1
            if progress:
                progress(name, done, len(questions))

        if progress:
            progress(name, 0, len(questions))
        if name == "papers":
            rows = run_ours(questions, settings, store, tick)
        else:
            rows = run_baseline(name, questions, settings, store, tick)
        report.systems[name] = {"summary": summarise(rows), "rows": rows}
    return report


METRIC_ORDER = [
    "hit@1",
    "hit@5",
    "mrr@10",
    "recall@10",
    "citation_precision",
    "citation_recall",
    "citation_f1",
    "abstained",
    "caught",
    "false_abstention",
    "low_confidence",
    "multi_citation_recall",
    "answer_accuracy",
    "fact_accuracy",
    "degenerate",
    "unsupported_rate",
    "retrieve_ms_p50",
    "retrieve_ms_p95",
    "answer_ms_p50",
    "answer_ms_p95",
]


def markdown(report: Report) -> str:
    names = list(report.systems)
    lines = [
        f"# Evaluation of {report.questions_file}",
        "",
        "| metric | " + " | ".join(names) + " |",
        "| --- |" + " --- |" * len(names),
    ]
    for metric in METRIC_ORDER:
        values = [report.systems[n]["summary"].get(metric) for n in names]
        if any(v is not None for v in values):
            lines.append(f"| {metric} | " + " | ".join("" if v is None else f"{v:g}" for v in values) + " |")
    lines += ["", "Configuration:", "", "```json", json.dumps(report.configuration, indent=2), "```", ""]
    misses = [r for r in report.systems["papers"]["rows"] if r["metrics"].get("hit@1") == 0.0]
    if misses:
        lines += ["Questions whose expected paper was not ranked first:", ""]
        lines += [f"- {r['id']}: {r['question']} (got: {r['retrieved'][0] if r['retrieved'] else '-'})" for r in misses]
    return "\n".join(lines) + "\n"


def write_reports(report: Report, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(report.questions_file).stem + time.strftime("-%Y%m%d-%H%M%S")
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    json_path.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    md_path.write_text(markdown(report))
    return json_path, md_path


def check_thresholds(report: Report, minimums: dict[str, float]) -> list[str]:
    """The metrics of ours that miss a --min-<metric> threshold."""
    summary = report.systems["papers"]["summary"]
    return [
        f"{metric} = {summary.get(metric, 0.0):g} < {minimum:g}"
        for metric, minimum in minimums.items()
        if summary.get(metric, 0.0) < minimum
    ]
