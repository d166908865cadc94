"""Next edits end to end: the real server, the real default model, a real LSP client.

A rename at a binding is followed by `ghostwright/nextEdit` proposing the other uses; the code
action offers the same edit; accepting and dismissing reach telemetry; a newer change
supersedes a waiting request; bad params get an error. With the FIM code model
(Qwen2.5-Coder-0.5B), the model source proposes an edit of the lines after a change.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.client import LanguageClient

from ghostwright.engine.models import ModelSpec
from ghostwright.events import NextEditEvent
from ghostwright.telemetry.store import TelemetryEvent, TelemetryStore
from tests.conftest import next_event
from tests.e2e.test_server import lsp_session, open_document, wait_for_state

AREA = "def area(width, height):\n    result = width * height\n    return result\n"
URI = "file:///tmp/ghostwright-next-edit/area.py"


def change(
    client: LanguageClient, uri: str, version: int, line: int, start: int, end: int, text: str
) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=line, character=start),
                        end=types.Position(line=line, character=end),
                    ),
                    text=text,
                )
            ],
        )
    )


async def next_edit(
    client: LanguageClient, uri: str, line: int, character: int, version: int | None = None
) -> Any:
    document: dict[str, Any] = {"uri": uri}
    if version is not None:
        document["version"] = version
    return await client.protocol.send_request_async(
        "ghostwright/nextEdit",
        {"textDocument": document, "position": {"line": line, "character": character}},
    )


def rename_result(client: LanguageClient) -> None:
    """`result` -> `total` at its binding, typed as an editor sends it: a delete, then keys."""
    change(client, URI, 2, 1, 4, 10, "")
    for index, char in enumerate("total"):
        change(client, URI, 3 + index, 1, 4 + index, 4 + index, char)


def read_code_actions_right(client: LanguageClient) -> None:
    """lsprotocol's client-side hook reads every code action with a `command` as a Command
    (`_code_action_hook`), so an action carrying both an edit and a command (ours) would lose
    its edit in this client; editors read the JSON as the specification says. So does this."""
    converter = client.protocol._converter

    def structure(value: Any, _: type) -> types.Command | types.CodeAction:
        if isinstance(value.get("command"), str):
            return converter.structure(value, types.Command)
        return converter.structure(value, types.CodeAction)

    converter.register_structure_hook(types.Command | types.CodeAction, structure)  # type: ignore[arg-type]


def events_of(home: Path, proposal_id: str, done: int) -> list[TelemetryEvent]:
    """The proposal's telemetry once `done` events are stored (the store writes behind)."""
    database = home / "data" / "ghostwright" / "telemetry.sqlite3"
    deadline = time.monotonic() + 10.0
    while True:
        store = TelemetryStore(database)
        try:
            found = [event for event in store.events() if event.suggestion_id == proposal_id]
        finally:
            store.close()
        if len(found) >= done or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


async def test_rename_is_proposed_offered_as_code_action_and_accepted() -> None:
    async with lsp_session() as session:
        client = session.client
        assert (await wait_for_state(session.statuses, "ready", "failed"))["state"] == "ready"
        read_code_actions_right(client)
        open_document(client, URI, AREA)
        rename_result(client)
        answer = await next_edit(client, URI, 1, 9)
        assert answer is not None
        assert answer.source == "rename"
        assert answer.version == 7
        assert [
            (e.range.start.line, e.range.start.character, e.range.end.character, e.newText)
            for e in answer.edits
        ] == [(2, 11, 17, "total")]
        assert (answer.jump.line, answer.jump.character) == (2, 11)
        assert "result → total" in answer.label
        event = await next_event(session.home, NextEditEvent, where=lambda e: e.id == answer.id)
        assert event.outcome == "shown" and event.places == 1
        assert event.settle_ms >= 0 and event.compute_ms >= 0

        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=URI),
                range=types.Range(
                    start=types.Position(line=1, character=9),
                    end=types.Position(line=1, character=9),
                ),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        offered = [
            a
            for a in actions or []
            if isinstance(a, types.CodeAction) and a.title.startswith("Apply next edit")
        ]
        assert len(offered) == 1, actions
        edit = offered[0].edit
        assert edit is not None and edit.document_changes is not None
        document_edit = edit.document_changes[0]
        assert isinstance(document_edit, types.TextDocumentEdit)
        assert document_edit.text_document.version == 7
        assert [e.new_text for e in document_edit.edits] == ["total"]
        command = offered[0].command
        assert command is not None and command.command == "ghostwright.nextEdit.accepted"
        assert list(command.arguments or []) == [{"id": answer.id}]

        change(client, URI, 8, 2, 11, 17, "total")  # the editor applies it...
        await client.workspace_execute_command_async(  # ...and says so
            types.ExecuteCommandParams(command=command.command, arguments=command.arguments)
        )
    found = events_of(session.home, answer.id, 2)
    assert [event.kind for event in found] == ["next_edit_shown", "next_edit_accepted"]
    assert found[0].data["source"] == "rename"
    assert found[0].data["features"]["rename"] == 1.0
    assert found[1].data["how"] == "applied"


async def test_dismissal_is_recorded_and_nothing_follows_an_applied_rename() -> None:
    async with lsp_session() as session:
        client = session.client
        open_document(client, URI, AREA)
        rename_result(client)
        answer = await next_edit(client, URI, 1, 9)
        assert answer is not None
        client.protocol.notify("ghostwright/nextEditDismissed", {"id": answer.id})
        change(client, URI, 8, 2, 11, 17, "total")  # the person does it by hand
        assert await next_edit(client, URI, 2, 16) is None
        event = await next_event(session.home, NextEditEvent, where=lambda e: e.id is None)
        assert event.outcome == "none"
    found = events_of(session.home, answer.id, 2)
    assert [event.kind for event in found] == ["next_edit_shown", "next_edit_rejected"]
    assert found[1].data["how"] == "dismissed"


async def test_a_newer_change_supersedes_a_waiting_request() -> None:
    async with lsp_session({"GHOSTWRIGHT_NEXT_EDIT_SETTLE_MS": "1500"}) as session:
        client = session.client
        open_document(client, URI, AREA)
        rename_result(client)
        waiting = asyncio.ensure_future(next_edit(client, URI, 1, 9, version=7))
        await asyncio.sleep(0)  # the request is on its way; the next key follows it
        change(client, URI, 8, 1, 9, 9, "s")  # `totals`: still typing
        assert await waiting is None
        event = await next_event(session.home, NextEditEvent)
        assert event.outcome == "superseded"
        answer = await next_edit(client, URI, 1, 10, version=8)  # quiet: `result` -> `totals`
        assert answer is not None and [e.newText for e in answer.edits] == ["totals"]


async def test_turned_off_and_bad_params() -> None:
    async with lsp_session(options={"nextEdits": False}) as session:
        client = session.client
        open_document(client, URI, AREA)
        rename_result(client)
        assert await next_edit(client, URI, 1, 9) is None
        with pytest.raises(JsonRpcInvalidParams):
            await client.protocol.send_request_async("ghostwright/nextEdit", {"position": 3})
        with pytest.raises(JsonRpcInvalidParams):
            await next_edit(client, "file:///not/open.py", 0, 0)


VOLUME = (
    "def area(width, height):\n"
    "    return width * height\n"
    "\n"
    "\n"
    "def volume(width, height, depth):\n"
    "    return area(width, height) * depth\n"
)


async def test_the_code_model_proposes_the_edit_after_a_change(code_model: ModelSpec) -> None:
    """A parameter added to `area`: the deterministic sources have nothing, the model writes
    the line after it again (using the new parameter), verified before it is shown. (The
    shipped next-edit predictor hides model proposals, README "Next edits"; threshold 0 shows
    every verified one.)"""
    uri = "file:///tmp/ghostwright-next-edit/volume.py"
    env = {"GHOSTWRIGHT_MODEL": str(code_model.cached_path), "GHOSTWRIGHT_NEXT_EDIT_THRESHOLD": "0"}
    async with lsp_session(env) as session:
        client = session.client
        assert (await wait_for_state(session.statuses, "ready", "failed"))["state"] == "ready"
        open_document(client, uri, VOLUME)
        change(client, uri, 2, 0, 22, 22, ", scale")
        answer = await next_edit(client, uri, 0, 29)
        event = await next_event(session.home, NextEditEvent)
        assert answer is not None, event.refused
        assert answer.source == "model"
        assert all(e.range.start.line in (1, 2) for e in answer.edits)
        assert "scale" in "".join(e.newText for e in answer.edits)
        assert event.outcome == "shown"
