"""Model failures beyond a missing file (tests/e2e/test_model_failures.py has missing, empty,
not-GGUF and truncated): a corrupt file, the wrong architecture, a model too large for the
memory the process may use, and llama.cpp failing in the middle of a generation. Each gives one
clear message; diagnostics and the rest of the server keep working."""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFWriter

from tests.conftest import server_env
from tests.reliability.rpc import RawClient

BROKEN_PY = "def f(x)\n    return x\n"


def error_messages(client: RawClient) -> list[str]:
    return [
        m["params"]["message"]
        for m in client.notifications
        if m.get("method") == "window/showMessage" and m["params"]["type"] == 1
    ]


def diagnostics_still_work(client: RawClient) -> None:
    uri = "file:///failures/broken.py"
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": BROKEN_PY}},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        published = [
            m["params"]
            for m in client.notifications
            if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
        ]
        if published:
            assert published[-1]["diagnostics"][0]["message"] == "expected ':'"
            return
        time.sleep(0.05)
    raise AssertionError("no diagnostics while the model is unusable")


def start(tmp_path: Path, model: Path, **extra: str) -> RawClient:
    client = RawClient(server_env(tmp_path, GHOSTWRIGHT_MODEL=str(model), **extra))
    client.initialize()
    return client


def corrupt_copy(source: Path, target: Path) -> Path:
    """The real model with its tensor-type table scrambled (bytes 1 KB into the header)."""
    data = bytearray(source.read_bytes())
    rng = np.random.default_rng(0)
    start = len(data) // 2
    data[start : start + 4096] = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    header_end = data.find(b"token_embd.weight")
    data[header_end + 20 : header_end + 60] = b"\xff" * 40
    target.write_bytes(bytes(data))
    return target


def wrong_architecture(target: Path) -> Path:
    """A well-formed GGUF of an architecture llama.cpp does not know."""
    writer = GGUFWriter(str(target), "notamodel")
    writer.add_block_count(1)
    writer.add_tensor("weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return target


@pytest.mark.parametrize("kind", ["corrupt", "wrong-architecture"])
def test_unusable_model_gives_one_clear_message_and_diagnostics_go_on(
    tmp_path: Path, default_model_path: Path, kind: str
) -> None:
    model = (
        corrupt_copy(default_model_path, tmp_path / "corrupt.gguf")
        if kind == "corrupt"
        else wrong_architecture(tmp_path / "other.gguf")
    )
    client = start(tmp_path, model)
    try:
        status = client.wait_for_status("ready", "failed")
        assert status["state"] == "failed", status
        assert str(model) in status["detail"]
        messages = error_messages(client)
        assert len(messages) == 1 and str(model) in messages[0], messages
        diagnostics_still_work(client)
        answer = client.call(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": "file:///failures/broken.py"},
                "position": {"line": 1, "character": 4},
                "context": {"triggerKind": 2},
            },
        )
        assert answer.get("result") in (None, {"items": []}, []), answer
    finally:
        assert client.close() == 0


def test_model_too_large_for_the_memory_limit_is_refused_with_the_numbers(
    tmp_path: Path, default_model_path: Path
) -> None:
    """Simulated by an address-space limit (`ulimit -v`) just above what the server uses
    without a model: loading would fail or be killed; the server says why instead."""
    probe = start(tmp_path / "probe", tmp_path / "missing.gguf")
    try:
        probe.wait_for_status("failed")
        vm_size = next(
            int(line.split()[1]) * 1024
            for line in Path(f"/proc/{probe.process.pid}/status").read_text().splitlines()
            if line.startswith("VmSize:")
        )
    finally:
        probe.close()
    limit = vm_size + 96 * 2**20  # less headroom than the model needs (about 250 MB)

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    import subprocess

    original = subprocess.Popen.__init__

    def popen_with_limit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["preexec_fn"] = limit_memory
        original(self, *args, **kwargs)

    subprocess.Popen.__init__ = popen_with_limit  # type: ignore[method-assign]
    try:
        client = start(tmp_path, default_model_path)
    finally:
        subprocess.Popen.__init__ = original  # type: ignore[method-assign]
    try:
        status = client.wait_for_status("ready", "failed")
        assert status["state"] == "failed", status
        assert "needs about" in status["detail"] and "MB are available" in status["detail"]
        diagnostics_still_work(client)
    finally:
        client.close()


FAULTY_SERVER = r"""
import sys
import llama_cpp._internals as internals

decode = internals.LlamaContext.decode
calls = {"n": 0}

def failing_decode(self, batch):
    calls["n"] += 1
    if 40 <= calls["n"] < 44:  # a stretch of failures mid-session, then llama.cpp recovers
        raise RuntimeError("llama_decode returned -3")
    return decode(self, batch)

internals.LlamaContext.decode = failing_decode
sys.argv = ["ghostwright", "serve"]
from ghostwright.cli import main
raise SystemExit(main())
"""


def test_llama_cpp_failing_mid_generation_is_reported_once_and_serving_goes_on(
    tmp_path: Path, default_model_path: Path
) -> None:
    client = RawClient(
        server_env(tmp_path, GHOSTWRIGHT_MAX_TOKENS="24"),
        command=[sys.executable, "-c", FAULTY_SERVER],
    )
    try:
        client.initialize()
        assert client.wait_for_status("ready", "failed")["state"] == "ready"
        uri = "file:///failures/add.py"
        text = 'def add(a, b):\n    """Add two numbers."""\n    return '
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
        )
        answers = []
        for version in range(2, 14):
            # A new character each time, so every request runs the model.
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [
                        {
                            "range": {
                                "start": {"line": 0, "character": 0},
                                "end": {"line": 0, "character": 0},
                            },
                            "text": "#\n" if version % 2 else "\n",
                        }
                    ],
                },
            )
            line = text.count("\n") + sum(1 for v in range(2, version + 1))
            answers.append(
                client.call(
                    "textDocument/inlineCompletion",
                    {
                        "textDocument": {"uri": uri},
                        "position": {"line": line, "character": len("    return ")},
                        "context": {"triggerKind": 1},
                    },
                )
            )
        assert all("result" in answer for answer in answers), answers
        failures = [m for m in error_messages(client) if "failed while generating" in m]
        assert len(failures) == 1, error_messages(client)
        assert "llama_decode returned -3" in failures[0]
        assert any((a["result"] or {}).get("items") for a in answers[-4:]), client.stderr_lines[
            -40:
        ]
        diagnostics_still_work(client)
    finally:
        assert client.close() == 0, client.stderr_lines[-20:]
