"""Step 8, log: what was decided, with the features it was decided on, and what came of it.

Every suggestion the predictor lets through is recorded as `shown`, every one it holds back
(before or after generation) as `hidden`, each with the feature vector and score the decision
used, so that training replays exactly what was decided. The outcome tracker turns later edits
and client reports into `accepted`, `accepted_partial`, `rejected` and `survived` events, and
keeps the session's recent labels for the next decisions' history features. Events go to the
telemetry store, which writes them on its own thread: nothing here waits on disk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from ghostwright.completion.outcomes import (
    REAL_INTERVALS,
    DocumentText,
    Outcome,
    OutcomeIntervals,
    OutcomeTracker,
)
from ghostwright.completion.pipeline import CompletionRequest, Suggestion
from ghostwright.hashing import sha256_text
from ghostwright.predictor.decide import Decision
from ghostwright.predictor.features import History, Stage
from ghostwright.predictor.model import AcceptancePredictor
from ghostwright.telemetry.store import TelemetryEvent, TelemetryStore

log = logging.getLogger(__name__)

Record = Callable[[TelemetryEvent], None]


def seen_by_model(request: CompletionRequest, suggestion: Suggestion) -> str:
    """The text `suggestion` may have copied: the whole document (the prompt windows have no
    fixed size in characters: `prefixTokens` may hold all of it) and the context from other
    files its prompt held (carried by the suggestion, since a cached one was generated for an
    earlier request). A secret in it is redacted from the suggestion's stored text even where
    the suggestion holds the bare value (`TelemetryEvent.seen`). Made and scanned on the
    telemetry writer's thread, and only where code text is kept."""
    chunks = dict.fromkeys(chunk.text for chunk in (*request.context, *suggestion.context))
    return "\n".join([request.text, *chunks])


def project_id(root_uri: str | None) -> str:
    """A stable pseudonym for the workspace: the project a decision belongs to."""
    return sha256_text(root_uri or "")[:16]


def project_accept_rate(store: TelemetryStore, project: str, days: float = 30.0) -> float | None:
    """The share of decided suggestions accepted in this project lately (a history feature)."""
    since = time.time() - days * 86400.0
    labels = [
        0 if event.kind == "rejected" else 1
        for event in store.events(since=since, kinds=("accepted", "accepted_partial", "rejected"))
        if event.data.get("project") == project
    ]
    return sum(labels) / len(labels) if labels else None


def explain_decision(
    predictor: AcceptancePredictor | None, decision: Decision, top: int = 8
) -> str:
    """One line: the verdict and the features that moved the score most (LightGBM
    pred_contrib, in log-odds)."""
    verdict = "shown" if decision.show else "hidden"
    head = f"{decision.stage} {verdict}: score {decision.score:.3f} vs {decision.threshold:.3f}"
    if predictor is None:
        return head
    stage: Stage = "context" if decision.stage == "gate" else "suggestion"
    parts = predictor.contributions(decision.features, stage)[:top]
    return head + "; " + ", ".join(f"{name} {value:+.3f}" for name, value in parts)


class Feedback:
    """Records decisions and outcomes; knows the history the predictor's features need."""

    def __init__(
        self,
        record: Record,
        document_text: DocumentText,
        *,
        project: str,
        project_accept_rate: float | None = None,
        clock: Callable[[], float] = time.time,
        intervals: OutcomeIntervals = REAL_INTERVALS,
    ) -> None:
        self._record = record
        self._clock = clock
        self.project = project
        self.model_name = ""
        """The loaded model's file name, set by the server when a model becomes ready."""
        self._project_rate = project_accept_rate
        self.tracker = OutcomeTracker(self._outcome, document_text, clock, intervals)

    def history(self) -> History:
        """The user's recent decisions, as the predictor's history features see them."""
        recent = self.tracker.history
        since = None
        if recent.last_decision_at is not None:
            since = max(0.0, self._clock() - recent.last_decision_at)
        return History(
            labels=tuple(recent.labels),
            seconds_since_last_decision=since,
            session_accept_rate=recent.accept_rate,
            project_accept_rate=self._project_rate,
            typing_gap_ms=self.tracker.typing_gap_ms,
        )

    def shown(
        self, request: CompletionRequest, suggestion: Suggestion, decision: Decision | None
    ) -> None:
        """A suggestion goes to the editor: remember it for its outcome and log it (once: the
        rest of a suggestion the person is typing into continues the first one's record)."""
        continues = self.tracker.shown(suggestion.id, request.uri, request.offset, suggestion.text)
        if continues is None:
            event = self._decision_event("shown", request, suggestion.id, suggestion, decision)
            self._record(event)

    def hidden(
        self, request: CompletionRequest, decision: Decision, suggestion: Suggestion | None
    ) -> None:
        """The predictor held a request (gate) or a suggestion (filter) back."""
        suggestion_id = suggestion.id if suggestion is not None else f"gate-{self._clock():.6f}"
        self._record(self._decision_event("hidden", request, suggestion_id, suggestion, decision))

    def _decision_event(
        self,
        kind: str,
        request: CompletionRequest,
        suggestion_id: str,
        suggestion: Suggestion | None,
        decision: Decision | None,
    ) -> TelemetryEvent:
        data: dict[str, Any] = {
            "language": request.language_id,
            "project": self.project,
            "model": self.model_name,
            "stage": decision.stage if decision is not None else "none",
            "score": decision.score if decision is not None else None,
            "threshold": decision.threshold if decision is not None else None,
            "features": dict(decision.features) if decision is not None else {},
        }
        if suggestion is not None:
            data.update(
                {
                    "source": suggestion.source,
                    "mode": suggestion.mode,
                    "latency_ms": round(suggestion.total_ms, 2),
                    "model_ms": round(suggestion.model_ms, 2),
                    "chars": len(suggestion.text),
                    "lines": suggestion.text.count("\n") + 1,
                    # Code text: the store keeps it only with the user's consent, redacted.
                    "text": suggestion.text,
                }
            )
        # Made in the store's writer thread, and only where code text is kept.
        seen = partial(seen_by_model, request, suggestion) if suggestion is not None else None
        return TelemetryEvent(kind, suggestion_id, self._clock(), data, seen=seen)

    def _outcome(self, outcome: Outcome) -> None:
        data = dict(outcome.data)
        data["project"] = self.project
        self._record(TelemetryEvent(outcome.kind, outcome.suggestion_id, outcome.time, data))
