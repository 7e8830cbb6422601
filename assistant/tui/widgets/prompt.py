"""The question box: Enter sends, Up/Down walk through earlier questions, F2 switches to multi-line."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import TextArea


class PromptInput(TextArea):
    BINDINGS = [
        Binding("up", "history(-1)", "Earlier question", show=False),
        Binding("down", "history(1)", "Later question", show=False),
        Binding("f2", "toggle_multiline", "Multi-line"),
        Binding("ctrl+s", "send", "Send", show=False),
    ]

    multiline: reactive[bool] = reactive(False)

    @dataclass
    class Submitted(Message):
        text: str

    def __init__(self, **kwargs) -> None:
        super().__init__(soft_wrap=True, show_line_numbers=False, **kwargs)
        self.asked: list[str] = []
        self._position = 0  # index into history; len(history) means "the draft being typed"
        self._draft = ""

    def watch_multiline(self, multiline: bool) -> None:
        self.border_subtitle = "multi-line: Ctrl+S sends, F2 back" if multiline else "Enter sends · F2 multi-line"
        self.set_class(multiline, "-multiline")

    def on_mount(self) -> None:
        self.border_title = "Ask about the papers"
        self.watch_multiline(self.multiline)

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter" and not self.multiline:
            event.prevent_default()
            event.stop()
            self.action_send()
            return
        await super()._on_key(event)

    def action_send(self) -> None:
        text = self.text.strip()
        if not text:
            return
        if not self.asked or self.asked[-1] != text:
            self.asked.append(text)
        self._position, self._draft = len(self.asked), ""
        self.clear()
        self.post_message(self.Submitted(text))

    def action_toggle_multiline(self) -> None:
        self.multiline = not self.multiline

    def action_history(self, step: int) -> None:
        row = self.cursor_location[0]
        last_row = self.document.line_count - 1
        inside = (step < 0 and row > 0) or (step > 0 and row < last_row)
        if (self.multiline and inside) or not self.asked:
            self.action_cursor_up() if step < 0 else self.action_cursor_down()
            return
        if self._position == len(self.asked):
            self._draft = self.text
        self._position = max(0, min(len(self.asked), self._position + step))
        self.text = self.asked[self._position] if self._position < len(self.asked) else self._draft
        self.move_cursor(self.document.end)
