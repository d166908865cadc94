"""A raw JSON-RPC client over the server's stdio (or TCP): it sends anything, including what a
typed LSP client refuses to send (malformed params, wrong types, garbage), keeps every answer,
and reads the server's messages strictly: one malformed frame (a stray byte on the channel, a
header other than Content-Length/Content-Type, a body that is not one JSON-RPC 2.0 message)
ends the reading, and every later wait fails with what was wrong."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO

from tests.conftest import SERVER_COMMAND

ALLOWED_HEADERS = {"content-length", "content-type"}


class FramingError(Exception):
    """The server's output is not a well-formed stream of LSP messages."""


def read_frame(stream: BinaryIO) -> dict[str, Any] | None:
    """The next message of `stream`, None at its end; FramingError for anything malformed."""
    length: int | None = None
    first = True
    while True:
        line = stream.readline()
        if not line:
            if first:
                return None
            raise FramingError("the stream ended inside a header")
        first = False
        if not line.endswith(b"\r\n"):
            raise FramingError(f"a header line without CRLF: {line[:80]!r}")
        if line == b"\r\n":
            break
        name, colon, value = line[:-2].partition(b":")
        if not colon or name.strip().lower().decode("ascii", "replace") not in ALLOWED_HEADERS:
            raise FramingError(f"not an LSP header: {line[:80]!r}")
        if name.strip().lower() == b"content-length":
            if not value.strip().isdigit():
                raise FramingError(f"a Content-Length that is not a number: {line[:80]!r}")
            length = int(value)
    if length is None:
        raise FramingError("a message without Content-Length")
    body = stream.read(length)
    if len(body) != length:
        raise FramingError(f"the stream ended inside a body ({len(body)} of {length} bytes)")
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FramingError(f"a body that is not JSON ({exc}): {body[:120]!r}") from None
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        raise FramingError(f"not a JSON-RPC 2.0 message: {body[:120]!r}")
    is_response = "id" in message and "method" not in message
    if is_response and ("result" in message) == ("error" in message):
        raise FramingError(f"a response with neither or both of result and error: {message}")
    if not is_response and not isinstance(message.get("method"), str):
        raise FramingError(f"a message that is neither response nor request: {message}")
    return message


def connect_tcp(
    port: int, process: subprocess.Popen[bytes], timeout: float = 60.0
) -> socket.socket:
    """A connection to the server's TCP port, retried until it listens (or exits)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class RawClient:
    """The real server as a subprocess, spoken to in bytes over its stdio, or over TCP where
    `tcp_port` is given (its command must make it listen there)."""

    def __init__(
        self,
        env: dict[str, str],
        cwd: Path | None = None,
        command: list[str] | None = None,
        tcp_port: int | None = None,
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
        self.framing_error: FramingError | None = None
        self._lock = threading.Condition()
        self._write_lock = threading.Lock()
        self._next_id = 0
        self.stderr_lines: list[str] = []
        self.stdout_bytes = bytearray()
        """What the server wrote on stdout, where the protocol is on TCP."""
        self.socket: socket.socket | None = None
        if tcp_port is None:
            assert self.process.stdin is not None and self.process.stdout is not None
            self._output: BinaryIO = self.process.stdin
            self._input: BinaryIO = self.process.stdout
        else:
            self.socket = connect_tcp(tcp_port, self.process)
            self.socket.settimeout(None)
            self._output = self.socket.makefile("wb")
            self._input = self.socket.makefile("rb")
            threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -- sending -------------------------------------------------------------------------
    def send_bytes(self, body: bytes) -> None:
        header = f"Content-Length: {len(body)}\r\n\r\n".encode("ascii")
        self.send_raw(header + body)

    def send_raw(self, data: bytes) -> None:
        """Bytes as they are, framing included (or not)."""
        with self._write_lock:
            self._output.write(data)
            self._output.flush()

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
                if self.framing_error is not None:
                    raise AssertionError(f"the server's output is malformed: {self.framing_error}")
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError(
                        f"no answer to request {request_id} (server exit code "
                        f"{self.process.poll()}); stderr tail: {self.stderr_lines[-20:]}"
                    )
                self._lock.wait(min(left, 0.5))
            return self.responses[request_id]

    def _read(self) -> None:
        while True:
            try:
                message = read_frame(self._input)
            except FramingError as exc:
                with self._lock:
                    self.framing_error = exc
                    self._lock.notify_all()
                return
            except OSError:
                return
            if message is None:
                return
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

    def _read_stdout(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while chunk := stream.read1(65536):
            self.stdout_bytes += chunk

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

    def statuses(self) -> list[str]:
        """The model states the server has announced (`ghostwright/status`), in order."""
        with self._lock:
            return [
                message["params"]["state"]
                for message in self.notifications
                if message.get("method") == "ghostwright/status"
            ]

    def close(self) -> int | None:
        """Shut down politely; kill if the server does not exit."""
        if self.process.poll() is None:
            try:
                self.call("shutdown", None, timeout=30)
                self.notify("exit", None)
                self.process.wait(timeout=30)
            except (AssertionError, OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        if self.socket is not None:
            self.socket.close()
        return self.process.returncode
