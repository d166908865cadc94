"""`ghostwright bench --next-edit`: how fast next edits are, through the real server.

Three measurements, each through `ghostwright serve` and a real LSP client, the server's own
clock read from its typed events (`NextEditEvent.compute_ms`: from the document being quiet to
the answer; the settle wait is the editor-facing delay on top, a setting):

1. Deterministic proposals on a large file: real modules of the standard library concatenated
   to `--lines` lines (20,000 by default); a real local variable or parameter renamed at its
   binding (picked as `eval next-edit` picks them), then `ghostwright/nextEdit`. A fresh copy of
   the file is opened for each rename.
2. Model proposals with the FIM code model: release-history tasks of the validation packages
   (`eval next-edit`), replayed as didChange edits, then `ghostwright/nextEdit`; the model's
   share of each answer is `NextEditEvent.model_ms`.
3. Cancellation: the same requests, and a new change sent while the model works; the time from
   that change to the (empty) answer, next to the model's time per generated token.
4. The completion after a model proposal (part 2's documents): a completion is asked for at the
   cursor before the next edit (its prompt is then in the KV cache, as while typing); where the
   model ran for it and after it, a space is typed at the cursor and a completion asked for
   after it: its latency and the share of its prompt the KV cache still held
   (`GenerationEvent`). A proposal that evaluated its prompt in the completion's KV cache would
   leave almost nothing of it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types

from ghostwright.documents import Document
from ghostwright.events import GenerationEvent, NextEditEvent, read_trace
from ghostwright_lab.bench.bench import (
    BenchClient,
    bench_client,
    events_file,
    initialize,
    launch,
    server_environment,
    stop_server,
)
from ghostwright_lab.edit_tasks import EditTask, history_tasks, rename_tasks
from ghostwright_lab.stats import percentile

log = logging.getLogger(__name__)

LARGE_FILE_MODULES = (
    "typing",
    "argparse",
    "inspect",
    "pydoc",
    "tarfile",
    "subprocess",
    "doctest",
    "pickle",
    "turtle",
    "mailbox",
    "imaplib",
    "ftplib",
    "smtplib",
    "difflib",
)
"""Standard-library modules (none of them used to tune next edits) concatenated into the large
file, in this order until it is long enough."""
CANCEL_AFTER_S = 0.3
"""How long after the document settled the cancelling change is sent (the model is at work)."""


@dataclass(frozen=True)
class NextEditBenchOptions:
    model: Path
    """The model of part 1 (the default model: deterministic proposals do not use it)."""
    fim_model: Path | None
    """The FIM code model of parts 2 and 3; None skips them."""
    lines: int = 20_000
    renames: int = 40
    history: int = 20
    cancels: int = 8
    seed: int = 0
    settle_ms: int = 400


@dataclass
class NextEditBenchReport:
    machine: str
    lines: int
    rename_compute_ms: list[float] = field(default_factory=list)
    rename_hits: int = 0
    renames: int = 0
    model_compute_ms: list[float] = field(default_factory=list)
    model_ms: list[float] = field(default_factory=list)
    model_shown: int = 0
    history: int = 0
    cancel_ms: list[float] = field(default_factory=list)
    after_ms: list[float] = field(default_factory=list)
    """Latency of the completion asked for after a model proposal."""
    after_reused: list[float] = field(default_factory=list)
    """Share of that completion's prompt the KV cache held."""


def large_file(lines: int) -> str:
    import logging as stdlib_logging

    root = Path(stdlib_logging.__file__).parent.parent
    parts: list[str] = []
    count = 0
    for name in LARGE_FILE_MODULES:
        text = (root / f"{name}.py").read_text(encoding="utf-8")
        parts.append(text if text.endswith("\n") else text + "\n")
        count += text.count("\n")
        if count >= lines:
            break
    return "".join(parts)


class _Session:
    """One server and its client, with the document operations the bench needs."""

    def __init__(self, client: BenchClient, home: Path) -> None:
        self.client = client
        self.home = home
        self.opened = 0

    def open(self, text: str) -> str:
        self.opened += 1
        uri = f"file:///bench/next-edit/{self.opened}.py"
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )
        return uri

    def change(self, uri: str, version: int, text: str, start: int, deleted: str, new: str) -> None:
        """Replace `deleted` at offset `start` of `text` (the document as it is) with `new`."""
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            start=_position(text, start), end=_position(text, start + len(deleted))
                        ),
                        text=new,
                    )
                ],
            )
        )

    async def next_edit(self, uri: str, version: int, text: str, cursor: int) -> Any:
        position = _position(text, cursor)
        return await self.client.protocol.send_request_async(
            "ghostwright/nextEdit",
            {
                "textDocument": {"uri": uri, "version": version},
                "position": {"line": position.line, "character": position.character},
            },
        )

    async def complete(self, uri: str, text: str, cursor: int) -> None:
        await self.client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION,
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=_position(text, cursor),
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Invoked
                ),
            ),
        )

    def generations(self, uri: str) -> list[GenerationEvent]:
        return [
            event
            for event in read_trace(events_file(self.home))
            if isinstance(event, GenerationEvent) and event.uri == uri
        ]

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    def events(self, uri: str) -> list[NextEditEvent]:
        return [
            event
            for event in read_trace(events_file(self.home))
            if isinstance(event, NextEditEvent) and event.uri == uri
        ]


def _position(text: str, offset: int) -> types.Position:
    """The LSP position (UTF-16) of an offset: the server's own conversion."""
    return Document("file:///bench.py", "plaintext", 0, text).position_at(offset)


async def _with_server(model: Path, settle_ms: int, work: Any) -> None:
    with tempfile.TemporaryDirectory(prefix="ghostwright-bench-next-edit-") as scratch:
        home = Path(scratch)
        env = server_environment(home, model, None)
        env["GHOSTWRIGHT_NEXT_EDIT_SETTLE_MS"] = str(settle_ms)
        env["GHOSTWRIGHT_NEXT_EDIT_THRESHOLD"] = "0"  # every verified proposal: what it costs
        client = bench_client()
        try:
            await launch(client, env)
            await initialize(client)
            await work(_Session(client, home))
        finally:
            await stop_server(client)


def _original(task: EditTask) -> tuple[str, list[tuple[int, str, str]]]:
    """The text before the task's replayed edits, and those edits (each in the text before)."""
    text = task.text
    for start, deleted, inserted in reversed(task.replayed):
        text = text[:start] + deleted + text[start + len(inserted) :]
    return text, list(task.replayed)


async def _renames(session: _Session, tasks: list[EditTask], report: NextEditBenchReport) -> None:
    for task in tasks:
        text, edits = _original(task)
        uri = session.open(text)
        ((start, deleted, inserted),) = edits
        session.change(uri, 2, text, start, deleted, inserted)
        answer = await session.next_edit(uri, 2, task.text, start + len(inserted))
        events = session.events(uri)
        if events:
            report.rename_compute_ms.append(events[-1].compute_ms)
        expected = {change.start for change in task.targets[0]}
        if answer is not None and answer.source == "rename":
            got = {_offset(task.text, edit.range.start) for edit in answer.edits}
            report.rename_hits += got == expected
        report.renames += 1
        session.close(uri)


def _offset(text: str, position: Any) -> int:
    document = Document("file:///bench.py", "plaintext", 0, text)
    return document.offset_at(types.Position(line=position.line, character=position.character))


async def _replay(session: _Session, task: EditTask) -> tuple[str, int]:
    text, edits = _original(task)
    uri = session.open(text)
    version = 1
    for start, deleted, inserted in edits:
        version += 1
        session.change(uri, version, text, start, deleted, inserted)
        text = text[:start] + inserted + text[start + len(deleted) :]
    return uri, version


async def _history(session: _Session, tasks: list[EditTask], report: NextEditBenchReport) -> None:
    for task in tasks:
        uri, version = await _replay(session, task)
        await session.complete(uri, task.text, task.cursor)
        completed = bool(session.generations(uri))
        answer = await session.next_edit(uri, version, task.text, task.cursor)
        events = session.events(uri)
        model_ran = bool(events) and events[-1].model_ms > 0
        if model_ran:
            report.model_compute_ms.append(events[-1].compute_ms)
            report.model_ms.append(events[-1].model_ms)
        report.model_shown += answer is not None and answer.source == "model"
        report.history += 1
        if model_ran and completed:
            # The next keystroke: a space at the cursor, and a completion after it.
            at = task.cursor
            session.change(uri, version + 1, task.text, at, "", " ")
            before = len(session.generations(uri))
            asked = time.perf_counter()
            await session.complete(uri, task.text[:at] + " " + task.text[at:], at + 1)
            elapsed = (time.perf_counter() - asked) * 1000.0
            generations = session.generations(uri)[before:]
            if generations:
                report.after_ms.append(elapsed)
                first = generations[0]
                report.after_reused.append(first.reused_tokens / max(1, first.prompt_tokens))
        session.close(uri)


async def _cancels(
    session: _Session, tasks: list[EditTask], settle_ms: int, report: NextEditBenchReport
) -> None:
    for task in tasks:
        uri, version = await _replay(session, task)
        waiting = asyncio.ensure_future(session.next_edit(uri, version, task.text, task.cursor))
        await asyncio.sleep(settle_ms / 1000.0 + CANCEL_AFTER_S)
        if waiting.done():
            session.close(uri)
            continue  # answered before the change (no model run): nothing to cancel
        end = len(task.text)
        session.change(uri, version + 1, task.text, end, "", "\n")
        changed = time.perf_counter()
        await waiting
        report.cancel_ms.append((time.perf_counter() - changed) * 1000.0)
        session.close(uri)


def run_next_edit_bench(options: NextEditBenchOptions) -> NextEditBenchReport:
    text = large_file(options.lines)
    report = NextEditBenchReport(
        machine=f"{os.cpu_count()} cores, {platform.platform()}", lines=text.count("\n")
    )
    renames = rename_tasks([("stdlib", "large.py", text)], options.renames, options.seed)

    async def deterministic(session: _Session) -> None:
        await _renames(session, renames, report)

    asyncio.run(_with_server(options.model, options.settle_ms, deterministic))
    if options.fim_model is None:
        return report
    tasks = history_tasks("validation")
    random.Random(options.seed).shuffle(tasks)

    async def model(session: _Session) -> None:
        await _history(session, tasks[: options.history], report)
        cancelled = tasks[options.history : options.history + options.cancels]
        await _cancels(session, cancelled, options.settle_ms, report)

    asyncio.run(_with_server(options.fim_model, options.settle_ms, model))
    return report


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def format_report(report: NextEditBenchReport) -> str:
    return "\n".join(
        [
            f"Next-edit bench; {report.machine}",
            "",
            "| measurement | n | p50 ms | p95 ms | note |",
            "|---|---|---|---|---|",
            f"| rename proposal on a {report.lines:,}-line file (quiet to answer) | "
            f"{len(report.rename_compute_ms)} | {_ms(percentile(report.rename_compute_ms, 50))} "
            f"| {_ms(percentile(report.rename_compute_ms, 95))} | "
            f"{report.rename_hits} of {report.renames} complete and exact |",
            f"| model proposal, whole answer (quiet to answer) | {len(report.model_compute_ms)} "
            f"| {_ms(percentile(report.model_compute_ms, 50))} | "
            f"{_ms(percentile(report.model_compute_ms, 95))} | "
            f"{report.model_shown} of {report.history} requests shown a model edit |",
            f"| of which the model | {len(report.model_ms)} | "
            f"{_ms(percentile(report.model_ms, 50))} | {_ms(percentile(report.model_ms, 95))} | |",
            f"| a newer change to the cancelled answer | {len(report.cancel_ms)} | "
            f"{_ms(percentile(report.cancel_ms, 50))} | {_ms(percentile(report.cancel_ms, 95))} "
            "| |",
            f"| the completion after a model proposal (a space typed, invoked) | "
            f"{len(report.after_ms)} | {_ms(percentile(report.after_ms, 50))} | "
            f"{_ms(percentile(report.after_ms, 95))} | prompt held in the KV cache: p50 "
            f"{_share(percentile(report.after_reused, 50))} |",
        ]
    )
