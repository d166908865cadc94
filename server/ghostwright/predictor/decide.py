"""Step 8 of the pipeline: whether to ask the model (the gate), and whether to show what it said.

The `Judge` turns what the server knows (the document, its tree, the user's recent decisions)
into the predictor's features, scores them, and compares with the thresholds: the shipped
model's, the user's `predictorThreshold`, or none at all (`predictorThreshold = 0`). Each
verdict is a `Decision` that carries the features and score it used, so that the log step
can record exactly what was decided.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ghostwright.predictor.features import (
    CursorContext,
    History,
    context_features,
    suggestion_features,
)
from ghostwright.predictor.model import AcceptancePredictor
from ghostwright.syntax import SyntaxTree

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    """The predictor's verdict on one request (gate) or one suggestion (filter)."""

    stage: str
    """"gate" (before generation, context features) or "filter" (after, all features)."""
    score: float
    threshold: float
    features: Mapping[str, float]

    @property
    def show(self) -> bool:
        return self.score >= self.threshold


class Judge:
    """Scores requests and suggestions with one predictor and the current thresholds."""

    def __init__(
        self,
        predictor: AcceptancePredictor,
        history: Callable[[], History],
        threshold: float | None = None,
    ) -> None:
        self.predictor = predictor
        self._history = history
        self._threshold = threshold

    @property
    def filter_threshold(self) -> float:
        return self.predictor.filter_threshold if self._threshold is None else self._threshold

    @property
    def gate_threshold(self) -> float:
        """The shipped gate threshold; 0 when the user turned hiding off."""
        return 0.0 if self._threshold == 0.0 else self.predictor.gate_threshold

    def cursor(
        self, language_id: str, text: str, offset: int, tree: SyntaxTree | None
    ) -> CursorContext:
        return CursorContext(language_id, text, offset, tree, self._history())

    def gate(self, cursor: CursorContext) -> Decision:
        features = context_features(cursor)
        score = self.predictor.score_context(features)
        return Decision("gate", score, self.gate_threshold, features)

    def judge(
        self,
        cursor: CursorContext,
        text: str,
        token_logprobs: tuple[float, ...],
        token_entropies: tuple[float, ...],
        stop_reason: str,
    ) -> Decision:
        features = suggestion_features(cursor, text, token_logprobs, token_entropies, stop_reason)
        return Decision("filter", self.predictor.score(features), self.filter_threshold, features)
