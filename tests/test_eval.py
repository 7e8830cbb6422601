"""`papers eval` end to end on a small question set, with a baseline and thresholds."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from assistant.cli import app
from tests.conftest import write_jsonl

QUESTIONS = [
    {
        "id": "q1",
        "kind": "lookup",
        "question": "Which paper turns hypergraph neural networks into plain MLPs for much faster inference?",
        "expected_titles": ["LightHGNN: Distilling Hypergraph Neural Networks into MLPs for 100times Faster Inference"],
    },
    {
        "id": "q2",
        "kind": "fact",
        "question": "How large is the Prithvi WxC weather foundation model?",
        "expected_titles": ["Prithvi WxC: Foundation Model for Weather and Climate"],
        "answer_contains": ["2.3 billion"],
    },
    {
        "id": "q3",
        "kind": "unanswerable",
        "question": "What accuracy does AlphaFold 3 reach on protein-ligand docking?",
        "expected_titles": [],
    },
]


def test_eval_scores_ours_and_a_baseline_and_writes_reports(first_run, tmp_path):
    store, _ = first_run
    questions = write_jsonl(tmp_path / "q.jsonl", QUESTIONS)
    out = tmp_path / "reports"
    result = CliRunner().invoke(
        app, ["--store", str(store), "eval", str(questions), "--compare", "bm25", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["papers"]["hit@1"] == 1.0 and summary["papers"]["caught"] == 1.0  # refused, or labelled low
    assert summary["papers"]["answer_accuracy"] == 1.0 and summary["papers"]["citation_precision"] == 1.0
    assert "hit@1" in summary["bm25"] and "citation_precision" not in summary["bm25"]
    report = json.loads(next(out.glob("*.json")).read_text())
    assert report["configuration"]["retrieval"]["top_k"] == 5
    assert [r["id"] for r in report["systems"]["papers"]["rows"]] == ["q1", "q2", "q3"]
    assert "| hit@1 |" in next(out.glob("*.md")).read_text()


def test_eval_fails_when_a_threshold_is_missed(first_run, tmp_path):
    store, _ = first_run
    questions = write_jsonl(tmp_path / "q.jsonl", QUESTIONS[2:])
    result = CliRunner().invoke(
        app, ["--store", str(store), "eval", str(questions), "--out", str(tmp_path), "--min-hit1", "0.5"]
    )
    assert result.exit_code == 1 and "thresholds missed: hit@1" in result.stderr


def test_bad_question_line_is_named(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps(QUESTIONS[0]) + "\n" + json.dumps({"id": "x"}) + "\n")
    result = CliRunner().invoke(app, ["--store", str(tmp_path / "s"), "eval", str(path)])
    assert result.exit_code == 1 and f"{path}:2: question: Field required" in result.stderr
