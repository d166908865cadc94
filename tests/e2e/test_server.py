"""End to end: the real server over stdio, driven by pytest-lsp's client, with the real model."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcMethodNotFound
from pytest_lsp import ClientServerConfig, LanguageClient

from ghostwright.events import AnswerEvent
from tests.conftest import EXAMPLES, SERVER_COMMAND, server_env, traced_events

HOME = Path(tempfile.mkdtemp(prefix="ghostwright-e2e-"))
READY_TIMEOUT_S = 120


def watch_status(client: LanguageClient) -> asyncio.Queue[dict[str, Any]]:
    """Collect `ghostwright/status` notifications into a queue."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    @client.feature("ghostwright/status")
    def on_status(params: Any) -> None:
        status = {"state": params.state, "detail": params.detail}
        if getattr(params, "predictor", None) is not None:
            status["predictor"] = params.predictor
        queue.put_nowait(status)

    return queue


async def wait_for_state(queue: asyncio.Queue[dict[str, Any]], *states: str) -> dict[str, Any]:
    while True:
        status = await asyncio.wait_for(queue.get(), READY_TIMEOUT_S)
        if status["state"] in states:
            return status


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=server_env(HOME)),
)
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    statuses = watch_status(lsp_client)
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=EXAMPLES.as_uri(),
        )
    )
    status = await wait_for_state(statuses, "ready", "failed")
    assert status["state"] == "ready", status
    yield
    await lsp_client.shutdown_session()


def open_document(client: LanguageClient, uri: str, text: str, language: str = "python") -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id=language, version=1, text=text
            )
        )
    )


async def inline_completion(
    client: LanguageClient, uri: str, line: int, character: int
) -> list[types.InlineCompletionItem]:
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        )
    )
    assert isinstance(result, types.InlineCompletionList)
    return list(result.items)


async def document_state(client: LanguageClient, uri: str) -> dict[str, Any]:
    state = await client.protocol.send_request_async("ghostwright/documentState", {"uri": uri})
    return {"version": state.version, "sha256": state.sha256, "length": state.length}


async def send_raw_request(client: LanguageClient, method: str, params: Any) -> Any:
    """Send a request exactly as given, bypassing the client's own type checking."""
    message_id = str(uuid.uuid4())
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    client.protocol._request_futures[message_id] = future
    client.protocol._send_data(
        {"jsonrpc": "2.0", "id": message_id, "method": method, "params": params}
    )
    return await asyncio.wrap_future(future)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


FUNCTION_START = '''def add(a: int, b: int) -> int:
    """Return the sum of a and b."""
    return '''


@pytest.mark.asyncio(loop_scope="module")
async def test_initialize_result_advertises_features() -> None:
    """A fresh handshake: incremental sync, inline completion, classic completion, the command."""
    async with lsp_session() as session:
        result = session.initialized
    capabilities = result.capabilities
    sync = capabilities.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions)
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert capabilities.inline_completion_provider
    assert capabilities.completion_provider is not None
    assert capabilities.execute_command_provider is not None
    assert "ghostwright.accept" in capabilities.execute_command_provider.commands
    assert result.server_info is not None and result.server_info.name == "ghostwright"


async def test_inline_completion_returns_real_text(client: LanguageClient) -> None:
    uri = "file:///tmp/ghostwright-e2e/add.py"
    open_document(client, uri, FUNCTION_START)
    items = await inline_completion(client, uri, 2, len("    return "))
    assert len(items) == 1
    item = items[0]
    assert isinstance(item.insert_text, str) and item.insert_text.strip()
    assert item.command is not None and item.command.command == "ghostwright.accept"
    assert item.command.arguments
    details = item.command.arguments[0]
    assert isinstance(details["id"], str) and details["id"]
    assert isinstance(details["score"], float) and 0.0 < details["score"] <= 1.0
    # The accept command is understood by the server.
    accepted = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="ghostwright.accept", arguments=[details])
    )
    assert accepted is None


async def test_suggestion_continues_the_example(client: LanguageClient) -> None:
    """The real model completes an obvious spot of the shipped example sensibly."""
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    cut = text.index("    return sum(") + len("    return sum(")
    uri = "file:///tmp/ghostwright-e2e/inventory.py"
    open_document(client, uri, text[:cut] + "\n")
    line = text[:cut].count("\n")
    items = await inline_completion(client, uri, line, len("    return sum("))
    assert items, "no suggestion at an obvious spot"
    suggestion = items[0].insert_text
    assert isinstance(suggestion, str)
    assert "item" in suggestion and ")" in suggestion


async def test_classic_completion_carries_the_suggestion(client: LanguageClient) -> None:
    uri = "file:///tmp/ghostwright-e2e/classic.py"
    open_document(client, uri, FUNCTION_START + "a")
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=2, character=len("    return a")),
        )
    )
    assert isinstance(result, types.CompletionList)
    assert len(result.items) == 1
    item = result.items[0]
    assert isinstance(item.text_edit, types.TextEdit)
    # The edit replaces the word being typed ("a") and starts with it, so clients keep it.
    assert item.text_edit.range.start == types.Position(line=2, character=len("    return "))
    assert item.text_edit.new_text.startswith("a") and len(item.text_edit.new_text) > 1


async def test_no_suggestion_when_code_follows_the_cursor(client: LanguageClient) -> None:
    uri = "file:///tmp/ghostwright-e2e/midline.py"
    open_document(client, uri, "total = compute(values) + offset\n")
    assert await inline_completion(client, uri, 0, len("total = ")) == []


async def test_unicode_document_and_positions(client: LanguageClient) -> None:
    """Emoji (surrogate pairs in UTF-16) and CJK before the cursor; CRLF line breaks."""
    uri = "file:///tmp/ghostwright-e2e/unicode.py"
    text = 'greeting = "😀 漢字"\r\ndef shout(text: str) -> str:\r\n    return '
    open_document(client, uri, text)
    state = await document_state(client, uri)
    assert state["sha256"] == sha256(text)
    items = await inline_completion(client, uri, 2, len("    return "))
    assert items and isinstance(items[0].insert_text, str)
    # Editing right after the emoji, in UTF-16 units: "greeting = \"😀" is 14 units long.
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=0, character=14),
                        end=types.Position(line=0, character=14),
                    ),
                    text="!",
                )
            ],
        )
    )
    state = await document_state(client, uri)
    assert state["version"] == 2
    assert state["sha256"] == sha256(text.replace("😀", "😀!", 1))


async def test_position_past_the_end_is_an_error_and_the_server_goes_on(
    client: LanguageClient,
) -> None:
    uri = "file:///tmp/ghostwright-e2e/short.py"
    open_document(client, uri, "x = 1\n")
    with pytest.raises(JsonRpcInvalidParams, match="past the end"):
        await inline_completion(client, uri, 50, 0)
    # A column past the end of a line means the end of the line (LSP spec): no error.
    assert isinstance(await inline_completion(client, uri, 0, 500), list)
    state = await document_state(client, uri)
    assert state["sha256"] == sha256("x = 1\n")


async def test_unopened_document_is_an_error_and_the_server_goes_on(
    client: LanguageClient,
) -> None:
    with pytest.raises(JsonRpcInvalidParams, match="not open"):
        await inline_completion(client, "file:///never/opened.py", 0, 0)
    uri = "file:///tmp/ghostwright-e2e/after-error.py"
    open_document(client, uri, FUNCTION_START)
    assert await inline_completion(client, uri, 2, len("    return "))


async def test_malformed_params_get_an_answer(client: LanguageClient) -> None:
    """pygls alone would never answer this request; Ghostwright says InvalidParams."""
    with pytest.raises(JsonRpcInvalidParams):
        await asyncio.wait_for(
            send_raw_request(
                client,
                "textDocument/inlineCompletion",
                {"textDocument": 42, "position": "nowhere"},
            ),
            10,
        )
    uri = "file:///tmp/ghostwright-e2e/after-malformed.py"
    open_document(client, uri, FUNCTION_START)
    assert await inline_completion(client, uri, 2, len("    return "))


async def test_unknown_method_is_method_not_found(client: LanguageClient) -> None:
    with pytest.raises(JsonRpcMethodNotFound):
        await asyncio.wait_for(client.protocol.send_request_async("ghostwright/nope", {}), 10)


async def test_edit_cancels_the_running_request(client: LanguageClient) -> None:
    """An edit that does not type along with the running generation cancels it: the older
    request is answered empty, the newer one gets a suggestion."""
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    cut = text.index("    return min(") + len("    return min(")
    uri = "file:///tmp/ghostwright-e2e/burst.py"
    # A prompt the server has not seen: evaluating it takes long enough to be superseded.
    open_document(client, uri, "# burst\n" + text[:cut] + "\n")
    line = text[:cut].count("\n") + 1
    column = len("    return min(")
    first = asyncio.ensure_future(inline_completion(client, uri, line, column))
    await asyncio.sleep(0.2)
    edit_at(client, uri, 2, line, column, "0, ")
    second = asyncio.ensure_future(inline_completion(client, uri, line, column + 3))
    older, newer = await asyncio.gather(first, second)
    assert older == []
    assert newer, "the newest request must get a suggestion"


def edit_at(
    client: LanguageClient, uri: str, version: int, line: int, column: int, text: str
) -> None:
    """Insert `text` at a position, as an editor reports a keystroke."""
    where = types.Position(line=line, character=column)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(start=where, end=where), text=text
                )
            ],
        )
    )


@dataclass
class Session:
    client: LanguageClient
    statuses: asyncio.Queue[dict[str, Any]]
    home: Path
    initialized: types.InitializeResult
    """The server's answer to `initialize`."""

    def shown(self, kind: types.MessageType) -> list[str]:
        return [m.message for m in self.client.messages if m.type == kind]

    def answers(self) -> list[AnswerEvent]:
        """The server's typed records of its answers so far."""
        return [event for event in traced_events(self.home) if isinstance(event, AnswerEvent)]


@contextlib.asynccontextmanager
async def lsp_session(
    env: dict[str, str] | None = None,
    options: dict[str, Any] | None = None,
    *,
    home: Path | None = None,
    root: Path = EXAMPLES,
    shipped_threshold: bool = False,
) -> AsyncIterator[Session]:
    """A fresh `ghostwright serve` under `server_env(home)` plus `env`, initialized with
    `options` in the workspace `root`: the one way the tests open a session of their own (a
    module's shared session is a pytest-lsp fixture). `shipped_threshold`: the acceptance
    predictor hides what its shipped threshold hides (the tests' usual 0 hides nothing)."""
    home = home or Path(tempfile.mkdtemp(prefix="ghostwright-session-"))
    environment = server_env(home, **(env or {}))
    if shipped_threshold:
        del environment["GHOSTWRIGHT_PREDICTOR_THRESHOLD"]
    config = ClientServerConfig(server_command=SERVER_COMMAND, server_env=environment)
    client = await config.start()
    assert isinstance(client, LanguageClient)
    statuses = watch_status(client)
    initialized = await client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=root.as_uri(),
            initialization_options=options,
        )
    )
    try:
        yield Session(client, statuses, home, initialized)
    finally:
        await client.shutdown_session()
        await client.stop()
