"""Broken framing on the real server's stdin (a pipe, read on the event loop): each broken
message costs itself, never the connection, and the end of input ends the server cleanly."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ghostwright.lsp.stdio import STREAM_LIMIT
from tests.conftest import server_env
from tests.reliability.rpc import RawClient


def test_broken_framing_costs_only_the_broken_message(tmp_path: Path) -> None:
    client = RawClient(server_env(tmp_path))
    try:
        client.send_raw(b"x" * (2 * STREAM_LIMIT) + b"\r\n")  # a header line of 2 MiB
        client.send_raw(b"Content-Length: 5\r\n\r\nnot j")  # a body that is not JSON
        client.send_raw(b"Content-Type: nothing\r\n\r\n")  # headers without a length
        answer = client.initialize()
        assert "capabilities" in answer["result"], answer
        text = "def f():\r\n    return 'é😀'\n"
        uri = (tmp_path / "a.py").as_uri()
        document = {"uri": uri, "languageId": "python", "version": 1, "text": text}
        client.notify("textDocument/didOpen", {"textDocument": document})
        state = client.call("ghostwright/documentState", {"uri": uri}, timeout=60)
        assert state["result"]["sha256"] == hashlib.sha256(text.encode()).hexdigest(), state
        # The editor goes away in the middle of a message: the server ends, and cleanly.
        client.send_raw(b'Content-Length: 100\r\n\r\n{"jsonrpc"')
        assert client.process.stdin is not None
        client.process.stdin.close()
        assert client.process.wait(timeout=60) == 0, client.stderr_lines[-20:]
    finally:
        if client.process.poll() is None:
            client.process.kill()
            client.process.wait()
