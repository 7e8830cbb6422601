"""The indexes derived from the Chroma collections (tokens.py, vectors.py): each a folder of numpy arrays and
a state.json that says what they were built from, with each paper's rows at offsets[i]:offsets[i+1]."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def save(folder: Path, arrays: dict[str, np.ndarray], state: dict) -> None:
    """Write the folder atomically: a reader never sees half an index. When another process saves the same
    index at the same moment, the first to finish stays (both were built from the same collection)."""
    import numpy as np

    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, array in arrays.items():
        np.save(tmp / f"{name}.npy", array)
    (tmp / "state.json").write_text(json.dumps(state))
    shutil.rmtree(folder, ignore_errors=True)
    try:
        os.replace(tmp, folder)
    except OSError:  # the folder was written again between the two calls
        shutil.rmtree(tmp, ignore_errors=True)


def state(folder: Path) -> dict:
    """The saved state ({} when there is no usable index: missing, unreadable, or without its paper ids)."""
    try:
        saved = json.loads((folder / "state.json").read_text())
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) and "paper_ids" in saved else {}


def array(folder: Path, name: str, mapped: bool = True) -> np.ndarray:
    """One saved array, memory-mapped unless small: a query reads only the rows it needs."""
    import numpy as np

    return np.load(folder / f"{name}.npy", mmap_mode="r" if mapped else None)


def rows(offsets: np.ndarray, row_of: dict[str, int], paper_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The row numbers of these papers' rows, concatenated in their order, and each paper's number of rows
    (0 for a paper the index lacks)."""
    import numpy as np

    spans = [
        (int(offsets[r]), int(offsets[r + 1])) if (r := row_of.get(pid)) is not None else (0, 0) for pid in paper_ids
    ]
    numbers = np.concatenate([np.arange(a, b) for a, b in spans] + [np.zeros(0, dtype="int64")])
    return numbers, np.array([b - a for a, b in spans], dtype="int64")
