"""The sources panel: the papers an answer cites (or the nearest ones when it abstained)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


def _entry(n: int, title: str, score: float, snippet: str, date: str) -> Text:
    text = Text()
    text.append(f"[{n}] ", style="bold")
    text.append(title, style="bold")
    text.append(f"\n{date + ' · ' if date else ''}score {score:.4f}\n", style="dim")
    snippet = " ".join(snippet.split())
    text.append(snippet[:220] + ("…" if len(snippet) > 220 else "") + "\n", style="italic")
    return text


class SourcesPanel(Vertical):
    @dataclass
    class Open(Message):
        paper_id: str
        n: int

    def compose(self) -> ComposeResult:
        yield Static("Sources", id="sources-title")
        yield OptionList(id="sources-list")

    def show(self, data: dict | None) -> None:
        """List the cited papers of an answer (Answer.to_dict()); the nearest papers if it abstained."""
        options = self.query_one(OptionList)
        options.clear_options()
        self.entries: list[dict] = []
        title = self.query_one("#sources-title", Static)
        if not data:
            title.update("Sources")
            return
        snippets = {s["n"]: s for s in data.get("sources", [])}
        if data["abstained"]:
            title.update("Nearest papers (not cited)")
            self.entries = [
                {
                    "n": s["n"],
                    "title": s["title"],
                    "paper_id": s["paper_id"],
                    "score": s["score"],
                    "text": s["snippet"],
                    "date": s.get("date", ""),
                }
                for s in data.get("sources", [])
            ]
        else:
            title.update(f"Sources ({len(data['citations'])} cited)")
            self.entries = list(data["citations"])
        for e in self.entries:
            snippet = e.get("text") or snippets.get(e["n"], {}).get("snippet", "")
            options.add_option(
                Option(_entry(e["n"], e["title"], e["score"], snippet, e.get("date", "")), id=str(e["n"]))
            )
        if self.entries:
            options.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        entry = self.entries[event.option_index]
        self.post_message(self.Open(entry["paper_id"], entry["n"]))
