"""Real source in other languages to evaluate on: fetched from the registries this machine
reaches (PyPI, npm, Debian), unpacked once into the cache, split into tune and validation.

Each corpus is one project's code in one language; tuning looks at the tune split only. Some
files are given CRLF line breaks (every third file of a corpus, in a fixed order), as a checkout
on Windows has them: the pipeline must cope with both.
"""

from __future__ import annotations

import fnmatch
import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from ghostwright.errors import GhostwrightError
from ghostwright.settings import APP_NAME


@dataclass(frozen=True)
class SourceCorpus:
    """A project's source files in one language, from one package of a registry."""

    name: str
    language: str
    split: str
    registry: str
    """"pypi" (an sdist or wheel), "npm" (a package tarball) or "debian" (a .deb)."""
    package: str
    """What to ask the registry for: `name==version`, `name@version`, a Debian package name."""
    members: tuple[str, ...]
    """Glob patterns of the files to use, matched against paths inside the archive (and inside
    a `src.zip` a Debian package holds)."""
    excluded: tuple[str, ...] = ()


CORPORA: tuple[SourceCorpus, ...] = (
    SourceCorpus(
        "llama.cpp",
        "cpp",
        "tune",
        "pypi",
        "llama-cpp-python==0.3.36",
        ("*/vendor/llama.cpp/src/*.cpp",),
    ),
    SourceCorpus(
        "ggml",
        "c",
        "tune",
        "pypi",
        "llama-cpp-python==0.3.36",
        ("*/vendor/llama.cpp/ggml/src/*.c",),
    ),
    SourceCorpus(
        "pybind11", "cpp", "validation", "pypi", "pybind11==3.1.0", ("pybind11/include/*.h",)
    ),
    SourceCorpus("lz4", "c", "validation", "pypi", "lz4==4.4.5", ("*/lz4libs/*.c",)),
    SourceCorpus("lodash", "javascript", "tune", "npm", "lodash@4.18.1", ("package/_*.js",)),
    SourceCorpus(
        "underscore",
        "javascript",
        "validation",
        "npm",
        "underscore@1.13.8",
        ("package/modules/*.js",),
    ),
    SourceCorpus(
        "rxjs",
        "typescript",
        "tune",
        "npm",
        "rxjs@7.8.2",
        ("package/src/internal/*.ts", "package/src/internal/*/*.ts"),
        ("*.d.ts",),
    ),
    SourceCorpus(
        "zod", "typescript", "validation", "npm", "zod@4.6.7", ("package/src/*/*.ts",), ("*test*",)
    ),
    SourceCorpus(
        "jdk java.util",
        "java",
        "tune",
        "debian",
        "openjdk-17-source",
        ("java.base/java/util/*.java",),
    ),
    SourceCorpus(
        "jdk java.time",
        "java",
        "validation",
        "debian",
        "openjdk-17-source",
        ("java.base/java/time/*.java", "java.base/java/time/*/*.java"),
    ),
)
CRLF_EVERY = 3
"""Every third file of a corpus (sorted by path) gets CRLF line breaks."""


def corpus_root() -> Path:
    """Where corpora are unpacked: `corpora/` in the per-user cache dir."""
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "corpora"


def corpus_files(corpus: SourceCorpus) -> list[Path]:
    """The corpus's files, fetched and unpacked on first use."""
    target = corpus_root() / "sources" / corpus.name.replace(" ", "-")
    if not target.is_dir():
        _unpack(corpus, target)
    return sorted(path for path in target.rglob("*") if path.is_file())


def corpora(split: str, languages: tuple[str, ...] | None = None) -> list[SourceCorpus]:
    return [
        corpus
        for corpus in CORPORA
        if split in (corpus.split, "all") and (languages is None or corpus.language in languages)
    ]


def _wanted(corpus: SourceCorpus, name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in corpus.members) and not any(
        fnmatch.fnmatch(name.rsplit("/", 1)[-1], pattern) for pattern in corpus.excluded
    )


def _unpack(corpus: SourceCorpus, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="ghostwright-corpus-") as scratch:
        archive = _download(corpus, Path(scratch))
        files = dict(_members(corpus, archive))
        if not files:
            raise GhostwrightError(f"{corpus.package} holds no files matching {corpus.members}")
        partial = target.with_name(target.name + ".part")
        for number, (name, data) in enumerate(sorted(files.items())):
            path = partial / name
            path.parent.mkdir(parents=True, exist_ok=True)
            text = data.replace(b"\r\n", b"\n")
            if number % CRLF_EVERY == CRLF_EVERY - 1:
                text = text.replace(b"\n", b"\r\n")
            path.write_bytes(text)
        partial.rename(target)


def _download(corpus: SourceCorpus, scratch: Path) -> Path:
    if corpus.registry == "pypi":
        binary = "--only-binary=:all:" if "pybind11" in corpus.package else "--no-binary=:all:"
        command = [sys.executable, "-m", "pip", "download", "--no-deps", binary]
        command += ["--disable-pip-version-check", "-d", str(scratch), corpus.package]
    elif corpus.registry == "npm":
        command = ["npm", "pack", corpus.package, "--silent", "--pack-destination", str(scratch)]
    else:
        command = ["apt-get", "download", corpus.package]
    done = subprocess.run(command, cwd=scratch, capture_output=True, text=True, check=False)
    if done.returncode != 0 and corpus.registry == "debian":  # no package lists yet
        subprocess.run(["apt-get", "update"], capture_output=True, check=False)
        done = subprocess.run(command, cwd=scratch, capture_output=True, text=True, check=False)
    found = [path for path in scratch.iterdir() if path.is_file()]
    if done.returncode != 0 or not found:
        raise GhostwrightError(f"cannot fetch {corpus.package}: {done.stderr[-1000:]}")
    return found[0]


def _members(corpus: SourceCorpus, archive: Path) -> list[tuple[str, bytes]]:
    """(path, bytes) of the wanted files in a wheel, tarball or .deb (and a src.zip in it)."""
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as bundle:
            return [(n, bundle.read(n)) for n in bundle.namelist() if _wanted(corpus, n)]
    if archive.suffix == ".deb":
        return _deb_members(corpus, archive)
    with tarfile.open(archive) as bundle:
        found = []
        for member in bundle.getmembers():
            if member.isfile() and _wanted(corpus, member.name):
                stream = bundle.extractfile(member)
                if stream is not None:
                    found.append((member.name, stream.read()))
        return found


def _deb_members(corpus: SourceCorpus, archive: Path) -> list[tuple[str, bytes]]:
    with tempfile.TemporaryDirectory(prefix="ghostwright-deb-") as scratch:
        subprocess.run(["dpkg-deb", "-x", str(archive), scratch], check=True)
        zips = list(Path(scratch).rglob("src.zip"))
        if not zips:
            raise GhostwrightError(f"{corpus.package} has no src.zip")
        with zipfile.ZipFile(io.BytesIO(zips[0].read_bytes())) as bundle:
            return [(n, bundle.read(n)) for n in bundle.namelist() if _wanted(corpus, n)]
