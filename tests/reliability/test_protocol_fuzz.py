"""Protocol fuzzing: hypothesis-made sessions of raw LSP messages against the real server.

Edits with CRLF, tabs, emoji (surrogate pairs in UTF-16), zero-width and combining characters;
positions past line and document ends; versions out of order; requests for closed and
never-opened documents; unknown methods; malformed params and bodies that are not JSON. After
every session: the server is alive, every request got an answer (a result or an LSP error),
and its copy of every open document equals the client's (sha256 through
`ghostwright/documentState`). `FUZZ_MESSAGES` sets how many messages in all (`make fuzz`: 12,000;
`make test`: 1,500).

Sending starts right after `initialize`, while the model loads, and a settings change reloads
the model halfway through: the two moments when the protocol channel used to be lost. The
client reads the server's output strictly (`rpc.read_frame`): one malformed frame fails.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import server_env
from tests.reliability.rpc import RawClient

MESSAGES = int(os.environ.get("FUZZ_MESSAGES", "1500"))
PER_SESSION = 60
URIS = [f"file:///fuzz/doc{i}.py" for i in range(4)] + ["file:///fuzz/notes.txt"]
LANGUAGES = ["python", "javascript", "plaintext", "klingon", "rust"]
PIECES = [
    "a",
    "b",
    "def ",
    "(",
    ")",
    ":",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "😀",
    "\U0001d518",
    "漢",
    "e\u0301",
    "\u200b",
    "'",
    '"',
    "#",
    "{",
    "}",
    "\x00",
    "\ufeff",
]
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


# --- the client's reference model of a document (independent of the server's code) ------


def line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end of content) of each line; lines split at \\r\\n, \\r and \\n."""
    spans, start = [], 0
    for match in _LINE_BREAK.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def offset_of(text: str, line: int, character: int) -> int:
    """LSP semantics for edits: a line past the end is the end of the document, a column past
    the end of its line the end of the line, a column inside a surrogate pair before it."""
    spans = line_spans(text)
    if line >= len(spans):
        return len(text)
    start, end = spans[line]
    units = 0
    for index in range(start, end):
        width = 2 if ord(text[index]) > 0xFFFF else 1
        if units + width > character:
            return index
        units += width
    return end


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# --- messages -------------------------------------------------------------------------------

texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
positions = st.fixed_dictionaries({"line": st.integers(0, 12), "character": st.integers(0, 40)})
garbage = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
actions = st.one_of(
    st.tuples(st.just("open"), st.sampled_from(URIS), st.sampled_from(LANGUAGES), texts),
    st.tuples(
        st.just("edit"), st.sampled_from(URIS), positions, positions, texts, st.integers(-3, 50)
    ),
    st.tuples(
        st.just("edit"), st.sampled_from(URIS), positions, positions, texts, st.integers(-3, 50)
    ),
    st.tuples(
        st.just("edit"), st.sampled_from(URIS), positions, positions, texts, st.integers(-3, 50)
    ),
    st.tuples(st.just("replace"), st.sampled_from(URIS), texts),
    st.tuples(st.just("close"), st.sampled_from(URIS)),
    st.tuples(st.just("complete"), st.sampled_from([*URIS, "file:///fuzz/never.py"]), positions),
    st.tuples(st.just("action"), st.sampled_from(URIS), positions, positions),
    st.tuples(st.just("state"), st.sampled_from([*URIS, "file:///fuzz/never.py"])),
    st.tuples(st.just("unknown"), st.text(min_size=1, max_size=12), garbage),
    st.tuples(
        st.just("malformed"),
        st.sampled_from(
            [
                "textDocument/inlineCompletion",
                "textDocument/codeAction",
                "codeAction/resolve",
                "textDocument/completion",
                "workspace/executeCommand",
                "ghostwright/documentState",
            ]
        ),
        garbage,
    ),
    st.tuples(
        st.just("malformed-notification"),
        st.sampled_from(
            [
                "textDocument/didOpen",
                "textDocument/didChange",
                "textDocument/didClose",
                "ghostwright/dismiss",
                "ghostwright/partialAccept",
                "$/cancelRequest",
            ]
        ),
        garbage,
    ),
    st.tuples(st.just("cancel"), st.integers(0, 5)),
    st.tuples(st.just("not-json"), st.binary(min_size=1, max_size=30)),
)
sessions = st.lists(actions, min_size=PER_SESSION, max_size=PER_SESSION)


class Session:
    """Sends one session's actions and keeps the client's view of each document."""

    def __init__(self, client: RawClient) -> None:
        self.client = client
        self.documents: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.pending: list[int] = []
        self.sent = 0

    def run(self, action: tuple[Any, ...]) -> None:
        kind = action[0]
        self.sent += 1
        getattr(self, "_" + kind.replace("-", "_"))(*action[1:])

    def _open(self, uri: str, language: str, text: str) -> None:
        self.client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}},
        )
        self.documents[uri] = text
        self.versions[uri] = 1

    def _edit(
        self, uri: str, start: dict[str, int], end: dict[str, int], text: str, step: int
    ) -> None:
        version = self.versions.get(uri, 0) + step  # steps may go backwards: out of order
        self.client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": start, "end": end}, "text": text}],
            },
        )
        if uri in self.documents:
            current = self.documents[uri]
            a = offset_of(current, start["line"], start["character"])
            b = max(a, offset_of(current, end["line"], end["character"]))
            self.documents[uri] = current[:a] + text + current[b:]
            self.versions[uri] = version

    def _replace(self, uri: str, text: str) -> None:
        version = self.versions.get(uri, 0) + 1
        self.client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
        )
        if uri in self.documents:
            self.documents[uri] = text
            self.versions[uri] = version

    def _close(self, uri: str) -> None:
        self.client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        self.documents.pop(uri, None)

    def _complete(self, uri: str, position: dict[str, int]) -> None:
        self.pending.append(
            self.client.request(
                "textDocument/inlineCompletion",
                {
                    "textDocument": {"uri": uri},
                    "position": position,
                    "context": {"triggerKind": 2},
                },
            )
        )

    def _action(self, uri: str, start: dict[str, int], end: dict[str, int]) -> None:
        self.pending.append(
            self.client.request(
                "textDocument/codeAction",
                {
                    "textDocument": {"uri": uri},
                    "range": {"start": start, "end": end},
                    "context": {"diagnostics": []},
                },
            )
        )

    def _state(self, uri: str) -> None:
        self.pending.append(self.client.request("ghostwright/documentState", {"uri": uri}))

    def _unknown(self, method: str, params: Any) -> None:
        self.pending.append(self.client.request(f"fuzz/{method}", params))

    def _malformed(self, method: str, params: Any) -> None:
        self.pending.append(self.client.request(method, params))

    def _malformed_notification(self, method: str, params: Any) -> None:
        # Never a pooled document's uri: whatever the server makes of it, no document changes.
        if isinstance(params, dict):
            params = {**params, "textDocument": {"uri": "file:///fuzz/elsewhere.py"}}
        self.client.notify(method, params)

    def _cancel(self, back: int) -> None:
        if self.pending:
            target = self.pending[max(0, len(self.pending) - 1 - back)]
            self.client.notify("$/cancelRequest", {"id": target})

    def _not_json(self, body: bytes) -> None:
        self.client.send_bytes(b"{" + body)

    def check(self) -> Iterator[str]:
        """Every request answered; every open document identical to the client's copy."""
        for request_id in self.pending:
            answer = self.client.wait(request_id)
            if "result" not in answer and "error" not in answer:
                yield f"request {request_id} got neither result nor error: {answer}"
        for uri, text in self.documents.items():
            state = self.client.call("ghostwright/documentState", {"uri": uri})
            if state.get("result", {}).get("sha256") != sha(text):
                yield f"{uri} out of sync: server {state}, client {text!r}"


OPTIONS = {"ghostwright": {"maxLines": 2}}
RELOAD = {"ghostwright": {"maxLines": 2, "contextSize": 2048}}
"""A settings change that reloads the model (the context size is part of its load key)."""


@pytest.fixture(scope="module")
def client() -> Iterator[RawClient]:
    home = Path(tempfile.mkdtemp(prefix="ghostwright-fuzz-"))
    raw = RawClient(server_env(home, GHOSTWRIGHT_MAX_TOKENS="8"))
    raw.initialize(options=OPTIONS)  # no waiting for the model: the fuzzing starts at once
    yield raw
    assert raw.close() == 0, raw.stderr_lines[-30:]


OPENING: list[tuple[Any, ...]] = [
    ("open", URIS[0], "python", "def f(x):\n    return x\n\n"),
    ("complete", URIS[0], {"line": 1, "character": 12}),
    ("unknown", "opening", {"a": 1}),
    ("edit", URIS[0], {"line": 2, "character": 0}, {"line": 2, "character": 0}, "😀 f(", 1),
    ("state", URIS[0]),
    ("malformed", "textDocument/inlineCompletion", {"position": "nowhere"}),
    ("action", URIS[0], {"line": 0, "character": 0}, {"line": 1, "character": 0}),
    ("not-json", b"opening"),
    ("complete", "file:///fuzz/never.py", {"line": 0, "character": 0}),
]
"""Messages sent round and round from the first millisecond until the model is ready."""


def open_while_loading(client: RawClient) -> int:
    """The opening of the fuzzing, while the model loads: a fixed round of messages of every
    kind, repeated until the server says the model is ready. Returns the messages sent."""
    session = Session(client)
    while "ready" not in client.statuses():
        session.run(OPENING[session.sent % len(OPENING)])
    assert session.sent >= len(OPENING), f"the model was ready after {session.sent} messages"
    problems = list(session.check())
    assert not problems, problems
    for uri in list(session.documents):
        session._close(uri)
    return session.sent


def test_random_sessions_never_kill_the_server_and_keep_documents_in_sync(
    client: RawClient,
) -> None:
    sent = [open_while_loading(client)]
    sessions_run = [0]
    total_sessions = max(1, -(-MESSAGES // PER_SESSION))

    @settings(
        max_examples=total_sessions,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(sessions)
    def fuzz(actions: list[tuple[Any, ...]]) -> None:
        session = Session(client)
        reload_at = len(actions) // 2 if sessions_run[0] == total_sessions // 2 else None
        sessions_run[0] += 1
        for index, action in enumerate(actions):
            if index == reload_at:
                client.notify("workspace/didChangeConfiguration", {"settings": RELOAD})
            session.run(action)
        problems = list(session.check())
        assert client.process.poll() is None, f"server exited: {client.stderr_lines[-30:]}"
        assert not problems, problems
        # Start the next session from a clean slate.
        for uri in list(session.documents):
            session._close(uri)
        sent[0] += session.sent

    fuzz()
    print(f"fuzzed with {sent[0]} messages")
    assert sent[0] >= MESSAGES, sent[0]
    client.wait_for_status("ready")
    deadline = time.monotonic() + 120
    while client.statuses().count("ready") < 2:  # the reload in the middle, and its end
        assert time.monotonic() < deadline, client.statuses()
        time.sleep(0.05)
    assert client.framing_error is None, client.framing_error
