"""Unit tests for ghostwright_lab.training.train (and the labels of simulate): metrics, the
baseline, rows on disk, training on synthetic rows, and training on a Dask cluster."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from ghostwright.predictor.features import (
    CHARACTERS,
    CONTEXT_NAMES,
    LANGUAGES,
    NODE_TYPES,
    STOP_REASONS,
    SUGGESTION_NAMES,
    names,
)
from ghostwright.predictor.model import MODEL_CARD, MODEL_FILES, AcceptancePredictor
from ghostwright_lab.corpus import Position
from ghostwright_lab.training import train
from ghostwright_lab.training.metrics import (
    TARGET_RETENTION,
    LogisticBaseline,
    auc,
    curves,
    kept_and_hidden,
    retention_threshold,
)
from ghostwright_lab.training.predictor_eval import format_table, plot, report_json
from ghostwright_lab.training.rows import Row, matrix, read_rows, write_rows
from ghostwright_lab.training.simulate import (
    SimulationStats,
    joined_runs,
    label_of,
    positions_by_file,
    refresh_features,
)
from ghostwright_lab.training.train import (
    MIN_DATA_IN_LEAF_GRID,
    TrainReport,
    group_folds,
    train_from_rows,
    train_with_dask,
)


def synthetic_rows(n: int, seed: int, split: str = "tune", packages: int = 12) -> list[Row]:
    """Rows whose label depends on a Copilot feature, a categorical one, and the model's
    confidence; a fifth of them have no suggestion (label 0)."""
    rng = random.Random(seed)
    rows = []
    for index in range(n):
        context = {name: rng.gauss(0.0, 1.0) for name in CONTEXT_NAMES}
        context["language"] = float(LANGUAGES["python"])
        context["previous_label"] = float(rng.random() < 0.5)
        context["label_2"] = math.nan
        after = rng.choice(["=", "(", ":", "<lower>"])
        context["last_non_blank_character"] = float(CHARACTERS[after])
        context["last_character"] = float(CHARACTERS[" " if after != "<lower>" else after])
        context["node_type"] = float(rng.choice(list(NODE_TYPES.values())[:6]))
        suggestion = None
        label = 0
        if rng.random() < 0.8:
            suggestion = {
                name: rng.gauss(0.0, 1.0) for name in SUGGESTION_NAMES[len(CONTEXT_NAMES) :]
            }
            suggestion["mean_logprob"] = -abs(rng.gauss(0.0, 1.0))
            suggestion["stop_reason"] = float(rng.choice(list(STOP_REASONS.values())))
            logit = (
                1.5 * context["previous_label"]
                + 1.5 * (after == "=")
                + 4.0 * suggestion["mean_logprob"]
                + 1.0
            )
            label = int(rng.random() < 1.0 / (1.0 + math.exp(-logit)))
        rows.append(
            Row(
                file=f"pkg{index % packages}/mod.py",
                package=f"pkg{index % packages}",
                split=split,
                line=index + 1,
                column=0,
                kind="statement",
                label=label,
                context=context,
                suggestion=suggestion,
            )
        )
    return rows


# --- metrics -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "labels", "expected"),
    [
        ([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], 1.0),
        ([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1], 0.0),
        ([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1], 0.5),
        ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.75),
        ([0.3, 0.3, 0.6, 0.2], [1, 0, 1, 0], 0.875),
        ([0.1, 0.2], [1, 1], None),
        ([], [], None),
    ],
)
def test_auc(scores: list[float], labels: list[int], expected: float | None) -> None:
    assert auc(scores, labels) == (None if expected is None else pytest.approx(expected))


def test_auc_equals_the_pairwise_definition() -> None:
    rng = np.random.default_rng(3)
    scores = np.round(rng.random(300), 2)  # with ties
    labels = (rng.random(300) < 0.3).astype(np.int64)
    positive, negative = scores[labels == 1], scores[labels == 0]
    pairs = (positive[:, None] > negative[None, :]) + 0.5 * (positive[:, None] == negative[None, :])
    assert auc(scores, labels) == pytest.approx(pairs.mean())


def test_retention_threshold_keeps_the_share_of_positives() -> None:
    scores = [i / 20 for i in range(20)] + [0.99] * 5
    labels = [1] * 20 + [0] * 5
    threshold = retention_threshold(scores, labels, 0.95)
    assert threshold == pytest.approx(0.05)  # one of twenty positives may be lost
    kept, hidden = kept_and_hidden(scores, labels, threshold)
    assert kept == pytest.approx(0.95) and hidden == 0.0
    assert retention_threshold(scores, labels, 1.0) == 0.0
    assert retention_threshold([0.3], [0], 0.95) is None


def test_kept_and_hidden() -> None:
    kept, hidden = kept_and_hidden([0.9, 0.6, 0.4, 0.2, 0.7], [1, 1, 0, 0, 0], 0.5)
    assert kept == 1.0 and hidden == pytest.approx(2 / 3)
    assert kept_and_hidden([0.9], [1], 0.5) == (1.0, None)


def test_curves_run_from_nothing_to_everything() -> None:
    scores, labels = [0.9, 0.8, 0.8, 0.3, 0.1], [1, 0, 1, 0, 1]
    roc, pr = curves(scores, labels)
    assert roc[0] == (0.0, 0.0) and roc[-1] == (1.0, 1.0)
    assert [t for t, _, _ in pr] == [0.9, 0.8, 0.3, 0.1]  # one point per distinct score
    assert pr[0][1:] == (1.0, pytest.approx(1 / 3))
    assert pr[-1][1:] == (pytest.approx(3 / 5), 1.0)
    area = sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in itertools.pairwise(roc))
    assert area == pytest.approx(auc(scores, labels))
    assert curves([], []) == ([(0.0, 0.0)], [])


def test_group_folds_keep_groups_whole_and_folds_even() -> None:
    groups = [f"g{i % 17}" for i in range(400)] + ["big"] * 60
    folds = group_folds(groups, 5, seed=1)
    for group in set(groups):
        assert len({int(f) for f, g in zip(folds, groups, strict=True) if g == group}) == 1
    sizes = np.bincount(folds, minlength=5)
    assert sizes.max() - sizes.min() <= 60
    assert (group_folds(groups, 5, seed=1) == folds).all()


# --- rows ----------------------------------------------------------------------------------


def test_rows_round_trip_with_nan_and_no_suggestion(tmp_path: Path) -> None:
    rows = synthetic_rows(20, seed=2)
    path = tmp_path / "rows.jsonl"
    write_rows(path, rows, {"key": {"n": 20}})
    header, read = read_rows(path)
    assert header == {"key": {"n": 20}}
    assert len(read) == 20
    for before, after in zip(rows, read, strict=True):
        assert (before.suggestion is None) == (after.suggestion is None)
        for stage in ("context", "suggestion"):
            a, b = matrix([before], stage)[0], matrix([after], stage)[0]
            assert np.array_equal(a, b, equal_nan=True)
    assert "NaN" not in path.read_text()  # strict JSON: NaN is null


def test_joined_runs_keep_each_cursor_once_and_sum_the_time() -> None:
    first = synthetic_rows(10, seed=1)
    # The second run came to three of the same cursors and to seven new ones.
    second = first[:3] + [
        dataclasses.replace(row, line=row.line + 100) for row in synthetic_rows(10, seed=2)[3:]
    ]
    stats = [
        SimulationStats(10, 3, 8, 2, 10.0, 1.0, 0.5, 2.0, 0.2, 1.0),
        SimulationStats(10, 4, 8, 3, 30.0, 0.333, 1.5, 4.0, None, None),
    ]
    rows, joined = joined_runs([(first, stats[0]), (second, stats[1])])
    assert rows == first + second[3:]
    assert joined.positions == len(rows)
    assert joined.accepted == sum(row.label for row in rows)
    assert joined.suggestions == sum(row.suggestion is not None for row in rows)
    assert joined.seconds == 40.0 and joined.rows_per_second == 0.5
    assert joined.feature_ms_p50 == 1.0  # weighted by each run's suggestions (8 and 8)
    assert joined.parse_ms_p50 == 0.2  # a run without the figure does not count
    assert joined_runs([(first, stats[0])]) == (first, stats[0])


def test_matrix_of_a_stage() -> None:
    rows = synthetic_rows(30, seed=4)
    features, labels = matrix(rows, "context")
    assert features.shape == (30, len(names("context")))
    with_suggestion = [row for row in rows if row.suggestion is not None]
    features, labels = matrix(with_suggestion, "suggestion")
    assert features.shape == (len(with_suggestion), len(names("suggestion")))
    assert labels.tolist() == [row.label for row in with_suggestion]


# --- labels of the simulation --------------------------------------------------------------


def position(before: str, target: str, after: str) -> Position:
    """A position whose line continues with `target`, followed by the lines of `after`."""
    document = before + "\n" + after
    return Position(Path("m.py"), 1, len(before), "statement", document, len(before), target)


@pytest.mark.parametrize(
    ("suggestion", "expected"),
    [
        ("foo(a, b)", 1),
        ("foo(a, b)   ", 1),
        ("foo(a, c)", 0),
        ("foo(a, b) + 1", 0),
        ("", 0),
        ("   ", 0),
        ("foo(a, b)\n    return x", 1),  # the following lines as the author wrote them
        ("foo(a, b)\n    return y", 1),  # one character off over the whole: similar enough
        ("foo(a, b)\n    raise ValueError('nothing here')", 0),
        ("foo(a, c)\n    return x", 0),  # similar as a whole, but the first line is wrong
        ("foo(a, b)\n", 1),  # a trailing line break is not a second line
    ],
)
def test_label_of(suggestion: str, expected: int) -> None:
    at = position("    x = ", "foo(a, b)", "    return x\n")
    assert label_of(at, suggestion) == expected


def test_positions_by_file_are_runs_in_document_order(tmp_path: Path) -> None:
    files = []
    for index in range(4):
        path = tmp_path / f"m{index}.py"
        path.write_text("".join(f"value_{i} = compute({i}, {index})\n" for i in range(40)))
        files.append(path)
    groups = positions_by_file(files, 20, seed=5, runs_per_file=2, run_length=3)
    assert sum(len(group) for group in groups) == 20
    assert all(len(group) <= 6 for group in groups) and len(groups) >= 4 - 1
    for group in groups:
        assert len({p.file for p in group}) == 1
        assert [p.offset for p in group] == sorted(p.offset for p in group)
        assert all(p.target and p.document[: p.offset] == p.prefix for p in group)
    assert positions_by_file(files, 20, seed=5, runs_per_file=2, run_length=3) == groups


def test_a_run_is_consecutive_cursors(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("".join(f"value_{i} = compute({i})\n" for i in range(50)))
    (group,) = positions_by_file([path], 4, seed=1, runs_per_file=1, run_length=4)
    # Each line has three cursors: the statement, after `=`, after `(`.
    kinds = [p.kind for p in group]
    lines = [p.line for p in group]
    assert lines[-1] - lines[0] <= 2
    assert set(kinds) <= {"statement", "after_equals", "after_paren"}


def test_refresh_features_recomputes_them_from_what_rows_keep(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("".join(f"value_{i} = compute({i})\n" for i in range(30)))
    (group,) = positions_by_file([path], 6, seed=2, runs_per_file=1, run_length=6)
    rows = [
        Row(
            file="m.py",
            package="m",
            split="tune",
            line=at.line,
            column=at.column,
            kind=at.kind,
            label=index % 2,
            context={},
            suggestion={} if index != 3 else None,
            suggestion_text="compute(1)" if index != 3 else "",
            target=at.target,
            token_logprobs=(-0.5, -1.5) if index != 3 else (),
            token_entropies=(0.25, 0.75) if index != 3 else (),
            stop_reason="eos" if index != 3 else "",
        )
        for index, at in enumerate(group)
    ]
    refreshed = refresh_features(rows, tmp_path)
    assert [set(row.context) for row in refreshed] == [set(CONTEXT_NAMES)] * 6
    assert refreshed[3].suggestion is None
    first = refreshed[0].suggestion
    assert first is not None and first["mean_logprob"] == -1.0 and first["max_entropy"] == 0.75
    assert math.isnan(refreshed[0].context["previous_label"])
    # The history is the labels of the earlier rows that had a suggestion (not row 3).
    assert refreshed[4].context["previous_label"] == rows[2].label
    assert refreshed[5].context["previous_label"] == rows[4].label
    assert refreshed[5].context["session_accept_rate"] == pytest.approx(1 / 4)  # 0, 1, 0, 0


# --- the baseline --------------------------------------------------------------------------


def test_the_baseline_learns_from_copilot_features_only() -> None:
    def copilot_labelled(seed: int) -> list[Row]:
        rng = random.Random(seed)
        rows = synthetic_rows(600, seed)
        return [
            dataclass_replace_label(
                row,
                int(
                    row.context["previous_label"]
                    + (row.context["last_non_blank_character"] == CHARACTERS["="])
                    + 0.5 * row.context["log_document_length"]
                    + rng.gauss(0.0, 0.5)
                    > 1.0
                ),
            )
            for row in rows
        ]

    baseline = LogisticBaseline.fit(copilot_labelled(6))
    held_out = copilot_labelled(7)
    scores = baseline.predict(held_out)
    assert ((scores >= 0) & (scores <= 1)).all()
    auc_value = auc(scores, [row.label for row in held_out])
    assert auc_value is not None and auc_value > 0.85


def test_the_baseline_of_one_class_is_the_base_rate() -> None:
    rows = [dataclass_replace_label(row, 0) for row in synthetic_rows(50, seed=8)]
    scores = LogisticBaseline.fit(rows).predict(rows)
    assert np.allclose(scores, scores[0]) and scores[0] < 1e-3


def dataclass_replace_label(row: Row, label: int) -> Row:
    return dataclasses.replace(row, label=label)


# --- training ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrainReport]:
    """Both stages trained once on synthetic rows, measured on synthetic validation rows."""
    directory = tmp_path_factory.mktemp("predictor")
    rows = synthetic_rows(700, seed=10)
    validation = synthetic_rows(300, seed=11, split="validation", packages=3)
    return directory, train_from_rows(
        rows, directory, validation, seed=0, data={"source": "synthetic"}
    )


def test_each_stage_is_chosen_out_of_fold(trained: tuple[Path, TrainReport]) -> None:
    _, report = trained
    rows = synthetic_rows(700, seed=10)
    assert report.context.rows == 700
    assert report.suggestion.rows == sum(1 for row in rows if row.suggestion is not None)
    for fit in (report.context, report.suggestion):
        assert set(fit.out_of_fold_auc_by_min_data) == set(MIN_DATA_IN_LEAF_GRID)
        best = max(v for v in fit.out_of_fold_auc_by_min_data.values() if v is not None)
        assert fit.out_of_fold_auc == best
        assert fit.out_of_fold_auc_by_min_data[fit.min_data_in_leaf] == best
        assert 0.0 < fit.threshold < 1.0
    assert report.suggestion.out_of_fold_auc is not None
    assert report.suggestion.out_of_fold_auc > 0.8
    assert report.suggestion.booster.feature_name() == list(names("suggestion"))
    assert report.context.booster.feature_name() == list(names("context"))


def test_train_from_rows_writes_a_loadable_predictor(trained: tuple[Path, TrainReport]) -> None:
    directory, report = trained
    assert {p.name for p in directory.iterdir()} == {
        *MODEL_FILES.values(),
        MODEL_CARD,
        "MODEL_CARD.md",
    }
    card = json.loads((directory / MODEL_CARD).read_text())
    assert card["data"]["source"] == "synthetic"
    assert card["stages"]["suggestion"]["features"] == list(names("suggestion"))
    assert card["metrics"]["filter"]["predictor"]["auc"] > 0.8
    predictor = AcceptancePredictor.load(directory)
    assert predictor.filter_threshold == report.suggestion.threshold == card["filter_threshold"]
    assert predictor.gate_threshold == report.context.threshold == card["gate_threshold"]


def test_the_validation_report(trained: tuple[Path, TrainReport], tmp_path: Path) -> None:
    directory, report = trained
    evaluation = report.evaluation
    assert evaluation is not None
    filter_auc, baseline = evaluation.filter.predictor.auc, evaluation.filter.baseline
    assert filter_auc is not None and baseline is not None and baseline.auc is not None
    assert filter_auc > baseline.auc  # it sees the confidence; the baseline does not
    kept = evaluation.filter.predictor.accepts_kept
    assert kept is not None and kept > TARGET_RETENTION - 0.1
    assert evaluation.score_p50_ms is not None and evaluation.score_p50_ms < 1.0
    text = format_table(evaluation)
    assert "AUC" in text and "filter predictor" in text and "gate baseline" in text
    markdown = (directory / "MODEL_CARD.md").read_text()
    assert "mean_logprob" in markdown and "## Validation" in markdown
    data = json.loads(json.dumps(report_json(evaluation, curves_too=True)))
    assert data["filter"]["predictor"]["pr"] and data["gate"]["confidence"] is None
    png = plot(evaluation, tmp_path / "plots" / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_from_rows_without_suggestions_says_so(tmp_path: Path) -> None:
    rows = [row for row in synthetic_rows(50, seed=12) if row.suggestion is None]
    with pytest.raises(ValueError, match="no rows to train the suggestion stage"):
        train_from_rows(rows, tmp_path)


def test_training_on_tiny_data_still_gives_a_model(tmp_path: Path) -> None:
    rows = synthetic_rows(12, seed=13, packages=1)
    train_from_rows(rows, tmp_path)
    predictor = AcceptancePredictor.load(tmp_path)
    assert 0.0 <= predictor.score(rows[0].features("suggestion")) <= 1.0


# --- Dask ----------------------------------------------------------------------------------


def test_train_with_dask_on_a_local_cluster() -> None:
    distributed = pytest.importorskip("distributed")
    rows = synthetic_rows(800, seed=14)
    held_out = [row for row in synthetic_rows(300, seed=15) if row.suggestion is not None]
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        booster = train_with_dask(
            rows, cluster.scheduler_address, "suggestion", min_data_in_leaf=10
        )
    assert booster.feature_name() == list(names("suggestion"))
    features, labels = matrix(held_out, "suggestion")
    scores = booster.predict(features)
    assert ((scores >= 0) & (scores <= 1)).all()
    auc_value = auc(scores, labels)
    assert auc_value is not None and auc_value > 0.8


def test_train_from_rows_on_a_dask_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(train, "MIN_DATA_IN_LEAF_GRID", (20,))
    rows = synthetic_rows(400, seed=16, packages=4)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        report = train_from_rows(rows, tmp_path, dask_scheduler=cluster.scheduler_address)
    assert report.card["training"]["dask"] is True
    predictor = AcceptancePredictor.load(tmp_path)
    held_out = [row for row in synthetic_rows(300, seed=17) if row.suggestion is not None]
    scores = [predictor.score(row.features("suggestion")) for row in held_out]
    auc_value = auc(scores, [row.label for row in held_out])
    assert auc_value is not None and auc_value > 0.8
