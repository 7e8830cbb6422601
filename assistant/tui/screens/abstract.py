"""A paper opened from the sources panel: its full abstract and metadata."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

_FIELDS = (
    ("date", "Date"),
    ("authors", "Authors"),
    ("url", "URL"),
    ("upvotes", "Upvotes"),
    ("categories", "Categories"),
    ("source", "From file"),
    ("paper_id", "Paper id"),
)


class AbstractScreen(ModalScreen):
    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, paper: dict, n: int) -> None:
        super().__init__()
        self.paper, self.n = paper, n

    def compose(self) -> ComposeResult:
        paper = self.paper
        rows = [
            f"[b]{label}:[/b] {escape(str(paper[key]))}"
            for key, label in _FIELDS
            if paper.get(key) not in (None, "", -1)
        ]
        with VerticalScroll(id="abstract-box") as box:
            box.border_title = f"[{self.n}] source"
            box.border_subtitle = "Esc closes"
            yield Static(f"[b]{escape(paper.get('title', '(untitled)'))}[/b]", id="abstract-title")
            yield Static("\n".join(rows), id="abstract-meta")
            yield Static(paper.get("abstract", "(no abstract stored)"), id="abstract-text", markup=False)
