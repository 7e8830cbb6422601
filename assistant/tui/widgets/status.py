"""The status bar: answer mode, store, paper count, and a spinner while work runs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Static

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class StatusBar(Horizontal):
    activity: reactive[str] = reactive("")  # what runs now ("" when idle)

    def __init__(self, mode: str, store: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self._mode, self._store, self._frame = mode, store, 0

    def compose(self) -> ComposeResult:
        yield Static("", id="activity")
        yield Static(self._mode, id="mode")
        yield Static("… papers", id="papers")
        yield Static(self._store, id="store")

    def on_mount(self) -> None:
        self._timer = self.set_interval(0.1, self._spin, pause=True)

    def set_papers(self, count: int) -> None:
        self.query_one("#papers", Static).update(f"{count:,} papers")

    def watch_activity(self, activity: str) -> None:
        if not self.is_mounted:
            return
        if activity:
            self._timer.resume()
        else:
            self._timer.pause()
        self._render_activity()

    def _spin(self) -> None:
        self._frame = (self._frame + 1) % len(_FRAMES)
        self._render_activity()

    def _render_activity(self) -> None:
        text = f"{_FRAMES[self._frame]} {self.activity}" if self.activity else "ready"
        self.query_one("#activity", Static).update(text)
