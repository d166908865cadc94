"""`ghostwright demo`: a real LSP session against `ghostwright serve`, shown as an editor would.

The demo plays a person writing code: for each scene it deletes the rest of a function body
(as if not yet written), asks for an inline completion at the cursor through a real LSP client
(pygls), prints the cursor line with the suggestion as ghost text, and puts the text back.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from ghostwright.completion.plan import indentation

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "inventory.py"
READY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Scene:
    """Where the person is typing: the line containing `anchor`, just after it."""

    anchor: str
    caption: str


SCENES = (
    Scene("    return min(", "writing the body of cheapest()"),
    Scene("    item = ", "starting restock()"),
    Scene("        if item.name", "inside the loop of find_item()"),
    Scene("    return sum(", "finishing total_value()"),
)


def _body_end(lines: list[str], line: int) -> int:
    """Index of the first line after `line` that leaves its block (or the end of the file)."""
    block = indentation(lines[line])
    end = line + 1
    while end < len(lines) and (not lines[end].strip() or indentation(lines[end]) >= block):
        end += 1
    while end - 1 > line and not lines[end - 1].strip():
        end -= 1
    return end


async def _inline(
    client: Any, uri: str, cursor: types.Position, trigger: types.InlineCompletionTriggerKind
) -> list[types.InlineCompletionItem]:
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=cursor,
            context=types.InlineCompletionContext(trigger_kind=trigger),
        )
    )
    return list(result.items if isinstance(result, types.InlineCompletionList) else result or [])


def _ghost(line_prefix: str, ghost: str, color: bool) -> str:
    """The cursor line with the suggestion rendered as ghost text (dim), as an editor shows it."""
    dim, reset = ("\x1b[2m", "\x1b[0m") if color else ("\u00ab", "\u00bb")
    ghost_lines = ghost.split("\n")
    out = [line_prefix + dim + ghost_lines[0] + reset]
    out.extend(dim + line + reset for line in ghost_lines[1:])
    return "\n".join(out)


class DemoClient(LanguageClient):
    def __init__(self) -> None:
        super().__init__("ghostwright-demo", "1")
        self.state: dict[str, Any] = {}
        self.ready = asyncio.Event()
        self.messages: list[str] = []


async def _session(path: Path, stdout: TextIO) -> int:
    color = stdout.isatty()
    client = DemoClient()

    @client.feature("ghostwright/status")  # type: ignore[untyped-decorator]
    def on_status(params: Any) -> None:
        client.state = {"state": params.state, "detail": params.detail}
        if params.state in ("ready", "failed"):
            client.ready.set()

    @client.feature(types.WINDOW_SHOW_MESSAGE)  # type: ignore[untyped-decorator]
    def on_message(params: types.ShowMessageParams) -> None:
        client.messages.append(params.message)

    @client.feature(types.WINDOW_LOG_MESSAGE)  # type: ignore[untyped-decorator]
    def on_log(params: types.LogMessageParams) -> None:
        pass

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)  # type: ignore[untyped-decorator]
    def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
        """The demo leaves bodies unfinished on purpose: their syntax errors are expected."""

    await client.start_io(sys.executable, "-m", "ghostwright", "serve")
    started = time.perf_counter()
    await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri=path.parent.resolve().as_uri(),
        )
    )
    client.initialized(types.InitializedParams())
    print(
        f"server started and initialized in {(time.perf_counter() - started) * 1000:.0f} ms",
        file=stdout,
    )
    await asyncio.wait_for(client.ready.wait(), READY_TIMEOUT_S)
    if client.state.get("state") != "ready":
        print(f"model failed to load: {client.state.get('detail')}", file=sys.stderr)
        await _stop(client)
        return 1
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"model ready after {elapsed_ms:.0f} ms: {client.state['detail']}", file=stdout)

    uri = path.resolve().as_uri()
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    version = 1
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=version, text=text
            )
        )
    )
    shown = 0
    for scene in SCENES:
        line = next((i for i, value in enumerate(lines) if value.startswith(scene.anchor)), None)
        if line is None:
            print(f"scene skipped: {scene.anchor!r} is not in {path.name}", file=stdout)
            continue
        column = len(scene.anchor)
        end = _body_end(lines, line)
        removed = types.Range(
            start=types.Position(line=line, character=column),
            end=types.Position(line=end - 1, character=len(lines[end - 1])),
        )
        original = "\n".join([lines[line][column:], *lines[line + 1 : end]])
        version += 1
        _edit(client, uri, version, removed, "")
        cursor = types.Position(line=line, character=column)
        asked = time.perf_counter()
        items = await _inline(client, uri, cursor, types.InlineCompletionTriggerKind.Automatic)
        latency = (time.perf_counter() - asked) * 1000
        note = ""
        if not items:
            # The acceptance predictor held it back; a person can still ask (Alt-\ and alike).
            asked = time.perf_counter()
            items = await _inline(client, uri, cursor, types.InlineCompletionTriggerKind.Invoked)
            latency = (time.perf_counter() - asked) * 1000
            note = ", held back by the predictor, shown when asked"
        print(file=stdout)
        print(
            f"{path.name}:{line + 1}:{column + 1}  {scene.caption}  ({latency:.0f} ms{note})",
            file=stdout,
        )
        if items and isinstance(items[0].insert_text, str) and items[0].insert_text:
            shown += 1
            print(_ghost(scene.anchor, items[0].insert_text, color), file=stdout)
        else:
            print(scene.anchor + "   (no suggestion)", file=stdout)
        version += 1
        _edit(client, uri, version, types.Range(start=cursor, end=cursor), original)
    await _stop(client)
    print(file=stdout)
    print(f"{shown} of {len(SCENES)} places got a suggestion from the real model", file=stdout)
    for message in client.messages:
        print(f"server message: {message}", file=stdout)
    return 0 if shown == len(SCENES) else 1


def _edit(client: LanguageClient, uri: str, version: int, where: types.Range, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(range=where, text=text)],
        )
    )


async def _stop(client: LanguageClient) -> None:
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()  # type: ignore[no-untyped-call]


def run_demo(path: Path | None, stdout: TextIO) -> int:
    target = path or EXAMPLE
    if not target.is_file():
        print(f"demo file {target} not found", file=sys.stderr)
        return 1
    return asyncio.run(_session(target, stdout))
