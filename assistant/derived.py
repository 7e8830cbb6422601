"""The indexes derived from the Chroma collections (words.py, vectors.py): a folder of raw arrays that grow by
appending, the paper ids in ids.txt (one per line, in row order) and a state.json that says what they were
built from and how many rows of each file are committed.

Every array is row-aligned to its own paper order: per-paper arrays (sizes, whole) hold one row per paper,
the others hold each paper's rows at offsets[i]:offsets[i+1], with offsets the running sum of `sizes`.

Adding papers appends their rows to the files and then replaces state.json (written beside it, then renamed):
a reader sees the rows state.json counts and nothing past them, so an append cut short by a crash leaves the
index as it was, and the next append first cuts the files back to their committed length. Bytes written are in
proportion to the papers added, not to the index (adding 500 papers to 5,000 no longer rewrites the 5,000).
A file shorter than its committed rows (a damaged or truncated index) makes the index unusable (state() is
{}), and the store then rebuilds it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def lock(folder: Path):
    """The index's lock, held while it is written (re-entrant in a process: a caller holds it across reading
    what the index lacks and appending it, so two processes never append the same papers)."""
    from filelock import FileLock

    folder.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(folder.parent / f".{folder.name}.lock", is_singleton=True)


def _layout(arrays: dict[str, np.ndarray]) -> dict:
    return {name: {"dtype": str(a.dtype), "shape": list(a.shape)} for name, a in arrays.items()}


def _write_state(folder: Path, state: dict) -> None:
    tmp = folder / f"state.json.tmp{os.getpid()}"
    tmp.write_text(json.dumps(state))
    os.replace(tmp, folder / "state.json")


def save(folder: Path, arrays: dict[str, np.ndarray], paper_ids: list[str], state: dict) -> None:
    """Write the whole index afresh, atomically (a reader never sees half an index)."""
    with lock(folder):
        _save(folder, arrays, paper_ids, state)


def _save(folder: Path, arrays: dict[str, np.ndarray], paper_ids: list[str], state: dict) -> None:
    import numpy as np

    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, array in arrays.items():
        np.ascontiguousarray(array).tofile(tmp / f"{name}.bin")
    ids = "".join(f"{pid}\n" for pid in paper_ids).encode()
    (tmp / "ids.txt").write_bytes(ids)
    _write_state(tmp, {**state, "papers": len(paper_ids), "ids_bytes": len(ids), "arrays": _layout(arrays)})
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


def append(folder: Path, arrays: dict[str, np.ndarray], paper_ids: list[str], state: dict) -> None:
    """Add rows for more papers at the end of every array (the same names, dtypes and widths as saved), then
    commit them with the new state. Without a usable saved index, the rows are saved as a new one."""
    import numpy as np

    with lock(folder):
        current = _read_state(folder)
        if not current:
            _save(folder, arrays, paper_ids, state)
            return
        layout = current["arrays"]
        for name, array in arrays.items():
            saved = layout[name]
            if str(array.dtype) != saved["dtype"] or list(array.shape[1:]) != saved["shape"][1:]:
                raise ValueError(f"{name}: rows of {array.dtype} {array.shape[1:]} cannot extend {saved}")
            committed = int(np.prod(saved["shape"])) * np.dtype(saved["dtype"]).itemsize
            with (folder / f"{name}.bin").open("r+b") as f:
                f.truncate(committed)  # what an interrupted append left past the committed rows
                f.seek(committed)
                f.write(np.ascontiguousarray(array).tobytes())
                f.flush()
                os.fsync(f.fileno())
            saved["shape"][0] += len(array)
        ids = "".join(f"{pid}\n" for pid in paper_ids).encode()
        with (folder / "ids.txt").open("r+b") as f:
            f.truncate(current["ids_bytes"])
            f.seek(current["ids_bytes"])
            f.write(ids)
            f.flush()
            os.fsync(f.fileno())
        _write_state(
            folder,
            {
                **state,
                "papers": current["papers"] + len(paper_ids),
                "ids_bytes": current["ids_bytes"] + len(ids),
                "arrays": layout,
            },
        )


def _read_state(folder: Path) -> dict:
    """The committed state without the paper ids ({} when unusable): cheap, for checks made per batch."""
    import numpy as np

    try:
        saved = json.loads((folder / "state.json").read_text())
        if (folder / "ids.txt").stat().st_size < saved["ids_bytes"]:
            return {}
        for name, spec in saved["arrays"].items():
            size = int(np.prod(spec["shape"])) * np.dtype(spec["dtype"]).itemsize
            if (folder / f"{name}.bin").stat().st_size < size:
                return {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return saved if isinstance(saved, dict) else {}


def header(folder: Path) -> dict:
    """The saved state without its paper ids ({} when there is no usable index)."""
    return _read_state(folder)


def state(folder: Path) -> dict:
    """The saved state with its paper ids ({} when there is no usable index: missing, unreadable, from an
    older layout, or with a file shorter than its committed rows)."""
    saved = _read_state(folder)
    if not saved:
        return {}
    with contextlib.suppress(OSError, UnicodeDecodeError):
        with (folder / "ids.txt").open("rb") as f:
            ids = f.read(saved["ids_bytes"]).decode().split("\n")[:-1]
        if len(ids) == saved["papers"]:
            return {**saved, "paper_ids": ids}
    return {}


def array(folder: Path, name: str, saved: dict, mapped: bool = True) -> np.ndarray:
    """One saved array as committed in `saved` (state()), memory-mapped unless small: a query reads only the
    rows it needs."""
    import numpy as np

    spec = saved["arrays"][name]
    shape = tuple(spec["shape"])
    if not mapped or not shape[0]:
        return np.fromfile(folder / f"{name}.bin", dtype=spec["dtype"], count=int(np.prod(shape))).reshape(shape)
    return np.memmap(folder / f"{name}.bin", dtype=spec["dtype"], mode="r", shape=shape)


def offsets(sizes: np.ndarray) -> np.ndarray:
    """Row offsets of each paper from the papers' row counts: paper i owns rows offsets[i]:offsets[i+1]."""
    import numpy as np

    out = np.zeros(len(sizes) + 1, dtype="int64")
    np.cumsum(sizes, out=out[1:])
    return out


def rows(offsets: np.ndarray, row_of: dict[str, int], paper_ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The row numbers of these papers' rows, concatenated in their order, and each paper's number of rows
    (0 for a paper the index lacks)."""
    import numpy as np

    spans = [
        (int(offsets[r]), int(offsets[r + 1])) if (r := row_of.get(pid)) is not None else (0, 0) for pid in paper_ids
    ]
    numbers = np.concatenate([np.arange(a, b) for a, b in spans] + [np.zeros(0, dtype="int64")])
    return numbers, np.array([b - a for a, b in spans], dtype="int64")
