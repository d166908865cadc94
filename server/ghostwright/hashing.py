"""Checksums: the one sha256 helper for files (models, predictor cards) and for text."""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
from pathlib import Path

from ghostwright.progress import progress

_CHUNK = 1 << 20


def sha256_of(path: Path, label: str | None = None) -> str:
    """The file's sha256, with a progress bar when `label` names the work."""
    digest = hashlib.sha256()
    bar = progress(label, path.stat().st_size) if label else nullcontext(_no_progress)
    with path.open("rb") as stream, bar as advance:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
            advance(len(chunk))
    return digest.hexdigest()


def sha256_text(text: str) -> str:
    """The sha256 of `text` as UTF-8 (lone surrogates from an editor's UTF-16 kept as they are)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _no_progress(amount: float) -> None:
    """Progress that no one sees."""
