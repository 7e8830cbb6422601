"""papers: a research assistant for the terminal over paper abstracts."""

__version__ = "0.1.0"
