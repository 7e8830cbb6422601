"""Terminal rendering shared by the commands: answers, sources, search results, progress bars."""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from assistant.models import Answer, Hit
from assistant.sources import SourceError, SourceNote, normalise
from assistant.view import answer_label, confidence_label, marked_text, source_line, sources_view

if TYPE_CHECKING:
    from assistant.ingest import IngestProgress

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

SNIPPET_CHARS = 220
_STAGES = {
    "papers": "Evaluating papers",
}


@contextmanager
def progress_bar(enabled: bool = True):
    """A progress callback (stage, done, total) drawing one bar per stage on stderr."""
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


@contextmanager
def ingest_progress(enabled: bool = True):
    """A progress callback for ingest, drawing on stderr: papers done and the share of the input read (how many
    papers the input holds is only known at its end), then the BM25 index and the word index builds."""
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    ) as bar:
        papers = bar.add_task("Ingesting", total=None, detail="")
        later: dict[str, int] = {}  # the index stages, each with its bar once it starts

        def stage(name: str) -> int:
            if name not in later:
                later[name] = bar.add_task(name, total=None, detail="")
            return later[name]

        def update(at: IngestProgress) -> None:
            done = f"{at.papers:,} papers, {at.bytes_read / 1e6:,.1f}/{at.bytes_total / 1e6:,.1f} MB"
            bar.update(papers, completed=at.bytes_read, total=at.bytes_total or None, detail=done)
            if at.stage == "index":
                stage("BM25 index")
            if at.stage == "words":
                encoded, total = at.encoded
                bar.update(stage("BM25 index"), completed=1, total=1)
                bar.update(stage("Word index"), completed=encoded, total=total or None, detail=f"{encoded:,} papers")
            if at.stage == "done":
                bar.update(papers, completed=at.bytes_total or 1, total=at.bytes_total or 1)
                for task in later.values():
                    bar.update(task, completed=1, total=1)

        yield update


def _terminal_text(text: str) -> str:
    """Input text (file names, messages quoting a line) made safe to print: control characters removed, rich
    markup escaped."""
    return escape(normalise(text))


def print_input_messages(problems: Iterable[SourceError], notes: Iterable[SourceNote]) -> None:
    """What ingest met in its input, on stderr, once each: every skipped record, then every note."""
    for problem in problems:
        err.print(f"[yellow]skipped:[/yellow] {_terminal_text(str(problem))}")
    for note in notes:
        err.print(f"[yellow]note:[/yellow] {_terminal_text(str(note))}")


def print_answer(result: Answer, streamed: bool = False) -> None:
    """The answer (unless it was already streamed), then the Sources list of cited papers."""
    if result.fallback:  # the LLM's text (if any was streamed) is not the answer: end its line, show ours
        if streamed:
            out.print()
        why = result.fallback if result.degenerate else f"the LLM failed ({result.fallback})"
        err.print(f"[yellow]note:[/yellow] {escape(why)}; answering extractively instead")
        streamed = False
    label = answer_label(result)
    if result.mode == "extractive" and label:
        out.print(f"[dim]{escape(label)}[/dim]")
    warning = confidence_label(result)
    if warning:
        out.print(f"[yellow]{escape(warning)}[/yellow]")
    if (result.mode == "extractive" and not result.abstained) or warning:
        out.print()
    if not streamed:
        out.print(escape(marked_text(result)))
    else:
        out.print()
    for check in result.unsupported:
        why = "; ".join(check.reasons) or "not supported"
        err.print(f"[yellow]note:[/yellow] unsupported by its source ({escape(why)}): {escape(check.sentence)}")
    out.print()
    view = sources_view(result)
    if view.entries or not result.abstained:
        out.print(f"{view.heading}:")
    for e in view.entries:
        out.print(escape(source_line(e.n, e.title, e.date)))
    for marker in result.removed_markers:
        err.print(f"[yellow]note:[/yellow] removed citation {escape(marker)}: it points to no retrieved source")
    if result.uncited:
        err.print("[yellow]note:[/yellow] the model's answer cites no source; treat it with care")


def print_json(data) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def hits_table(hits: list[Hit]) -> Table:
    table = Table(show_lines=False, expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("rel", justify="right", no_wrap=True)
    table.add_column("paper", ratio=1)
    for n, hit in enumerate(hits, start=1):
        snippet = (hit.chunks[0] if hit.chunks else hit.abstract)[:SNIPPET_CHARS]
        date = f" [dim]({escape(hit.date)})[/dim]" if hit.date else ""
        table.add_row(
            str(n),
            f"{hit.score:.4f}",
            f"{hit.relevance:.2f}",
            f"[bold]{escape(hit.title)}[/bold]{date}\n[dim]{escape(snippet)}…[/dim]",
        )
    return table


def eval_table(report) -> Table:
    from assistant.evaluate import METRIC_ORDER

    names = list(report.systems)
    table = Table(title=f"Evaluation: {report.questions_file}")
    table.add_column("metric")
    for name in names:
        table.add_column(name, justify="right")
    for metric in METRIC_ORDER:
        values = [report.systems[n]["summary"].get(metric) for n in names]
        if any(v is not None for v in values):
            table.add_row(metric, *("" if v is None else f"{v:g}" for v in values))
    return table
