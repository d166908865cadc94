"""Unit tests for ghostwright.predictor.booster: LightGBM's library through its C API gives
the `lightgbm` package's own scores and contributions, refuses what it cannot read, and keeps
the language server from importing the package and what it drags in."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from tests.unit.test_train import synthetic_rows

from ghostwright.predictor.booster import BoosterError, NativeBooster, library_path
from ghostwright.predictor.features import Stage, names, vector
from ghostwright.predictor.model import MODEL_FILES, shipped_directory


@pytest.mark.parametrize("stage", ["context", "suggestion"])
def test_scores_and_contributions_are_lightgbms(stage: Stage) -> None:
    import lightgbm

    path = shipped_directory() / MODEL_FILES[stage]
    reference = lightgbm.Booster(model_file=str(path))
    native = NativeBooster(path.read_text(encoding="utf-8"))
    assert native.num_feature == reference.num_feature() == len(names(stage))
    rows = [vector(row.features(stage), stage) for row in synthetic_rows(300, seed=7)]
    rows.append([math.nan] * native.num_feature)  # everything missing
    matrix = np.asarray(rows, dtype=np.float64)
    expected = reference.predict(matrix, num_threads=1)
    contributions = reference.predict(matrix, pred_contrib=True, num_threads=1)
    for row, score, contribution in zip(rows, expected, contributions, strict=True):
        assert native.predict(row) == score
        assert native.contributions(row) == pytest.approx(list(contribution), abs=1e-12)


def test_a_row_of_the_wrong_length_is_refused() -> None:
    path = shipped_directory() / MODEL_FILES["suggestion"]
    native = NativeBooster(path.read_text(encoding="utf-8"))
    with pytest.raises(BoosterError, match=f"takes {native.num_feature} features, not 2"):
        native.predict([0.0, 1.0])


def test_a_model_lightgbm_cannot_read_is_refused_with_its_message() -> None:
    with pytest.raises(BoosterError) as refused:
        NativeBooster("tree\nversion=v4\nnum_class=one\n")
    assert str(refused.value)


def test_closing_twice_is_harmless() -> None:
    path = shipped_directory() / MODEL_FILES["context"]
    native = NativeBooster(path.read_text(encoding="utf-8"))
    native.contributions([math.nan] * native.num_feature)
    native.close()
    native.close()


def test_the_library_is_the_installed_packages() -> None:
    path = library_path()
    assert path.is_file() and path.name.startswith("lib_lightgbm")
    assert "lightgbm" in path.parts


def test_the_server_scores_without_importing_lightgbm_or_pandas() -> None:
    """The server's imports and a loaded, scoring predictor leave the `lightgbm` package (and
    pandas, scikit-learn, pyarrow, SciPy, which it imports when installed) out of memory."""
    program = (
        "import json, sys\n"
        "import ghostwright.lsp.server\n"
        "from ghostwright.predictor.model import load_predictor\n"
        "predictor = load_predictor(None, None).predictor\n"
        "predictor.score({})\n"
        "predictor.contributions({}, 'suggestion')\n"
        "heavy = ('lightgbm', 'pandas', 'sklearn', 'pyarrow', 'scipy', 'dask')\n"
        "print(json.dumps([name for name in heavy if name in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
