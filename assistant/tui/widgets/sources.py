"""The sources panel: the papers an answer cites (or the nearest ones when it abstained)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from assistant.models import Answer
from assistant.view import CITED, SourceEntry, sources_view

SNIPPET_CHARS = 220


def _entry(n: int, title: str, score: float, snippet: str, date: str) -> Text:
    text = Text()
    text.append(f"[{n}] ", style="bold")
    text.append(title, style="bold")
    text.append(f"\n{date + ' · ' if date else ''}score {score:.4f}\n", style="dim")
    snippet = " ".join(snippet.split())
    text.append(snippet[:SNIPPET_CHARS] + ("…" if len(snippet) > SNIPPET_CHARS else "") + "\n", style="italic")
    return text


class SourcesPanel(Vertical):
    @dataclass
    class Open(Message):
        paper_id: str
        n: int

    def compose(self) -> ComposeResult:
        yield Static("Sources", id="sources-title")
        yield OptionList(id="sources-list")

    def show(self, data: Answer | None) -> None:
        """List the cited papers of an answer; the nearest papers if it abstained (view.sources_view)."""
        options = self.query_one(OptionList)
        options.clear_options()
        title = self.query_one("#sources-title", Static)
        self.entries: list[SourceEntry] = []
        if data is None:
            title.update(CITED)
            return
        view = sources_view(data)
        self.entries = view.entries
        title.update(view.heading if data.abstained else f"{view.heading} ({len(view.entries)} cited)")
        for e in self.entries:
            options.add_option(Option(_entry(e.n, e.title, e.score, e.passage, e.date), id=str(e.n)))
        if self.entries:
            options.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        entry = self.entries[event.option_index]
        self.post_message(self.Open(entry.paper_id, entry.n))
