"""Next edits for the language server: history from didChange, proposals when the edit settles,
verification, the predictor, outcomes to telemetry.

`propose` waits until the document has been quiet for `nextEditSettleMs` (nothing is proposed
while the person is typing), then tries the deterministic sources, then the model. Any newer
change supersedes the request: it answers None at once, and a model generation in flight is
stopped at its next token. At most one proposal per document is current: the one the editor
shows, that a code action offers, and whose outcome (accepted, dismissed, ignored) is recorded.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass

from ghostwright.documents import Document, Documents, Edit
from ghostwright.edits.history import EditHistory, Hunk
from ghostwright.edits.judge import NextEditFeatures, NextEditPredictor, features_of
from ghostwright.edits.model import model_proposal
from ghostwright.edits.proposal import Proposal
from ghostwright.edits.propose import deterministic_proposals, first_verified
from ghostwright.engine.manager import ModelManager
from ghostwright.events import Events, NextEditEvent
from ghostwright.settings import Settings
from ghostwright.telemetry.store import TelemetryEvent


@dataclass(frozen=True)
class NextEdit:
    """A proposal as shown: for the document at `version`, jump to `jump` (an offset)."""

    id: str
    uri: str
    version: int
    proposal: Proposal
    jump: int
    score: float | None
    features: NextEditFeatures


def jump_target(proposal: Proposal, cursor: int) -> int:
    """Where the person goes to see it: the first edit after the cursor, else the first."""
    return next((c.start for c in proposal.changes if c.start >= cursor), proposal.start)


class NextEditService:
    """Edit history, proposals and their outcomes for the open documents."""

    def __init__(
        self,
        documents: Documents,
        models: ModelManager,
        settings: Settings,
        events: Events,
        record: Callable[[TelemetryEvent], None],
        clock: Callable[[], float] = time.monotonic,
        claim_model: Callable[[], None] = lambda: None,
    ) -> None:
        self._documents = documents
        self._models = models
        self.settings = settings
        self._events = events
        self.record = record
        self._clock = clock
        self._claim_model = claim_model
        """Called before the model source runs: stops what else keeps the model busy (the
        completion service's warm-up), as a completion request does."""
        self.history = EditHistory()
        self.predictor: NextEditPredictor | None = NextEditPredictor.load()
        self._generation: dict[str, int] = {}
        self._cancel: dict[str, threading.Event] = {}
        self._current: dict[str, NextEdit] = {}

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(part for part in self.settings.next_edit_sources.split(",") if part)

    @property
    def threshold(self) -> float:
        if self.settings.next_edit_threshold is not None:
            return self.settings.next_edit_threshold
        return self.predictor.threshold if self.predictor is not None else 0.0

    # -- the document's life ------------------------------------------------------------
    def document_changed(self, uri: str, edits: list[Edit]) -> None:
        """Record the edits; supersede whatever is pending for the document."""
        self.history.record(uri, edits, self._clock())
        self._generation[uri] = self._generation.get(uri, 0) + 1
        cancel = self._cancel.pop(uri, None)
        if cancel is not None:
            cancel.set()

    def document_closed(self, uri: str) -> None:
        self.document_changed(uri, [])
        self.history.forget(uri)
        self._resolve(uri, "next_edit_rejected", "closed")
        self._generation.pop(uri, None)

    def current(self, document: Document) -> NextEdit | None:
        """The proposal shown for the document as it is now, if any."""
        shown = self._current.get(document.uri)
        return shown if shown is not None and shown.version == document.version else None

    # -- proposing ----------------------------------------------------------------------
    async def propose(self, uri: str, cursor: int, version: int | None = None) -> NextEdit | None:
        """The next edit to show once the document is quiet; None without one, or when a newer
        change came first (than the request's `version`, when the client names it)."""
        if not self.settings.next_edits or uri not in self._documents:
            return None
        generation = self._generation.get(uri, 0)
        started = time.perf_counter()
        if version is not None and self._documents.get(uri).version != version:
            return self._answer(uri, None, "superseded", [], 0.0, started)
        waited = await self._settled(uri, generation)
        if waited is None or uri not in self._documents:
            return self._answer(uri, None, "superseded", [], 0.0, started)
        document = self._documents.get(uri)
        hunks = self.history.hunks(uri)
        started = time.perf_counter()
        if not hunks:
            return self._answer(uri, None, "none", [], waited, started)
        last = hunks[-1]
        proposal, refused = self._deterministic(document, last)
        model_ms = 0.0
        if proposal is None and "model" in self.sources:
            model_started = time.perf_counter()
            candidate = await self._model_candidate(document, hunks)
            model_ms = (time.perf_counter() - model_started) * 1000.0
            if self._generation.get(uri, 0) != generation:
                return self._answer(uri, None, "superseded", refused, waited, started, model_ms)
            if candidate is not None:
                proposal, more = first_verified(document.tree, [candidate], last)
                refused += more
        if self._generation.get(uri, 0) != generation:
            return self._answer(uri, None, "superseded", refused, waited, started, model_ms)
        if proposal is None:
            return self._answer(uri, None, "none", refused, waited, started, model_ms)
        shown = self._judged(document, proposal, cursor, hunks)
        outcome = "shown" if shown.score is None or shown.score >= self.threshold else "hidden"
        return self._answer(uri, shown, outcome, refused, waited, started, model_ms)

    def propose_now(self, document: Document, cursor: int) -> NextEdit | None:
        """For a code action: the current proposal, else the deterministic ones right away."""
        shown = self.current(document)
        if shown is not None or not self.settings.next_edits:
            return shown
        hunks = self.history.hunks(document.uri)
        if not hunks:
            return None
        proposal, _ = self._deterministic(document, hunks[-1])
        if proposal is None:
            return None
        shown = self._judged(document, proposal, cursor, hunks)
        if shown.score is not None and shown.score < self.threshold:
            return None
        self._show(shown)
        return shown

    def _deterministic(self, document: Document, last: Hunk) -> tuple[Proposal | None, list[str]]:
        """The first verified proposal of the enabled sources that need no model."""
        candidates = deterministic_proposals(document.tree, last, self.sources)
        return first_verified(document.tree, candidates, last)

    async def _settled(self, uri: str, generation: int) -> float | None:
        """Wait until the document has been quiet for the settle time; how long it waited (ms),
        or None when a newer change came first."""
        started = self._clock()
        settle_s = self.settings.next_edit_settle_ms / 1000.0
        while True:
            changed = self.history.changed_at(uri)
            if changed is None:
                return 0.0  # never changed: nothing to wait for (and nothing to follow)
            remaining = settle_s - (self._clock() - changed)
            if remaining <= 0:
                return (self._clock() - started) * 1000.0
            await asyncio.sleep(remaining)
            if self._generation.get(uri, 0) != generation:
                return None

    async def _model_candidate(self, document: Document, hunks: list[Hunk]) -> Proposal | None:
        engine = self._models.engine
        if engine is None or engine.fim is None or engine.fim.file_separator is None:
            return None  # the model has no repository markup: deterministic proposals only
        cancel = threading.Event()
        self._cancel[document.uri] = cancel
        text, path = document.text, document.uri
        self._claim_model()

        def work() -> Proposal | None:
            # Its own KV cache: the completion's prompt stays warm for the next keystroke.
            return model_proposal(engine.rewriter(), path, text, hunks, cancel)

        try:
            return await self._models.run(work)
        finally:
            if self._cancel.get(document.uri) is cancel:
                del self._cancel[document.uri]

    def _judged(
        self, document: Document, proposal: Proposal, cursor: int, hunks: list[Hunk]
    ) -> NextEdit:
        features = features_of(document.text, proposal, cursor, hunks)
        score = self.predictor.score(features) if self.predictor is not None else None
        return NextEdit(
            uuid.uuid4().hex,
            document.uri,
            document.version,
            proposal,
            jump_target(proposal, cursor),
            score,
            features,
        )

    def _answer(
        self,
        uri: str,
        shown: NextEdit | None,
        outcome: str,
        refused: list[str],
        waited: float,
        started: float,
        model_ms: float = 0.0,
    ) -> NextEdit | None:
        compute_ms = (time.perf_counter() - started) * 1000.0
        self._events.emit(
            NextEditEvent(
                uri=uri,
                id=shown.id if shown is not None and outcome == "shown" else None,
                source=shown.proposal.source if shown is not None else None,
                outcome=outcome,
                places=len(shown.proposal.changes) if shown is not None else 0,
                score=shown.score if shown is not None else None,
                refused=tuple(refused),
                settle_ms=waited,
                compute_ms=compute_ms,
                model_ms=model_ms,
            )
        )
        if shown is None:
            return None
        if outcome == "hidden":
            self._telemetry("next_edit_hidden", shown)
            return None
        self._show(shown)
        return shown

    def _show(self, shown: NextEdit) -> None:
        self._resolve(shown.uri, "next_edit_rejected", "ignored")
        self._current[shown.uri] = shown
        self._telemetry("next_edit_shown", shown)

    # -- outcomes -----------------------------------------------------------------------
    def accepted(self, proposal_id: str) -> bool:
        """The editor applied the proposal; False when it is not the current one."""
        return self._outcome(proposal_id, "next_edit_accepted", "applied")

    def dismissed(self, proposal_id: str) -> bool:
        return self._outcome(proposal_id, "next_edit_rejected", "dismissed")

    def _outcome(self, proposal_id: str, kind: str, how: str) -> bool:
        for uri, shown in list(self._current.items()):
            if shown.id == proposal_id:
                self._resolve(uri, kind, how)
                return True
        return False

    def _resolve(self, uri: str, kind: str, how: str) -> None:
        shown = self._current.pop(uri, None)
        if shown is not None:
            self._telemetry(kind, shown, how)

    def _telemetry(self, kind: str, shown: NextEdit, how: str | None = None) -> None:
        data: dict[str, object] = {
            "source": shown.proposal.source,
            "score": shown.score,
            "threshold": self.threshold,
            "features": asdict(shown.features),
        }
        if how is not None:
            data["how"] = how
        self.record(TelemetryEvent(kind, shown.id, time.time(), data))
