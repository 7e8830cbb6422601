"""Conversations: turns with their answers, follow-up condensing, saving, reopening and Markdown export.

A conversation is what `papers chat` shows and `papers eval` replays for follow-up questions. Each turn
keeps the typed Answer, saved as JSON and loaded back with `model_validate`, so a saved conversation reopens
exactly as it was shown. Files live in `<store>/conversations/<id>.json` (or PAPERS_CHAT_DIR).
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from assistant.answer import answer
from assistant.config import Settings
from assistant.errors import PapersError
from assistant.models import Answer
from assistant.store import Store
from assistant.view import answer_label, confidence_label, sources_view

_ANAPHORA = re.compile(
    r"\b(it|its|they|them|their|theirs|this|these|those|he|she|his|her|the same|above|previous|"
    r"the (paper|papers|model|models|method|approach|authors|study|work|dataset|benchmark|system))\b",
    re.IGNORECASE,
)
SHORT_QUESTION = 3  # words; a question this short leans on the conversation ("and the data?")
HISTORY_TURNS = 4  # earlier user turns the LLM sees when it rewrites a follow-up


def is_followup(question: str) -> bool:
    """Whether a question leans on the conversation: it refers back ("they", "this model") or is very short."""
    return bool(_ANAPHORA.search(question)) or len(question.split()) <= SHORT_QUESTION


def condense(question: str, history: list[str], settings: Settings) -> str:
    """A follow-up made standalone: rewritten by the LLM when there is one, else joined to the last turn.

    Offline, only a question that refers back is joined to the last turn; a new question stands alone.
    """
    if not history:
        return question
    if settings.llm.configured:
        from assistant.generate import rewrite_followup

        return rewrite_followup(question, history[-HISTORY_TURNS:], settings)
    return f"{history[-1]} {question}" if is_followup(question) else question


class Turn(BaseModel):
    question: str
    answer: Answer
    asked_at: float = Field(default_factory=time.time)


class Conversation(BaseModel):
    id: str = Field(default_factory=lambda: time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6])
    turns: list[Turn] = Field(default_factory=list)
    created: float = Field(default_factory=time.time)

    @property
    def title(self) -> str:
        return self.turns[0].question if self.turns else "(empty)"

    def history(self) -> list[str]:
        """The earlier user turns, what a follow-up is condensed against."""
        return [t.question for t in self.turns]

    def context_papers(self) -> list[str]:
        """Paper ids cited by the last answer that cited any: what a follow-up is most likely about."""
        for turn in reversed(self.turns):
            if turn.answer.cited_ids and not turn.answer.abstained:
                return turn.answer.cited_ids
        return []


def ask(
    conversation: Conversation,
    question: str,
    settings: Settings,
    *,
    store: Store | None = None,
    on_token: Callable[[str], None] | None = None,
) -> Turn:
    """Answer a question in a conversation (a follow-up uses the earlier turns) and record the turn."""
    started = time.perf_counter()
    standalone = condense(question, conversation.history(), settings)
    condensed = time.perf_counter() - started
    result = answer(
        question,
        settings,
        store=store,
        standalone=standalone if standalone != question else None,
        prefer=conversation.context_papers(),
        on_token=on_token,
    )
    result.timings["condense"] = condensed
    turn = Turn(question=question, answer=result)
    conversation.turns.append(turn)
    return turn


# --- saving and reopening ----------------------------------------------------------------------------------


def chat_dir(settings: Settings) -> Path:
    return settings.store.chat_dir or settings.store.path / "conversations"


def save(conversation: Conversation, settings: Settings) -> Path:
    """Write the conversation atomically (a crash never leaves half a file)."""
    folder = chat_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{conversation.id}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(conversation.model_dump_json(indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _legacy(data: dict) -> dict:
    """A conversation saved before answers were typed (each turn's answer was the --json dict): same fields,
    the text under "answer" and timings in ms."""
    for turn in data.get("turns", []):
        old = turn.get("answer", {})
        if isinstance(old, dict) and "answer" in old and "text" not in old:
            sources = [
                {**s, "relevance": s.get("relevance", 0.0), "chunks": [s.get("snippet", "")]}
                for s in old.get("sources", [])
            ]
            turn["answer"] = {
                **{k: v for k, v in old.items() if k in Answer.model_fields},
                "text": old["answer"],
                "sources": sources,
                "timings": {k.removesuffix("_ms"): v / 1000 for k, v in old.get("timings", {}).items()},
            }
    return data


def load(path: Path) -> Conversation:
    try:
        return Conversation.model_validate(_legacy(json.loads(path.read_text(encoding="utf-8"))))
    except (OSError, ValueError, ValidationError) as exc:
        reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise PapersError(f"cannot read conversation {path}: {reason}", fix="delete or fix the file") from None


def saved(settings: Settings) -> list[Path]:
    """Saved conversations, newest first."""
    folder = chat_dir(settings)
    files = folder.glob("*.json") if folder.exists() else []
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)


def latest(settings: Settings) -> Conversation | None:
    files = saved(settings)
    return load(files[0]) if files else None


# --- export ------------------------------------------------------------------------------------------------


def to_markdown(conversation: Conversation) -> str:
    """The conversation as Markdown: each question, its answer, and the cited sources with their scores."""
    lines = [f"# {conversation.title}", "", f"Conversation {conversation.id}", ""]
    for turn in conversation.turns:
        result = turn.answer
        lines += [f"## Q: {turn.question}", ""]
        if result.standalone_question:
            lines += [f"*Searched as:* {result.standalone_question}", ""]
        for label in (answer_label(result), confidence_label(result)):
            if label:
                lines += [f"*{label}*", ""]
        lines += [result.text, ""]
        view = sources_view(result)
        if view.entries:
            lines += [f"{view.heading}:", ""]
            for e in view.entries:
                if result.abstained:
                    lines.append(f"- [{e.n}] {e.title} (score {e.score:.4f})")
                else:
                    date = f" ({e.date})" if e.date else ""
                    lines.append(f"- [{e.n}] {e.title}{date}, score {e.score:.4f}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def export(conversation: Conversation, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_markdown(conversation), encoding="utf-8")
    return path
