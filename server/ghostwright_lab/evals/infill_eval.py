"""`ghostwright eval infill`: fills of holes in real code, judged by the code's own tests.

Each task (`infill_tasks`) is a real document with a hole where the author's code was. Three
contenders fill it, with the same model, in one run, interleaved (each task asked of every
contender in turn):

- ghostwright: the real server (`ghostwright serve` over stdio), asked for an inline completion
  as an editor asks when the person invokes it, in a document opened just before (cold: the
  server has not seen it).
- naive-fim: a plain fill-in-the-middle integration of the model (`naive.NaiveFim`), greedy,
  one line.
- naive-fim-multi: the same, generating until the model ends the middle (at most 256 tokens).

A fill passes when the function's doctests pass with it (Python), or when it makes the author's
line (C family). Reported per kind and language: passed, shown (a non-empty answer), precision
(passed over shown), and latency p50/p95 (from the request to the answer, empty answers
included).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import sys
import tempfile
import time
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghostwright.errors import GhostwrightError
from ghostwright.progress import progress
from ghostwright_lab.bench.naive import NaiveFim
from ghostwright_lab.corpora import corpora, corpus_files, corpus_root
from ghostwright_lab.evals.completion_eval import Machine
from ghostwright_lab.evals.infill_tasks import (
    TASK_KINDS,
    InfillTask,
    TaskKind,
    c_family_tasks,
    passes,
    python_tasks,
)
from ghostwright_lab.stats import percentile

log = logging.getLogger(__name__)

PYTHON_CORPORA: dict[str, tuple[tuple[str, str], ...]] = {
    "tune": (("more-itertools==11.2.1", "more_itertools"),),
    "validation": (("toolz==1.2.0", "toolz"), ("boltons==26.2.0", "boltons")),
}
"""Packages with doctests, by split: (pip requirement, package directory). Tuning looks at the
tune split only; the validation packages are for reporting."""

REQUEST_TIMEOUT_S = 120.0
Asker = Callable[[int, InfillTask], Awaitable[tuple[str, float]]]
"""Asks the server one task (its number, the task): (fill, latency in ms)."""
CONTENDERS = ("ghostwright", "naive-fim", "naive-fim-multi")


@dataclass(frozen=True)
class InfillOptions:
    split: str = "tune"
    kinds: tuple[TaskKind, ...] = TASK_KINDS
    per_kind: int = 20
    languages: tuple[str, ...] = ("python", "c", "cpp", "java", "javascript", "typescript")
    """Python's tasks come from doctested packages, the others' (midline conditions) from
    the split's source corpora (`corpora`)."""
    seed: int = 0
    model: Path | None = None
    contenders: tuple[str, ...] = CONTENDERS


@dataclass(frozen=True)
class Fill:
    text: str
    latency_ms: float
    passed: bool


@dataclass(frozen=True)
class Group:
    """One contender's figures on one group of tasks (a kind in a language)."""

    contender: str
    kind: str
    language: str
    tasks: int
    passed: int
    shown: int
    precision: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None


@dataclass(frozen=True)
class InfillReport:
    split: str
    model: Path
    machine: Machine
    groups: tuple[Group, ...]
    fills: dict[str, list[tuple[str, str, str, bool]]]
    """Per contender: (task name, truth, fill, passed), for reading cases."""


def python_package(requirement: str) -> Path:
    """The directory holding `requirement`'s package, unpacked from its wheel (pip downloads it
    once into the cache)."""
    import subprocess

    target = corpus_root() / requirement.replace("==", "-")
    if target.is_dir():
        return target
    with tempfile.TemporaryDirectory(prefix="ghostwright-corpus-") as scratch:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"),
                *("--disable-pip-version-check", "--progress-bar", "off", "-d", scratch),
                requirement,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        wheels = list(Path(scratch).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise GhostwrightError(f"cannot download {requirement}: {done.stderr[-1000:]}")
        partial = target.with_name(target.name + ".part")
        with zipfile.ZipFile(wheels[0]) as archive:
            archive.extractall(partial)
        partial.rename(target)
    return target


def gather_tasks(options: InfillOptions) -> list[InfillTask]:
    tasks: list[InfillTask] = []
    if "python" in options.languages:
        for requirement, package in PYTHON_CORPORA[options.split]:
            root = python_package(requirement)
            tasks += python_tasks(root, package, options.kinds, options.per_kind, options.seed)
    if "midline" in options.kinds:
        for corpus in corpora(options.split, options.languages):
            files = corpus_files(corpus)
            tasks += c_family_tasks(files, 2, options.per_kind, options.seed)
    return tasks


# --- contenders ---------------------------------------------------------------------------------


def _position(document: str, offset: int) -> tuple[int, int]:
    """LSP line and UTF-16 character of `offset` (lines end at CRLF, CR or LF)."""
    before = document[:offset]
    line = before.count("\n") + before.count("\r") - before.count("\r\n")
    start = max(before.rfind("\n"), before.rfind("\r")) + 1
    text = before[start:]
    return line, len(text.encode("utf-16-le")) // 2


@contextlib.asynccontextmanager
async def _ghostwright_session(model: Path) -> AsyncIterator[Asker]:
    """The real server over stdio, ready; yields a function that asks it one task, invoked, in
    a freshly opened document (closed again after the answer)."""
    from lsprotocol import types
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("ghostwright-eval", "1")
    ready = asyncio.Event()

    @client.feature("ghostwright/status")  # type: ignore[untyped-decorator]
    def on_status(params: Any) -> None:
        if getattr(params, "state", None) in ("ready", "failed"):
            ready.set()

    for method in (
        types.WINDOW_LOG_MESSAGE,
        types.WINDOW_SHOW_MESSAGE,
        types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS,
    ):
        client.feature(method)(lambda params: None)

    env = {**os.environ, "GHOSTWRIGHT_MODEL": str(model)}
    await client.start_io(sys.executable, "-m", "ghostwright", "serve", env=env)
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    await asyncio.wait_for(ready.wait(), REQUEST_TIMEOUT_S)

    async def ask(number: int, task: InfillTask) -> tuple[str, float]:
        uri = f"file:///eval/{number}/{Path(task.name.split(':')[0]).name}"
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=task.language, version=1, text=task.document
                )
            )
        )
        line, character = _position(task.document, task.offset)
        started = time.perf_counter()
        result = await asyncio.wait_for(
            client.text_document_inline_completion_async(
                types.InlineCompletionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=types.Position(line=line, character=character),
                    context=types.InlineCompletionContext(
                        trigger_kind=types.InlineCompletionTriggerKind.Invoked
                    ),
                )
            ),
            REQUEST_TIMEOUT_S,
        )
        latency = (time.perf_counter() - started) * 1000.0
        items = result.items if isinstance(result, types.InlineCompletionList) else result or []
        text = items[0].insert_text if items else ""
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        return (text if isinstance(text, str) else text.value), latency

    try:
        yield ask
    finally:
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()  # type: ignore[no-untyped-call]


def _naive_fill(naive: NaiveFim, task: InfillTask, multi_line: bool) -> tuple[str, float]:
    started = time.perf_counter()
    text = naive.complete(task.prefix, task.suffix, multi_line).text
    return text, (time.perf_counter() - started) * 1000.0


async def _fills(
    tasks: Sequence[InfillTask],
    model: Path,
    contenders: Sequence[str],
    advance: Callable[[float], None],
) -> dict[str, list[tuple[str, float]]]:
    """Every contender's (fill, latency) for each task, interleaved: each task is asked of
    every contender in turn before the next task, so that a machine whose speed drifts during
    the run (a shared 2-core VM does) slows all of them alike, not the one that ran last. The
    server closes each document right after its answer, so no work of its own (a warm-up)
    runs while the naive integration is timed."""
    found: dict[str, list[tuple[str, float]]] = {contender: [] for contender in contenders}
    naive = NaiveFim(model) if any(c != "ghostwright" for c in contenders) else None
    try:
        if naive is not None:
            naive.complete("def f():\n    return ", "\n", False)  # untimed warm-up
        async with contextlib.AsyncExitStack() as stack:
            ask = None
            if "ghostwright" in contenders:
                ask = await stack.enter_async_context(_ghostwright_session(model))
            for number, task in enumerate(tasks):
                for contender in contenders:
                    if contender == "ghostwright" and ask is not None:
                        found[contender].append(await ask(number, task))
                    elif naive is not None:
                        multi = contender == "naive-fim-multi"
                        found[contender].append(
                            await asyncio.to_thread(_naive_fill, naive, task, multi)
                        )
                advance(1)
    finally:
        if naive is not None:
            naive.close()
    return found


# --- the run -------------------------------------------------------------------------------------


def _group(contender: str, kind: str, language: str, fills: list[Fill]) -> Group:
    shown = [fill for fill in fills if fill.text.strip()]
    passed = sum(fill.passed for fill in fills)
    return Group(
        contender,
        kind,
        language,
        len(fills),
        passed,
        len(shown),
        sum(fill.passed for fill in shown) / len(shown) if shown else None,
        percentile([fill.latency_ms for fill in fills], 50),
        percentile([fill.latency_ms for fill in fills], 95),
    )


def evaluate_infill(options: InfillOptions) -> InfillReport:
    from ghostwright.engine.models import resolve_model_path
    from ghostwright.settings import resolve_settings

    model = options.model or resolve_model_path(resolve_settings().settings)
    tasks = gather_tasks(options)
    if not tasks:
        raise GhostwrightError("no infill tasks found")
    log.info("%d infill tasks; model %s", len(tasks), model.name)
    with progress("infill", len(tasks), unit="tasks") as advance:
        answers_of = asyncio.run(_fills(tasks, model, options.contenders, advance))
    groups: list[Group] = []
    cases: dict[str, list[tuple[str, str, str, bool]]] = {}
    with tempfile.TemporaryDirectory(prefix="ghostwright-judge-") as scratch:
        for contender in options.contenders:
            answers = answers_of[contender]
            fills = [
                Fill(text, latency, bool(text.strip()) and passes(task, text, Path(scratch)))
                for task, (text, latency) in zip(tasks, answers, strict=True)
            ]
            cases[contender] = [
                (task.name, task.truth, fill.text, fill.passed)
                for task, fill in zip(tasks, fills, strict=True)
            ]
            keys = sorted({(task.kind, task.language) for task in tasks})
            for kind, language in keys:
                chosen = [
                    fill
                    for task, fill in zip(tasks, fills, strict=True)
                    if (task.kind, task.language) == (kind, language)
                ]
                groups.append(_group(contender, kind, language, chosen))
    return InfillReport(options.split, model, Machine.current(), tuple(groups), cases)


def report_json(report: InfillReport) -> dict[str, object]:
    return {
        "split": report.split,
        "model": str(report.model),
        "machine": dataclasses.asdict(report.machine),
        "groups": [dataclasses.asdict(group) for group in report.groups],
        "fills": report.fills,
    }


def format_table(report: InfillReport) -> str:
    rows = [["kind", "language", "contender", "tasks", "passed", "shown", "precision", "p50 ms"]]
    rows[0].append("p95 ms")
    for group in sorted(report.groups, key=lambda g: (g.kind, g.language, g.contender)):
        rows.append(
            [
                group.kind,
                group.language,
                group.contender,
                str(group.tasks),
                f"{group.passed / group.tasks:.2f}",
                f"{group.shown / group.tasks:.2f}",
                "-" if group.precision is None else f"{group.precision:.2f}",
                "-" if group.latency_p50_ms is None else f"{group.latency_p50_ms:.0f}",
                "-" if group.latency_p95_ms is None else f"{group.latency_p95_ms:.0f}",
            ]
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        f"Infill eval ({report.split} split), model {report.model.name}; "
        f"{report.machine.cores} cores, {report.machine.platform}",
        "",
    ]
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return "\n".join(lines)
