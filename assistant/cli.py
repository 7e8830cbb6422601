"""The `papers` command line: parses arguments, calls the pipeline, renders with rich."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import click
import typer

from assistant.config import Settings
from assistant.errors import PapersError

if TYPE_CHECKING:
    from assistant.ingest import IngestProgress

HELP = (
    "Ask questions over paper abstracts and get answers that cite the papers they came from.\n\n"
    "Works offline: papers are embedded locally (all-mpnet-base-v2, on the CPU or a CUDA GPU) into a Chroma store and retrieved by dense "
    "+ BM25 hybrid search. With an LLM configured (OPENAI_API_KEY, or PAPERS_LLM_BASE_URL for any "
    "OpenAI-compatible server such as Ollama, vLLM or llama.cpp) answers are generated; without one they are "
    "extracted sentence by sentence from the abstracts. The first `ask` or `search` on an empty store ingests "
    "the bundled sample corpus."
)

# LLM options shared by `ask` and `chat`
_Model = Annotated[str | None, typer.Option("--model", help="LLM model (env PAPERS_LLM_MODEL).")]
_BaseUrl = Annotated[
    str | None, typer.Option("--base-url", help="OpenAI-compatible server URL (env PAPERS_LLM_BASE_URL).")
]
_Extractive = Annotated[bool, typer.Option("--extractive", help="Answer extractively even with an LLM.")]

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode="rich", add_completion=False)


def _settings(ctx: typer.Context) -> Settings:
    return ctx.obj


@app.callback()
def _root(
    ctx: typer.Context,
    store: Annotated[
        Path | None, typer.Option("--store", help="Store folder (env PAPERS_STORE).", show_default=False)
    ] = None,
    chroma_url: Annotated[
        str | None,
        typer.Option("--chroma-url", help="Use a Chroma server, e.g. http://127.0.0.1:8000 (env PAPERS_CHROMA_URL)."),
    ] = None,
) -> None:
    try:
        settings = Settings()
    except Exception as exc:  # pydantic ValidationError: a bad PAPERS_* value
        from assistant.config import describe_error

        message, fix = describe_error(exc)
        raise _fail(PapersError(message, fix=fix)) from None
    ctx.obj = settings.updated(store={"path": store, "chroma_url": chroma_url})


def _fail(error: PapersError) -> typer.Exit:
    from assistant.render import err

    err.print(f"[red]error:[/red] {error.message}", markup=True, highlight=False)
    if error.fix:
        err.print(f"  fix: {error.fix}", markup=False, highlight=False)
    return typer.Exit(1)


def _run(func):
    """Run a command body, turning PapersError into a message and exit status 1."""
    try:
        return func()
    except PapersError as exc:
        raise _fail(exc) from None
    except Exception as exc:  # a store or server failing mid-command: its cause and fix, not a traceback
        if not type(exc).__module__.startswith(("httpx", "chromadb", "httpcore", "sqlite3")):
            raise
        from assistant.store import explain_failure

        raise _fail(explain_failure(exc, click.get_current_context().find_root().obj)) from None


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders to ingest (default: the bundled sample corpus).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="Input format: auto, daily, jsonl, csv or arxiv.", show_default=True)
    ] = "auto",
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Delete the collection and ingest from scratch.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Read papers from files into the store (deduplicated; running it twice adds nothing)."""
    from assistant.ingest import IngestReport
    from assistant.ingest import ingest as run_ingest
    from assistant.render import err, ingest_progress, print_input_messages, print_json
    from assistant.sources import FORMATS

    if fmt not in FORMATS:
        raise typer.BadParameter(f"'{fmt}' is not one of {', '.join(FORMATS)}", param_hint="--format")
    settings = _settings(ctx)
    reached: list[IngestProgress] = []  # the last progress reported, for the message after Ctrl-C

    def track(at: IngestProgress) -> None:
        reached[:] = [at]
        if bar:
            bar(at)

    try:
        with ingest_progress(not as_json) as bar:
            report: IngestReport = _run(lambda: run_ingest(paths, settings, fmt, rebuild, track))  # type: ignore[arg-type]
    except KeyboardInterrupt:
        err.print(_interrupted(reached[-1] if reached else None), highlight=False)
        raise typer.Exit(130) from None
    print_input_messages(report.problems, report.notes)
    if as_json:
        print_json(
            {
                **report.__dict__,
                "problems": [str(p) for p in report.problems],
                "notes": [str(n) for n in report.notes],
                "backup": str(report.backup or "") or None,
            }
        )
    else:
        err.print(report.summary(), highlight=False)
    if report.problems:
        raise typer.Exit(1)


def _interrupted(at: IngestProgress | None) -> str:
    """What an interrupted ingest leaves: the papers already in the store, and how much of the input was read."""
    papers = at.papers if at else 0
    read = f" ({at.bytes_read / at.bytes_total:.0%} of the input read)" if at and at.bytes_total else ""
    return f"Interrupted: {papers} papers are in the store{read}. Run the same command again to finish."


def _first_run(settings: Settings) -> None:
    from assistant.ingest import ensure_ingested
    from assistant.render import err, ingest_progress

    with ingest_progress() as bar:
        report = ensure_ingested(settings, bar)
    if report is not None:
        err.print(f"First run: ingested the bundled sample corpus. {report.summary()}", highlight=False)


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="Your question, in plain words.")],
    top_k: Annotated[int | None, typer.Option("--top-k", "-k", min=1, help="Papers to retrieve.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
    model: _Model = None,
    base_url: _BaseUrl = None,
    extractive: _Extractive = False,
    fallback: Annotated[
        bool, typer.Option("--fallback", help="If the LLM fails, answer extractively (and say so) instead of failing.")
    ] = False,
    since: Annotated[str | None, typer.Option("--since", help="Only papers dated on or after YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Only papers dated on or before YYYY-MM-DD.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only papers from this input file name.")] = None,
) -> None:
    """Answer a question from the indexed papers, citing the titles used."""
    if not question.strip():
        raise typer.BadParameter("the question is empty", param_hint="QUESTION")
    from assistant.answer import answer
    from assistant.render import out, print_answer, print_json
    from assistant.view import answer_json

    settings = _settings(ctx).updated(
        llm={"model": model, "base_url": base_url, "disabled": extractive or None}, retrieval={"top_k": top_k}
    )
    filters = _filters(since, until, source)
    _run(lambda: _first_run(settings))
    stream = settings.llm.configured and not as_json

    def on_token(piece: str) -> None:
        out.print(piece, end="", markup=False, highlight=False)

    _run(lambda: _undated_note(settings, filters))
    result = _run(
        lambda: answer(question, settings, filters=filters, on_token=on_token if stream else None, fallback=fallback)
    )
    _print_notes(result.notes)
    if as_json:
        print_json(answer_json(result))
    else:
        print_answer(result, streamed=stream)


def _print_notes(notes: list[str]) -> None:
    from assistant.render import err

    for note in notes:
        err.print(f"note: {note}", highlight=False, markup=False)


def _filters(since: str | None, until: str | None, source: str | None):
    import re
    from datetime import date

    from assistant.models import Filters

    for name, value in (("--since", since), ("--until", until)):
        if not value:
            continue
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError
            date.fromisoformat(value)  # 2024-13-45 has the shape but is no date
        except ValueError:
            raise typer.BadParameter(f"'{value}' is not a date like 2024-03-31", param_hint=name) from None
    return Filters(since=since, until=until, source=source)


def _undated_note(settings: Settings, filters) -> None:
    """One line when a date filter leaves out papers whose date is unknown."""
    from assistant.render import err
    from assistant.retrieve import undated

    if filters.since or filters.until:
        count = undated(settings)
        if count:
            err.print(f"note: {count} papers have no known date and are left out by --since/--until", highlight=False)


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for.")],
    top_k: Annotated[
        int | None, typer.Option("--top-k", "-k", min=1, help="Papers to list (default: PAPERS_TOP_K, 5).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    since: Annotated[str | None, typer.Option("--since", help="Only papers dated on or after YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Only papers dated on or before YYYY-MM-DD.")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Only papers from this input file name.")] = None,
) -> None:
    """List the papers that best match a query, with scores and a snippet (no answer)."""
    if not query.strip():
        raise typer.BadParameter("the query is empty", param_hint="QUERY")
    from assistant.render import hits_table, out, print_json
    from assistant.retrieve import retrieve
    from assistant.view import hit_json

    settings = _settings(ctx)
    filters = _filters(since, until, source)
    _run(lambda: _first_run(settings))
    _run(lambda: _undated_note(settings, filters))
    result = _run(lambda: retrieve(query, settings, top_k=top_k, filters=filters))
    _print_notes(result.notes)
    if not result.hits and filters.active():
        from assistant.render import err

        err.print("note: no paper matches the filters", highlight=False)
    if as_json:
        print_json({"query": query, "results": [hit_json(h, n) for n, h in enumerate(result.hits, start=1)]})
    else:
        out.print(hits_table(result.hits))


@app.command()
def stats(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show what the store holds: papers, chunks, embedding model, path and size."""
    from assistant.render import out, print_json
    from assistant.store import open_store

    def collect() -> dict:
        store = open_store(_settings(ctx))
        info, index = store.info(), store.bm25()
        size = sum(f.stat().st_size for f in store.path.rglob("*") if f.is_file()) if store.path.exists() else 0
        return {
            "store": store.where,
            "papers": len(index.paper_ids) if index else 0,
            "chunks": store.count(),
            "embedding_model": info.get("embed_model"),
            "embedding_dimension": info.get("embed_dim"),
            "chunk_size": info.get("chunk_size"),
            "chunk_overlap": info.get("chunk_overlap"),
            "size_mb": round(size / 1e6, 1),
        }

    data = _run(collect)
    if as_json:
        print_json(data)
    else:
        for key, value in data.items():
            out.print(f"{key.replace('_', ' '):>20}: {value}", markup=False)


@app.command()
def doctor(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Check Python and packages, the embedding model, prompts, the store, the LLM and the Chroma server."""
    from assistant.doctor import run
    from assistant.render import err, out, print_json

    checks = run(_settings(ctx), None if as_json else lambda name: err.print(f"checking {name}…", highlight=False))
    if as_json:
        print_json([c.to_dict() for c in checks])
    else:
        for c in checks:
            mark = "[green]ok[/green]  " if c.ok else "[red]FAIL[/red]"
            out.print(f"{mark} {c.name}: ", end="", markup=True)
            out.print(c.detail, markup=False)
            if c.fix:
                out.print(f"      fix: {c.fix}", markup=False)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


@app.command()
def chat(
    ctx: typer.Context,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the last conversation.")] = False,
    list_: Annotated[bool, typer.Option("--list", help="List saved conversations and exit.")] = False,
    open_id: Annotated[str | None, typer.Option("--open", help="Reopen the saved conversation with this id.")] = None,
    model: _Model = None,
    base_url: _BaseUrl = None,
    extractive: _Extractive = False,
    export_dir: Annotated[
        Path | None, typer.Option("--export-dir", help="Folder for exported chats (default: the current folder).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="With --list: print JSON.")] = False,
) -> None:
    """Hold a research conversation in a terminal UI: answers in Markdown, cited sources beside them.

    Keys: Enter sends, Up/Down recall earlier questions, F2 multi-line, Esc cancels an answer, Ctrl+N new chat,
    Ctrl+E export to Markdown, Ctrl+B sources panel, Ctrl+Y copy the last answer, Ctrl+P command palette,
    Ctrl+Q quit. Conversations are saved under the store folder (or PAPERS_CHAT_DIR).
    """
    from assistant import chat as conversations
    from assistant.render import out, print_json

    settings = _settings(ctx).updated(llm={"model": model, "base_url": base_url, "disabled": extractive or None})
    if list_:
        rows = _run(lambda: [conversations.load(p) for p in conversations.saved(settings)])
        if as_json:
            print_json([{"id": c.id, "turns": len(c.turns), "title": c.title, "created": c.created} for c in rows])
            return
        if not rows:
            out.print(f"No saved conversations in {conversations.chat_dir(settings)}", markup=False)
        for c in rows:
            out.print(f"{c.id}  {len(c.turns):>3} turns  {c.title}", markup=False)
        return
    conversation = None
    if open_id:
        path = conversations.chat_dir(settings) / f"{open_id}.json"
        if not path.exists():
            raise _fail(
                PapersError(f"no saved conversation '{open_id}' in {path.parent}", fix="see papers chat --list")
            )
        conversation = _run(lambda: conversations.load(path))
    elif resume:
        conversation = _run(lambda: conversations.latest(settings))
        if conversation is None:
            out.print("No saved conversation to resume; starting a new one.", markup=False)
    from assistant.store import open_store
    from assistant.tui import PapersApp

    _run(lambda: open_store(settings).count())  # a damaged or misplaced store fails here, with its fix
    PapersApp(settings, conversation, export_dir).run()


@app.command(name="eval")
def eval_(
    ctx: typer.Context,
    questions: Annotated[Path, typer.Argument(help="Question set (JSONL; see evals/README.md).")],
    compare: Annotated[
        str,
        typer.Option(
            "--compare",
            help="Baselines to run side by side: bm25, dense (best chunk), paper (whole-paper vector), llamaindex.",
        ),
    ] = "",
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the JSON and Markdown reports.")] = Path(
        "evals/reports"
    ),
    min_hit1: Annotated[float | None, typer.Option("--min-hit1", help="Fail if hit@1 is lower.")] = None,
    min_mrr: Annotated[float | None, typer.Option("--min-mrr", help="Fail if MRR@10 is lower.")] = None,
    min_precision: Annotated[
        float | None, typer.Option("--min-precision", help="Fail if citation precision is lower.")
    ] = None,
    min_abstention: Annotated[
        float | None, typer.Option("--min-abstention", help="Fail if the abstention rate is lower.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summaries as JSON.")] = False,
    model: _Model = None,
    base_url: _BaseUrl = None,
    extractive: _Extractive = False,
) -> None:
    """Run a question set, score retrieval, citations, abstention and answers, and compare with baselines.

    With an LLM configured (PAPERS_LLM_BASE_URL / OPENAI_API_KEY, or --base-url) answers are generated, and the
    report adds how often the model's answer was unusable (degenerate) and the share of unsupported sentences.
    """
    from assistant.evaluate import check_thresholds, evaluate, write_reports
    from assistant.render import eval_table, out, print_json, progress_bar

    names = [n.strip() for n in compare.split(",") if n.strip()]
    settings = _settings(ctx).updated(llm={"model": model, "base_url": base_url, "disabled": extractive or None})
    with progress_bar(not as_json) as bar:
        report = _run(lambda: evaluate(questions, settings, names, bar))
    json_path, md_path = write_reports(report, out_dir)
    if as_json:
        print_json({name: system["summary"] for name, system in report.systems.items()})
    else:
        out.print(eval_table(report))
        out.print(f"Reports: {md_path} and {json_path}", markup=False)
    minimums = {"hit@1": min_hit1, "mrr@10": min_mrr, "citation_precision": min_precision, "abstained": min_abstention}
    missed = check_thresholds(report, {k: v for k, v in minimums.items() if v is not None})
    if missed:
        raise _fail(PapersError("thresholds missed: " + "; ".join(missed)))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        sys.exit(130)
