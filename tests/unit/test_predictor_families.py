"""A predictor per model family: which family a model file belongs to, which shipped predictor
serves it, and when a personal model applies (ghostwright.engine.fim, predictor.model,
predictor.personal)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tests.unit.test_train import synthetic_rows

from ghostwright.engine.fim import configured_family, family_of
from ghostwright.engine.gguf import GgufInfo
from ghostwright.predictor import model
from ghostwright.predictor.model import (
    FAMILIES,
    MODEL_CARD,
    AcceptancePredictor,
    card_family,
    load_predictor,
    shipped_directory,
)
from ghostwright.settings import Settings
from ghostwright_lab.training import train

QWEN = "qwen2.5-coder"


def info(**metadata: str) -> GgufInfo:
    return GgufInfo(Path("model.gguf"), 3, 1, 0, dict(metadata))


@pytest.mark.parametrize(
    ("metadata", "family"),
    [
        (
            {"general.name": "Qwen2.5 Coder 0.5B Instruct AWQ", "general.architecture": "qwen2"},
            QWEN,
        ),
        ({"general.basename": "Qwen2.5-Coder", "general.architecture": "qwen2"}, QWEN),
        ({"general.name": "StarCoder2 3B", "general.architecture": "starcoder2"}, "starcoder2"),
        ({"general.name": "SmolLM2 135M Instruct", "general.architecture": "llama"}, None),
        ({"general.name": "Qwen2.5 7B Instruct", "general.architecture": "qwen2"}, None),
        ({}, None),
    ],
)
def test_a_models_family_comes_from_its_names(metadata: dict[str, str], family: str) -> None:
    assert family_of(info(**metadata)) == family


def test_the_configured_models_family_or_none_where_unknown(tmp_path: Path) -> None:
    assert configured_family(Settings()) is None  # SmolLM2: no FIM family
    assert configured_family(Settings(model=str(tmp_path / "absent.gguf"))) is None
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a gguf at all")
    assert configured_family(Settings(model=str(broken))) is None


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str | None, Path]:
    """A default predictor and one for the Qwen family, trained on synthetic rows."""
    made: dict[str | None, Path] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train, "MIN_DATA_IN_LEAF_GRID", (10,))
        for family, seed in ((None, 1), (QWEN, 2)):
            directory = tmp_path_factory.mktemp("predictor")
            train.train_from_rows(synthetic_rows(300, seed=seed), directory, model_family=family)
            made[family] = directory
    return made


@pytest.fixture
def shipped(
    trained: dict[str | None, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A shipped tree: the default predictor with a Qwen one under families/, no personal one."""
    root = tmp_path / "shipped"
    shutil.copytree(trained[None], root)
    shutil.copytree(trained[QWEN], root / FAMILIES / QWEN)
    monkeypatch.setattr(model, "_default_directory", lambda: root)
    monkeypatch.setattr(model, "personal_directory", lambda: tmp_path / "personal")
    return root


def test_the_card_names_the_family_it_was_trained_for(trained: dict[str | None, Path]) -> None:
    assert card_family(AcceptancePredictor.load(trained[QWEN]).card) == QWEN
    assert card_family(AcceptancePredictor.load(trained[None]).card) is None
    text = (trained[QWEN] / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert text.startswith(f"# Ghostwright acceptance predictor for {QWEN} models")


def test_a_family_with_its_own_predictor_gets_it(shipped: Path) -> None:
    assert shipped_directory(QWEN) == shipped / FAMILIES / QWEN
    assert card_family(model.load_active(QWEN).card) == QWEN
    assert card_family(load_predictor(None, None, family=QWEN).predictor.card) == QWEN


def test_other_families_get_the_default_predictor(shipped: Path) -> None:
    for family in (None, "starcoder2", "no-such-family"):
        assert shipped_directory(family) == shipped
        assert model.load_active(family).directory == shipped


def test_a_personal_model_serves_only_the_family_it_was_trained_from(
    shipped: Path, tmp_path: Path
) -> None:
    shutil.copytree(shipped / FAMILIES / QWEN, tmp_path / "personal")
    assert model.load_active(QWEN).directory == tmp_path / "personal"
    # Trained from the Qwen predictor: the default model's confidences are not its data.
    assert model.load_active(None).directory == shipped


def test_a_refused_team_model_falls_back_to_the_familys_own(shipped: Path, tmp_path: Path) -> None:
    loaded = load_predictor(str(tmp_path / "no-model-here"), None, family=QWEN)
    assert loaded.refused is not None
    assert loaded.predictor.directory == shipped / FAMILIES / QWEN


def test_a_family_directory_without_a_card_is_not_used(shipped: Path) -> None:
    (shipped / FAMILIES / QWEN / MODEL_CARD).unlink()
    assert shipped_directory(QWEN) == shipped


def test_the_shipped_qwen_predictor_was_trained_with_a_qwen_model() -> None:
    directory = shipped_directory(QWEN)
    assert directory == shipped_directory() / FAMILIES / QWEN
    predictor = AcceptancePredictor.load(directory)
    assert card_family(predictor.card) == QWEN
    data = predictor.card["data"]
    assert data["model"].startswith(QWEN), data
    assert predictor.card["metrics"]["filter"]["predictor"]["auc"] is not None
    json.dumps(predictor.card)  # the card stays plain JSON
