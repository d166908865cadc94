"""The next-edit predictor: whether a verified proposal is worth interrupting the person for.

Its own stage with its own features (where the proposal comes from, how far from the cursor,
how large, what the history looked like), separate from the completion predictor. The model is
a logistic regression stored as JSON (`models/next-edit/predictor.json`: feature names,
weights, bias, threshold), trained by `ghostwright train next-edit` from the rows of
`ghostwright eval next-edit`; it is small enough to read, and telemetry's `next_edit_*` events
carry the same features so that it can be retrained on real outcomes.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from ghostwright.edits.history import Hunk
from ghostwright.edits.proposal import Proposal
from ghostwright.settings import NEXT_EDIT_SOURCES

SHIPPED_PREDICTOR = Path(__file__).resolve().parents[3] / "models" / "next-edit" / "predictor.json"


@dataclass(frozen=True)
class NextEditFeatures:
    """What the predictor sees of one proposal (all numbers, telemetry stores them as is)."""

    rename: float
    call_arguments: float
    repeat: float
    repair: float
    model: float
    places: float
    """How many edits."""
    log_chars: float
    """log(1 + characters removed and inserted)."""
    log_distance_lines: float
    """log(1 + lines between the cursor and the nearest edit)."""
    log_span_lines: float
    """log(1 + lines from the first edit to the last)."""
    hunks: float
    """Hunks in the document's history."""
    log_last_chars: float
    """log(1 + size of the latest hunk)."""

    def vector(self) -> list[float]:
        return list(asdict(self).values())


def features_of(text: str, proposal: Proposal, cursor: int, hunks: list[Hunk]) -> NextEditFeatures:
    cursor_line = text.count("\n", 0, cursor)
    lines = [text.count("\n", 0, change.start) for change in proposal.changes]
    distance = min(abs(line - cursor_line) for line in lines)
    last = hunks[-1] if hunks else None
    chars = sum(change.end - change.start + len(change.text) for change in proposal.changes)
    sources = dict.fromkeys(NEXT_EDIT_SOURCES, 0.0)
    sources[proposal.source] = 1.0
    return NextEditFeatures(
        rename=sources["rename"],
        call_arguments=sources["call-arguments"],
        repeat=sources["repeat"],
        repair=sources["repair"],
        model=sources["model"],
        places=float(len(proposal.changes)),
        log_chars=math.log1p(chars),
        log_distance_lines=math.log1p(distance),
        log_span_lines=math.log1p(max(lines) - min(lines)),
        hunks=float(len(hunks)),
        log_last_chars=math.log1p(len(last.old) + len(last.new)) if last else 0.0,
    )


@dataclass(frozen=True)
class NextEditPredictor:
    """Logistic regression over `NextEditFeatures`."""

    weights: dict[str, float]
    bias: float
    threshold: float

    def score(self, features: NextEditFeatures) -> float:
        values = asdict(features)
        z = self.bias + sum(self.weights.get(name, 0.0) * value for name, value in values.items())
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_json(self) -> dict[str, object]:
        return {"weights": self.weights, "bias": self.bias, "threshold": self.threshold}

    @classmethod
    def load(cls, path: Path = SHIPPED_PREDICTOR) -> NextEditPredictor | None:
        """The predictor stored at `path`; None when there is none (every verified proposal is
        then shown)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                {str(k): float(v) for k, v in data["weights"].items()},
                float(data["bias"]),
                float(data["threshold"]),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
