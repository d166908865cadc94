"""Every request answered, and nothing but the protocol on the protocol channel.

The real server and the real default model, driven by a strict client (`rpc.read_frame`: one
malformed frame fails the test) at the moments when the channel used to be lost: while the model
loads, while it reloads after a settings change, and while a big document arrives in pieces.
llama-cpp-python silences stdout by `dup2`-ing /dev/null over fd 1 while it loads a model; the
server's answers written in that window were lost, and their clients waited forever.

The noisy-neighbour tests run the server (and the CLI's JSON commands) with a thread that writes
to fd 1 and `print`s every few milliseconds and keeps swapping /dev/null over fd 1, as any
library or C extension in the process might: the channel must not carry a byte of it.
"""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import REPO, server_env
from tests.reliability.rpc import RawClient

URI = "file:///channel/main.py"
SOURCE = "import os\n\n\ndef greet(name):\n    return 'hello ' + name\n\n\ndef main():\n    "
ANSWER_TIMEOUT_S = 30.0
"""Each request's answer must come within this, a model (re)load included."""
PAUSE_S = 0.005

NOISY_NEIGHBOUR = r"""
import os, sys, threading, time

import ghostwright.streams as streams

def noise():
    devnull = os.open(os.devnull, os.O_WRONLY)
    while True:
        os.write(1, b"noise written to fd 1\n")
        print("noise printed to sys.stdout")
        saved = os.dup(1)            # what llama-cpp-python's suppress_stdout_stderr does
        os.dup2(devnull, 1)
        time.sleep(0.002)
        os.dup2(saved, 1)
        os.close(saved)
        time.sleep(0.002)

claim = streams.claim_standard_streams

def claim_then_make_noise():
    claimed = claim()
    threading.Thread(target=noise, daemon=True).start()
    return claimed

streams.claim_standard_streams = claim_then_make_noise
from ghostwright.cli import main
raise SystemExit(main())
"""
"""`python -c` this with the command's arguments: Ghostwright's CLI with a thread that writes
to fd 1 from the moment the streams are claimed (before that, nothing in Ghostwright runs)."""


def noisy_command(*arguments: str) -> list[str]:
    return [sys.executable, "-c", NOISY_NEIGHBOUR, *arguments]


def open_document(client: RawClient, uri: str = URI, text: str = SOURCE) -> None:
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
    )


def ask(client: RawClient, number: int) -> int:
    """A request the server must answer: an inline completion, or an unknown `$/` method."""
    if number % 3 == 2:
        return client.request("$/foo", {"n": number})
    return client.request(
        "textDocument/inlineCompletion",
        {
            "textDocument": {"uri": URI},
            "position": {"line": 8, "character": 4},
            "context": {"triggerKind": 1},
        },
    )


def flood(
    client: RawClient, until: Callable[[], bool], longest_s: float = 60.0, at_least: int = 10
) -> list[int]:
    """Requests every few milliseconds until `until()` holds (then 0.3 s more). `at_least` are
    sent before it holds: the flood overlaps what it waits for."""
    sent: list[int] = []
    deadline = time.monotonic() + longest_s
    while not until():
        assert time.monotonic() < deadline, f"never happened; statuses {client.statuses()}"
        sent.append(ask(client, len(sent)))
        time.sleep(PAUSE_S)
    assert len(sent) >= at_least, f"only {len(sent)} requests before the awaited moment"
    tail_end = time.monotonic() + 0.3
    while time.monotonic() < tail_end:
        sent.append(ask(client, len(sent)))
        time.sleep(PAUSE_S)
    return sent


def assert_all_answered(client: RawClient, requests: list[int]) -> None:
    """Every request answered (a result or an error) in time, over a well-formed stream."""
    for request in requests:
        answer = client.wait(request, timeout=ANSWER_TIMEOUT_S)
        assert "result" in answer or "error" in answer, answer
    assert client.framing_error is None, client.framing_error


def readies(client: RawClient) -> int:
    return client.statuses().count("ready")


def test_requests_sent_while_the_model_loads_are_all_answered(tmp_path: Path) -> None:
    client = RawClient(server_env(tmp_path))
    try:
        client.initialize()  # `initialized` starts the model's load
        open_document(client)
        sent = flood(client, lambda: readies(client) >= 1)
        assert_all_answered(client, sent)
        assert client.statuses()[:2] == ["loading", "ready"], client.statuses()
    finally:
        assert client.close() == 0, client.stderr_lines[-20:]


def test_requests_sent_while_the_model_reloads_are_all_answered(tmp_path: Path) -> None:
    client = RawClient(server_env(tmp_path))
    try:
        client.initialize()
        client.wait_for_status("ready")
        open_document(client)
        # A new context size reloads the model (`ModelManager`'s load key).
        client.notify(
            "workspace/didChangeConfiguration", {"settings": {"ghostwright": {"contextSize": 1024}}}
        )
        sent = flood(client, lambda: readies(client) >= 2)
        assert_all_answered(client, sent)
        assert client.statuses() == ["loading", "ready", "loading", "ready"], client.statuses()
    finally:
        assert client.close() == 0, client.stderr_lines[-20:]


def test_a_big_document_arriving_in_pieces_during_the_load_loses_nothing(tmp_path: Path) -> None:
    client = RawClient(server_env(tmp_path))
    text = "".join(
        f"def function_{i}(x):\n    return x * {i}  # {'.' * 20}\n" for i in range(3_500)
    )
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {"uri": URI, "languageId": "python", "version": 1, "text": text}
            },
        }
    ).encode("utf-8")
    assert len(body) > 200_000
    message = f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body
    try:
        client.initialize()  # the model starts loading; the document arrives meanwhile
        for start in range(0, len(message), 1024):
            client.send_raw(message[start : start + 1024])
        state = client.request("ghostwright/documentState", {"uri": URI})
        sent = flood(client, lambda: readies(client) >= 1, at_least=1)
        assert_all_answered(client, [state, *sent])
        expected = hashlib.sha256(text.encode("utf-8")).hexdigest()
        assert client.responses[state]["result"]["sha256"] == expected
        foo = [r for r in sent if "error" in client.responses[r]]
        assert foo and all(client.responses[r]["error"]["code"] == -32601 for r in foo)
    finally:
        assert client.close() == 0, client.stderr_lines[-20:]


def test_whatever_else_writes_to_stdout_never_reaches_the_protocol(tmp_path: Path) -> None:
    client = RawClient(server_env(tmp_path), command=noisy_command("serve"))
    try:
        client.initialize()
        open_document(client)
        sent = flood(client, lambda: readies(client) >= 1)
        client.notify(
            "workspace/didChangeConfiguration", {"settings": {"ghostwright": {"contextSize": 1024}}}
        )
        sent += flood(client, lambda: readies(client) >= 2)
        assert_all_answered(client, sent)
        noise = [line for line in client.stderr_lines if "noise" in line]
        assert noise, "the neighbour's noise must reach stderr (it ran)"
    finally:
        assert client.close() == 0, client.stderr_lines[-20:]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_over_tcp_requests_during_the_load_are_answered_and_stdout_holds_no_protocol(
    tmp_path: Path,
) -> None:
    port = free_port()
    client = RawClient(
        server_env(tmp_path),
        command=noisy_command("serve", "--tcp", f"127.0.0.1:{port}"),
        tcp_port=port,
    )
    try:
        client.initialize()
        open_document(client)
        sent = flood(client, lambda: readies(client) >= 1)
        assert_all_answered(client, sent)
    finally:
        assert client.close() == 0, client.stderr_lines[-20:]
    assert client.stdout_bytes == b"", bytes(client.stdout_bytes[:200])


def run_cli(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        noisy_command(*arguments),
        capture_output=True,
        text=True,
        env=server_env(tmp_path, GHOSTWRIGHT_LOG_LEVEL="DEBUG"),
        cwd=REPO,
        timeout=300,
        check=False,
    )


def test_the_json_commands_print_only_their_json(tmp_path: Path) -> None:
    program = tmp_path / "program.py"
    program.write_text("def add(a, b):\n    return a +\n\n\ndef main():\n    print(add(1, 2))\n")
    commands: list[tuple[str, ...]] = [
        ("complete", str(program), "--line", "6", "--column", "5", "--json"),
        ("repair", str(program), "--json"),
        ("eval", "completion", "--n", "2", "--json"),
    ]
    for command in commands:
        done = run_cli(tmp_path, *command)
        assert done.returncode == 0, done.stderr[-2000:]
        result: Any = json.loads(done.stdout)  # the whole of stdout is one JSON document
        assert isinstance(result, dict), done.stdout
        assert "noise" in done.stderr, "the neighbour's noise must reach stderr (it ran)"
