"""The command line through typer's CliRunner: exit codes, what is printed, what is stored."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from tests.conftest import SMALL_CORPUS, write_jsonl

runner = CliRunner()


def test_first_ask_on_empty_store_ingests_bundled_corpus_then_answers(first_run):
    store, result = first_run
    assert result.exit_code == 0, result.output
    assert "First run: ingested the bundled sample corpus" in result.stderr
    assert "369 new papers" in result.stderr and "16 duplicates" in result.stderr
    data = json.loads(result.stdout)
    assert data["mode"] == "extractive" and data["abstained"] is False
    assert data["citations"][0]["title"].startswith("Distilling Step-by-Step!")
    assert {c["title"] for c in data["citations"]} <= {s["title"] for s in data["sources"]}
    assert set(data["timings"]) >= {"retrieve_ms", "answer_ms"}  # the keys scripts read (README, --json)
    assert (store / "chroma").is_dir() and (store / "bm25").is_dir()


def test_ask_prints_extractive_label_answer_and_sources(first_run):
    store, _ = first_run
    result = runner.invoke(app, ["--store", str(store), "ask", "Which architecture treats model parameters as tokens?"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Extractive answer (no LLM configured)")
    answer_part, sources = out.split("Sources:")
    assert "[1]" in answer_part
    assert "[1] TokenFormer: Rethinking Transformer Scaling with Tokenized Model Parameters" in sources


def test_ask_off_topic_abstains_with_nearest_titles(first_run):
    store, _ = first_run
    result = runner.invoke(app, ["--store", str(store), "ask", "How do I repot an orchid after it blooms?"])
    assert result.exit_code == 0
    assert "The indexed papers don't answer this." in result.stdout
    assert "Nearest papers (not cited):" in result.stdout and "Sources:" not in result.stdout


def test_search_json_lists_ranked_papers(first_run):
    store, _ = first_run
    result = runner.invoke(app, ["--store", str(store), "search", "model merging interference", "-k", "3", "--json"])
    assert result.exit_code == 0
    results = json.loads(result.stdout)["results"]
    assert [r["n"] for r in results] == [1, 2, 3]
    assert any("Merging" in r["title"] for r in results) and all(r["snippet"] for r in results)


def test_stats_reports_papers_chunks_and_model(first_run):
    store, _ = first_run
    result = runner.invoke(app, ["--store", str(store), "stats", "--json"])
    data = json.loads(result.stdout)
    assert data["papers"] == 369 and data["chunks"] > 369 and data["embedding_model"] == "all-mpnet-base-v2-int8-pc"


def test_ingest_reports_bad_files_keeps_good_ones_and_exits_1(tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", SMALL_CORPUS)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "x"\n')
    store = tmp_path / "store"
    result = runner.invoke(app, ["--store", str(store), "ingest", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:1: not valid JSON" in result.stderr
    assert "2 files read: 3 new papers" in result.stderr
    again = runner.invoke(app, ["--store", str(store), "ingest", str(good), "--json"])
    assert again.exit_code == 0 and json.loads(again.stdout)["present"] == 3


def test_bad_format_and_bad_date_are_usage_errors(tmp_path):
    assert runner.invoke(app, ["ingest", "--format", "pdf"]).exit_code == 2
    assert runner.invoke(app, ["ask", "q", "--since", "last week"]).exit_code == 2


def test_an_empty_question_is_a_usage_error():
    for command in (["ask", ""], ["ask", "   "], ["search", " "]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2 and "is empty" in result.output


def test_a_bad_setting_names_the_variable_and_what_it_takes():
    for value in ("abc", "0"):
        result = runner.invoke(app, ["stats"], env={"PAPERS_CHUNK_SIZE": value})
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert f"invalid setting PAPERS_CHUNK_SIZE='{value}'" in result.stderr and "Chunk size" in result.stderr


def test_an_input_without_papers_into_a_new_store_is_reported_not_a_traceback(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = runner.invoke(
        app, ["--store", str(tmp_path / "store"), "ingest", str(empty), str(tmp_path / "typo.jsonl")]
    )
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and "0 new papers" in result.stderr
    assert "empty.jsonl" in result.stderr and "typo.jsonl" in result.stderr


def test_a_damaged_store_says_so_and_rebuild_recovers_it_keeping_a_backup(tmp_path):
    store = tmp_path / "store"
    good = write_jsonl(tmp_path / "good.jsonl", SMALL_CORPUS)
    assert runner.invoke(app, ["--store", str(store), "ingest", str(good)]).exit_code == 0
    db = store / "chroma" / "chroma.sqlite3"
    with db.open("r+b") as f:  # a truncated database, as a full disk or a killed copy leaves it
        f.truncate(db.stat().st_size // 3)
    for command in (["search", "solar panels"], ["chat"]):
        result = runner.invoke(app, ["--store", str(store), *command])
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert f"the store at {store} is damaged" in result.stderr and "papers ingest --rebuild" in result.stderr
        assert "Chroma server" not in result.stderr
    rebuilt = runner.invoke(app, ["--store", str(store), "ingest", "--rebuild", str(good)])
    assert rebuilt.exit_code == 0, rebuilt.output
    [backup] = list(store.glob("backup-*"))
    assert (backup / "chroma" / "chroma.sqlite3").exists() and str(backup) in rebuilt.stderr
    assert runner.invoke(app, ["--store", str(store), "search", "solar panels"]).exit_code == 0


def test_a_store_path_that_is_a_file_is_named_not_a_traceback(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a store")
    for command in (["search", "x"], ["stats"], ["chat"]):
        result = runner.invoke(app, ["--store", str(path), *command])
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert f"the store path {path} is a file, not a folder" in result.stderr


def _as_user_without_overrides(command: list[str]) -> list[str]:
    """Root reads and writes through any file mode: drop the capabilities that let it, as a user has none."""
    if os.geteuid() != 0:
        return command
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: file modes cannot be enforced")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", *command]


def test_a_read_only_store_names_the_cause_and_the_fix_not_a_server(tmp_path):
    store = tmp_path / "store"
    good = write_jsonl(tmp_path / "good.jsonl", SMALL_CORPUS)
    assert runner.invoke(app, ["--store", str(store), "ingest", str(good)]).exit_code == 0
    folders = [store, *[p for p in store.rglob("*") if p.is_dir()]]
    files = [p for p in store.rglob("*") if p.is_file()]
    for path in files + folders:  # as a store on a read-only share or copied from someone else looks
        path.chmod(path.stat().st_mode & 0o555)
    try:
        for command in (["search", "solar panels"], ["ask", "solar panels"]):
            args = [sys.executable, "-m", "assistant", "--store", str(store), *command]
            result = subprocess.run(_as_user_without_overrides(args), capture_output=True, text=True, timeout=300)
            assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
            assert f"the store at {store} cannot be written" in result.stderr
            assert f"make {store} writable" in result.stderr and "Chroma server" not in result.stderr
    finally:
        for path in folders + files:
            path.chmod(path.stat().st_mode | 0o200)


def test_impossible_dates_are_usage_errors_and_undated_papers_are_counted(first_run):
    store, _ = first_run
    assert runner.invoke(app, ["search", "q", "--since", "2024-13-45"]).exit_code == 2
    result = runner.invoke(app, ["--store", str(store), "search", "language models", "--since", "2020-01-01"])
    assert result.exit_code == 0 and "papers have no known date and are left out" in result.stderr


def test_ingest_says_once_which_file_was_read_as_windows_1252_naming_it_exactly(tmp_path):
    excel = tmp_path / "papers [draft].csv"  # brackets that rich would take for markup
    excel.write_bytes(
        "title,abstract\n"
        "Café Routing,Routing Wi-Fi traffic in crowded cafés with a learned scheduler cuts latency by half.\n".encode(
            "cp1252"
        )
    )
    broken = tmp_path / "notes [v2].jsonl"
    broken.write_text('{"title": "x"\n')
    store = str(tmp_path / "store")
    result = runner.invoke(app, ["--store", store, "ingest", str(excel), str(excel), str(broken)])
    assert result.exit_code == 1, result.output
    note = f"{excel}:2: not UTF-8: read as Windows-1252"
    assert f"note: {note}" in result.stderr and result.stderr.count("read as Windows-1252") == 1
    assert "save the file as UTF-8" in result.stderr
    assert f"skipped: {broken}:1: not valid JSON" in result.stderr
    as_json = runner.invoke(app, ["--store", store, "ingest", "--json", str(excel)])
    assert as_json.exit_code == 0, as_json.output
    [only] = json.loads(as_json.stdout)["notes"]
    assert only.startswith(note)
