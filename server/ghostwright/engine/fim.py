"""Which fill-in-the-middle tokens a model has: from its vocabulary, else from its family.

llama.cpp knows a model's FIM tokens when the GGUF metadata declares them (or its tokenizer
recognises their texts). Many converted GGUFs lack them; `models/fim.toml` lists the formats
of the common code-model families, matched by the model's name, with the token texts to look up
in the vocabulary. A model matching neither is prompted prefix-only.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghostwright.engine.gguf import GgufInfo, read_gguf
from ghostwright.engine.models import models_file_text, resolve_model_path
from ghostwright.errors import GhostwrightError
from ghostwright.prompt import FimTokens
from ghostwright.settings import Settings

TokenLookup = Callable[[str], int | None]
"""The id of the single vocabulary token with this text, or None."""


@dataclass(frozen=True)
class FimFamily:
    """One entry of `models/fim.toml`."""

    family: str
    match: tuple[str, ...]
    prefix: str
    suffix: str
    middle: str | None = None
    repo: str | None = None
    file_separator: str | None = None
    stop: tuple[str, ...] = ()
    order: str = "psm"

    def matches(self, info: GgufInfo) -> bool:
        names = " ".join(
            str(info.metadata.get(key, "")).lower()
            for key in ("general.name", "general.basename", "general.architecture")
        )
        return any(pattern in names for pattern in self.match)


def fim_families(text: str | None = None) -> list[FimFamily]:
    """The families of `models/fim.toml` (or of the given TOML text)."""
    data = tomllib.loads(text if text is not None else models_file_text("fim.toml"))
    return [_family(entry) for entry in data.get("fim", [])]


def family_of(info: GgufInfo, families: list[FimFamily] | None = None) -> str | None:
    """The family (`models/fim.toml`) whose names match the model's metadata, or None."""
    found = (f for f in (families if families is not None else fim_families()) if f.matches(info))
    return next((family.family for family in found), None)


def model_family(path: Path) -> str | None:
    """The family of the model file at `path` (its metadata only: milliseconds), or None.
    Raises `ModelLoadError` when the file is not a readable GGUF."""
    return family_of(read_gguf(path, check_tensors=False))


def configured_family(settings: Settings) -> str | None:
    """The family of the model the settings name, or None where it is unknown (the file is
    not fetched yet, or not a GGUF: the model's load reports that)."""
    try:
        return model_family(resolve_model_path(settings))
    except GhostwrightError:
        return None


def _family(entry: Mapping[str, Any]) -> FimFamily:
    values = dict(entry)
    values["match"] = tuple(pattern.lower() for pattern in values.get("match", ()))
    values["stop"] = tuple(values.get("stop", ()))
    return FimFamily(**values)


def vocabulary_fim(lib: Any, vocab: Any) -> FimTokens | None:
    """The FIM tokens llama.cpp reports for the vocabulary (-1 means absent)."""
    prefix, suffix, middle = (
        int(lib.llama_vocab_fim_pre(vocab)),
        int(lib.llama_vocab_fim_suf(vocab)),
        int(lib.llama_vocab_fim_mid(vocab)),
    )
    if min(prefix, suffix, middle) < 0:
        return None
    pad, repo, separator = (
        int(lib.llama_vocab_fim_pad(vocab)),
        int(lib.llama_vocab_fim_rep(vocab)),
        int(lib.llama_vocab_fim_sep(vocab)),
    )
    both = min(repo, separator) >= 0
    repository = (repo, separator) if both else (None, None)
    stops = (pad,) if both else (pad, repo, separator)
    return FimTokens(
        prefix,
        suffix,
        middle,
        tuple(token for token in stops if token >= 0),
        repo=repository[0],
        file_separator=repository[1],
    )


def family_fim(
    info: GgufInfo, lookup: TokenLookup, families: list[FimFamily] | None = None
) -> FimTokens | None:
    """FIM tokens from the first family matching the model whose tokens its vocabulary has."""
    for family in families if families is not None else fim_families():
        if not family.matches(info):
            continue
        prefix, suffix = lookup(family.prefix), lookup(family.suffix)
        middle = lookup(family.middle) if family.middle is not None else None
        if prefix is None or suffix is None or (family.middle is not None and middle is None):
            continue
        repo = lookup(family.repo) if family.repo is not None else None
        separator = lookup(family.file_separator) if family.file_separator is not None else None
        both = repo is not None and separator is not None
        stops = [lookup(text) for text in family.stop]
        if not both:  # not a repository format, but still an end when generated
            stops += [repo, separator]
        return FimTokens(
            prefix,
            suffix,
            middle,
            tuple(dict.fromkeys(token for token in stops if token is not None)),
            order=family.order,
            source=family.family,
            repo=repo if both else None,
            file_separator=separator if both else None,
        )
    return None


def resolve_fim(
    lib: Any,
    vocab: Any,
    info: GgufInfo,
    lookup: TokenLookup,
    families: list[FimFamily] | None = None,
) -> FimTokens | None:
    """The vocabulary's own FIM tokens, else the matching family's, else None (prefix-only)."""
    return vocabulary_fim(lib, vocab) or family_fim(info, lookup, families)
