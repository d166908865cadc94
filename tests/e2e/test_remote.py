"""End to end through the HTTP backends: the real server (`ghostwright serve`) configured by
environment for each backend, driven by a real LSP client.

- OpenAI-compatible: a real `llama_cpp.server` (llama-cpp-python's server extra) with the
  default model on 127.0.0.1.
- llama.cpp `/infill` and Ollama: the real binaries cannot be installed here; small real HTTP
  servers speaking their documented streaming protocols stand in (`tests/protocol_servers.py`)
  and record what Ghostwright sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from lsprotocol import types

from tests.conftest import EXAMPLES
from tests.e2e.test_server import (
    FUNCTION_START,
    Session,
    edit_at,
    inline_completion,
    lsp_session,
    open_document,
    wait_for_state,
)
from tests.protocol_servers import ProtocolServer

START_TIMEOUT_S = 120
SLOW_SERVER = {"GHOSTWRIGHT_BACKEND_TIMEOUT_MS": "60000"}
"""llama_cpp.server on this shared 2-core CPU machine can take seconds to a first token."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class LlamaServer:
    """A running `python -m llama_cpp.server` and its output."""

    url: str
    log: Path
    process: subprocess.Popen[bytes]

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def completions(self) -> int:
        return self.output().count('"POST /v1/completions HTTP/1.1" 200')


@pytest.fixture(scope="module")
def llama_server(
    default_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    """llama-cpp-python's OpenAI-compatible server with the default model, on loopback."""
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(default_model_path),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    server = LlamaServer(f"http://127.0.0.1:{port}", log, process)
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            assert process.poll() is None, f"llama_cpp.server exited:\n{server.output()}"
            try:
                if httpx.get(f"{server.url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "llama_cpp.server did not start"
            time.sleep(0.2)
        # Its first completion allocates the logits of the whole context (logits_all, which
        # its log-probabilities need): seconds on this machine, once. Not what is measured.
        warm_up = {"prompt": "def f():\n", "max_tokens": 2, "logprobs": 1, "temperature": 0}
        httpx.post(f"{server.url}/v1/completions", json=warm_up, timeout=START_TIMEOUT_S)
        yield server
    finally:
        process.terminate()
        process.wait(30)


def shown_events(home: Path) -> list[dict[str, Any]]:
    """The `shown` events the server stored (after it shut down)."""
    database = home / "data" / "ghostwright" / "telemetry.sqlite3"
    with contextlib.closing(sqlite3.connect(database)) as connection:
        rows = connection.execute("SELECT data FROM events WHERE kind = 'shown'").fetchall()
    return [json.loads(data) for (data,) in rows]


def inventory_at(marker: str) -> tuple[str, int, int]:
    """The shipped example cut after `marker`, and the cursor (line, column) there."""
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    cut = text.index(marker) + len(marker)
    return text[:cut] + "\n", text[:cut].count("\n"), len(marker)


# --- OpenAI-compatible: a real llama_cpp.server ------------------------------------------------


async def test_completion_through_a_real_llama_cpp_python_server(llama_server: LlamaServer) -> None:
    before = llama_server.completions()
    env = {
        "GHOSTWRIGHT_BACKEND": "openai",
        "GHOSTWRIGHT_BACKEND_URL": f"{llama_server.url}/v1",
        **SLOW_SERVER,
    }
    async with lsp_session(env) as session:
        status = await wait_for_state(session.statuses, "ready", "failed", "degraded")
        assert status["state"] == "ready", status
        assert "openai server" in status["detail"]
        text, line, column = inventory_at("    return sum(")
        uri = "file:///tmp/ghostwright-remote/inventory.py"
        open_document(session.client, uri, text)
        items = await inline_completion(session.client, uri, line, column)
        assert items, "no suggestion through the OpenAI-compatible backend"
        suggestion = items[0].insert_text
        assert isinstance(suggestion, str) and "item" in suggestion and ")" in suggestion
        [answer] = session.answers()
        # No FIM family for this model name: a prefix prompt.
        assert (answer.source, answer.mode) == ("model", "prefix")
        home = session.home
    # The probe at start and the suggestion went through the server.
    assert llama_server.completions() - before >= 2
    [shown] = shown_events(home)
    features = shown["features"]
    # Confidence over HTTP: the server's log-probabilities, no entropies (missing, not 0).
    assert isinstance(features["mean_logprob"], float) and features["mean_logprob"] < 0
    assert isinstance(features["first_logprob"], float)
    assert features["mean_entropy"] is None and features["max_entropy"] is None
    assert shown["model"].startswith("openai:") and shown["model"].endswith(".gguf")


async def test_an_edit_that_departs_closes_the_http_stream(llama_server: LlamaServer) -> None:
    """The person types something else while the server generates: the request is answered
    empty at once and Ghostwright closes the stream, which the server notices."""
    env = {
        "GHOSTWRIGHT_BACKEND": "openai",
        "GHOSTWRIGHT_BACKEND_URL": llama_server.url,
        **SLOW_SERVER,
    }
    options = {"maxLines": 200, "maxTokens": 400, "timeBudgetMs": 60000}
    async with lsp_session(env, options) as session:
        assert (await wait_for_state(session.statuses, "ready", "failed"))["state"] == "ready"
        text = "NUMBERS = [\n" + "".join(f"    {i},\n" for i in range(1, 13)) + "    "
        uri = "file:///tmp/ghostwright-remote/numbers.py"
        open_document(session.client, uri, text)
        before = llama_server.output().count("Disconnected from client")
        requests = llama_server.completions()
        started = time.monotonic()
        pending = asyncio.ensure_future(inline_completion(session.client, uri, 13, 4))
        while llama_server.completions() == requests:  # the server is streaming
            assert time.monotonic() - started < 30, "the request never reached the server"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        edit_at(session.client, uri, 2, 0, 0, "# unrelated edit\n")
        assert await asyncio.wait_for(pending, 10) == []
        deadline = time.monotonic() + 20
        while llama_server.output().count("Disconnected from client") == before:
            assert time.monotonic() < deadline, "the server did not see the stream close"
            await asyncio.sleep(0.1)


async def test_a_model_the_server_does_not_serve_is_one_clear_error(
    llama_server: LlamaServer,
) -> None:
    env = {
        "GHOSTWRIGHT_BACKEND": "openai",
        "GHOSTWRIGHT_BACKEND_URL": llama_server.url,
        "GHOSTWRIGHT_BACKEND_MODEL": "qwen2.5-coder-7b",
        **SLOW_SERVER,
    }
    async with lsp_session(env) as session:
        status = await wait_for_state(session.statuses, "ready", "failed", "degraded")
        assert status["state"] == "failed"
        assert "does not serve model 'qwen2.5-coder-7b' (it serves: " in status["detail"]
        uri = "file:///tmp/ghostwright-remote/add.py"
        open_document(session.client, uri, FUNCTION_START)
        assert await inline_completion(session.client, uri, 2, len("    return ")) == []
        [error] = session.shown(types.MessageType.Error)
        assert "Set backendModel to one of them" in error


# --- llama.cpp /infill and Ollama: protocol servers ----------------------------------------


UTIL = "def scale(value: float, factor: float) -> float:\n    return value * factor\n"
MAIN = "from util import scale\n\n\ndef double(x: float) -> float:\n    return "


async def test_completion_through_the_llama_cpp_infill_protocol() -> None:
    server = ProtocolServer("llamacpp", reply=lambda body: [" scale", "(x", ",", " 2", ")"])
    server.token = "s3cret"
    server.start()
    env = {
        "GHOSTWRIGHT_BACKEND": "llamacpp",
        "GHOSTWRIGHT_BACKEND_URL": server.url,
        "TEAM_LLM_TOKEN": "s3cret",
        "GHOSTWRIGHT_BACKEND_TOKEN_ENV": "TEAM_LLM_TOKEN",
    }
    try:
        async with lsp_session(env) as session:
            assert (await wait_for_state(session.statuses, "ready", "failed"))["state"] == "ready"
            open_document(session.client, "file:///tmp/ghostwright-remote/util.py", UTIL)
            uri = "file:///tmp/ghostwright-remote/main.py"
            open_document(session.client, uri, MAIN + "\n")
            items = await inline_completion(session.client, uri, 4, len("    return "))
            assert [item.insert_text for item in items] == ["scale(x, 2)"]
        sent = server.completions[1]  # after the probe at start; a speculation may follow
        assert sent.headers["authorization"] == "Bearer s3cret"
        body = sent.body
        assert body["input_prefix"] == MAIN[: MAIN.rindex("\n") + 1]
        assert body["prompt"] == "    return"  # the model writes the space (healing)
        assert body["input_suffix"].startswith("\n")
        extra = {chunk["filename"]: chunk["text"] for chunk in body["input_extra"]}
        assert any("def scale(value: float, factor: float)" in text for text in extra.values())
        assert body["n_indent"] == 4 and body["t_max_predict_ms"] == 250
        assert body["cache_prompt"] is True and body["stream"] is True
        assert body["n_predict"] == 128 and body["n_probs"] == 1
    finally:
        server.stop()


async def test_completion_through_the_ollama_protocol() -> None:
    server = ProtocolServer("ollama", reply=lambda body: [" scale", "(x", ",", " 2", ")"]).start()
    env = {
        "GHOSTWRIGHT_BACKEND": "ollama",
        "GHOSTWRIGHT_BACKEND_URL": server.url,
        "GHOSTWRIGHT_BACKEND_MODEL": "qwen2.5-coder:1.5b",
    }
    try:
        async with lsp_session(env) as session:
            status = await wait_for_state(session.statuses, "ready", "failed")
            assert status["state"] == "ready" and "qwen2.5-coder:1.5b" in status["detail"]
            uri = "file:///tmp/ghostwright-remote/main.py"
            open_document(session.client, uri, MAIN + "\n\nprint(double(2))\n")
            items = await inline_completion(session.client, uri, 4, len("    return "))
            assert [item.insert_text for item in items] == ["scale(x, 2)"]
            assert session.answers()[0].mode == "fim"
        body = server.completions[1].body  # after the probe at start
        assert body["model"] == "qwen2.5-coder:1.5b"
        assert body["prompt"].endswith(MAIN.removesuffix(" "))
        assert body["suffix"] == "\n\nprint(double(2))\n"
        assert body["options"] == {"num_predict": 128, "temperature": 0.0}
        assert body["logprobs"] is True and body["stream"] is True and "raw" not in body
        assert "authorization" not in server.completions[1].headers  # no token configured
    finally:
        server.stop()


# --- outages ---------------------------------------------------------------------------------


async def next_suggestion(session: Session, name: str) -> list[types.InlineCompletionItem]:
    """A completion in a fresh document of its own text (so that no cache answers it)."""
    uri = f"file:///tmp/ghostwright-remote/{name}.py"
    open_document(session.client, uri, FUNCTION_START.replace("def add(", f"def add_{name}("))
    return await inline_completion(session.client, uri, 2, len("    return "))


async def test_an_outage_is_reported_once_and_the_local_model_completes_meanwhile() -> None:
    """Down at start: one warning, `degraded`, the local model answers every keystroke. Back:
    `ready`, the server answers. Down again mid-session: one more warning, local again."""
    port = free_port()
    env = {
        "GHOSTWRIGHT_BACKEND": "llamacpp",
        "GHOSTWRIGHT_BACKEND_URL": f"http://127.0.0.1:{port}",
        "GHOSTWRIGHT_FALLBACK_TO_LOCAL": "true",
    }
    async with lsp_session(env) as session:
        status = await wait_for_state(session.statuses, "ready", "failed", "degraded")
        assert status["state"] == "degraded", status
        assert "cannot be reached" in status["detail"]
        for index in range(3):
            items = await next_suggestion(session, f"down_{index}")
            assert items and items[0].insert_text, "the local model did not complete"
        [warning] = session.shown(types.MessageType.Warning)
        assert "the local model completes until it is back" in warning

        remote = [" a", " +", " b", " + 0"]
        server = ProtocolServer("llamacpp", reply=lambda body: remote, port=port)
        server.start()
        try:
            status = await wait_for_state(session.statuses, "ready", "failed", "degraded")
            assert status["state"] == "ready"
            items = await next_suggestion(session, "back")
            assert [item.insert_text for item in items] == ["a + b + 0"]
            # The probe, then the suggestion; then perhaps the speculation of the one after it
            # (as if it were accepted), whose prompt holds it.
            assert len(server.completions) >= 2
            for speculation in server.completions[2:]:
                assert "a + b + 0" in json.dumps(speculation.body), speculation
        finally:
            server.stop()

        for index in range(3):
            await next_suggestion(session, f"down_again_{index}")
        status = await wait_for_state(session.statuses, "ready", "failed", "degraded")
        assert status["state"] == "degraded"
        items = await next_suggestion(session, "local_again")
        assert items and items[0].insert_text != "a + b + 0"
        assert len(session.shown(types.MessageType.Warning)) == 2  # one per outage


async def test_without_fallback_an_outage_is_one_error_and_no_suggestions() -> None:
    env = {
        "GHOSTWRIGHT_BACKEND": "ollama",
        "GHOSTWRIGHT_BACKEND_URL": f"http://127.0.0.1:{free_port()}",
        "GHOSTWRIGHT_BACKEND_MODEL": "qwen2.5-coder:1.5b",
    }
    async with lsp_session(env) as session:
        status = await wait_for_state(session.statuses, "ready", "failed", "degraded")
        assert status["state"] == "failed"
        assert "fallbackToLocal uses the local model" in status["detail"]
        for index in range(3):
            assert await next_suggestion(session, f"none_{index}") == []
        [error] = session.shown(types.MessageType.Error)
        assert "ollama server" in error and "cannot be reached" in error


async def test_a_refused_token_is_one_clear_error() -> None:
    server = ProtocolServer("llamacpp", token="right").start()
    env = {
        "GHOSTWRIGHT_BACKEND": "llamacpp",
        "GHOSTWRIGHT_BACKEND_URL": server.url,
        "GHOSTWRIGHT_BACKEND_TOKEN": "wrong",
    }
    try:
        async with lsp_session(env) as session:
            status = await wait_for_state(session.statuses, "ready", "failed", "degraded")
            assert status["state"] == "failed"
            assert "refused the API token (401" in status["detail"]
            assert "GHOSTWRIGHT_BACKEND_TOKEN" in status["detail"]
            assert await next_suggestion(session, "unauthorized") == []
            assert len(session.shown(types.MessageType.Error)) == 1
    finally:
        server.stop()
