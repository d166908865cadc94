"""Training the acceptance predictor: labelled rows in, the shipped model files out.

Rows come from `simulate` (the real pipeline on real code, before there are users) and later
from telemetry. Each stage is a small LightGBM binary model:

- context (the gate): every row; a position where the pipeline offered nothing is a 0, since
  nothing there could be accepted.
- suggestion (the filter): the rows with a suggestion, with the model's confidence and the
  suggestion's shape added.

Nothing is tuned on the validation packages. Within the tune rows, grouped K-fold (a package's
rows all in one fold, so its files never inform their own predictions) gives out-of-fold
scores; `min_data_in_leaf` is the grid value with the best out-of-fold AUC. Each stage's
threshold is then chosen on the out-of-fold scores so that accepts of packages it was not chosen
on are kept at `TARGET_RETENTION` (`calibrated_retention`). The shipped model is fit on all tune
rows. The validation rows only measure.

Baseline: Copilot's contextual filter as published, a logistic regression on its eleven
features (`features.COPILOT_FEATURES`), fit here with Newton's method on the same rows.

`train_with_dask` fits the same model on a Dask cluster (`lightgbm.dask`) for when pooled
telemetry outgrows one machine; it needs the `dask` extra (dask, distributed, and the pandas and
scikit-learn that `lightgbm.dask` requires).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import math
import random
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ghostwright.hashing import sha256_of
from ghostwright.predictor.features import (
    CATEGORICAL,
    FEATURES,
    Stage,
    names,
)
from ghostwright.predictor.model import (
    CARD_FORMAT,
    MODEL_CARD,
    MODEL_FILES,
    AcceptancePredictor,
)
from ghostwright_lab.training.metrics import (
    TARGET_RETENTION,
    auc,
    retention_threshold,
)
from ghostwright_lab.training.rows import (
    Floats,
    Ints,
    Row,
    matrix,
    stage_rows,
)

if TYPE_CHECKING:
    # Imported where training needs it: the package pulls in pandas and scikit-learn, which
    # the language server (scoring through `booster.NativeBooster`) must not pay for.
    import lightgbm

    from ghostwright.settings import Settings
    from ghostwright_lab.training.predictor_eval import PredictorEvalReport
    from ghostwright_lab.training.simulate import SimulationStats

log = logging.getLogger(__name__)

FOLDS = 5
MIN_DATA_IN_LEAF_GRID = (20, 40, 80, 160)
RETENTION_GRID = (0.95, 0.96, 0.97, 0.98, 0.99)
ROUNDS = 150
PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.03,
    "num_leaves": 15,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "min_data_per_group": 10,
    "cat_smooth": 10.0,
    "max_cat_to_onehot": 8,
    "num_threads": 2,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
"""LightGBM parameters of both stages, besides `min_data_in_leaf` and the seed: small trees,
few of them, and some bagging, for a few thousand rows."""


# --- LightGBM ------------------------------------------------------------------------------


def fit_booster(
    features: Floats, labels: Ints, stage: Stage, params: Mapping[str, Any], rounds: int = ROUNDS
) -> lightgbm.Booster:
    """One LightGBM model on a stage's columns, categorical features declared."""
    import lightgbm

    columns = list(names(stage))
    data = lightgbm.Dataset(
        features,
        label=labels,
        feature_name=columns,
        categorical_feature=[name for name in columns if name in CATEGORICAL],
        params={"verbose": -1},
        free_raw_data=False,
    )
    return lightgbm.train(dict(params), data, num_boost_round=rounds)


Fitter = Callable[[Floats, Ints, Stage, Mapping[str, Any]], "lightgbm.Booster"]
"""Fits one stage's model on a feature matrix and labels with the given parameters."""


def group_folds(groups: Sequence[str], folds: int, seed: int) -> Ints:
    """A fold number for each row, whole groups to one fold, folds about equal in rows."""
    sizes: dict[str, int] = {}
    for group in groups:
        sizes[group] = sizes.get(group, 0) + 1
    order = sorted(sizes)
    random.Random(seed).shuffle(order)
    order.sort(key=lambda group: -sizes[group])  # big groups first, shuffled among equals
    loads = [0] * folds
    fold_of: dict[str, int] = {}
    for group in order:
        fold = min(range(folds), key=lambda index: loads[index])
        fold_of[group] = fold
        loads[fold] += sizes[group]
    return np.array([fold_of[group] for group in groups], dtype=np.int64)


@dataclass(frozen=True)
class StageFit:
    """One stage's shipped model and how it was chosen."""

    stage: Stage
    booster: lightgbm.Booster
    threshold: float
    min_data_in_leaf: int
    rows: int
    positives: int
    out_of_fold_auc: float | None
    """AUC of the out-of-fold scores of the chosen settings on the tune rows."""
    out_of_fold_auc_by_min_data: Mapping[int, float | None] = field(default_factory=dict)
    retention: float = TARGET_RETENTION
    """The share of the out-of-fold accepts the threshold keeps (see `calibrated_retention`)."""
    held_out_retention: float | None = None
    """The share of accepts a threshold chosen that way kept on folds it was not chosen on."""


def train_stage(
    rows: Sequence[Row], stage: Stage, seed: int = 0, fit: Fitter | None = None
) -> StageFit:
    """Choose `min_data_in_leaf` and the threshold out of fold, then fit on all `rows`; every
    fit with `fit` (None: LightGBM on this machine)."""
    fit = fit or fit_booster
    rows = stage_rows(rows, stage)
    if not rows:
        raise ValueError(f"no rows to train the {stage} stage on (no suggestions at all?)")
    features, labels = matrix(rows, stage)
    groups = [row.package for row in rows]
    folds = min(FOLDS, len(set(groups)))
    params = {**PARAMS, "seed": seed}
    by_min_data: dict[int, float | None] = {}
    out_of_fold: dict[int, Floats] = {}
    fold_of = group_folds(groups, folds, seed) if folds >= 2 else np.zeros(len(rows), np.int64)
    if folds >= 2 and 0 < labels.sum() < len(labels):
        for min_data in MIN_DATA_IN_LEAF_GRID:
            scores = np.zeros(len(rows))
            for fold in range(folds):
                held_out = fold_of == fold
                train_labels = labels[~held_out]
                if 0 < train_labels.sum() < len(train_labels):
                    booster = fit(
                        features[~held_out],
                        train_labels,
                        stage,
                        {**params, "min_data_in_leaf": min_data},
                    )
                    scores[held_out] = booster.predict(features[held_out])
                else:
                    scores[held_out] = train_labels.mean() if len(train_labels) else 0.0
            out_of_fold[min_data] = scores
            by_min_data[min_data] = auc(scores, labels)
    scored = {k: v for k, v in by_min_data.items() if v is not None}
    best = max(scored, key=lambda k: (scored[k], k)) if scored else MIN_DATA_IN_LEAF_GRID[1]
    booster = fit(features, labels, stage, {**params, "min_data_in_leaf": best})
    chosen = out_of_fold.get(best)
    retention, held_out_retention = TARGET_RETENTION, None
    if chosen is None:
        threshold_scores = booster.predict(features)
    else:
        threshold_scores = chosen
        retention, held_out_retention = calibrated_retention(chosen, labels, fold_of, folds)
    threshold = retention_threshold(threshold_scores, labels, retention)
    log.info(
        "%s stage: %d rows, %d accepted, min_data_in_leaf %d, out-of-fold AUC %s",
        stage,
        len(rows),
        int(labels.sum()),
        best,
        scored.get(best),
    )
    return StageFit(
        stage=stage,
        booster=booster,
        threshold=0.0 if threshold is None else threshold,
        min_data_in_leaf=best,
        rows=len(rows),
        positives=int(labels.sum()),
        out_of_fold_auc=scored.get(best),
        out_of_fold_auc_by_min_data=by_min_data,
        retention=retention,
        held_out_retention=held_out_retention,
    )


def calibrated_retention(
    scores: Floats, labels: Ints, fold_of: Ints, folds: int
) -> tuple[float, float | None]:
    """The retention to choose the threshold at, so that accepts of unseen packages are kept
    at `TARGET_RETENTION`: a threshold fit to keep 95% of the accepts it was chosen on keeps
    fewer of new ones. For each level of `RETENTION_GRID`, each fold's accepts are scored
    against the threshold that the other folds' out-of-fold scores give; the first level that
    keeps `TARGET_RETENTION` of all folds' accepts together is the one. Returns it and the share
    it kept."""
    kept_share = None
    for retention in RETENTION_GRID:
        kept = total = 0
        for fold in range(folds):
            held_out = fold_of == fold
            threshold = retention_threshold(scores[~held_out], labels[~held_out], retention)
            positives = scores[held_out][labels[held_out] == 1]
            if threshold is not None:
                kept += int((positives >= threshold).sum())
                total += len(positives)
        kept_share = kept / total if total else None
        if kept_share is None or kept_share >= TARGET_RETENTION:
            return retention, kept_share
    return RETENTION_GRID[-1], kept_share


# --- the shipped files ---------------------------------------------------------------------


@dataclass(frozen=True)
class TrainReport:
    """What `train_from_rows` wrote and measured."""

    out_dir: Path
    context: StageFit
    suggestion: StageFit
    card: Mapping[str, Any]
    evaluation: PredictorEvalReport | None
    """Measured on the validation rows; None when there were none."""
    simulation: Mapping[str, SimulationStats] = field(default_factory=dict)


def train_from_rows(
    rows: Sequence[Row],
    out_dir: Path,
    validation_rows: Sequence[Row] = (),
    *,
    seed: int = 0,
    data: Mapping[str, Any] | None = None,
    dask_scheduler: str | None = None,
    model_family: str | None = None,
) -> TrainReport:
    """Train both stages on `rows`, write the models, `model-card.json` and `MODEL_CARD.md`
    to `out_dir`, and measure them on `validation_rows` (against the baseline fit on `rows`).
    With `dask_scheduler` (an address such as tcp://host:8786), every LightGBM fit runs on that
    Dask cluster. `model_family` names the family of the model that made the rows (None: the
    default model), which picks the predictor at run time (`model.shipped_directory`)."""
    from ghostwright_lab.training.predictor_eval import evaluate_predictor, report_json

    if not rows:
        raise ValueError("no rows to train on")
    if dask_scheduler is None:
        fits = {stage: train_stage(rows, stage, seed) for stage in MODEL_FILES}
    else:
        with _dask_client(dask_scheduler) as client:
            fitter = dask_fitter(client)
            fits = {stage: train_stage(rows, stage, seed, fitter) for stage in MODEL_FILES}
    out_dir.mkdir(parents=True, exist_ok=True)
    stages: dict[str, Any] = {}
    for stage, fit in fits.items():
        path = out_dir / MODEL_FILES[stage]
        path.write_text(fit.booster.model_to_string(), encoding="utf-8")
        stages[stage] = {
            "file": path.name,
            "sha256": sha256_of(path),
            "purpose": "gate before generating" if stage == "context" else "filter suggestions",
            "features": list(names(stage)),
            "categorical": [name for name in names(stage) if name in CATEGORICAL],
            "threshold": fit.threshold,
            "trees": fit.booster.num_trees(),
            "rows": fit.rows,
            "accepted": fit.positives,
            "min_data_in_leaf": fit.min_data_in_leaf,
            "out_of_fold_auc": fit.out_of_fold_auc,
            "threshold_keeps_out_of_fold": fit.retention,
            "threshold_rule_kept_on_held_out_folds": fit.held_out_retention,
            "out_of_fold_auc_by_min_data_in_leaf": {
                str(k): v for k, v in fit.out_of_fold_auc_by_min_data.items()
            },
        }
    card: dict[str, Any] = {
        "format": CARD_FORMAT,
        "date": datetime.date.today().isoformat(),
        **({"model_family": model_family} if model_family is not None else {}),
        "stages": stages,
        "gate_threshold": fits["context"].threshold,
        "filter_threshold": fits["suggestion"].threshold,
        "target_retention": TARGET_RETENTION,
        "training": {
            "params": {**PARAMS, "seed": seed},
            "rounds": ROUNDS,
            "folds": FOLDS,
            "min_data_in_leaf_grid": list(MIN_DATA_IN_LEAF_GRID),
            "dask": dask_scheduler is not None,
            "retention_grid": list(RETENTION_GRID),
            "threshold_rule": (
                "highest score keeping a share of the accepted rows' out-of-fold scores (folds "
                "grouped by package); the share is the lowest of retention_grid at which "
                f"thresholds chosen on four folds keep {TARGET_RETENTION:.0%} of the fifth's "
                "accepts"
            ),
        },
        "data": {
            "tune_rows": len(rows),
            "tune_packages": len({row.package for row in rows}),
            "validation_rows": len(validation_rows),
            "validation_packages": sorted({row.package for row in validation_rows}),
            **(data or {}),
        },
        "metrics": None,
    }
    _write_card(out_dir, card)
    evaluation = None
    if validation_rows:
        predictor = AcceptancePredictor.load(out_dir)
        evaluation = evaluate_predictor(validation_rows, predictor, training_rows=rows)
        card["metrics"] = report_json(evaluation)
        _write_card(out_dir, card)
    (out_dir / "MODEL_CARD.md").write_text(model_card_markdown(card, evaluation), encoding="utf-8")
    return TrainReport(out_dir, fits["context"], fits["suggestion"], card, evaluation)


def _write_card(out_dir: Path, card: Mapping[str, Any]) -> None:
    text = json.dumps(card, indent=2, sort_keys=False, allow_nan=False) + "\n"
    (out_dir / MODEL_CARD).write_text(text, encoding="utf-8")


REPRODUCE = """\
The rows come from the real pipeline with the model of the table above; the simulation caches
them in the user cache dir (`simulate.default_rows_dir()`), so retraining from them takes seconds:

```sh
ghostwright train --simulate --n {n_train} --validation {n_validation} --seed {seed} \\
    --runs {runs}{model}
```"""


SIMULATED_DATA = (
    "Simulated before there are users (DESIGN.md): cursor positions in the Python standard "
    "library (statement starts, after `=`, after `(`), the real completion pipeline with the "
    "model named below (`model`) at each, and the label 1 when the suggestion is what the author "
    "wrote (its first line exactly; for a multi-line one, also an edit similarity >= 0.8 over the"
    " whole suggestion). Positions come in runs of consecutive cursors, a few runs per file, as a"
    " person works through a file. A position where the pipeline offers nothing is a 0 for the "
    "gate. History features come from earlier positions of the same file (session) and package "
    "(project); time and typing-rhythm features are missing (NaN) in simulated rows, so they have"
    " no effect until the model is retrained on telemetry."
)
POOLED_DATA = (
    "Pooled telemetry of a team (`ghostwright pool`): every shown suggestion with a decided "
    "outcome (accepted, or at least half accepted word by word: 1; rejected: 0) and the feature "
    "vector its decision used, each event counted once. The newest quarter of the suggestions "
    "is held out for validation; folds are grouped by project."
)
POOLED_REPRODUCE = """\
```sh
ghostwright pool EXPORTS... --out pooled/events.parquet
ghostwright train --from-parquet pooled --out DIR [--dask SCHEDULER] --seed {seed}
```"""


def model_card_markdown(card: Mapping[str, Any], evaluation: PredictorEvalReport | None) -> str:
    """The human-readable model card: what it is for, data, features, metrics, reproduction."""
    from ghostwright_lab.training.predictor_eval import format_table

    data = card["data"]
    stages = card["stages"]
    family = card.get("model_family")
    lines = [
        "# Ghostwright acceptance predictor"
        + (f" for {family} models" if isinstance(family, str) else ""),
        "",
        f"Trained {card['date']}. Two LightGBM binary models that estimate the probability that a "
        "person accepts an inline suggestion:",
        "",
        f"- `{stages['context']['file']}` (gate): scores a request before the model runs, from the "
        f"context features; below {card['gate_threshold']:.4f} generation is skipped.",
        f"- `{stages['suggestion']['file']}` (filter): scores a generated suggestion, from all "
        f"features; below {card['filter_threshold']:.4f} it is not shown.",
        "",
        f"Thresholds aim to keep {card['target_retention']:.0%} of the suggestions that would "
        "be accepted. They are chosen on out-of-fold scores of the tune rows, never on "
        "validation: a threshold keeping a share of those accepts, the share set so that "
        "thresholds chosen on four package-grouped folds keep "
        f"{card['target_retention']:.0%} of the fifth fold's accepts. `model-card.json` holds "
        "the same facts for programs, with each file's sha256, which Ghostwright checks on load.",
        "",
        "## Data",
        "",
        POOLED_DATA if data.get("source") == "pooled telemetry" else SIMULATED_DATA,
        "",
        "| | value |",
        "|---|---|",
    ]
    for key, value in data.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        lines.append(f"| {key} | {shown} |")
    lines += [
        "",
        "## Features",
        "",
        "| feature | stage | kind | meaning |",
        "|---|---|---|---|",
    ]
    for feature in FEATURES:
        lines.append(f"| `{feature.name}` | {feature.stage} | {feature.kind} | {feature.doc} |")
    lines += ["", "## Training", ""]
    for stage, entry in stages.items():
        lines.append(
            f"- {stage}: {entry['rows']} rows ({entry['accepted']} accepted), "
            f"{entry['trees']} trees, min_data_in_leaf {entry['min_data_in_leaf']} (out-of-fold "
            f"AUC {_plain(entry['out_of_fold_auc'])}), threshold {entry['threshold']:.4f} "
            f"(keeps {entry['threshold_keeps_out_of_fold']:.0%} of the out-of-fold accepts; the "
            f"rule kept {_percent(entry['threshold_rule_kept_on_held_out_folds'])} on held-out "
            "folds)"
        )
    params = ", ".join(f"{k}={v}" for k, v in card["training"]["params"].items())
    lines += ["", f"LightGBM: {card['training']['rounds']} rounds, {params}."]
    lines += ["", "## Validation", ""]
    if evaluation is None:
        lines.append("No validation rows were given.")
    else:
        lines += ["```", format_table(evaluation), "```"]
    reproduce = POOLED_REPRODUCE if data.get("source") == "pooled telemetry" else REPRODUCE
    reproduce = reproduce.format(
        n_train=data.get("n_train", "N"),
        n_validation=data.get("n_validation", "N"),
        seed=card["training"]["params"]["seed"],
        runs=data.get("runs", 1),
        model=f" --model {data['model']}" if data.get("model", "default") != "default" else "",
    )
    lines += ["", "## Reproduce", "", reproduce, ""]
    return "\n".join(lines)


def _plain(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100.0 * value:.1f} %"


# --- Dask ----------------------------------------------------------------------------------


def _dask_client(scheduler_address: str) -> Any:
    from distributed import Client

    return Client(scheduler_address)  # type: ignore[no-untyped-call]


def dask_fitter(client: Any, chunk_rows: int = 10_000) -> Fitter:
    """A `Fitter` that trains with `lightgbm.dask` on `client`'s cluster: the rows are split
    into chunks that the workers train on together. It returns an ordinary Booster."""
    import dask.array
    from lightgbm.dask import DaskLGBMClassifier

    def fit(
        features: Floats, labels: Ints, stage: Stage, params: Mapping[str, Any]
    ) -> lightgbm.Booster:
        chunks = max(1, min(chunk_rows, math.ceil(len(labels) / 2)))
        # lightgbm.dask sets the objective from the class and threads from the workers.
        settings = {k: v for k, v in params.items() if k not in ("objective", "num_threads")}
        model = DaskLGBMClassifier(
            client=client, objective="binary", n_estimators=ROUNDS, **settings
        )
        features_chunked = dask.array.from_array(  # type: ignore[no-untyped-call]
            features, chunks=(chunks, features.shape[1])
        )
        labels_chunked = dask.array.from_array(  # type: ignore[no-untyped-call]
            labels, chunks=(chunks,)
        )
        with warnings.catch_warnings():
            # The scikit-learn API always passes n_jobs; lightgbm.dask uses each worker's
            # thread count instead, and says so.
            warnings.filterwarnings("ignore", message="Parameter n_jobs will be ignored")
            model.fit(
                features_chunked,
                labels_chunked,
                feature_name=list(names(stage)),
                categorical_feature=[name for name in names(stage) if name in CATEGORICAL],
            )
        booster: lightgbm.Booster = model.booster_
        return booster

    return fit


def train_with_dask(
    rows: Sequence[Row],
    scheduler_address: str,
    stage: Stage = "suggestion",
    *,
    seed: int = 0,
    min_data_in_leaf: int = 20,
) -> lightgbm.Booster:
    """Fit one stage on all `rows` on a Dask cluster (no model selection, no threshold: for
    those, `train_from_rows(..., dask_scheduler=...)`)."""
    rows = stage_rows(rows, stage)
    features, labels = matrix(rows, stage)
    params = {**PARAMS, "seed": seed, "min_data_in_leaf": min_data_in_leaf}
    with _dask_client(scheduler_address) as client:
        return dask_fitter(client)(features, labels, stage, params)


# --- simulate, then train ------------------------------------------------------------------


def simulate_and_train(
    corpus: Path | None,
    out_dir: Path,
    n_train: int,
    n_validation: int,
    seed: int,
    *,
    rows_dir: Path | None = None,
    reuse: bool = True,
    settings: Settings | None = None,
    dask_scheduler: str | None = None,
    runs: int = 1,
    model_family: str | None = None,
) -> TrainReport:
    """Simulate rows on the tune and validation packages of `corpus` (None: the standard
    library), train on the tune rows (on a Dask cluster with `dask_scheduler`), measure on the
    validation rows, write to `out_dir`. `runs` repeats the simulation with further seeds
    (`simulated_rows`): `n_train` and `n_validation` are per run.

    Rows are cached in `rows_dir` (None: the user cache dir) and reused when a run with the same
    corpus, counts, seed, model and settings made them, so retraining costs seconds.
    """
    from ghostwright_lab.training.simulate import simulated_rows

    tune, validation, stats = simulated_rows(
        corpus,
        {"tune": n_train, "validation": n_validation},
        seed,
        rows_dir=rows_dir,
        reuse=reuse,
        settings=settings,
        runs=runs,
    )
    from ghostwright.engine.models import resolve_model_path
    from ghostwright.settings import resolve_settings

    settings = settings or resolve_settings().settings
    data: dict[str, Any] = {
        "model": settings.model or "default",
        "model_file": resolve_model_path(settings).name,
        "n_train": n_train,
        "n_validation": n_validation,
        "runs": runs,
    }
    for split, split_stats in stats.items():
        data.update({f"{split}_{k}": v for k, v in dataclasses.asdict(split_stats).items()})
    report = train_from_rows(
        tune,
        out_dir,
        validation,
        seed=seed,
        data=data,
        dask_scheduler=dask_scheduler,
        model_family=model_family,
    )
    return dataclasses.replace(report, simulation=stats)
