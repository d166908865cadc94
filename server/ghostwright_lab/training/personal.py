"""Retraining from the user's own decisions (`ghostwright train --from-telemetry`).

Every `shown` event carries the feature vector its decision used; its outcome (accepted,
partly accepted, rejected) is the label. While such rows are few, the active model (the
shipped one, trained on simulated acceptance, or an earlier personal one) is the prior: the
new model continues boosting from it on the user's rows instead of starting over. The newest
rows are held out; the new model replaces the active one only when it ranks them better (AUC)
than the active one does. The personal model lives in the user data dir and is loaded in
preference to the shipped one.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ghostwright.hashing import sha256_of
from ghostwright.predictor.features import Stage, names
from ghostwright.predictor.model import (
    MODEL_CARD,
    MODEL_FILES,
    AcceptancePredictor,
    load_active,
    personal_directory,
)
from ghostwright.telemetry.store import TelemetryEvent, TelemetryStore
from ghostwright_lab.training.metrics import TARGET_RETENTION, auc, retention_threshold
from ghostwright_lab.training.rows import Row, matrix, stage_rows
from ghostwright_lab.training.train import PARAMS

log = logging.getLogger(__name__)

HOLDOUT = 0.25
"""The newest share of the user's rows, kept apart to decide whether the new model is better."""
MIN_ROWS = 40
"""Fewer decided suggestions than this, or no accept or no reject among them: no training."""
ROUNDS = 40
"""Boosting rounds added on top of the active model."""
_CONTEXT_NAMES = frozenset(names("context"))


def label_of(outcome: TelemetryEvent) -> int | None:
    """1 accepted, 0 rejected; a partial accept counts when at least half was taken."""
    if outcome.kind == "accepted":
        return 1
    if outcome.kind == "rejected":
        return 0
    if outcome.kind == "accepted_partial":
        chars, total = outcome.data.get("chars"), outcome.data.get("of_chars")
        if isinstance(chars, int) and isinstance(total, int) and total > 0:
            return 1 if 2 * chars >= total else 0
    return None


def rows_from_events(events: Iterable[TelemetryEvent]) -> list[tuple[float, Row]]:
    """(time shown, row) for every shown suggestion with a filter decision and an outcome."""
    shown: dict[str, TelemetryEvent] = {}
    labels: dict[str, int] = {}
    for event in events:
        if event.kind == "shown" and event.data.get("stage") == "filter":
            shown[event.suggestion_id] = event
        else:
            label = label_of(event)
            if label is not None and event.suggestion_id not in labels:
                labels[event.suggestion_id] = label
    rows = []
    for suggestion_id, event in shown.items():
        if suggestion_id not in labels:
            continue
        features = {
            name: float(value) if isinstance(value, int | float) else float("nan")
            for name, value in dict(event.data.get("features") or {}).items()
        }
        context = {k: v for k, v in features.items() if k in _CONTEXT_NAMES}
        suggestion = {k: v for k, v in features.items() if k not in _CONTEXT_NAMES}
        row = Row(
            file="",
            package=str(event.data.get("project", "")),
            split="telemetry",
            line=0,
            column=0,
            kind="telemetry",
            label=labels[suggestion_id],
            context=context,
            suggestion=suggestion,
        )
        rows.append((event.time, row))
    rows.sort(key=lambda pair: pair[0])
    return rows


@dataclass(frozen=True)
class PersonalReport:
    """What `train_from_telemetry` found and did."""

    rows: int
    training_rows: int
    holdout_rows: int
    active_auc: float | None
    """The active model's AUC on the held-out newest rows."""
    new_auc: float | None
    replaced: bool
    reason: str
    directory: Path | None
    """Where the new model was written (None when nothing was written)."""


def train_from_telemetry(
    database: Path, *, out_dir: Path | None = None, seed: int = 0, family: str | None = None
) -> PersonalReport:
    """Train on the user's decisions, continuing from the active model for models of `family`;
    replace the personal model only if the result validates better."""
    store = TelemetryStore(database)
    try:
        timed = rows_from_events(store.events())
    finally:
        store.close()
    rows = [row for _, row in timed]
    labels = {row.label for row in rows}
    if len(rows) < MIN_ROWS or labels != {0, 1}:
        reason = f"{len(rows)} decided suggestions, {len(labels)} kinds of outcome: need "
        reason += f"{MIN_ROWS} with both accepts and rejects"
        return PersonalReport(len(rows), 0, 0, None, None, False, reason, None)
    cut = int(len(rows) * (1.0 - HOLDOUT))
    training, holdout = rows[:cut], rows[cut:]
    active = load_active(family)
    active_auc = _auc_of(active, holdout)
    with tempfile.TemporaryDirectory() as scratch:
        candidate_dir = Path(scratch) / "predictor"
        _continue_training(active, training, candidate_dir, seed)
        candidate = AcceptancePredictor.load(candidate_dir)
        new_auc = _auc_of(candidate, holdout)
        better = new_auc is not None and (active_auc is None or new_auc > active_auc)
        if not better:
            reason = "the new model does not rank the newest suggestions better"
            return PersonalReport(
                len(rows), len(training), len(holdout), active_auc, new_auc, False, reason, None
            )
        target = out_dir or personal_directory()
        _record_validation(candidate_dir, active_auc, new_auc, len(training), len(holdout))
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(candidate_dir, target)
    reason = "the new model ranks the newest suggestions better"
    return PersonalReport(
        len(rows), len(training), len(holdout), active_auc, new_auc, True, reason, target
    )


def _auc_of(predictor: AcceptancePredictor, rows: Sequence[Row]) -> float | None:
    scores = [predictor.score(row.features("suggestion")) for row in rows]
    return auc(scores, [row.label for row in rows])


def _continue_training(
    active: AcceptancePredictor, rows: Sequence[Row], out_dir: Path, seed: int
) -> None:
    """Both stages boosted further from the active model on `rows`; thresholds re-chosen to
    keep TARGET_RETENTION of the accepted rows."""
    import lightgbm

    out_dir.mkdir(parents=True)
    card: dict[str, Any] = json.loads(json.dumps(active.card))
    for stage, file_name in MODEL_FILES.items():
        stage_typed: Stage = stage
        chosen = stage_rows(rows, stage_typed)
        features, labels = matrix(chosen, stage_typed)
        params = {**PARAMS, "seed": seed, "min_data_in_leaf": 5}
        dataset = lightgbm.Dataset(
            features,
            labels,
            feature_name=list(names(stage_typed)),
            categorical_feature=[
                name for name in card["stages"][stage]["categorical"] if name in names(stage_typed)
            ],
            free_raw_data=False,
        )
        booster = lightgbm.train(
            params,
            dataset,
            num_boost_round=ROUNDS,
            init_model=lightgbm.Booster(model_str=active.model_text(stage_typed)),
            keep_training_booster=True,
        )
        path = out_dir / file_name
        path.write_text(booster.model_to_string(), encoding="utf-8")
        scores = booster.predict(features, num_threads=1)
        threshold = retention_threshold(np.asarray(scores), labels, TARGET_RETENTION)
        entry = card["stages"][stage]
        entry.update(
            {
                "sha256": sha256_of(path),
                "threshold": threshold if threshold is not None else entry["threshold"],
                "trees": booster.num_trees(),
                "rows": len(chosen),
                "accepted": int(np.sum(labels)),
            }
        )
    card["gate_threshold"] = card["stages"]["context"]["threshold"]
    card["filter_threshold"] = card["stages"]["suggestion"]["threshold"]
    card["date"] = datetime.date.today().isoformat()
    card["data"] = {"source": "telemetry", "prior": str(active.directory), "rows": len(rows)}
    (out_dir / MODEL_CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")


def _record_validation(
    directory: Path, active_auc: float | None, new_auc: float | None, train: int, holdout: int
) -> None:
    card_path = directory / MODEL_CARD
    card = json.loads(card_path.read_text(encoding="utf-8"))
    card["metrics"] = {
        "holdout": "the newest decided suggestions",
        "holdout_rows": holdout,
        "training_rows": train,
        "holdout_auc_before": active_auc,
        "holdout_auc_after": new_auc,
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")


def report_json(report: PersonalReport) -> dict[str, Any]:
    payload = dataclasses.asdict(report)
    payload["directory"] = str(report.directory) if report.directory else None
    return payload
