"""`papers chat`: the Textual app driven through the Pilot on the bundled corpus, and conversation files."""

from __future__ import annotations

import asyncio
import json

import pytest
from textual.widgets import Markdown, OptionList
from typer.testing import CliRunner

from assistant import chat
from assistant.cli import app as cli
from assistant.tui import PapersApp
from assistant.tui.screens.abstract import AbstractScreen
from assistant.tui.widgets.message import AnswerView
from assistant.tui.widgets.prompt import PromptInput
from assistant.tui.widgets.sources import SourcesPanel
from assistant.tui.widgets.status import StatusBar
from assistant.view import marked_text
from tests.conftest import make_settings

ORCA = "Orca-Math: Unlocking the potential of SLMs in Grade School Math"
DISTILL = (
    "Distilling Step-by-Step! Outperforming Larger Language Models with Less Training Data and Smaller Model Sizes"
)


@pytest.fixture(autouse=True)
def _chat_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("PAPERS_CHAT_DIR", str(tmp_path / "chats"))


async def _ready(app, pilot) -> None:
    for _ in range(1200):
        if getattr(app.screen, "ready", False):
            return
        await pilot.pause(0.05)
    raise AssertionError("the chat screen never became ready")


async def _ask(app, pilot, question: str) -> AnswerView:
    prompt = app.screen.query_one(PromptInput)
    prompt.focus()
    prompt.text = question
    await pilot.press("enter")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    return list(app.screen.query(AnswerView))[-1]


def _sources(app) -> list[str]:
    return [str(opt.prompt) for opt in app.screen.query_one(OptionList).options]


def _run(coro):
    return asyncio.run(coro)


def test_question_answer_sources_and_abstract(corpus_settings):
    async def scenario():
        app = PapersApp(corpus_settings)
        async with app.run_test(size=(140, 45)) as pilot:
            await _ready(app, pilot)
            status = app.screen.query_one(StatusBar)
            assert "369 papers" in str(status.query_one("#papers").render())
            assert "extractive" in str(status.query_one("#mode").render())
            view = await _ask(
                app, pilot, "Which method uses LLM rationales to train smaller models that beat bigger ones?"
            )
            assert view.data and not view.data.abstained and "[1]" in view.text
            assert view.query_one(Markdown).source == marked_text(view.data)
            assert DISTILL in _sources(app)[0]
            # selecting the source opens its full abstract and metadata
            app.screen.query_one(OptionList).focus()
            await pilot.press("enter")
            await app.workers.wait_for_complete()  # the paper is read in a worker, off the event loop
            await pilot.pause()
            assert isinstance(app.screen, AbstractScreen)
            assert app.screen.paper["title"] == DISTILL
            assert "Distilling step-by-step" in app.screen.paper["abstract"]
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, AbstractScreen)

    _run(scenario())


def test_followup_offline_stays_on_the_paper_and_exports(corpus_settings, tmp_path):
    async def scenario():
        app = PapersApp(corpus_settings, export_dir=tmp_path / "out")
        async with app.run_test(size=(140, 45)) as pilot:
            await _ready(app, pilot)
            first = await _ask(app, pilot, "Tell me about Orca-Math and grade school math.")
            assert [c.title for c in first.data.citations][0] == ORCA
            second = await _ask(app, pilot, "How many parameters does it have?")
            assert [c.title for c in second.data.citations] == [ORCA]
            assert "7-billion" in second.text
            await pilot.press("ctrl+e")
            await pilot.pause()
        return app

    app = _run(scenario())
    exported = tmp_path / "out" / f"papers-chat-{app.conversation.id}.md"
    text = exported.read_text()
    assert "## Q: How many parameters does it have?" in text
    assert f"[1] {ORCA}" in text and "score " in text
    # the conversation was saved and can be listed and resumed
    listed = CliRunner().invoke(cli, ["chat", "--list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output)[0]["turns"] == 2
    resumed = chat.latest(corpus_settings)
    assert resumed.history() == ["Tell me about Orca-Math and grade school math.", "How many parameters does it have?"]


def test_resumed_conversation_is_shown_and_continues(corpus_settings):
    conversation = chat.Conversation()
    chat.ask(conversation, "Tell me about Orca-Math and grade school math.", corpus_settings)
    chat.save(conversation, corpus_settings)

    async def scenario():
        app = PapersApp(corpus_settings, chat.latest(corpus_settings))
        async with app.run_test(size=(140, 45)) as pilot:
            await _ready(app, pilot)
            views = list(app.screen.query(AnswerView))
            assert len(views) == 1 and ORCA in _sources(app)[0]
            view = await _ask(app, pilot, "How many parameters does it have?")
            assert view.data.citations[0].title == ORCA
            return app.screen.conversation

    assert len(_run(scenario()).turns) == 2


def test_followup_with_llm_is_condensed_and_streamed(corpus_settings, llm_server):
    def reply(body):
        prompt = body["messages"][-1]["content"]
        if "standalone" in prompt.lower():
            return "How many parameters does the Orca-Math model have?"
        return "Orca-Math is a **7-billion-parameter** model [1]."

    llm_server.reply = reply
    settings = corpus_settings.updated(llm={"base_url": llm_server.url, "api_key": "sk-test", "model": "tiny"})

    async def scenario():
        app = PapersApp(settings)
        async with app.run_test(size=(140, 45)) as pilot:
            await _ready(app, pilot)
            assert "LLM: tiny" in str(app.screen.query_one("#mode").render())
            await _ask(app, pilot, "Tell me about Orca-Math and grade school math.")
            view = await _ask(app, pilot, "How many parameters does it have?")
            assert view.data.standalone_question == "How many parameters does the Orca-Math model have?"
            assert view.data.citations[0].title == ORCA
            assert view.query_one(Markdown).source == "Orca-Math is a **7-billion-parameter** model [1]."

    _run(scenario())
    assert any(r.get("stream") for r in llm_server.requests)  # the answer was streamed


def test_llm_error_is_a_notification_not_a_crash(corpus_settings, llm_server):
    llm_server.status = 401
    settings = corpus_settings.updated(llm={"base_url": llm_server.url, "api_key": "sk-secret-123", "model": "m"})

    async def scenario():
        app = PapersApp(settings)
        async with app.run_test(size=(140, 45)) as pilot:
            await _ready(app, pilot)
            view = await _ask(app, pilot, "Which method uses LLM rationales to train smaller models?")
            messages = [n.message for n in app._notifications]
            assert view.data is None and view.has_class("-failed")
            assert any("key" in m.lower() and "fix:" in m for m in messages), messages
            assert not any("sk-secret-123" in m for m in messages)
            assert app.screen.conversation.turns == []
            # the app is still usable: the prompt takes the next question
            assert app.screen.query_one(PromptInput).text == ""

    _run(scenario())


def test_escape_cancels_a_running_answer(corpus_settings, llm_server):
    llm_server.reply = "word " * 200
    llm_server.piece_delay = 0.02
    settings = corpus_settings.updated(llm={"base_url": llm_server.url, "api_key": "k", "model": "m"})

    async def scenario():
        app = PapersApp(settings)
        async with app.run_test(size=(140, 45)) as pilot:
            await _ready(app, pilot)
            prompt = app.screen.query_one(PromptInput)
            prompt.text = "Which method uses LLM rationales to train smaller models?"
            await pilot.press("enter")
            view = list(app.screen.query(AnswerView))[-1]
            for _ in range(400):
                await pilot.pause(0.05)
                if view.text:
                    break
            assert view.text, "streaming never started"
            await pilot.press("escape")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "cancelled" in str(view.query_one(".answer-label").render())
            assert app.screen.conversation.turns == []
            assert len(view.text) < len(llm_server.reply)

    _run(scenario())


def test_prompt_history_new_chat_and_toggle(corpus_settings):
    async def scenario():
        app = PapersApp(corpus_settings)
        async with app.run_test(size=(140, 45)) as pilot:
            await _ready(app, pilot)
            await _ask(app, pilot, "Tell me about Orca-Math and grade school math.")
            prompt = app.screen.query_one(PromptInput)
            prompt.focus()
            await pilot.press("up")
            assert prompt.text == "Tell me about Orca-Math and grade school math."
            await pilot.press("down")
            assert prompt.text == ""
            await pilot.press("f2")
            assert prompt.multiline
            await pilot.press("a", "enter", "b")
            assert prompt.text == "a\nb"  # Enter is a new line in multi-line mode
            await pilot.press("ctrl+b")
            assert not app.screen.query_one(SourcesPanel).display
            await pilot.press("ctrl+y")
            assert "Orca-Math" in app.clipboard
            await pilot.press("ctrl+n")
            await pilot.pause()
            assert not list(app.screen.query(AnswerView)) and app.screen.conversation.turns == []

    _run(scenario())


def test_empty_store_without_corpus_shows_fix(tmp_path, monkeypatch):
    """A Chroma server that is not there: the app says so and how to fix it, and does not crash."""
    settings = make_settings(tmp_path / "s").updated(store={"chroma_url": "http://127.0.0.1:9"})

    async def scenario():
        app = PapersApp(settings)
        async with app.run_test(size=(140, 45)) as pilot:
            for _ in range(400):
                await pilot.pause(0.05)
                if app._notifications:
                    break
            messages = [n.message for n in app._notifications]
            assert any("127.0.0.1:9" in m and "fix:" in m for m in messages), messages

    _run(scenario())
