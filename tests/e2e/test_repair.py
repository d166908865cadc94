"""End to end: diagnostics and verified fixes over LSP, the real server and the real model."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from ghostwright.events import RepairEvent
from tests.conftest import EXAMPLES, SERVER_COMMAND, next_event, server_env
from tests.e2e.test_server import open_document, wait_for_state, watch_status

HOME = Path(tempfile.mkdtemp(prefix="ghostwright-repair-"))
WAIT_S = 60.0
# The client resolves code actions' edits lazily, as VS Code does.
CAPABILITIES = types.ClientCapabilities(
    text_document=types.TextDocumentClientCapabilities(
        code_action=types.CodeActionClientCapabilities(
            code_action_literal_support=types.ClientCodeActionLiteralOptions(
                code_action_kind=types.ClientCodeActionKindOptions(
                    value_set=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite]
                )
            ),
            resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]),
            data_support=True,
        )
    )
)


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=server_env(HOME)),
)
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    statuses = watch_status(lsp_client)
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=CAPABILITIES, root_uri=EXAMPLES.as_uri())
    )
    status = await wait_for_state(statuses, "ready", "failed")
    assert status["state"] == "ready", status
    yield
    await lsp_client.shutdown_session()


async def diagnostics_for(
    client: LanguageClient, uri: str, condition: Any = bool
) -> list[types.Diagnostic]:
    """The diagnostics last published for `uri`, once `condition` holds for them."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        published = client.diagnostics.get(uri)
        if published is not None and condition(list(published)):
            return list(published)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no matching diagnostics for {uri}: {client.diagnostics.get(uri)}")


def change(client: LanguageClient, uri: str, version: int, edit: types.TextEdit) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text)
            ],
        )
    )


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP edits (ASCII text, so UTF-16 columns are code points) from the last."""
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)

    def offset(position: types.Position) -> int:
        return starts[position.line] + position.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


def edits_of(action: types.CodeAction) -> list[types.TextEdit]:
    assert action.edit is not None and action.edit.document_changes, action
    (document_edit,) = action.edit.document_changes
    assert isinstance(document_edit, types.TextDocumentEdit)
    return [edit for edit in document_edit.edits if isinstance(edit, types.TextEdit)]


async def code_actions(
    client: LanguageClient, uri: str, diagnostics: list[types.Diagnostic], range_: types.Range
) -> list[types.CodeAction]:
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=range_,
            context=types.CodeActionContext(diagnostics=diagnostics),
        )
    )
    return [action for action in result or [] if isinstance(action, types.CodeAction)]


async def quick_fix(
    client: LanguageClient, uri: str, diagnostic: types.Diagnostic
) -> types.CodeAction:
    """The one quick fix offered for `diagnostic`."""
    actions = await code_actions(client, uri, [diagnostic], diagnostic.range)
    (action,) = [a for a in actions if a.kind == types.CodeActionKind.QuickFix]
    return action


BROKEN = (
    "def total(items):\n    result = 0\n    for item in items\n"
    "        result += item\n    return result\n"
)


async def test_diagnostic_appears_after_an_edit_and_clears_after_the_fix(
    client: LanguageClient,
) -> None:
    uri = "file:///repair/total.py"
    fixed = BROKEN.replace("in items\n", "in items:\n")
    open_document(client, uri, fixed)
    assert await diagnostics_for(client, uri, lambda found: True) == []
    # Delete the colon: the interpreter's message appears, at the place.
    colon = types.Position(line=2, character=21)
    change(client, uri, 2, types.TextEdit(types.Range(colon, types.Position(2, 22)), ""))
    (diagnostic,) = await diagnostics_for(client, uri)
    assert diagnostic.message == "expected ':'"
    assert diagnostic.source == "ghostwright"
    assert diagnostic.range.start.line == 2
    # The code action lists at once (no model), resolves to a one-character verified edit.
    started = time.perf_counter()
    actions = await code_actions(client, uri, [diagnostic], diagnostic.range)
    listing_ms = (time.perf_counter() - started) * 1000
    (action,) = [a for a in actions if a.kind == types.CodeActionKind.QuickFix]
    assert action.edit is None and action.data is not None, "listing must not compute the fix"
    assert listing_ms < 2000, listing_ms
    resolved = await client.code_action_resolve_async(action)
    edits = edits_of(resolved)
    assert edits == [types.TextEdit(types.Range(colon, colon), ":")]
    assert apply(BROKEN, edits) == fixed
    # The editor applies it: the diagnostic clears.
    change(client, uri, 3, edits[0])
    assert await diagnostics_for(client, uri, lambda found: not found) == []


async def test_undefined_name_from_another_server_gets_a_verified_fix(
    client: LanguageClient,
) -> None:
    """A diagnostic from pyright (not ours) in the request's context: fixed and verified
    against our own checker's view of the same problem (pyflakes' undefined name)."""
    uri = "file:///repair/typo.py"
    text = "def mean(values):\n    total = sum(values)\n    return totl / len(values)\n"
    open_document(client, uri, text)
    ours = await diagnostics_for(client, uri)
    assert "undefined name 'totl'" in [d.message for d in ours]
    pyright = types.Diagnostic(
        range=types.Range(types.Position(2, 11), types.Position(2, 15)),
        message='"totl" is not defined',
        source="Pyright",
        severity=types.DiagnosticSeverity.Error,
    )
    action = await quick_fix(client, uri, pyright)
    assert action.title == 'Fix with Ghostwright: "totl" is not defined'
    resolved = await client.code_action_resolve_async(action)
    assert apply(text, edits_of(resolved)) == text.replace("totl", "total")


async def test_the_model_fixes_what_no_rule_does(client: LanguageClient) -> None:
    """A misspelled keyword: no deterministic rule knows it; the default model's answer is
    verified and offered as a minimal edit (the server logs which path made the fix)."""
    uri = "file:///repair/keyword.py"
    text = (
        "def total(items):\n    result = 0\n    fro item in items:\n"
        "        result += item\n    return result\n"
    )
    open_document(client, uri, text)
    (diagnostic,) = await diagnostics_for(client, uri)
    assert diagnostic.message == "invalid syntax"
    action = await quick_fix(client, uri, diagnostic)
    resolved = await client.code_action_resolve_async(action)
    edits = edits_of(resolved)
    assert apply(text, edits) == text.replace("fro item", "for item")
    assert sum(len(e.new_text) for e in edits) <= 2
    repaired = await next_event(HOME, RepairEvent, where=lambda event: event.uri == uri)
    assert repaired.origin == "model", repaired


async def test_wrong_closing_bracket_gets_a_minimal_edit(client: LanguageClient) -> None:
    """A wrong closing bracket in the middle of a call: the edit is small, verified, and
    leaves the rest alone."""
    uri = "file:///repair/bracket.py"
    text = 'def greet(name):\n    print("hello", name]\n    return name\n'
    open_document(client, uri, text)
    (diagnostic,) = await diagnostics_for(client, uri)
    action = await quick_fix(client, uri, diagnostic)
    resolved = await client.code_action_resolve_async(action)
    repaired = apply(text, edits_of(resolved))
    compile(repaired, "bracket.py", "exec")
    assert 'print("hello", name)' in repaired
    assert sum(len(e.new_text) for e in edits_of(resolved)) <= 2


async def test_unfixable_problem_changes_nothing_and_says_so(client: LanguageClient) -> None:
    uri = "file:///repair/unfixable.py"
    text = "def f():\n    return undefined_helper_that_exists_nowhere()\n"
    open_document(client, uri, text)
    (diagnostic,) = await diagnostics_for(client, uri)
    assert diagnostic.message == "undefined name 'undefined_helper_that_exists_nowhere'"
    action = await quick_fix(client, uri, diagnostic)
    shown = len(client.messages)
    resolved = await client.code_action_resolve_async(action)
    assert resolved.edit is None
    deadline = time.monotonic() + WAIT_S
    while len(client.messages) == shown and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    message = client.messages[-1]
    assert message.type == types.MessageType.Warning
    assert "no verified fix" in message.message


async def test_repair_this_function_fixes_every_problem_in_it(client: LanguageClient) -> None:
    uri = "file:///repair/unit.py"
    text = (
        "import os\n\n\ndef area(width, height)\n    product = width * heigth\n    return product\n"
    )
    open_document(client, uri, text)
    await diagnostics_for(client, uri)
    selection = types.Range(types.Position(3, 0), types.Position(5, 10))
    actions = await code_actions(client, uri, [], selection)
    (action,) = [a for a in actions if a.kind == types.CodeActionKind.RefactorRewrite]
    resolved = await client.code_action_resolve_async(action)
    repaired = apply(text, edits_of(resolved))
    assert "def area(width, height):\n    product = width * height\n" in repaired
    assert repaired.startswith("import os\n"), "outside the function nothing changes"


async def test_other_languages_get_syntax_diagnostics(client: LanguageClient) -> None:
    uri = "file:///repair/app.js"
    text = "function add(a, b) {\n  return sum(a, b;\n}\n"
    open_document(client, uri, text, language="javascript")
    (diagnostic,) = await diagnostics_for(client, uri)
    assert diagnostic.message == "missing ')'"
    assert diagnostic.range.start.line == 1
    action = await quick_fix(client, uri, diagnostic)
    resolved = await client.code_action_resolve_async(action)
    assert apply(text, edits_of(resolved)) == text.replace("b;", "b);")


async def test_stale_fix_is_not_applied_to_a_changed_document(client: LanguageClient) -> None:
    """An action listed for version 1 and resolved after an edit: no edit, a message."""
    uri = "file:///repair/stale.py"
    text = "x = [1, 2\n"
    open_document(client, uri, text)
    (diagnostic,) = await diagnostics_for(client, uri)
    action = await quick_fix(client, uri, diagnostic)
    change(
        client,
        uri,
        2,
        types.TextEdit(types.Range(types.Position(1, 0), types.Position(1, 0)), "y = 2\n"),
    )
    resolved = await client.code_action_resolve_async(action)
    assert resolved.edit is None


def test_client_without_resolve_gets_a_command_that_applies_the_fix(tmp_path: Path) -> None:
    """A client that cannot resolve code actions: the action carries `ghostwright.repair`;
    running it computes the fix and sends it as `workspace/applyEdit`."""
    from tests.reliability.rpc import RawClient

    client = RawClient(server_env(tmp_path))
    try:
        client.initialize()
        uri = "file:///repair/command.py"
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": BROKEN}},
        )
        colon = {"line": 2, "character": 21}
        diagnostic = {
            "range": {"start": colon, "end": colon},
            "message": "expected ':'",
            "source": "ghostwright",
        }
        actions = client.call(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": uri},
                "range": diagnostic["range"],
                "context": {"diagnostics": [diagnostic]},
            },
        )["result"]
        (action,) = actions
        assert action["command"]["command"] == "ghostwright.repair"
        answer = client.call(
            "workspace/executeCommand",
            {"command": "ghostwright.repair", "arguments": action["command"]["arguments"]},
        )
        assert "error" not in answer, answer
        (request,) = [r for r in client.server_requests if r["method"] == "workspace/applyEdit"]
        (document_edit,) = request["params"]["edit"]["documentChanges"]
        assert document_edit["textDocument"] == {"uri": uri, "version": 1}
        assert document_edit["edits"] == [{"range": {"start": colon, "end": colon}, "newText": ":"}]
    finally:
        client.close()
