"""A small OpenAI-compatible HTTP server on 127.0.0.1 for tests: chat completions (streaming or not).

Behaviour is set per test: the reply text, an HTTP status to fail with, a delay. Every request body is
recorded so tests can check what the model was sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLLM:
    def __init__(self):
        self.reply: str | Callable[[dict], str] = "A reply [1]."
        self.status = 200  # an error status to answer with instead
        self.fail_times: int | None = None  # fail only the first N requests (for retry tests)
        self.delay = 0.0
        self.raw: bytes | None = None  # a malformed body to answer with (status 200)
        self.piece_delay = 0.0  # pause between streamed pieces (for cancel tests)
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeLLM:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):  # not an LLM route: recorded (to see what a client sent) and refused
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                self._send(404, {"error": {"message": "not found", "type": "error", "code": None}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append(body)
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                if fake.delay:
                    time.sleep(fake.delay)
                failing = fake.status != 200 and (fake.fail_times is None or len(fake.requests) <= fake.fail_times)
                if failing:
                    self._send(fake.status, {"error": {"message": "test failure", "type": "error", "code": None}})
                    return
                if fake.raw is not None:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(fake.raw)))
                    self.end_headers()
                    self.wfile.write(fake.raw)
                    return
                text = fake.reply(body) if callable(fake.reply) else fake.reply
                finish = "stop"
                words = text.split(" ")  # a "token" per word: a server stops at max_tokens, as real ones do
                if body.get("max_tokens") and len(words) > body["max_tokens"]:
                    text, finish = " ".join(words[: body["max_tokens"]]), "length"
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    first = {  # as OpenAI and llama.cpp do: the role comes first, without content
                        "id": "c1",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": body.get("model"),
                        "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}],
                    }
                    self.wfile.write(f"data: {json.dumps(first)}\n\n".encode())
                    for i in range(0, len(text), 3):  # small pieces, so markers are split across events
                        event = {
                            "id": "c1",
                            "object": "chat.completion.chunk",
                            "created": 0,
                            "model": body.get("model"),
                            "choices": [{"index": 0, "delta": {"content": text[i : i + 3]}, "finish_reason": None}],
                        }
                        self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                        self.wfile.flush()
                        time.sleep(fake.piece_delay)
                    last = {
                        "id": "c1",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": body.get("model"),
                        "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
                    }
                    self.wfile.write(f"data: {json.dumps(last)}\n\n".encode())
                    self.wfile.write(b"data: [DONE]\n\n")
                    return
                self._send(
                    200,
                    {
                        "id": "c1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model"),
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
