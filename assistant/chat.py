"""Conversations: turns with their answers, follow-up context, saving, reopening and Markdown export.

A conversation is what `papers chat` shows and `papers eval` replays for follow-up questions. Each turn
keeps the answer as the JSON-ready dict `Answer.to_dict()` gives, so a saved conversation reopens exactly
as it was shown. Files live in `<store>/conversations/<id>.json` (or PAPERS_CHAT_DIR).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.answer import EXTRACTIVE_LABEL, answer
from assistant.config import Settings
from assistant.errors import PapersError
from assistant.store import Store


@dataclass
class Turn:
    question: str
    answer: dict  # Answer.to_dict()
    asked_at: float = field(default_factory=time.time)

    @property
    def cited_ids(self) -> list[str]:
        return [c["paper_id"] for c in self.answer.get("citations", [])]


@dataclass
class Conversation:
    id: str = field(default_factory=lambda: time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6])
    turns: list[Turn] = field(default_factory=list)
    created: float = field(default_factory=time.time)

    @property
    def title(self) -> str:
        return self.turns[0].question if self.turns else "(empty)"

    def history(self) -> list[str]:
        """The earlier user turns, what a follow-up is condensed against."""
        return [t.question for t in self.turns]

    def context_papers(self) -> list[str]:
        """Paper ids cited by the last answer that cited any: what a follow-up is most likely about."""
        for turn in reversed(self.turns):
            if turn.cited_ids and not turn.answer.get("abstained"):
                return turn.cited_ids
        return []

    def to_dict(self) -> dict:
        return {"id": self.id, "created": self.created, "turns": [asdict(t) for t in self.turns]}

    @classmethod
    def from_dict(cls, data: dict) -> Conversation:
        turns = [Turn(t["question"], t["answer"], t.get("asked_at", 0.0)) for t in data.get("turns", [])]
        return cls(id=data["id"], turns=turns, created=data.get("created", 0.0))


def ask(
    conversation: Conversation,
    question: str,
    settings: Settings,
    *,
    store: Store | None = None,
    on_token: Callable[[str], None] | None = None,
) -> Turn:
    """Answer a question in a conversation (a follow-up uses the earlier turns) and record the turn."""
    result = answer(
        question,
        settings,
        store=store,
        history=conversation.history() or None,
        prefer=conversation.context_papers(),
        on_token=on_token,
    )
    turn = Turn(question, result.to_dict())
    conversation.turns.append(turn)
    return turn


# --- saving and reopening ----------------------------------------------------------------------------------


def chat_dir(settings: Settings) -> Path:
    custom = os.environ.get("PAPERS_CHAT_DIR")
    return Path(custom) if custom else settings.store.path / "conversations"


def save(conversation: Conversation, settings: Settings) -> Path:
    """Write the conversation atomically (a crash never leaves half a file)."""
    folder = chat_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{conversation.id}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(conversation.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)
    return path


def load(path: Path) -> Conversation:
    try:
        return Conversation.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PapersError(f"cannot read conversation {path}: {exc}", fix="delete or fix the file") from None


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
        data = turn.answer
        lines += [f"## Q: {turn.question}", ""]
        if data.get("standalone_question"):
            lines += [f"*Searched as:* {data['standalone_question']}", ""]
        if data.get("mode") == "extractive" and not data.get("abstained"):
            lines += [f"*{EXTRACTIVE_LABEL}*", ""]
        elif data.get("model"):
            lines += [f"*Answered by {data['model']}*", ""]
        lines += [data.get("answer", ""), ""]
        if data.get("abstained"):
            nearest = data.get("sources", [])
            if nearest:
                lines += ["Nearest papers (not cited):", ""]
                lines += [f"- [{s['n']}] {s['title']} (score {s['score']:.4f})" for s in nearest]
                lines.append("")
        elif data.get("citations"):
            lines += ["Sources:", ""]
            for c in data["citations"]:
                date = f" ({c['date']})" if c.get("date") else ""
                lines.append(f"- [{c['n']}] {c['title']}{date}, score {c['score']:.4f}")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def export(conversation: Conversation, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_markdown(conversation), encoding="utf-8")
    return path
