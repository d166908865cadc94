"""Repair on the server's event loop: diagnostics after edits settle, fixes when asked.

Checks run on a worker thread from a snapshot of the text, and are published only if the
document is still at the version they checked: a slow check never overwrites newer results
with stale ones. Fixes run on the model thread (the one llama.cpp context), and only when a
code action is resolved, never when actions are listed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from ghostwright.documents import Document, Documents
from ghostwright.engine.manager import ModelManager
from ghostwright.events import Events, RepairEvent
from ghostwright.repair.diagnostics import SOURCE, Problem, check
from ghostwright.repair.fixes import Patch
from ghostwright.repair.pipeline import Repairer, RepairResult
from ghostwright.repair.verify import TextChange, minimal_changes

log = logging.getLogger(__name__)

SETTLE_S = 0.3
"""Quiet time after the last edit before a document is checked."""
SETTLE_S_PER_1000_LINES = 0.05
"""A long document waits longer: checking it costs more (pyflakes takes about a third of a
second for 20,000 lines, holding the interpreter), and the quick work of the same pause (a next
edit's proposals, 400 ms after the last key) goes first."""

PublishCallback = Callable[[str, int | None, list[Problem]], None]
"""(uri, version or None when the document closed, problems)."""


@dataclass(frozen=True)
class Snapshot:
    """A document's text at one version: what a fix is computed for."""

    uri: str
    version: int
    language_id: str
    text: str

    @classmethod
    def of(cls, document: Document) -> Snapshot:
        return cls(document.uri, document.version, document.language_id, document.text)


@dataclass(frozen=True)
class FixProblem:
    """A code action's request: fix the problem a diagnostic showed (ours, or another tool's,
    `source` naming it) at [start, end) of the document at `version`."""

    version: int
    start: int
    end: int
    message: str
    source: str | None


@dataclass(frozen=True)
class RepairUnit:
    """A code action's request: repair every problem in the unit at [start, end) of the
    document at `version` (a function the person selected in)."""

    version: int
    start: int
    end: int


RepairRequest = FixProblem | RepairUnit


@dataclass(frozen=True)
class RepairOutcome:
    """What resolving a repair request gives the editor: the edits (empty: none), and what to
    tell the person when there are none."""

    changes: tuple[TextChange, ...] = ()
    notice: str | None = None
    warning: bool = False
    """The notice is a warning (no verified fix) rather than information."""
    result: RepairResult | None = None
    """The single problem's repair, for the record (None for a unit or no attempt)."""


class RepairService:
    """Diagnostics per open document and verified fixes on request."""

    def __init__(
        self,
        models: ModelManager,
        documents: Documents,
        publish: PublishCallback,
        events: Events | None = None,
    ):
        self._models = models
        self.events = events or Events()
        """Where each repaired problem is told (`RepairEvent`)."""
        self._documents = documents
        self._publish = publish
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._latest: dict[str, tuple[int, list[Problem]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- diagnostics ---------------------------------------------------------------------
    def document_changed(self, document: Document) -> None:
        """Check the document once edits have settled for `SETTLE_S` (longer for long
        documents: `SETTLE_S_PER_1000_LINES`)."""
        loop = asyncio.get_running_loop()
        timer = self._timers.pop(document.uri, None)
        if timer is not None:
            timer.cancel()
        settle_s = SETTLE_S + SETTLE_S_PER_1000_LINES * document.line_count / 1000.0
        self._timers[document.uri] = loop.call_later(settle_s, self._start_check, document.uri)

    def document_closed(self, uri: str) -> None:
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        if self._latest.pop(uri, None) is not None:
            self._publish(uri, None, [])

    def _start_check(self, uri: str) -> None:
        self._timers.pop(uri, None)
        if uri not in self._documents:
            return
        task = asyncio.create_task(self._check(Snapshot.of(self._documents.get(uri))))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check(self, snapshot: Snapshot) -> None:
        try:
            problems = await asyncio.to_thread(check, snapshot.language_id, snapshot.text)
        except Exception:  # a checker bug must not take the server's diagnostics down
            log.exception("checking %s failed", snapshot.uri)
            return
        if not self._is_current(snapshot):
            return  # edited meanwhile: the newer check publishes
        self._latest[snapshot.uri] = (snapshot.version, problems)
        self._publish(snapshot.uri, snapshot.version, problems)

    def _is_current(self, snapshot: Snapshot) -> bool:
        return (
            snapshot.uri in self._documents
            and self._documents.get(snapshot.uri).version == snapshot.version
        )

    def problems(self, snapshot: Snapshot) -> list[Problem]:
        """Our problems in the snapshot: the published ones when they are of its version."""
        latest = self._latest.get(snapshot.uri)
        if latest is not None and latest[0] == snapshot.version:
            return latest[1]
        return check(snapshot.language_id, snapshot.text)

    # -- fixes ---------------------------------------------------------------------------
    async def fix(
        self,
        snapshot: Snapshot,
        target: Problem | None,
        near: Problem | None,
        problems: list[Problem],
    ) -> RepairResult:
        """A verified fix for `target` (or, with `near`, for another tool's problem there),
        among the snapshot's `problems`."""

        def work() -> RepairResult:
            return Repairer(self._models.rewrite_engine).repair(
                snapshot.language_id, snapshot.text, target, near=near, problems=problems
            )

        return await self._models.run(work)

    async def resolve(self, snapshot: Snapshot, request: RepairRequest) -> RepairOutcome:
        """The verified edits a code action stands for, in the snapshot it was offered for."""
        if snapshot.version != request.version:
            return RepairOutcome(
                notice="Ghostwright: the document changed since the fix was offered; ask again."
            )
        if isinstance(request, RepairUnit):
            fixed_text, fixed = await self.fix_unit(snapshot, request.start, request.end)
            if not fixed or fixed_text == snapshot.text:
                return RepairOutcome(
                    notice="Ghostwright: no verified fix for the problems in this function.",
                    warning=True,
                )
            log.info("repaired %d problems in a unit of %s", fixed, snapshot.uri)
            patch = Patch(0, len(snapshot.text), fixed_text, "model")
            return RepairOutcome(tuple(minimal_changes(snapshot.text, patch)))
        ours = request.source == SOURCE
        problems = await asyncio.to_thread(self.problems, snapshot)
        target = match_problem(problems, request.start, request.end, request.message, ours)
        near = None
        if target is None:
            if ours:
                return RepairOutcome(notice="Ghostwright: that problem is already gone.")
            near = Problem(
                request.start, request.end, request.message, f"external:{request.source}"
            )
        result = await self.fix(snapshot, target, near, problems)
        self.events.emit(
            RepairEvent(
                uri=snapshot.uri,
                message=request.message,
                origin=result.origin,
                failure=result.failure,
                total_ms=result.total_ms,
                candidates=result.candidates,
                model_runs=result.model_runs,
            )
        )
        if result.fixed:
            return RepairOutcome(result.changes, result=result)
        quoted = f"\u201c{request.message}\u201d"
        notice = f"Ghostwright found no verified fix for {quoted}: {result.failure}."
        return RepairOutcome(notice=notice, warning=True, result=result)

    async def fix_unit(self, snapshot: Snapshot, start: int, end: int) -> tuple[str, int]:
        """The snapshot's text with the problems in [start, end) fixed one by one; returns it
        and how many problems were fixed."""

        def work() -> tuple[str, int]:
            text, results = Repairer(self._models.rewrite_engine).repair_unit(
                snapshot.language_id, snapshot.text, start, end
            )
            return text, sum(1 for result in results if result.fixed)

        return await self._models.run(work)


def match_problem(
    problems: list[Problem], start: int, end: int, message: str, ours: bool
) -> Problem | None:
    """Our problem behind a diagnostic the client sent back: the same message nearest its
    place for ours; for another tool's, one of ours on the same span (pyright's "x is not
    defined" and pyflakes' undefined name are one problem), else None."""
    if ours:
        same = [p for p in problems if p.message == message]
        return min(same, key=lambda p: abs(p.start - start), default=None)
    overlapping = [p for p in problems if p.start <= end and p.end >= start]
    return min(overlapping, key=lambda p: abs(p.start - start), default=None)
