"""The `papers chat` app: pushes the chat screen and offers its actions in the command palette."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from assistant.chat import Conversation
from assistant.config import Settings
from assistant.tui.screens.chat import ChatScreen

_COMMANDS = (
    ("New chat", "Start a new conversation", "new_chat"),
    ("Export chat", "Write the conversation and its sources to a Markdown file", "export"),
    ("Toggle sources panel", "Show or hide the sources of the selected answer", "toggle_sources"),
    ("Copy last answer", "Copy the last answer and its sources to the clipboard", "copy_answer"),
)


class PapersApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "papers"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, settings: Settings, conversation: Conversation | None = None, export_dir: Path | None = None):
        super().__init__()
        self.settings = settings
        self.conversation = conversation or Conversation()
        self.export_dir = export_dir or Path.cwd()

    def on_mount(self) -> None:
        self.push_screen(ChatScreen(self.conversation))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, ChatScreen):
            for title, help_text, action in _COMMANDS:
                yield SystemCommand(title, help_text, getattr(screen, f"action_{action}"))
