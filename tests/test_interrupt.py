"""Interrupted and concurrent ingest, with real subprocesses: kill -9, Ctrl-C (SIGINT), a second ingest."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from assistant.cli import app
from assistant.store import open_store
from tests.conftest import make_settings, write_jsonl

_WORDS = [
    "sparse",
    "attention",
    "kernel",
    "memory",
    "bandwidth",
    "quantised",
    "weights",
    "token",
    "routing",
    "expert",
    "layers",
    "gradient",
    "noise",
    "curriculum",
    "schedule",
    "retrieval",
    "index",
    "latency",
    "throughput",
    "benchmark",
    "protein",
    "graph",
    "molecule",
    "speech",
    "audio",
    "vision",
    "encoder",
    "decoder",
    "alignment",
    "reward",
    "preference",
    "dataset",
    "synthetic",
    "tabular",
    "forecasting",
]
PAPERS = 900


def _corpus(path: Path) -> Path:
    """Deterministic synthetic abstracts (seeded), three sentences each."""
    records = []
    for i in range(PAPERS):
        rng = random.Random(i)
        sentences = [" ".join(rng.choice(_WORDS) for _ in range(14)).capitalize() + "." for _ in range(3)]
        records.append(
            {"title": f"Synthetic study {i}: {' '.join(rng.sample(_WORDS, 3))}", "abstract": " ".join(sentences)}
        )
    return write_jsonl(path, records)


def _written(store: Path) -> int:
    db = store / "chroma" / "chroma.sqlite3"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            # chunk rows only (ids "paper:n"); the whole-paper vectors written first have no colon
            return max(
                conn.execute(f"select count(*) from {table} where {column} like '%:%'").fetchone()[0]
                for table, column in (("embeddings", "embedding_id"), ("embeddings_queue", "id"))
            )
    except sqlite3.Error:
        return 0


def _start(store: Path, corpus: Path) -> subprocess.Popen:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PAPERS_STORE": str(store)}
    return subprocess.Popen(
        [sys.executable, "-m", "assistant", "ingest", str(corpus)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_writes(proc: subprocess.Popen, store: Path) -> None:
    deadline = time.monotonic() + 180
    while _written(store) == 0:
        assert proc.poll() is None, f"ingest ended before it could be interrupted: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "ingest wrote nothing within 180 s"
        time.sleep(0.2)


def _check_complete(store: Path) -> None:
    """Every paper exactly once, with all its chunks; the BM25 index matches the collection."""
    import chromadb

    s = open_store(make_settings(store))
    # read the collection directly (not through Store), to see what is really on disk
    client = chromadb.PersistentClient(str(store / "chroma"), settings=chromadb.Settings(anonymized_telemetry=False))
    got = client.get_collection("papers").get(include=["metadatas"])
    chunks: dict[str, set[int]] = {}
    expected: dict[str, int] = {}
    for _cid, meta in zip(got["ids"], got["metadatas"], strict=True):
        chunks.setdefault(meta["paper_id"], set()).add(meta["chunk"])
        expected[meta["paper_id"]] = meta["n_chunks"]
    assert len(chunks) == PAPERS
    assert all(chunks[p] == set(range(expected[p])) for p in chunks)
    assert len(got["ids"]) == len(set(got["ids"]))
    assert not s.bm25_stale() and len(s.bm25().paper_ids) == PAPERS


def test_kill_9_mid_ingest_then_rerun_completes_with_each_paper_once(tmp_path):
    corpus, store = _corpus(tmp_path / "big.jsonl"), tmp_path / "store"
    proc = _start(store, corpus)
    _wait_for_writes(proc, store)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    result = CliRunner().invoke(app, ["--store", str(store), "ingest", "--json", str(corpus)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert 0 < report["present"] < PAPERS and report["present"] + report["new"] == PAPERS
    _check_complete(store)


def test_ctrl_c_says_how_far_it_got_and_a_second_ingest_is_refused(tmp_path):
    corpus, store = _corpus(tmp_path / "big.jsonl"), tmp_path / "store"
    proc = _start(store, corpus)
    _wait_for_writes(proc, store)
    second = CliRunner().invoke(app, ["--store", str(store), "ingest", str(corpus)])
    assert second.exit_code == 1
    assert f"another ingest (pid {proc.pid})" in second.output and "run this command again" in second.output
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Interrupted:" in stderr and "papers are in the store" in stderr and "Traceback" not in stderr
    rerun = CliRunner().invoke(app, ["--store", str(store), "ingest", str(corpus)])
    assert rerun.exit_code == 0, rerun.output
    assert "already present" in rerun.output
    _check_complete(store)
