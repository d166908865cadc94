"""The shipped acceptance predictor: two LightGBM models and the card that says how to use them.

`acceptance-context.txt` scores a request before the model runs (the gate: skip generating when
even a good suggestion would probably be rejected); `acceptance.txt` scores a suggestion (the
filter: show it only when it will probably be accepted). `model-card.json` lists each model's
feature names in column order, its sha256, and the threshold chosen for it on held-out training
data; a model whose file does not match its checksum, or whose features are not the ones
`features.FEATURES` computes, is refused with a message saying what to do.

A team's model (`predictorModel`: a directory, or an http(s) URL of one) is pinned by the
sha256 of its `model-card.json` (`predictorSha256`), which holds the sha256 of every model file:
checking the card checks everything. A URL's files are fetched once into the cache dir, under
that checksum, and verified before use; a model that does not match is refused and the shipped
one is used, with a message saying why (`load_predictor`).

Scoring is LightGBM's own library predicting one row with one thread (`booster.NativeBooster`,
its C API without the `lightgbm` package and the pandas/scikit-learn/pyarrow that package
imports): well inside the request path's 0.2 ms budget (`ghostwright eval predictor` measures
it), so no tree evaluator of our own is needed.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs

from ghostwright.errors import GhostwrightError
from ghostwright.hashing import sha256_of
from ghostwright.predictor.booster import BoosterError, NativeBooster
from ghostwright.predictor.features import Stage, names, vector
from ghostwright.settings import APP_NAME, is_url

log = logging.getLogger(__name__)

MODEL_CARD = "model-card.json"
MODEL_FILES: dict[Stage, str] = {
    "context": "acceptance-context.txt",
    "suggestion": "acceptance.txt",
}
CARD_FORMAT = 1
FETCH_TIMEOUT_S = 10.0
"""The longest wait for a team model's server, per file."""

_RETRAIN = (
    "Reinstall Ghostwright for the shipped predictor, or retrain it with `ghostwright train`."
)


class PredictorError(GhostwrightError):
    """The acceptance predictor's files are missing, corrupt, or from another feature set."""


FAMILIES = "families"
"""The subdirectory of the shipped predictor that holds one predictor per model family."""


def shipped_directory(family: str | None = None) -> Path:
    """The shipped predictor for models of `family` (`models/fim.toml`'s names): its own in
    `families/<family>` when one was trained for it, else the default one (trained with the
    default model). The default lives in the wheel, or in `models/predictor` of a checkout
    (an editable install)."""
    default = _default_directory()
    if family is not None and (default / FAMILIES / family / MODEL_CARD).is_file():
        return default / FAMILIES / family
    return default


def _default_directory() -> Path:
    packaged = resources.files("ghostwright").joinpath("_models/predictor")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "models" / "predictor"


def family_directory(family: str) -> Path:
    """Where `train --simulate` writes the predictor of a model family."""
    return shipped_directory() / FAMILIES / family


def card_family(card: Mapping[str, Any]) -> str | None:
    """The model family a predictor was trained for (None: the default model's)."""
    family = card.get("model_family")
    return family if isinstance(family, str) else None


@dataclass(frozen=True)
class _Model:
    booster: NativeBooster
    text: str
    """The model in LightGBM's text format (what training continues from)."""
    names: tuple[str, ...]
    threshold: float


class AcceptancePredictor:
    """Scores requests and suggestions with the probability that the person accepts them."""

    def __init__(self, directory: Path, card: Mapping[str, Any], models: dict[Stage, _Model]):
        self.directory = directory
        self.card = card
        self._models = models
        self.gate_threshold = models["context"].threshold
        """Below this context score, the gate skips generating."""
        self.filter_threshold = models["suggestion"].threshold
        """Below this suggestion score, the filter hides the suggestion."""

    @classmethod
    def load(cls, directory: Path | None = None) -> AcceptancePredictor:
        """Read the card in `directory` (None: the shipped default) and both models it names,
        each checked against its sha256 and the feature table."""
        directory = shipped_directory() if directory is None else directory
        card = _read_card(directory)
        stages = card.get("stages")
        if not isinstance(stages, dict):
            raise PredictorError(f"{directory / MODEL_CARD} names no models. {_RETRAIN}")
        models = {stage: _load_model(directory, stage, stages.get(stage)) for stage in MODEL_FILES}
        return cls(directory, card, models)

    def score_context(self, features: Mapping[str, float]) -> float:
        """Probability of acceptance from what is known before generating (the gate)."""
        return self._predict("context", features)

    def score(self, features: Mapping[str, float]) -> float:
        """Probability that the person accepts this suggestion (the filter)."""
        return self._predict("suggestion", features)

    def passes_gate(self, features: Mapping[str, float]) -> bool:
        return self.score_context(features) >= self.gate_threshold

    def passes_filter(self, features: Mapping[str, float]) -> bool:
        return self.score(features) >= self.filter_threshold

    def model_text(self, stage: Stage) -> str:
        """The LightGBM model of a stage in its text format (to continue training from it)."""
        return self._models[stage].text

    def contributions(self, features: Mapping[str, float], stage: Stage) -> list[tuple[str, float]]:
        """Why a score is what it is: each feature's SHAP contribution to the log-odds, largest
        magnitude first; "bias" is the average log-odds every score starts from."""
        model = self._models[stage]
        values = model.booster.contributions(vector(features, stage))
        named = [*zip(model.names, values[:-1], strict=True)]
        named.append(("bias", values[-1]))
        return sorted(named, key=lambda pair: -abs(pair[1]))

    def _predict(self, stage: Stage, features: Mapping[str, float]) -> float:
        return self._models[stage].booster.predict(vector(features, stage))


def _read_card(directory: Path) -> dict[str, Any]:
    path = directory / MODEL_CARD
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PredictorError(
            f"No acceptance predictor at {directory}: {path} is missing. {_RETRAIN}"
        ) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PredictorError(f"Cannot read {path} ({exc}). {_RETRAIN}") from exc
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise PredictorError(
            f"{path} is not a format-{CARD_FORMAT} model card (from another Ghostwright "
            f"version?). {_RETRAIN}"
        )
    return card


def _load_model(directory: Path, stage: Stage, entry: object) -> _Model:
    if not isinstance(entry, dict):
        raise PredictorError(f"{directory / MODEL_CARD} has no {stage} model. {_RETRAIN}")
    path = directory / MODEL_FILES[stage]
    if not path.is_file():
        raise PredictorError(f"The {stage} model {path} is missing. {_RETRAIN}")
    if sha256_of(path) != entry.get("sha256"):
        raise PredictorError(
            f"The {stage} model {path} does not match the sha256 in its model card: it is "
            f"corrupt or was changed by hand. {_RETRAIN}"
        )
    expected = names(stage)
    if tuple(entry.get("features", ())) != expected:
        raise PredictorError(
            f"The {stage} model {path} was trained on other features than this Ghostwright "
            f"computes. {_RETRAIN}"
        )
    threshold = entry.get("threshold")
    if not isinstance(threshold, float | int) or not math.isfinite(threshold):
        raise PredictorError(f"The {stage} model in {directory / MODEL_CARD} has no threshold.")
    try:
        text = path.read_text(encoding="utf-8")
        booster = NativeBooster(text)
    except (BoosterError, UnicodeDecodeError) as exc:
        raise PredictorError(
            f"LightGBM cannot read the {stage} model {path} ({exc}). {_RETRAIN}"
        ) from exc
    if booster.num_feature != len(expected):
        raise PredictorError(
            f"The {stage} model {path} takes {booster.num_feature} features, not "
            f"{len(expected)}. {_RETRAIN}"
        )
    return _Model(booster, text, expected, float(threshold))


# --- a team's model: from a directory or a URL, pinned by its card's sha256 --------------------


@dataclass(frozen=True)
class LoadedPredictor:
    """The predictor to use, and why the configured one was refused (None: it was not)."""

    predictor: AcceptancePredictor
    refused: str | None = None


def card_sha256(directory: Path) -> str:
    """The checksum that pins a model directory: the sha256 of its `model-card.json`."""
    return sha256_of(directory / MODEL_CARD)


def predictor_cache_dir() -> Path:
    """Where team models fetched from a URL are kept, one directory per checksum."""
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "predictors"


def load_predictor(
    source: str | None,
    sha256: str | None,
    *,
    family: str | None = None,
    cache_dir: Path | None = None,
) -> LoadedPredictor:
    """The model `source` names (the `predictorModel` setting: a directory or an http(s) URL)
    once it matches `sha256` (`predictorSha256`, required for a URL), else the shipped model
    with the reason. Without a `source`: the personal model if one was trained for the model
    `family`, else the shipped one for that family. Raises PredictorError only when the
    shipped model is unusable too."""
    if source is None:
        # The person's own retrained model (`train --from-telemetry`) when there is one.
        return LoadedPredictor(load_active(family))
    try:
        if is_url(source):
            directory = fetch_predictor(source, sha256, cache_dir or predictor_cache_dir())
        else:
            directory = Path(source)
            _check_pin(directory, sha256, source)
        predictor = AcceptancePredictor.load(directory)
    except PredictorError as exc:
        refused = f"The configured acceptance predictor was refused: {exc} Using the shipped one."
        return LoadedPredictor(AcceptancePredictor.load(shipped_directory(family)), refused)
    log.info("acceptance predictor: %s (model-card sha256 %s)", source, card_sha256(directory))
    return LoadedPredictor(predictor)


def _check_pin(directory: Path, sha256: str | None, source: str) -> None:
    card = directory / MODEL_CARD
    if not card.is_file():
        raise PredictorError(f"{source} holds no {MODEL_CARD}: is predictorModel right?")
    if sha256 is not None and sha256_of(card) != sha256:
        raise PredictorError(
            f"{MODEL_CARD} of {source} has sha256 {sha256_of(card)}, not predictorSha256 "
            f"{sha256}: it is not the model that was published, or it changed since."
        )


def fetch_predictor(url: str, sha256: str | None, cache_dir: Path) -> Path:
    """The directory of the model published at `url` (its `model-card.json` and the files it
    names), fetched into `cache_dir/<sha256>` unless it is there already, the card checked
    against `sha256` before anything else is fetched."""
    if sha256 is None:
        raise PredictorError(
            f"predictorModel is a URL ({url}): set predictorSha256 to the checksum that "
            "`ghostwright train` printed, so that only that model is used."
        )
    target = cache_dir / sha256
    if (target / MODEL_CARD).is_file() and card_sha256(target) == sha256:
        return target
    import httpx

    base = url.removesuffix(MODEL_CARD).rstrip("/")
    cache_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{sha256[:12]}-", dir=cache_dir))
    try:
        with httpx.Client(timeout=FETCH_TIMEOUT_S, follow_redirects=True) as client:
            _fetch(client, f"{base}/{MODEL_CARD}", scratch / MODEL_CARD)
            _check_pin(scratch, sha256, url)
            for name in MODEL_FILES.values():
                _fetch(client, f"{base}/{name}", scratch / name)
        if target.exists():
            shutil.rmtree(target)
        os.replace(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _fetch(client: Any, url: str, path: Path) -> None:
    import httpx

    try:
        response = client.get(url)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise PredictorError(f"Cannot fetch {url} ({exc}).") from exc
    path.write_bytes(response.content)


def personal_directory() -> Path:
    """Where a model trained on the user's own decisions is kept."""
    return Path(platformdirs.user_data_dir("ghostwright")) / "predictor"


def active_directory() -> Path | None:
    """The directory of the model to use: the personal one when there is one, else None
    (the shipped model)."""
    directory = personal_directory()
    return directory if (directory / MODEL_CARD).is_file() else None


def load_active(family: str | None = None) -> AcceptancePredictor:
    """For a model of `family`: the personal model if it loads and was trained from the same
    family's shipped predictor, else the shipped one (`model.shipped_directory`)."""
    shipped = AcceptancePredictor.load(shipped_directory(family))
    directory = active_directory()
    if directory is not None:
        try:
            predictor = AcceptancePredictor.load(directory)
        except Exception as exc:  # a broken personal model must not cost the shipped one
            log.warning(
                "personal predictor in %s unusable (%s); using the shipped one", directory, exc
            )
        else:
            if card_family(predictor.card) == card_family(shipped.card):
                log.info("acceptance predictor: the personal model in %s", directory)
                return predictor
            log.info(
                "personal predictor in %s was trained for %s models, not %s: using the shipped one",
                directory,
                card_family(predictor.card) or "the default",
                card_family(shipped.card) or "the default",
            )
    log.info("acceptance predictor: the shipped one in %s", shipped.directory)
    return shipped
