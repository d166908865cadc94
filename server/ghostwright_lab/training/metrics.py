"""How well scores rank acceptance: AUC, the threshold that keeps a share of the accepts, the
precision-recall and ROC curves, and the baseline every predictor is compared with (Copilot's
contextual filter: a logistic regression on its features)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ghostwright.predictor.features import CATEGORICAL, COPILOT_FEATURES, NAN
from ghostwright_lab.training.rows import Floats, Ints, Row

TARGET_RETENTION = 0.95
"""Share of would-be accepted suggestions (requests, for the gate) the thresholds keep."""


def auc(scores: Sequence[float] | Floats, labels: Sequence[int] | Ints) -> float | None:
    """Area under the ROC curve (ties count half); None without both classes."""
    score = np.asarray(scores, dtype=np.float64)
    label = np.asarray(labels, dtype=np.int64)
    positives, negatives = int(label.sum()), int(len(label) - label.sum())
    if not positives or not negatives:
        return None
    ranks = _average_ranks(score)
    return float(
        (ranks[label == 1].sum() - positives * (positives + 1) / 2) / positives / negatives
    )


def _average_ranks(values: Floats) -> Floats:
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    ranks = np.empty(len(values), dtype=np.float64)
    start = 0
    while start < len(values):
        stop = start
        while stop + 1 < len(values) and ordered[stop + 1] == ordered[start]:
            stop += 1
        ranks[order[start : stop + 1]] = (start + stop) / 2 + 1
        start = stop + 1
    return ranks


def retention_threshold(
    scores: Sequence[float] | Floats, labels: Sequence[int] | Ints, retention: float
) -> float | None:
    """The highest threshold that keeps at least `retention` of the positive rows (a row is
    kept when its score >= threshold); None without positives."""
    score = np.asarray(scores, dtype=np.float64)
    positive = np.sort(score[np.asarray(labels) == 1])
    if not len(positive):
        return None
    allowed_to_lose = math.floor((1.0 - retention) * len(positive) + 1e-9)
    return float(positive[allowed_to_lose])


def kept_and_hidden(
    scores: Sequence[float] | Floats, labels: Sequence[int] | Ints, threshold: float
) -> tuple[float | None, float | None]:
    """(share of positives kept, share of negatives hidden) at `threshold`."""
    score = np.asarray(scores, dtype=np.float64)
    label = np.asarray(labels)
    kept = score >= threshold
    positives, negatives = label == 1, label == 0
    kept_share = float(kept[positives].mean()) if positives.any() else None
    hidden_share = float((~kept[negatives]).mean()) if negatives.any() else None
    return kept_share, hidden_share


def curves(
    scores: Sequence[float] | Floats, labels: Sequence[int] | Ints
) -> tuple[list[tuple[float, float]], list[tuple[float, float, float]]]:
    """ROC points (false positive rate, true positive rate) and precision-recall points
    (threshold, precision, recall), one per distinct score, highest threshold first."""
    score = np.asarray(scores, dtype=np.float64)
    label = np.asarray(labels, dtype=np.int64)
    positives, negatives = int(label.sum()), int(len(label) - label.sum())
    if not len(label):
        return [(0.0, 0.0)], []
    order = np.argsort(-score, kind="mergesort")
    ordered, hits = score[order], label[order]
    true_positives = np.cumsum(hits)
    false_positives = np.cumsum(1 - hits)
    last_of_tie = np.r_[ordered[1:] != ordered[:-1], True]
    roc = [(0.0, 0.0)]
    pr = []
    for index in np.flatnonzero(last_of_tie):
        tp, fp = float(true_positives[index]), float(false_positives[index])
        roc.append((fp / negatives if negatives else 0.0, tp / positives if positives else 0.0))
        pr.append((float(ordered[index]), tp / (tp + fp), tp / positives if positives else 0.0))
    return roc, pr


# --- the baseline --------------------------------------------------------------------------


def _sigmoid(values: Floats) -> Floats:
    result: Floats = 1.0 / (1.0 + np.exp(-np.clip(values, -35.0, 35.0)))
    return result


@dataclass(frozen=True)
class LogisticBaseline:
    """Copilot's contextual filter: logistic regression on its features only. Categorical
    features are one-hot (codes seen in training), a missing number is 0 plus an indicator."""

    numeric: tuple[str, ...]
    categories: tuple[tuple[str, tuple[int, ...]], ...]
    mean: Floats
    scale: Floats
    weights: Floats
    bias: float

    @classmethod
    def fit(cls, rows: Sequence[Row], l2: float = 1.0, iterations: int = 50) -> LogisticBaseline:
        """Newton's method (IRLS) with an L2 penalty on the standardized weights."""
        numeric = tuple(name for name in COPILOT_FEATURES if name not in CATEGORICAL)
        categories = tuple(
            (name, tuple(sorted({_code(row.context.get(name, NAN)) for row in rows})))
            for name in COPILOT_FEATURES
            if name in CATEGORICAL
        )
        raw = _design(rows, numeric, categories)
        mean = raw.mean(axis=0) if len(rows) else np.zeros(raw.shape[1])
        scale = raw.std(axis=0) if len(rows) else np.ones(raw.shape[1])
        scale[scale == 0] = 1.0
        design = np.hstack([np.ones((len(rows), 1)), (raw - mean) / scale])
        labels = np.array([row.label for row in rows], dtype=np.float64)
        coefficients = np.zeros(design.shape[1])
        if len(np.unique(labels)) < 2:
            # One class only: nothing to separate, every row gets the base rate.
            rate = min(max(float(labels.mean()) if len(labels) else 0.0, 1e-6), 1 - 1e-6)
            bias = math.log(rate / (1 - rate))
            return cls(numeric, categories, mean, scale, coefficients[1:], bias)
        penalty = np.full(design.shape[1], l2)
        penalty[0] = 1e-6  # the intercept is not shrunk
        for _ in range(iterations):
            probability = _sigmoid(design @ coefficients)
            gradient = design.T @ (probability - labels) + penalty * coefficients
            curvature = (design * (probability * (1 - probability))[:, None]).T @ design
            step = np.linalg.solve(curvature + np.diag(penalty), gradient)
            coefficients -= step
            if float(np.abs(step).max(initial=0.0)) < 1e-8:
                break
        return cls(numeric, categories, mean, scale, coefficients[1:], float(coefficients[0]))

    def predict(self, rows: Sequence[Row]) -> Floats:
        """Probability of acceptance of each row."""
        raw = _design(rows, self.numeric, self.categories)
        return _sigmoid((raw - self.mean) / self.scale @ self.weights + self.bias)


def _code(value: float) -> int:
    return -1 if math.isnan(value) else int(value)


def _design(
    rows: Sequence[Row], numeric: Sequence[str], categories: Sequence[tuple[str, Sequence[int]]]
) -> Floats:
    columns: list[Floats] = []
    for name in numeric:
        values = np.array([row.context.get(name, NAN) for row in rows], dtype=np.float64)
        missing = np.isnan(values)
        columns += [np.where(missing, 0.0, values), missing.astype(np.float64)]
    for name, codes in categories:
        values = np.array([_code(row.context.get(name, NAN)) for row in rows])
        columns += [(values == code).astype(np.float64) for code in codes]
    return np.column_stack(columns) if rows else np.zeros((0, len(columns)))
