"""A raw JSON-RPC client over the server's stdio: it sends anything, including what a typed
LSP client refuses to send (malformed params, wrong types, garbage), and keeps every answer."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from tests.conftest import SERVER_COMMAND


class RawClient:
    """The real server as a subprocess, spoken to in bytes."""

    def __init__(
        self, env: dict[str, str], cwd: Path | None = None, command: list[str] | None = None
    ) -> None:
        self.process = subprocess.Popen(
            command or SERVER_COMMAND,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
        )
        self.responses: dict[int | str, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []
        self.server_requests: list[dict[str, Any]] = []
        self._lock = threading.Condition()
        self._next_id = 0
        self.stderr_lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -- sending -------------------------------------------------------------------------
    def send_bytes(self, body: bytes) -> None:
        assert self.process.stdin is not None
        header = f"Content-Length: {len(body)}\r\n\r\n".encode("ascii")
        self.process.stdin.write(header + body)
        self.process.stdin.flush()

    def send_raw(self, data: bytes) -> None:
        """Bytes as they are, framing included (or not)."""
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8"))

    def request(self, method: str, params: Any) -> int:
        self._next_id += 1
        self.send({"id": self._next_id, "method": method, "params": params})
        return self._next_id

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def call(self, method: str, params: Any, timeout: float = 120.0) -> dict[str, Any]:
        return self.wait(self.request(method, params), timeout)

    # -- receiving -----------------------------------------------------------------------
    def wait(self, request_id: int | str, timeout: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while request_id not in self.responses:
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError(
                        f"no answer to request {request_id} (server exit code "
                        f"{self.process.poll()}); stderr tail: {self.stderr_lines[-20:]}"
                    )
                self._lock.wait(min(left, 0.5))
            return self.responses[request_id]

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if length is None:
                continue
            message = json.loads(stream.read(length))
            with self._lock:
                if "id" in message and "method" not in message:
                    self.responses[message["id"]] = message
                elif "id" in message:
                    self.server_requests.append(message)
                    # Answer the server's own requests: edits are applied, the rest null.
                    applied = message["method"] == "workspace/applyEdit"
                    self.send(
                        {"id": message["id"], "result": {"applied": True} if applied else None}
                    )
                else:
                    self.notifications.append(message)
                self._lock.notify_all()

    def _read_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        for line in stream:
            self.stderr_lines.append(line.decode("utf-8", "replace").rstrip())

    # -- session -------------------------------------------------------------------------
    def initialize(self, root: Path | None = None, options: Any = None) -> dict[str, Any]:
        answer = self.call(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root.as_uri() if root else None,
                "capabilities": {},
                "initializationOptions": options,
            },
        )
        self.notify("initialized", {})
        return answer

    def wait_for_status(self, *states: str, timeout: float = 120.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for message in self.notifications:
                    if message.get("method") == "ghostwright/status" and (
                        message["params"]["state"] in states
                    ):
                        return dict(message["params"])
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no status {states}; stderr: {self.stderr_lines[-20:]}")
                self._lock.wait(min(left, 0.5))

    def close(self) -> int | None:
        """Shut down politely; kill if the server does not exit."""
        if self.process.poll() is None:
            try:
                self.call("shutdown", None, timeout=30)
                self.notify("exit", None)
                self.process.wait(timeout=30)
            except (AssertionError, BrokenPipeError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        return self.process.returncode
