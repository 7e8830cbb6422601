"""`papers doctor`, and secrets: a run that touches every output never writes the API key or the token."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from assistant import chat
from assistant.cli import app
from tests.conftest import SMALL_CORPUS, make_settings, write_jsonl


def test_doctor_passes_on_a_good_store_and_names_what_to_fix(first_run, llm_server):
    store, _ = first_run
    runner = CliRunner()
    good = runner.invoke(app, ["--store", str(store), "doctor", "--json"])
    assert good.exit_code == 0, good.output
    checks = {c["name"]: c for c in json.loads(good.stdout)}
    assert all(c["ok"] for c in checks.values())
    assert "768 dimensions" in checks["embedding model"]["detail"] and "369 papers" in checks["store"]["detail"]
    assert "extractive" in checks["LLM"]["detail"]

    llm_server.status = 401
    env = {"PAPERS_LLM_BASE_URL": llm_server.url, "OPENAI_API_KEY": "sk-doctor-secret"}
    bad = runner.invoke(app, ["--store", str(store), "doctor"], env=env)
    assert bad.exit_code == 1
    assert "FAIL LLM: the LLM at" in bad.output and "rejected the API key" in bad.output
    assert "fix: set a valid key" in bad.output and "sk-doctor-secret" not in bad.output

    empty = runner.invoke(app, ["--store", str(Path(store).parent / "nothing"), "doctor"])
    assert empty.exit_code == 1 and "holds no collection" in empty.output and "papers ingest" in empty.output


def test_keys_and_tokens_never_appear_in_output_reports_exports_or_the_store(tmp_path, llm_server, monkeypatch):
    key, token = "sk-leakcheck-7f3a9e", "tok-leakcheck-1b2c4d"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("PAPERS_LLM_BASE_URL", llm_server.url)
    monkeypatch.setenv("PAPERS_CHAT_DIR", str(tmp_path / "chats"))
    monkeypatch.chdir(tmp_path)
    llm_server.reply = "Solar panels are checked with a thermal detector [1]."
    corpus = write_jsonl(tmp_path / "c.jsonl", SMALL_CORPUS)
    questions = write_jsonl(
        tmp_path / "q.jsonl",
        [
            {
                "id": "q1",
                "question": "How are cracked solar panels found?",
                "expected_titles": [SMALL_CORPUS[2]["title"]],
            }
        ],
    )
    runner = CliRunner()
    outputs = [
        runner.invoke(app, ["ingest", str(corpus)]),
        runner.invoke(app, ["ask", "How are cracked solar panels found?"]),
        runner.invoke(app, ["ask", "--json", "How are cracked solar panels found?"]),
        runner.invoke(app, ["search", "--json", "solar"]),
        runner.invoke(app, ["stats", "--json"]),
        runner.invoke(app, ["eval", str(questions), "--compare", "bm25", "--out", str(tmp_path / "reports")]),
        runner.invoke(app, ["doctor", "--json"]),
    ]
    settings = make_settings(tmp_path / "store", base_url=llm_server.url, api_key=key)
    conversation = chat.Conversation()
    chat.ask(conversation, "How are cracked solar panels found?", settings)
    chat.save(conversation, settings)
    chat.export(conversation, tmp_path / "export.md")
    assert [r.exit_code for r in outputs] == [0] * len(outputs), [r.output for r in outputs if r.exit_code]
    assert "[1] Solar Panel Defect Detection" in outputs[1].output
    llm_server.status = 401
    outputs.append(runner.invoke(app, ["ask", "How are cracked solar panels found?"]))
    assert outputs[-1].exit_code == 1 and "rejected the API key" in outputs[-1].output
    # the Chroma token goes to a "server" (the test server, which is no Chroma) and the failure is reported
    chroma = {"PAPERS_CHROMA_URL": llm_server.url.removesuffix("/v1"), "PAPERS_CHROMA_TOKEN": token}
    for command in (["ask", "How are cracked solar panels found?"], ["doctor"]):
        outputs.append(runner.invoke(app, command, env=chroma))
        assert outputs[-1].exit_code == 1 and "Chroma" in outputs[-1].output, outputs[-1].output

    for result in outputs:
        assert key not in result.output and token not in result.output
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".json" and "reports" in p.parts for p in written) and (tmp_path / "export.md").exists()
    for path in written:
        data = path.read_bytes()
        assert key.encode() not in data and token.encode() not in data, path
    assert llm_server.headers[0]["authorization"] == f"Bearer {key}"  # the key was really in use
    assert f"Bearer {token}" in [h.get("authorization") for h in llm_server.headers]  # and the token
