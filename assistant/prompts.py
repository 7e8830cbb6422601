"""Prompt templates: shipped with the package (prompt_templates/), overridable file by file from the folder in
PAPERS_PROMPTS, checked at load time, filled safely.

Templates use Python's format syntax: `{question}` is a placeholder, `{{` and `}}` are literal braces. The
placeholders are read with the standard library's format parser, so a template that loses one, or names
one the code does not fill, is rejected with the file named; filling never expands a placeholder that
appears inside a value (a question that contains "{context}" stays as typed).
"""

from __future__ import annotations

import string
from pathlib import Path

from assistant.config import BUNDLED_PROMPTS
from assistant.errors import PapersError

PLACEHOLDERS = {
    "system.md": {"cannot_answer"},
    "answer.md": {"question", "context"},
    "condense.md": {"history", "question"},
}


def _fields(path: Path, text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:  # a lone "{" or "}"
        raise PapersError(
            f"prompt template {path} is not a valid template: {exc}", fix="write literal braces as {{ and }}"
        ) from None


def prompt_path(folder: Path | None, name: str) -> Path:
    """The user's template when their folder has one, else the one shipped with the package."""
    if folder is not None and (folder / name).exists():
        return folder / name
    return BUNDLED_PROMPTS / name


def load_prompt(folder: Path | None, name: str) -> str:
    """A prompt template (the user's folder first, see prompt_path); its placeholders are checked so a broken
    edit names the file at fault."""
    path = prompt_path(folder, name)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PapersError(
            f"cannot read prompt template {path}: {exc.strerror}",
            fix="fix its permissions, or delete it to use the shipped one",
        ) from exc
    found = _fields(path, text)
    needed = PLACEHOLDERS.get(name, set())
    if needed - found:
        missing = ", ".join("{" + p + "}" for p in sorted(needed - found))
        raise PapersError(f"prompt template {path} lacks {missing}", fix=f"put {missing} back into {path}")
    if found - needed:
        unknown = ", ".join("{" + p + "}" for p in sorted(found - needed))
        raise PapersError(
            f"prompt template {path} has unknown placeholder {unknown}",
            fix=f"use only {', '.join('{' + p + '}' for p in sorted(needed)) or 'no placeholders'}",
        )
    return text


def fill(template: str, **values: str) -> str:
    """The template with its placeholders replaced (values are inserted as they are, never re-expanded)."""
    return template.format_map(values)
