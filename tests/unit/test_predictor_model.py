"""Unit tests for ghostwright.predictor.model: loading with checks, scoring, contributions,
and the shipped model."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from tests.unit.test_train import synthetic_rows

from ghostwright.hashing import sha256_of
from ghostwright.predictor.features import (
    CursorContext,
    History,
    context_features,
    names,
    suggestion_features,
    vector,
)
from ghostwright.predictor.model import (
    MODEL_CARD,
    MODEL_FILES,
    AcceptancePredictor,
    PredictorError,
    shipped_directory,
)
from ghostwright.syntax import SyntaxTree
from ghostwright_lab.training import train


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("predictor")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train, "MIN_DATA_IN_LEAF_GRID", (10,))
        train.train_from_rows(synthetic_rows(500, seed=1), directory, seed=0)
    return directory


@pytest.fixture
def copy(model_dir: Path, tmp_path: Path) -> Path:
    """A copy of the trained model directory to break."""
    target = tmp_path / "copy"
    shutil.copytree(model_dir, target)
    return target


def features_at(marked: str) -> tuple[dict[str, float], dict[str, float]]:
    offset = marked.index("|")
    text = marked[:offset] + marked[offset + 1 :]
    cursor = CursorContext("python", text, offset, SyntaxTree("python", text), History((1, 0)))
    context = context_features(cursor)
    return context, suggestion_features(cursor, "a + b", [-0.2, -0.9], [0.5, 1.1], "eos")


def test_scores_are_the_boosters_probabilities(model_dir: Path) -> None:
    predictor = AcceptancePredictor.load(model_dir)
    context, everything = features_at("def add(a, b):\n    return |\n")
    score = predictor.score(everything)
    gate = predictor.score_context(context)
    assert 0.0 <= score <= 1.0 and 0.0 <= gate <= 1.0
    card = json.loads((model_dir / MODEL_CARD).read_text())
    assert predictor.filter_threshold == card["filter_threshold"]
    assert predictor.gate_threshold == card["gate_threshold"]
    assert predictor.passes_filter(everything) == (score >= predictor.filter_threshold)
    assert predictor.passes_gate(context) == (gate >= predictor.gate_threshold)


def test_scores_match_lightgbm_on_many_rows(model_dir: Path) -> None:
    import lightgbm

    predictor = AcceptancePredictor.load(model_dir)
    booster = lightgbm.Booster(model_file=str(model_dir / MODEL_FILES["suggestion"]))
    for row in synthetic_rows(200, seed=2):
        features = row.features("suggestion")
        expected = booster.predict(np.asarray([vector(features, "suggestion")]))[0]
        assert predictor.score(features) == pytest.approx(expected, abs=1e-12)


def test_missing_features_are_scored_as_missing(model_dir: Path) -> None:
    predictor = AcceptancePredictor.load(model_dir)
    assert 0.0 <= predictor.score({}) <= 1.0
    assert 0.0 <= predictor.score_context({"previous_label": 1.0}) <= 1.0


def test_contributions_explain_the_log_odds(model_dir: Path) -> None:
    predictor = AcceptancePredictor.load(model_dir)
    for stage in ("context", "suggestion"):
        features = synthetic_rows(1, seed=3)[0].features(stage)
        contributions = predictor.contributions(features, stage)
        assert {name for name, _ in contributions} == {*names(stage), "bias"}
        magnitudes = [abs(value) for _, value in contributions]
        assert magnitudes == sorted(magnitudes, reverse=True)
        probability = (
            predictor.score_context(features) if stage == "context" else predictor.score(features)
        )
        log_odds = sum(value for _, value in contributions)
        assert 1.0 / (1.0 + math.exp(-log_odds)) == pytest.approx(probability, abs=1e-9)


# --- refusing what cannot be trusted -------------------------------------------------------


def test_a_changed_model_file_fails_its_checksum(copy: Path) -> None:
    path = copy / MODEL_FILES["suggestion"]
    path.write_text(path.read_text().replace("shrinkage=", "shrinkage=0", 1))
    with pytest.raises(PredictorError, match="does not match the sha256"):
        AcceptancePredictor.load(copy)


def test_a_corrupt_model_with_a_matching_checksum_is_refused(copy: Path) -> None:
    path = copy / MODEL_FILES["context"]
    path.write_text("not a model\n")
    card = json.loads((copy / MODEL_CARD).read_text())
    card["stages"]["context"]["sha256"] = sha256_of(path)
    (copy / MODEL_CARD).write_text(json.dumps(card))
    with pytest.raises(PredictorError, match="LightGBM cannot read"):
        AcceptancePredictor.load(copy)


def test_a_missing_model_file_is_refused(copy: Path) -> None:
    (copy / MODEL_FILES["context"]).unlink()
    with pytest.raises(PredictorError, match="is missing"):
        AcceptancePredictor.load(copy)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda card: card.update(format=99), "not a format-1 model card"),
        (lambda card: card.pop("stages"), "names no models"),
        (lambda card: card["stages"].pop("suggestion"), "has no suggestion model"),
        (lambda card: card["stages"]["context"]["features"].reverse(), "other features"),
        (lambda card: card["stages"]["context"].pop("threshold"), "has no threshold"),
    ],
)
def test_a_card_that_does_not_fit_is_refused(copy: Path, change: object, message: str) -> None:
    card = json.loads((copy / MODEL_CARD).read_text())
    assert callable(change)
    change(card)
    (copy / MODEL_CARD).write_text(json.dumps(card))
    with pytest.raises(PredictorError, match=message):
        AcceptancePredictor.load(copy)


def test_an_unreadable_or_missing_card_is_refused(tmp_path: Path, copy: Path) -> None:
    with pytest.raises(PredictorError, match=r"model-card\.json is missing"):
        AcceptancePredictor.load(tmp_path)
    (copy / MODEL_CARD).write_text("{not json")
    with pytest.raises(PredictorError, match="Cannot read"):
        AcceptancePredictor.load(copy)


def test_errors_say_what_to_do(copy: Path) -> None:
    (copy / MODEL_CARD).unlink()
    with pytest.raises(PredictorError, match="retrain it with `ghostwright train`"):
        AcceptancePredictor.load(copy)


# --- the shipped model ---------------------------------------------------------------------


def test_the_shipped_model_loads_and_scores() -> None:
    directory = shipped_directory()
    assert directory == Path(__file__).resolve().parents[2] / "models" / "predictor"
    predictor = AcceptancePredictor.load()
    assert 0.0 < predictor.gate_threshold < predictor.filter_threshold < 1.0
    card = predictor.card
    assert card["stages"]["suggestion"]["features"] == list(names("suggestion"))
    assert card["metrics"]["filter"]["predictor"]["auc"] is not None
    context, everything = features_at("import os\n\ndef main():\n    path = os.path.join(|\n")
    assert 0.0 <= predictor.score(everything) <= 1.0
    assert 0.0 <= predictor.score_context(context) <= 1.0
