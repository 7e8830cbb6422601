"""One turn of the conversation: the question, and the answer rendered as Markdown (streamed when generated)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Markdown, Static

from assistant.models import EXTRACTIVE_LABEL, LOW_CONFIDENCE_LABEL, Answer
from assistant.view import UNSUPPORTED_MARK, marked_text


class QuestionView(Static):
    def __init__(self, question: str) -> None:
        super().__init__(question, markup=False)


class AnswerView(Vertical, can_focus=True):
    """An answer; focusing or clicking it shows its sources in the sources panel."""

    @dataclass
    class Selected(Message):
        view: AnswerView

    def __init__(self, data: Answer | None = None) -> None:
        super().__init__()
        self.data = data  # the Answer once it is complete
        self._streamed = ""

    def compose(self) -> ComposeResult:
        yield Static("", classes="answer-label")
        yield Markdown("", classes="answer-body")

    def on_mount(self) -> None:
        if self.data is not None:
            self.finish(self.data)
        else:
            self.label("thinking…")

    @property
    def text(self) -> str:
        return self.data.text if self.data else self._streamed

    def label(self, text: str) -> None:
        self.query_one(".answer-label", Static).update(text)

    async def append(self, piece: str) -> None:
        self._streamed += piece
        self.label("answering…")
        await self.query_one(Markdown).append(piece)

    def finish(self, data: Answer) -> None:
        self.data = data
        if data.abstained:
            label = "no answer: nothing relevant retrieved"
        elif data.mode == "extractive":
            label = EXTRACTIVE_LABEL
        else:
            label = f"answered by {data.model}" + (" · cites no source" if data.uncited else "")
        if data.confidence == "low" and not data.abstained:
            label += f"\n{LOW_CONFIDENCE_LABEL}"
            self.add_class("-low")
        if data.standalone_question:
            label += f"\nsearched as: {data.standalone_question}"
        if data.unsupported:
            label += (
                f"\n{len(data.unsupported)} sentence(s) marked {UNSUPPORTED_MARK}: their sources do not support them"
            )
        self.label(label)
        self.query_one(Markdown).update(marked_text(data))
        self.set_class(data.abstained, "-abstained")

    def fail(self, message: str) -> None:
        self.label(message)
        self.add_class("-failed")

    def on_focus(self) -> None:
        self.post_message(self.Selected(self))

    def on_click(self) -> None:
        self.focus()
