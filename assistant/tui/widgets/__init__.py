"""The chat screen's widgets, one class per file."""
