"""Server mode: every command against a real `chroma run` on 127.0.0.1, started and stopped here."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from tests.conftest import SMALL_CORPUS, write_jsonl


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    chroma = Path(sys.executable).parent / "chroma"
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = open(data / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError((data / "server.log").read_text()) from None
                time.sleep(0.1)
        else:
            raise RuntimeError("chroma run did not answer within 30 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_ingest_ask_search_and_stats_through_a_chroma_server(chroma_server, tmp_path):
    runner = CliRunner()
    corpus = write_jsonl(tmp_path / "small.jsonl", SMALL_CORPUS)
    base = ["--chroma-url", chroma_server, "--store", str(tmp_path / "local")]
    first = runner.invoke(app, [*base, "ingest", str(corpus)])
    assert first.exit_code == 0, first.output
    assert "3 new papers" in first.output
    again = runner.invoke(app, [*base, "ingest", str(corpus)])
    assert "0 new papers, 3 already present" in again.output
    asked = runner.invoke(app, [*base, "ask", "--json", "How do you find cracked solar panels from drones?"])
    assert asked.exit_code == 0, asked.output
    data = json.loads(asked.stdout)
    assert data["citations"][0]["title"] == "Solar Panel Defect Detection from Drone Imagery"
    stats = json.loads(runner.invoke(app, [*base, "stats", "--json"]).stdout)
    assert stats["store"] == chroma_server and stats["papers"] == 3 and stats["chunks"] >= 3
    # nothing but the BM25 side index is written locally; the vectors live on the server
    local = tmp_path / "local"
    assert not (local / "chroma").exists()
    assert list((local / "bm25").iterdir())[0].name.startswith("127.0.0.1_")


def test_bm25_follows_papers_added_by_another_client(chroma_server, tmp_path):
    """A teammate ingests into the shared collection: our BM25 index notices the new count and rebuilds."""
    runner = CliRunner()
    base = ["--chroma-url", chroma_server]
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    extra = [
        {
            "title": "Tidal Energy Forecasting with Graph Transformers",
            "abstract": "We forecast tidal "
            "currents at 40 turbine sites with a graph transformer trained on ten years of buoy data.",
        }
    ]
    runner.invoke(app, [*base, "--store", str(mine), "search", "solar"])  # builds our BM25 index
    added = runner.invoke(app, [*base, "--store", str(theirs), "ingest", str(write_jsonl(tmp_path / "x.jsonl", extra))])
    assert added.exit_code == 0, added.output
    found = runner.invoke(app, [*base, "--store", str(mine), "search", "--json", "tidal current forecasting buoy"])
    titles = [r["title"] for r in json.loads(found.stdout)["results"]]
    assert titles[0] == "Tidal Energy Forecasting with Graph Transformers"


def test_unreachable_server_names_the_url_and_the_fix(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}"
    result = CliRunner().invoke(app, ["--chroma-url", url, "stats"])
    assert result.exit_code == 1
    assert url in result.output and "chroma run" in result.output
    assert "Traceback" not in result.output


def test_auth_token_is_sent_and_a_rejected_token_is_not_printed(tmp_path, monkeypatch):
    seen: list[str] = []

    class Deny(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            seen.append(self.headers.get("Authorization", ""))
            body = b'{"error":"Unauthorized","message":"bad token"}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Deny)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("PAPERS_CHROMA_TOKEN", "tok-very-secret")
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = CliRunner().invoke(app, ["--chroma-url", url, "stats"])
    finally:
        server.shutdown()
    assert "Bearer tok-very-secret" in seen
    assert result.exit_code == 1 and "token" in result.output.lower()
    assert "tok-very-secret" not in result.output


def test_doctor_checks_the_chroma_server(chroma_server, tmp_path):
    result = CliRunner().invoke(app, ["--chroma-url", chroma_server, "--store", str(tmp_path), "doctor", "--json"])
    checks = {c["name"]: c for c in json.loads(result.stdout)}
    assert checks["Chroma server"]["ok"] and chroma_server in checks["Chroma server"]["detail"]
    down = CliRunner().invoke(app, ["--chroma-url", f"http://127.0.0.1:{_free_port()}", "doctor", "--json"])
    assert down.exit_code == 1
    failed = {c["name"]: c for c in json.loads(down.stdout)}
    assert not failed["Chroma server"]["ok"] and "chroma run" in failed["Chroma server"]["fix"]
