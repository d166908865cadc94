"""Train the next-edit predictor (`edits.judge.NextEditPredictor`) from `eval next-edit --rows`.

Each row is one verified proposal of the eval: its `NextEditFeatures` and whether it was the
authors' next edit (exact). A logistic regression (L2-regularised, fitted by Newton's method on
the standardised features, then folded back to raw weights) is small enough to read and to ship
as JSON. Features the tasks fix by construction are left out (`UNTRAINED`). The threshold is
the highest score that still keeps `KEEP_ACCEPTS` of the positive rows, lowered halfway to the
best-scored wrong proposal below it (`_threshold`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ghostwright.edits.judge import NextEditFeatures, NextEditPredictor

KEEP_ACCEPTS = 0.95
L2 = 10.0
ITERATIONS = 50
FEATURES = [field.name for field in fields(NextEditFeatures)]
UNTRAINED = frozenset({"hunks", "log_last_chars"})
"""Features the eval's tasks fix by construction (a rename task replays one hunk of one name):
learned from its rows they would teach the eval's shape, not the person's. They keep weight 0
until real outcomes (telemetry) train them."""


@dataclass(frozen=True)
class TrainedNextEdit:
    predictor: NextEditPredictor
    rows: int
    positives: int
    kept: float
    """Share of positive rows scored at or above the threshold."""
    hidden: float
    """Share of negative rows scored below it."""


def read_rows(paths: Iterable[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows (in `FEATURES` order, untrained ones 0) and labels."""
    features, labels = [], []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                features.append(
                    [
                        0.0 if name in UNTRAINED else float(row["features"].get(name, 0.0))
                        for name in FEATURES
                    ]
                )
                labels.append(float(row["label"]))
    return np.array(features, dtype=float), np.array(labels, dtype=float)


def fit(x: np.ndarray, y: np.ndarray) -> NextEditPredictor:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([np.ones((len(x), 1)), (x - mean) / scale])
    weights = np.zeros(z.shape[1])
    penalty = np.eye(z.shape[1]) * L2
    penalty[0, 0] = 0.0
    for _ in range(ITERATIONS):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ weights, -50, 50)))
        gradient = z.T @ (p - y) + penalty @ weights
        hessian = (z.T * (p * (1 - p))) @ z + penalty
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-8:
            break
    raw = weights[1:] / scale
    bias = float(weights[0] - (raw * mean).sum())
    predictor = NextEditPredictor(dict(zip(FEATURES, map(float, raw), strict=True)), bias, 0.0)
    scores = np.array([_score(predictor, row) for row in x])
    return NextEditPredictor(predictor.weights, bias, _threshold(scores, y))


def _threshold(scores: np.ndarray, y: np.ndarray) -> float:
    """Midway between the highest score that keeps `KEEP_ACCEPTS` of the right proposals and
    the highest wrong one below it: every wrong proposal that can be hidden is, and proposals
    unlike any seen (a source with no rows yet) are not hidden for being unseen."""
    positive = np.sort(scores[y == 1])
    if not len(positive):
        return 1.0
    cutoff = float(positive[int(np.floor((1.0 - KEEP_ACCEPTS) * len(positive)))])
    below = scores[(y == 0) & (scores < cutoff)]
    return (float(below.max()) + cutoff) / 2.0 if len(below) else cutoff / 2.0


def _score(predictor: NextEditPredictor, row: np.ndarray) -> float:
    return predictor.score(NextEditFeatures(*map(float, row)))


def train_next_edit(paths: Iterable[Path], out: Path) -> TrainedNextEdit:
    x, y = read_rows(paths)
    if len(y) == 0:
        raise ValueError("no rows: run `ghostwright eval next-edit --rows FILE` first")
    predictor = fit(x, y)
    scores = np.array([_score(predictor, row) for row in x])
    shown = scores >= predictor.threshold
    positives = int(y.sum())
    kept = float(shown[y == 1].mean()) if positives else 0.0
    hidden = float((~shown[y == 0]).mean()) if positives < len(y) else 0.0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(predictor.to_json(), indent=2) + "\n", encoding="utf-8")
    return TrainedNextEdit(predictor, len(y), positives, kept, hidden)
