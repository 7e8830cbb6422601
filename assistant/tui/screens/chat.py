"""The chat screen: conversation, sources panel, question box and status bar.

Retrieval and generation run in a thread worker; streamed text reaches the UI with call_from_thread.
"""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, get_current_worker

from assistant import chat
from assistant.errors import PapersError
from assistant.models import Answer
from assistant.tui.screens.abstract import AbstractScreen
from assistant.tui.widgets.message import AnswerView, QuestionView
from assistant.tui.widgets.prompt import PromptInput
from assistant.tui.widgets.sources import SourcesPanel
from assistant.tui.widgets.status import StatusBar


class _Cancelled(Exception):
    pass


class ChatScreen(Screen):
    BINDINGS = [
        Binding("ctrl+n", "new_chat", "New chat", priority=True),
        Binding("ctrl+e", "export", "Export", priority=True),
        Binding("ctrl+b", "toggle_sources", "Sources", priority=True),
        Binding("ctrl+y", "copy_answer", "Copy answer", priority=True),
        Binding("escape", "cancel", "Cancel answer"),
    ]

    def __init__(self, conversation: chat.Conversation) -> None:
        super().__init__()
        self.conversation = conversation
        self.store = None  # opened by the start-up worker
        self.ready = False
        self._answering: Worker | None = None

    @property
    def settings(self):
        return self.app.settings

    def compose(self) -> ComposeResult:
        llm = self.settings.llm
        mode = f"LLM: {llm.model}" if llm.configured else "extractive (no LLM)"
        with Horizontal(id="main"):
            yield VerticalScroll(id="conversation")
            yield SourcesPanel(id="sources")
        yield PromptInput(id="prompt")
        yield StatusBar(mode, self.settings.store.chroma_url or str(self.settings.store.path), id="status")
        yield Footer()

    async def on_mount(self) -> None:
        for turn in self.conversation.turns:
            await self._add_turn(turn.question, turn.answer)
        self._select_last()
        self.query_one(PromptInput).focus()
        self._open_store()

    # --- start-up: open the store, ingest the bundled corpus on first run ---------------------------------

    @work(thread=True, group="startup")
    def _open_store(self) -> None:
        from assistant.ingest import IngestProgress, ensure_ingested
        from assistant.store import open_store

        status = self.query_one(StatusBar)

        def progress(at: IngestProgress) -> None:
            read = f", {at.bytes_read / at.bytes_total:.0%} read" if at.bytes_total else ""
            text = f"first run: indexing the sample corpus, {at.papers} papers{read}"
            if at.stage == "words":
                text = f"first run: indexing words for matching, {at.encoded[0]} of {at.encoded[1]} papers"
            self.app.call_from_thread(setattr, status, "activity", text)

        self.app.call_from_thread(setattr, status, "activity", "opening the store")
        try:
            ensure_ingested(self.settings, progress)
            store = open_store(self.settings)
            index = store.bm25()
            papers = len(index.paper_ids) if index else 0
        except Exception as exc:  # a damaged store or a server gone: a notification with the fix, never a crash
            from assistant.store import explain_failure

            error = exc if isinstance(exc, PapersError) else explain_failure(exc, self.settings)
            self.app.call_from_thread(self._error, error)
            self.app.call_from_thread(setattr, status, "activity", "")
            return
        self.store = store
        self.app.call_from_thread(self._ready, papers)

    def _ready(self, papers: int) -> None:
        self.ready = True
        self.query_one(StatusBar).activity = ""
        self.query_one(StatusBar).set_papers(papers)
        if papers == 0:
            self.notify("The store holds no papers.\nfix: papers ingest PATH ...", severity="error", timeout=10)

    # --- asking ------------------------------------------------------------------------------------------

    @on(PromptInput.Submitted)
    async def _submitted(self, event: PromptInput.Submitted) -> None:
        if not self.ready:
            self.notify("Still opening the store; ask again in a moment.", severity="warning")
            event.control.text = event.text
            return
        if self._answering and self._answering.is_running:
            self.notify("An answer is still running (Esc cancels it).", severity="warning")
            event.control.text = event.text  # keep what the user typed
            return
        view = await self._add_turn(event.text, None)
        self.query_one(StatusBar).activity = "retrieving and answering"
        self._answering = self._answer(event.text, view)

    async def _add_turn(self, question: str, data: Answer | None) -> AnswerView:
        pane = self.query_one("#conversation", VerticalScroll)
        view = AnswerView(data)
        await pane.mount_all([QuestionView(question), view])
        pane.scroll_end(animate=False)
        return view

    @work(thread=True, exclusive=True, group="answer")
    def _answer(self, question: str, view: AnswerView) -> None:
        worker = get_current_worker()

        def on_token(piece: str) -> None:
            if worker.is_cancelled:
                raise _Cancelled
            self.app.call_from_thread(view.append, piece)

        before = len(self.conversation.turns)
        try:
            turn = chat.ask(self.conversation, question, self.settings, store=self.store, on_token=on_token)
        except _Cancelled:
            self.app.call_from_thread(self._finished, view, None, "cancelled")
            return
        except PapersError as exc:
            self.app.call_from_thread(self._finished, view, None, "failed", exc)
            return
        except Exception as exc:  # anything else still becomes a notification, never a traceback
            self.app.call_from_thread(self._finished, view, None, "failed", PapersError(f"{type(exc).__name__}: {exc}"))
            return
        if worker.is_cancelled:
            del self.conversation.turns[before:]
            self.app.call_from_thread(self._finished, view, None, "cancelled")
            return
        self.app.call_from_thread(self._finished, view, turn)

    def _finished(self, view: AnswerView, turn, outcome: str = "", error: PapersError | None = None) -> None:
        self.query_one(StatusBar).activity = ""
        if turn is None:
            view.fail("cancelled" if outcome == "cancelled" else "no answer: the request failed (see the message)")
            if error:
                self._error(error)
            return
        view.finish(turn.answer)
        self._select(view)
        self.query_one("#conversation", VerticalScroll).scroll_end(animate=False)
        try:
            chat.save(self.conversation, self.settings)
        except OSError as exc:
            self.notify(f"Could not save the conversation: {exc}", severity="warning")

    def _error(self, error: PapersError) -> None:
        message = error.message + (f"\nfix: {error.fix}" if error.fix else "")
        self.notify(message, title="Error", severity="error", timeout=15)

    # --- sources -----------------------------------------------------------------------------------------

    def _select(self, view: AnswerView) -> None:
        for other in self.query(AnswerView):
            other.set_class(other is view, "-selected")
        self.query_one(SourcesPanel).show(view.data)

    def _select_last(self) -> None:
        views = [v for v in self.query(AnswerView) if v.data]
        if views:
            self._select(views[-1])

    @on(AnswerView.Selected)
    def _answer_selected(self, event: AnswerView.Selected) -> None:
        if event.view.data:
            self._select(event.view)

    @on(SourcesPanel.Open)
    def _open_source(self, event: SourcesPanel.Open) -> None:
        self._load_paper(event.paper_id, event.n)

    @work(thread=True, group="paper")
    def _load_paper(self, paper_id: str, n: int) -> None:
        """Read the paper off the event loop: on a remote Chroma server the read takes a network round trip."""
        try:
            details = self.store.paper(paper_id)
        except PapersError as exc:
            self.app.call_from_thread(self._error, exc)
            return
        self.app.call_from_thread(self.app.push_screen, AbstractScreen(details, n))

    # --- actions -----------------------------------------------------------------------------------------

    def action_cancel(self) -> None:
        if self._answering and self._answering.is_running:
            self._answering.cancel()
            self.query_one(StatusBar).activity = "cancelling"

    async def action_new_chat(self) -> None:
        if self._answering and self._answering.is_running:
            self._answering.cancel()
        self.conversation = chat.Conversation()
        await self.query_one("#conversation", VerticalScroll).remove_children()
        self.query_one(SourcesPanel).show(None)
        self.query_one(PromptInput).focus()
        self.notify("New conversation.")

    def action_export(self) -> None:
        if not self.conversation.turns:
            self.notify("Nothing to export yet: ask a question first.", severity="warning")
            return
        path = Path(self.app.export_dir) / f"papers-chat-{self.conversation.id}.md"
        try:
            chat.export(self.conversation, path)
        except OSError as exc:
            self.notify(f"Could not write {path}: {exc}", severity="error")
            return
        self.notify(f"Exported to {path}", title="Export")

    def action_toggle_sources(self) -> None:
        panel = self.query_one(SourcesPanel)
        panel.display = not panel.display

    def action_copy_answer(self) -> None:
        views = [v for v in self.query(AnswerView) if v.data]
        if not views:
            self.notify("No answer to copy yet.", severity="warning")
            return
        data = views[-1].data
        lines = [data.text, ""] + [f"[{c.n}] {c.title}" for c in data.citations]
        self.app.copy_to_clipboard("\n".join(lines).strip())
        self.notify("Copied the last answer and its sources.")
