"""How well the acceptance predictor tells suggestions people take from those they reject.

Measured on rows of the validation packages only (never trained or tuned on), for both stages:

- gate (context model) on every row: would a suggestion here be accepted?
- filter (suggestion model) on the rows with a suggestion.

For each, three scorers on the same rows: the predictor; Copilot's contextual filter as a
baseline (logistic regression on its features, fit on the same training rows); and, for the
filter, the model's own confidence (geometric-mean token probability), which the pipeline's
`min_confidence` setting thresholded at `CONFIDENCE_THRESHOLD` before the predictor. Reported
per scorer:

- AUC: the chance that an accepted row scores above a rejected one.
- rejects hidden at 95% retention: the share of rejected rows below the threshold that keeps
  95% of the accepted ones, that threshold chosen on these same rows. It compares rankings;
  a shipped threshold cannot be chosen this way.
- at the shipped threshold (chosen on training rows): accepts kept, rejects hidden. This is
  what a person gets.

Plus both stages together (a suggestion is shown when the gate lets the request through and
the filter passes it), and the latency of scoring one suggestion.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghostwright.predictor.features import Stage
from ghostwright.predictor.model import AcceptancePredictor
from ghostwright_lab.stats import percentile
from ghostwright_lab.training.metrics import (
    TARGET_RETENTION,
    LogisticBaseline,
    auc,
    curves,
    kept_and_hidden,
    retention_threshold,
)
from ghostwright_lab.training.rows import Row, stage_rows

CONFIDENCE_THRESHOLD = 0.6
"""The `min_confidence` default that the predictor replaced, for comparison."""
LATENCY_PASSES = 3
"""Each validation suggestion is scored this many times for the latency percentiles."""


@dataclass(frozen=True)
class Scorer:
    """One way of scoring one stage's rows, and how well it separates them."""

    name: str
    auc: float | None
    roc: tuple[tuple[float, float], ...]
    """(false positive rate, true positive rate), from the highest threshold down."""
    pr: tuple[tuple[float, float, float], ...]
    """(threshold, precision, recall), from the highest threshold down."""
    rejects_hidden_at_retention: float | None
    """Rejected rows hidden by the threshold that keeps TARGET_RETENTION of the accepted ones
    on these rows."""
    threshold: float | None
    """The scorer's own threshold, chosen without these rows; None for the baseline."""
    accepts_kept: float | None
    rejects_hidden: float | None


@dataclass(frozen=True)
class StageEval:
    stage: Stage
    rows: int
    accepted: int
    predictor: Scorer
    baseline: Scorer | None
    confidence: Scorer | None


@dataclass(frozen=True)
class Combined:
    """Gate and filter together, on every validation row, at the shipped thresholds."""

    accepts_kept: float | None
    """Accepted suggestions that the gate let through and the filter showed."""
    rejects_hidden: float | None
    """Rejected suggestions that the gate or the filter kept from the person."""
    generations_skipped: float
    """Requests the gate answered without running the model."""


@dataclass(frozen=True)
class PredictorEvalReport:
    packages: tuple[str, ...]
    retention: float
    gate: StageEval
    filter: StageEval
    combined: Combined
    score_p50_ms: float | None
    """`AcceptancePredictor.score` of one suggestion, features to probability."""
    score_p95_ms: float | None
    context_score_p50_ms: float | None
    context_score_p95_ms: float | None


def _scorer(
    name: str, scores: Sequence[float], labels: Sequence[int], threshold: float | None
) -> Scorer:
    roc, pr = curves(scores, labels)
    oracle = retention_threshold(scores, labels, TARGET_RETENTION)
    hidden_at_retention = kept_and_hidden(scores, labels, oracle)[1] if oracle is not None else None
    kept, hidden = (
        kept_and_hidden(scores, labels, threshold) if threshold is not None else (None,) * 2
    )
    return Scorer(
        name=name,
        auc=auc(scores, labels),
        roc=tuple(roc),
        pr=tuple(pr),
        rejects_hidden_at_retention=hidden_at_retention,
        threshold=threshold,
        accepts_kept=kept,
        rejects_hidden=hidden,
    )


def _stage(
    rows: Sequence[Row],
    stage: Stage,
    score: Callable[[Row], float],
    threshold: float,
    training_rows: Sequence[Row],
) -> StageEval:
    rows = stage_rows(rows, stage)
    labels = [row.label for row in rows]
    predictor = _scorer("predictor", [score(row) for row in rows], labels, threshold)
    baseline = None
    training = stage_rows(training_rows, stage)
    if training:
        fitted = LogisticBaseline.fit(training)
        baseline = _scorer("baseline", [float(p) for p in fitted.predict(rows)], labels, None)
    confidence = None
    if stage == "suggestion":
        geometric_mean = [math.exp(row.features(stage)["mean_logprob"]) for row in rows]
        confidence = _scorer("confidence", geometric_mean, labels, CONFIDENCE_THRESHOLD)
    return StageEval(stage, len(rows), sum(labels), predictor, baseline, confidence)


def _latency(
    score: Callable[[dict[str, float]], float], rows: Sequence[Row], stage: Stage
) -> list[float]:
    features = [row.features(stage) for row in stage_rows(rows, stage)]
    times = []
    for _ in range(LATENCY_PASSES):
        for one in features:
            started = time.perf_counter()
            score(one)
            times.append((time.perf_counter() - started) * 1000.0)
    return times


def evaluate_predictor(
    rows_validation: Sequence[Row],
    predictor: AcceptancePredictor,
    *,
    training_rows: Sequence[Row] = (),
) -> PredictorEvalReport:
    """Measure `predictor` on validation rows; with `training_rows`, the baseline too."""
    gate = _stage(
        rows_validation,
        "context",
        lambda row: predictor.score_context(row.features("context")),
        predictor.gate_threshold,
        training_rows,
    )
    filter_ = _stage(
        rows_validation,
        "suggestion",
        lambda row: predictor.score(row.features("suggestion")),
        predictor.filter_threshold,
        training_rows,
    )
    shown = [
        row.suggestion is not None
        and predictor.passes_gate(row.features("context"))
        and predictor.passes_filter(row.features("suggestion"))
        for row in rows_validation
    ]
    suggested = [row for row in rows_validation if row.suggestion is not None]
    accepted = [s for s, row in zip(shown, rows_validation, strict=True) if row.label == 1]
    rejected = [
        s
        for s, row in zip(shown, rows_validation, strict=True)
        if row.suggestion is not None and row.label == 0
    ]
    skipped = [not predictor.passes_gate(row.features("context")) for row in rows_validation]
    combined = Combined(
        accepts_kept=statistics.fmean(accepted) if accepted else None,
        rejects_hidden=1.0 - statistics.fmean(rejected) if rejected else None,
        generations_skipped=statistics.fmean(skipped) if skipped else 0.0,
    )
    timings = _latency(predictor.score, suggested, "suggestion")
    context_timings = _latency(predictor.score_context, rows_validation, "context")
    return PredictorEvalReport(
        packages=tuple(sorted({row.package for row in rows_validation})),
        retention=TARGET_RETENTION,
        gate=gate,
        filter=filter_,
        combined=combined,
        score_p50_ms=percentile(timings, 50),
        score_p95_ms=percentile(timings, 95),
        context_score_p50_ms=percentile(context_timings, 50),
        context_score_p95_ms=percentile(context_timings, 95),
    )


def _scorer_json(scorer: Scorer | None, curves_too: bool) -> dict[str, Any] | None:
    if scorer is None:
        return None
    data = dataclasses.asdict(scorer)
    if curves_too:
        data["roc"] = [[round(x, 4), round(y, 4)] for x, y in scorer.roc]
        data["pr"] = [[round(t, 4), round(p, 4), round(r, 4)] for t, p, r in scorer.pr]
    else:
        del data["roc"], data["pr"]
    return data


def report_json(report: PredictorEvalReport, curves_too: bool = False) -> dict[str, Any]:
    """The report as one JSON-ready object; the curves' points only when asked for."""
    stages = {}
    for name, stage in (("gate", report.gate), ("filter", report.filter)):
        stages[name] = {
            "stage": stage.stage,
            "rows": stage.rows,
            "accepted": stage.accepted,
            "predictor": _scorer_json(stage.predictor, curves_too),
            "baseline": _scorer_json(stage.baseline, curves_too),
            "confidence": _scorer_json(stage.confidence, curves_too),
        }
    return {
        "packages": list(report.packages),
        "retention": report.retention,
        **stages,
        "combined": dataclasses.asdict(report.combined),
        "score_p50_ms": report.score_p50_ms,
        "score_p95_ms": report.score_p95_ms,
        "context_score_p50_ms": report.context_score_p50_ms,
        "context_score_p95_ms": report.context_score_p95_ms,
    }


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100.0 * value:.1f} %"


def format_table(report: PredictorEvalReport) -> str:
    """A small aligned table: one column per stage and scorer."""
    columns: list[tuple[str, StageEval, Scorer]] = []
    for label, stage in (("gate", report.gate), ("filter", report.filter)):
        for scorer in (stage.predictor, stage.baseline, stage.confidence):
            if scorer is not None:
                columns.append((f"{label} {scorer.name}", stage, scorer))
    retention = f"{report.retention:.0%}"
    rows: list[tuple[str, Callable[[StageEval, Scorer], str]]] = [
        ("rows (accepted)", lambda stage, _: f"{stage.rows} ({stage.accepted})"),
        ("AUC", lambda _, scorer: _number(scorer.auc)),
        (
            f"rejects hidden at {retention} kept",
            lambda _, s: _percent(s.rejects_hidden_at_retention),
        ),
        ("threshold", lambda _, scorer: _number(scorer.threshold, 4)),
        ("  accepts kept", lambda _, scorer: _percent(scorer.accepts_kept)),
        ("  rejects hidden", lambda _, scorer: _percent(scorer.rejects_hidden)),
    ]
    table = [["", *(name for name, _, _ in columns)]]
    for label, show in rows:
        table.append([label, *(show(stage, scorer) for _, stage, scorer in columns)])
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = [
        f"Acceptance predictor on the validation packages ({', '.join(report.packages)})",
        "",
    ]
    for row in table:
        cells = [
            row[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)),
        ]
        lines.append("  ".join(cells).rstrip())
    combined = report.combined
    lines += [
        "",
        f"Gate and filter together at their thresholds: {_percent(combined.accepts_kept)} of "
        f"accepted suggestions shown, {_percent(combined.rejects_hidden)} of rejected ones "
        f"hidden, {_percent(combined.generations_skipped)} of requests answered without the model.",
        f"Scoring one suggestion: p50 {_number(report.score_p50_ms)} ms, p95 "
        f"{_number(report.score_p95_ms)} ms (one request before generating: p50 "
        f"{_number(report.context_score_p50_ms)} ms, "
        f"p95 {_number(report.context_score_p95_ms)} ms).",
    ]
    return "\n".join(lines)


def plot(report: PredictorEvalReport, path: Path) -> Path:
    """ROC and precision-recall curves of both stages, every scorer, as a PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(10, 9))
    for row, (label, stage) in enumerate((("gate", report.gate), ("filter", report.filter))):
        roc_axes, pr_axes = axes[row]
        for scorer in (stage.predictor, stage.baseline, stage.confidence):
            if scorer is None:
                continue
            name = f"{scorer.name} (AUC {_number(scorer.auc)})"
            roc_axes.plot([x for x, _ in scorer.roc], [y for _, y in scorer.roc], label=name)
            pr_axes.plot(
                [r for _, _, r in scorer.pr], [p for _, p, _ in scorer.pr], label=scorer.name
            )
        roc_axes.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        roc_axes.set(
            title=f"{label}: ROC ({stage.rows} rows, {stage.accepted} accepted)",
            xlabel="rejected shown (false positive rate)",
            ylabel="accepted shown (true positive rate)",
        )
        base_rate = stage.accepted / stage.rows if stage.rows else 0.0
        pr_axes.axhline(base_rate, color="grey", linestyle=":", linewidth=1)
        pr_axes.set(
            title=f"{label}: precision-recall",
            xlabel="recall (accepted shown)",
            ylabel="precision",
            ylim=(0, 1.02),
        )
        for axis in (roc_axes, pr_axes):
            axis.legend(loc="lower right" if axis is roc_axes else "upper right", fontsize=8)
            axis.grid(alpha=0.3)
    figure.suptitle(f"Acceptance predictor, validation packages: {', '.join(report.packages)}")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
