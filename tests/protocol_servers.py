"""Small real HTTP servers on 127.0.0.1 that speak the documented streaming protocols of the
llama.cpp server's `/infill` and Ollama's `/api/generate`, and record what they were sent.

The real binaries cannot be installed here, so these stand in for them in the tests: a real
socket, real HTTP/1.1 with chunked streaming and keep-alive, the documented request and answer
formats (llama.cpp: server-sent events `data: {"content", "stop", "completion_probabilities"}`;
Ollama: JSON lines `{"response", "done", "logprobs"}`), the documented errors (401 for a wrong
API key, 404 for an unknown model, 400 "does not support insert"). What they answer is canned
per test, so tests assert exactly what Ghostwright sent and did with the answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], list[str]]
"""The pieces (tokens) to stream for a request body."""


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ProtocolServer:
    """One server; `protocol` is "llamacpp" or "ollama"."""

    protocol: str
    reply: Reply = lambda body: ["1"]
    token: str | None = None
    """When set, requests must carry `Authorization: Bearer <token>`."""
    models: tuple[str, ...] = ("qwen2.5-coder:1.5b",)
    insert: bool = True
    """Ollama: whether the model's template supports a suffix."""
    delay_s: float = 0.0
    """Pause before each streamed piece."""
    endless: bool = False
    """Stream the reply's pieces over and over until the client goes away."""
    requests: list[Recorded] = field(default_factory=list)
    disconnected: threading.Event = field(default_factory=threading.Event)
    """Set when a client went away in the middle of a stream (a write failed)."""
    streams_started: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def __post_init__(self) -> None:
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def completions(self) -> list[Recorded]:
        path = "/infill" if self.protocol == "llamacpp" else "/api/generate"
        return [r for r in self.requests if r.path == path]

    def start(self) -> ProtocolServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self, "GET")

            def do_POST(self) -> None:
                server._handle(self, "POST")

        self._httpd = _Server(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    # -- the protocols ------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else {}
        headers = {k.lower(): v for k, v in handler.headers.items()}
        self.requests.append(Recorded(method, handler.path, headers, body))
        if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
            if self.protocol == "llamacpp":
                error: Any = {"code": 401, "message": "Invalid API Key", "type": "auth"}
            else:
                error = "unauthorized"
            return _json(handler, 401, {"error": error})
        if self.protocol == "llamacpp":
            if method == "GET" and handler.path in ("/health", "/v1/models", "/models"):
                return _json(handler, 200, {"status": "ok", "data": [{"id": "model.gguf"}]})
            if method == "POST" and handler.path == "/infill":
                return self._stream(handler, body, body.get("n_predict", -1), _infill_line)
        else:
            if method == "GET" and handler.path == "/api/tags":
                return _json(
                    handler, 200, {"models": [{"name": m, "model": m} for m in self.models]}
                )
            if method == "POST" and handler.path == "/api/generate":
                name = body.get("model")
                if name not in self.models and f"{name}:latest" not in self.models:
                    return _json(handler, 404, {"error": f"model '{name}' not found"})
                if "suffix" in body and not self.insert:
                    message = f"registry.ollama.ai/library/{name} does not support insert"
                    return _json(handler, 400, {"error": message})
                limit = (body.get("options") or {}).get("num_predict", -1)
                return self._stream(handler, body, limit, _ollama_line)
        return _json(handler, 404, {"error": f"no {method} {handler.path}"})

    def _stream(
        self,
        handler: BaseHTTPRequestHandler,
        body: dict[str, Any],
        limit: int,
        line: Callable[[str, int, bool], str],
    ) -> None:
        pieces = self.reply(body)
        handler.send_response(200)
        content = "text/event-stream" if self.protocol == "llamacpp" else "application/x-ndjson"
        handler.send_header("Content-Type", content)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        self.streams_started.set()
        sent = 0
        try:
            while True:
                for piece in pieces:
                    if 0 <= limit <= sent:
                        break
                    if self.delay_s:
                        time.sleep(self.delay_s)
                    _chunk(handler, line(piece, sent, False))
                    sent += 1
                else:
                    if self.endless:
                        continue
                _chunk(handler, line("", sent, True))
                _chunk(handler, "")
                return
        except (BrokenPipeError, ConnectionResetError):
            self.disconnected.set()
            handler.close_connection = True


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients going away mid-answer are what the tests provoke: not worth a traceback."""


def _infill_line(piece: str, index: int, last: bool) -> str:
    if last:
        data: dict[str, Any] = {
            "content": "",
            "stop": True,
            "stop_type": "eos",
            "tokens_evaluated": 120,
            "tokens_cached": 100 + index,
            "timings": {"prompt_n": 20, "cache_n": 100, "predicted_n": index},
        }
    else:
        probability = {"id": index, "token": piece, "logprob": -0.25, "bytes": list(piece.encode())}
        data = {
            "content": piece,
            "stop": False,
            "completion_probabilities": [{**probability, "top_logprobs": [probability]}],
        }
    return f"data: {json.dumps(data)}\n\n"


def _ollama_line(piece: str, index: int, last: bool) -> str:
    data: dict[str, Any] = {"model": "m", "created_at": "2025-06-15T15:06:40Z"}
    if last:
        data.update(response="", done=True, done_reason="stop", prompt_eval_count=42)
        data["eval_count"] = index
    else:
        data.update(response=piece, done=False)
        data["logprobs"] = [{"token": piece, "logprob": -0.5, "top_logprobs": []}]
    return json.dumps(data) + "\n"


def _chunk(handler: BaseHTTPRequestHandler, text: str) -> None:
    data = text.encode("utf-8")
    handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    handler.wfile.flush()


def _json(handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
    data = json.dumps(payload).encode("utf-8")
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
