"""The project's own error type: what went wrong and how to fix it, fit to show a user."""

from __future__ import annotations


class PapersError(Exception):
    """An error the user can act on. The CLI prints it without a traceback and exits with status 1."""

    def __init__(self, message: str, fix: str | None = None):
        self.message, self.fix = message, fix
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message
