"""`papers chat`: the Textual app."""

from assistant.tui.app import PapersApp

__all__ = ["PapersApp"]
