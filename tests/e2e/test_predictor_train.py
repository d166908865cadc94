"""End to end: simulate with the real pipeline and the real model on a few small standard
library files, train, and load what was written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ghostwright.predictor.model import MODEL_CARD, MODEL_FILES, AcceptancePredictor
from ghostwright.settings import Settings
from ghostwright_lab.corpus import default_corpus
from ghostwright_lab.training.rows import read_rows
from ghostwright_lab.training.train import simulate_and_train

TUNE_FILES = ("colorsys.py", "bisect.py", "keyword.py")
VALIDATION_FILES = ("json/scanner.py",)  # `json` is a validation package


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for name in TUNE_FILES + VALIDATION_FILES:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(default_corpus() / name, target)
    return root


def test_simulate_and_train_writes_a_loadable_predictor(
    corpus: Path, tmp_path: Path, default_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(model=str(default_model_path))
    out, rows_dir = tmp_path / "predictor", tmp_path / "rows"
    report = simulate_and_train(
        corpus, out, n_train=12, n_validation=4, seed=0, rows_dir=rows_dir, settings=settings
    )
    assert {p.name for p in out.iterdir()} >= {*MODEL_FILES.values(), MODEL_CARD, "MODEL_CARD.md"}
    predictor = AcceptancePredictor.load(out)
    card = json.loads((out / MODEL_CARD).read_text())
    assert card["data"]["tune_positions"] == 12
    assert card["data"]["validation_positions"] == 4
    assert card["data"]["validation_packages"] == ["json"]
    assert card["data"]["model_file"] == default_model_path.name
    assert "model_family" not in card  # SmolLM2: the default predictor's kind
    assert report.simulation["tune"].positions == 12
    assert report.evaluation is not None

    stem = f"rows-{default_model_path.stem}"  # one file per model, split, count and seed
    cached = sorted(path.name for path in rows_dir.iterdir())
    assert cached == [f"{stem}-tune-n12-seed0.jsonl", f"{stem}-validation-n4-seed1.jsonl"]
    header, rows = read_rows(rows_dir / cached[0])
    assert header is not None and header["key"]["n"] == 12
    assert {row.split for row in rows} == {"tune"}
    assert {row.package for row in rows} <= {"colorsys", "bisect", "keyword"}
    for row in rows:
        if row.suggestion is None:
            assert row.label == 0 and row.suggestion_text == ""
        else:
            assert row.suggestion_text
            exact = row.suggestion_text.rstrip() == row.target.rstrip()
            assert row.label == int(exact) or "\n" in row.suggestion_text.rstrip()
        assert 0.0 <= predictor.score_context(row.features("context")) <= 1.0
    scored = [row for row in rows if row.suggestion is not None]
    assert scored, "the real model suggested nothing at 12 positions"
    assert 0.0 <= predictor.score(scored[0].features("suggestion")) <= 1.0

    # A second run adds rows made with further seeds, each cursor once, and keeps the first run's.
    twice = simulate_and_train(
        corpus, tmp_path / "twice", 12, 4, 0, rows_dir=rows_dir, settings=settings, runs=2
    )
    assert sorted(path.name for path in rows_dir.iterdir()) == [
        f"{stem}-tune-n12-seed0.jsonl",
        f"{stem}-tune-n12-seed2.jsonl",
        f"{stem}-validation-n4-seed1.jsonl",
        f"{stem}-validation-n4-seed3.jsonl",
    ]
    _, second = read_rows(rows_dir / f"{stem}-tune-n12-seed2.jsonl")
    joined = twice.simulation["tune"]
    cursors = {(row.file, row.line, row.column) for row in rows + second}
    assert joined.positions == len(cursors) > 12
    assert twice.card["data"]["runs"] == 2
    assert twice.card["data"]["tune_positions"] == joined.positions

    # Training again reuses the cached rows instead of running the model.
    def no_model(*args: object) -> None:
        raise AssertionError("the model was loaded although the rows were cached")

    monkeypatch.setattr("ghostwright.engine.local.LocalEngine.__init__", no_model)
    again = simulate_and_train(
        corpus, out, n_train=12, n_validation=4, seed=0, rows_dir=rows_dir, settings=settings
    )
    assert again.card["stages"]["suggestion"]["sha256"] == card["stages"]["suggestion"]["sha256"]
