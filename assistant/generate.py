"""Generated answers: the prompt built from prompts/ and the retrieved abstracts, the model's text streamed
through the citation check.

Abstracts go into the prompt between <source> tags as untrusted data; the system prompt says so, and a
closing tag inside an abstract is defused so a paper cannot end its own source block.
"""

from __future__ import annotations

from collections.abc import Callable

from assistant.citations import CitationStream, clean_markers
from assistant.config import Settings
from assistant.llm import ChatModel
from assistant.models import CANNOT_ANSWER, Hit
from assistant.prompts import fill, load_prompt


def context(hits: list[Hit]) -> str:
    """The sources block of the prompt, numbered as the answer must cite them."""
    blocks = []
    for n, hit in enumerate(hits, start=1):
        abstract = (hit.abstract or " ".join(hit.chunks)).replace("</source", "</ source")
        title = hit.title.replace('"', "'")
        date = f' date="{hit.date}"' if hit.date else ""
        blocks.append(f'<source n="{n}" title="{title}"{date}>\n{abstract}\n</source>')
    return "\n\n".join(blocks)


def messages(question: str, hits: list[Hit], settings: Settings) -> list[dict]:
    folder = settings.llm.prompts_dir
    return [
        {"role": "system", "content": fill(load_prompt(folder, "system.md"), cannot_answer=CANNOT_ANSWER)},
        {"role": "user", "content": fill(load_prompt(folder, "answer.md"), question=question, context=context(hits))},
    ]


def generate(
    question: str, hits: list[Hit], settings: Settings, on_token: Callable[[str], None] | None = None
) -> tuple[str, list[str], bool]:
    """The model's answer with invalid markers removed, the markers removed, and whether the model stopped at
    PAPERS_LLM_MAX_TOKENS (the answer is cut off).

    Streams (through on_token) when a callback is given. An empty answer is returned as it is: answer.py
    replaces it (with any other degenerate answer) by the extractive one.
    """
    model = ChatModel(settings.llm)
    prompt = messages(question, hits, settings)
    stream = CitationStream(len(hits))
    if on_token:
        parts = []
        for piece in model.stream(prompt):
            cleaned = stream.feed(piece)
            parts.append(cleaned)
            if cleaned:
                on_token(cleaned)
        tail = stream.finish()
        parts.append(tail)
        if tail:
            on_token(tail)
        text = "".join(parts)
    else:
        text = clean_markers(model.complete(prompt), len(hits), stream.removed)
    return text.strip(), stream.removed, model.cut_off


def rewrite_followup(question: str, history: list[str], settings: Settings) -> str:
    """A follow-up rewritten by the LLM into a standalone question (its first line; the question itself
    when the model returns nothing)."""
    prompt = fill(
        load_prompt(settings.llm.prompts_dir, "condense.md"),
        history="\n".join(f"User: {turn}" for turn in history[-4:]),
        question=question,
    )
    rewritten = ChatModel(settings.llm).complete([{"role": "user", "content": prompt}]).strip()
    return rewritten.splitlines()[0].strip() if rewritten else question
