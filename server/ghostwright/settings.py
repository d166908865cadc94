"""One typed settings object, built in layers: defaults, user file, environment, editor.

Each layer may set any field. A value that is invalid (wrong type, out of range) is reported as
a warning and the field keeps the value of the layer below, so a typo never stops the server.
Every field remembers which layer set it, for `ghostwright doctor`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "ghostwright"
ENV_PREFIX = "GHOSTWRIGHT_"


@dataclass(frozen=True)
class Settings:
    """Every user-tunable knob, with its default. Editor keys are the camelCase of these names."""

    model: str | None = None
    """Path of the GGUF model; unset means the fetched default model."""
    context_size: int = 4096
    """Tokens in the llama.cpp context window."""
    threads: int = 0
    """CPU threads for llama.cpp; 0: prompts on every physical core, tokens on all but one."""
    gpu_layers: int = -1
    """Layers offloaded to the GPU when the llama.cpp build supports it; -1 means all."""
    max_tokens: int = 128
    """Most tokens generated for one suggestion."""
    time_budget_ms: int = 250
    """Generation stops at the first line break after this many milliseconds."""
    invoked_time_budget_ms: int = 2000
    """The same when the person asked for a suggestion (invoked): they wait for it, and a
    fill of several lines on a slow model takes more than a line's time."""
    max_lines: int = 4
    """Most lines in one suggestion (1 means single-line only)."""
    prefix_tokens: int = 1024
    """Most prompt tokens taken from the text before the cursor."""
    suffix_tokens: int = 256
    """Most prompt tokens taken from the text after the cursor (FIM models only)."""
    context_tokens: int = 256
    """Most prompt tokens of extra context: other files' definitions, imports, scope headers."""
    cold_prompt_tokens: int = 768
    """A cold request (its full prompt would evaluate more than this many tokens, or more
    than half as many while the KV cache holds less than half of it: a document just opened,
    a jump far away) is answered from a window of this size (no context from elsewhere); the
    full window is warmed when the person pauses. 0: always the full window."""
    candidates: int = 3
    """Distinct suggestions offered when completion is invoked by hand."""
    speculate: bool = True
    """After answering with a suggestion, compute the next one as if it were accepted
    (llama.vim's speculative completion), so that accepting it is answered without a wait."""
    predictor_threshold: float | None = None
    """Automatic suggestions the acceptance predictor scores below this (0..1) are not shown;
    unset means the shipped model's threshold, 0 disables hiding (the pre-generation gate
    too). Invoked suggestions are always shown."""
    telemetry: bool = True
    """Record decisions and their outcomes in the local database (nothing leaves the machine)."""
    telemetry_code: bool = False
    """Also store the suggested code text (secrets redacted) with the events."""
    telemetry_retention_days: int = 90
    """Events older than this are deleted."""
    enabled: bool = True
    """Answer completion requests at all."""
    log_level: str = "INFO"
    """Server log level: DEBUG, INFO, WARNING or ERROR."""
    backend: str = "local"
    """Where suggestions are generated: "local" (llama.cpp in-process), or an inference server
    over HTTP: "llamacpp" (llama.cpp server's /infill), "openai" (an OpenAI-compatible
    /v1/completions: vLLM, llama-cpp-python's server, ...) or "ollama" (/api/generate)."""
    backend_url: str | None = None
    """Base URL of the inference server, e.g. http://gpu-box:8080 (no path for llamacpp and
    ollama; an OpenAI-compatible server's URL may end in /v1)."""
    backend_model: str | None = None
    """The model to ask the server for; unset means the first one it lists (required for
    ollama, which serves many)."""
    backend_token_env: str = "GHOSTWRIGHT_BACKEND_TOKEN"
    """Name of the environment variable holding the server's API token (sent as a Bearer
    token). Without it, the OS keyring (service "ghostwright", user: the backend URL) when the
    optional `keyring` package is installed. Never read from a file in the workspace."""
    backend_timeout_ms: int = 5000
    """Longest wait for the server: to connect (at most 2 s) and between two streamed chunks."""
    fallback_to_local: bool = False
    """While the inference server is unreachable, complete with the local model instead."""
    predictor_model: str | None = None
    """A team's acceptance predictor: a directory, or an http(s) URL of one (its
    model-card.json and the files it names); unset means the shipped (or personal) model."""
    predictor_sha256: str | None = None
    """The sha256 of that predictor's model-card.json (which holds every file's sha256);
    required for a URL. A model that does not match is refused and the shipped one is kept."""
    events_file: str | None = None
    """A JSON Lines file the server appends one typed record to per finished generation and
    per answered request (`ghostwright.events`; what `ghostwright bench` reads); unset: none."""
    next_edits: bool = True
    """Propose the edit that follows the person's last change (`ghostwright/nextEdit`)."""
    next_edit_sources: str = "rename,call-arguments,repeat,repair,model"
    """Where next edits may come from, comma-separated (an editor may send a list): rename
    propagation, the same change at the other calls, the same change on sibling lines of the
    same shape, repair's fixes of a problem the change caused, and the model rewriting the
    lines after it (only with a model that has Qwen2.5-Coder's repository markup)."""
    next_edit_threshold: float | None = None
    """Next edits the next-edit predictor scores below this (0..1) are not shown; unset means
    the shipped predictor's threshold, 0 shows every verified proposal."""
    next_edit_settle_ms: int = 400
    """A next edit is proposed only after the document has been quiet this long."""


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
NEXT_EDIT_SOURCES = ("rename", "call-arguments", "repeat", "repair", "model")
BACKENDS = ("local", "llamacpp", "openai", "ollama")
_PATH_FIELDS = frozenset({"model", "predictor_model", "events_file"})
"""Fields holding a file path, where `~` means the home directory."""


def is_url(value: str) -> bool:
    """An http(s) URL with a host."""
    parsed = urllib.parse.urlsplit(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


# Per-field checks beyond the type: a predicate and the phrase that explains a failure.
_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "context_size": (lambda v: 256 <= v <= 1 << 20, "between 256 and 1048576"),
    "threads": (lambda v: 0 <= v <= 512, "between 0 and 512"),
    "gpu_layers": (lambda v: v >= -1, "-1 (all) or more"),
    "max_tokens": (lambda v: 1 <= v <= 4096, "between 1 and 4096"),
    "time_budget_ms": (lambda v: 10 <= v <= 60000, "between 10 and 60000"),
    "invoked_time_budget_ms": (lambda v: 10 <= v <= 60000, "between 10 and 60000"),
    "context_tokens": (lambda v: 0 <= v <= 1 << 20, "between 0 and 1048576"),
    "cold_prompt_tokens": (lambda v: 0 <= v <= 1 << 20, "between 0 and 1048576"),
    "candidates": (lambda v: 1 <= v <= 10, "between 1 and 10"),
    "predictor_threshold": (lambda v: 0.0 <= v <= 1.0, "between 0 and 1"),
    "telemetry_retention_days": (lambda v: 1 <= v <= 36500, "between 1 and 36500"),
    "max_lines": (lambda v: 1 <= v <= 200, "between 1 and 200"),
    "next_edit_threshold": (lambda v: 0.0 <= v <= 1.0, "between 0 and 1"),
    "next_edit_settle_ms": (lambda v: 0 <= v <= 60000, "between 0 and 60000"),
    "next_edit_sources": (
        lambda v: all(part in NEXT_EDIT_SOURCES for part in v.split(",") if part),
        "a comma-separated list of " + ", ".join(NEXT_EDIT_SOURCES),
    ),
    "prefix_tokens": (lambda v: 16 <= v <= 1 << 20, "between 16 and 1048576"),
    "suffix_tokens": (lambda v: 0 <= v <= 1 << 20, "between 0 and 1048576"),
    "log_level": (lambda v: v.upper() in _LOG_LEVELS, "one of " + ", ".join(_LOG_LEVELS)),
    "backend": (lambda v: v in BACKENDS, "one of " + ", ".join(BACKENDS)),
    "backend_url": (is_url, "an http:// or https:// URL"),
    "backend_token_env": (
        lambda v: re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v) is not None,
        "the name of an environment variable",
    ),
    "backend_timeout_ms": (lambda v: 100 <= v <= 600000, "between 100 and 600000"),
    "predictor_model": (
        lambda v: is_url(v) or "://" not in v,
        "a directory or an http:// or https:// URL",
    ),
    "predictor_sha256": (
        lambda v: re.fullmatch(r"[0-9a-f]{64}", v) is not None,
        "64 hexadecimal digits (a sha256)",
    ),
}

# Environment variable names; `model` keeps the short, documented GHOSTWRIGHT_MODEL.
ENV_NAMES = {f.name: ENV_PREFIX + f.name.upper() for f in dataclasses.fields(Settings)}

DEFAULTS = "default"


def camel_case(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


_BY_CAMEL = {camel_case(f.name): f.name for f in dataclasses.fields(Settings)}
_FIELD_TYPES = {f.name: f.type for f in dataclasses.fields(Settings)}


@dataclass(frozen=True)
class ResolvedSettings:
    """Settings plus where each value came from and what was wrong with the input."""

    settings: Settings
    sources: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


def config_file() -> Path:
    """The user settings file: `ghostwright.toml` in the per-user config dir."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "ghostwright.toml"


def _coerce(name: str, raw: Any, from_text: bool) -> Any:
    """Convert a raw layer value to the field's type, or raise ValueError saying why."""
    kind = _FIELD_TYPES[name]
    if kind == "float | None":
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            return None
        kind = "float"
    if kind == "str | None":
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            return None
        if not isinstance(raw, str):
            raise ValueError(
                "expected a path string" if name in _PATH_FIELDS else "expected a string"
            )
        text = os.path.expanduser(raw) if name in _PATH_FIELDS else raw.strip()
        if name == "predictor_sha256":
            text = text.lower()
        check = _CHECKS.get(name)
        if check and not check[0](text):
            raise ValueError(f"must be {check[1]}")
        return text
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if from_text and isinstance(raw, str) and raw.lower() in ("1", "true", "yes", "on"):
            return True
        if from_text and isinstance(raw, str) and raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected true or false")
    if kind == "int":
        if isinstance(raw, bool):
            raise ValueError("expected an integer")
        if isinstance(raw, int):
            value: Any = raw
        elif from_text and isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            value = int(raw)
        else:
            raise ValueError("expected an integer")
    elif kind == "float":
        if isinstance(raw, bool):
            raise ValueError("expected a number")
        if isinstance(raw, int | float):
            value = float(raw)
        elif from_text and isinstance(raw, str):
            try:
                value = float(raw)
            except ValueError:
                raise ValueError("expected a number") from None
        else:
            raise ValueError("expected a number")
    elif kind == "str":
        if name == "next_edit_sources" and isinstance(raw, list | tuple):
            raw = ",".join(str(part) for part in raw)
        if not isinstance(raw, str):
            raise ValueError("expected a string")
        value = {
            "log_level": raw.upper(),
            "backend": raw.lower(),
            "next_edit_sources": raw.replace(" ", "").lower(),
        }.get(name, raw)
    else:  # pragma: no cover - a new field type must be handled above
        raise TypeError(f"unsupported settings type {kind}")
    check = _CHECKS.get(name)
    if check and not check[0](value):
        raise ValueError(f"must be {check[1]}")
    return value


def _apply_layer(
    values: dict[str, Any],
    sources: dict[str, str],
    warnings: list[str],
    layer: Mapping[str, Any],
    source: str,
    *,
    from_text: bool = False,
) -> None:
    for key, raw in layer.items():
        name = _BY_CAMEL.get(key, key)
        if name not in _FIELD_TYPES:
            warnings.append(f"{source}: unknown setting {key!r} ignored")
            continue
        try:
            values[name] = _coerce(name, raw, from_text)
        except ValueError as exc:
            warnings.append(
                f"{source}: {key} = {raw!r} is invalid ({exc}); keeping {values[name]!r}"
            )
            continue
        sources[name] = source


def read_config_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """Read the TOML settings file; a missing file is empty, a broken one is a warning."""
    if not path.exists():
        return {}, []
    try:
        with path.open("rb") as stream:
            data = tomllib.load(stream)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return {}, [f"{path}: cannot be read ({exc}); its settings are ignored"]
    section = data.get("ghostwright", data)
    if not isinstance(section, dict):
        return {}, [f"{path}: [ghostwright] must be a table; its settings are ignored"]
    return section, []


def editor_section(options: Any) -> Mapping[str, Any]:
    """The Ghostwright part of initializationOptions or a didChangeConfiguration payload.

    Clients send either the settings themselves or an object with a `ghostwright` key.
    """
    if not isinstance(options, Mapping):
        return {}
    inner = options.get("ghostwright")
    return inner if isinstance(inner, Mapping) else options


def resolve_settings(
    *,
    editor: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    file: Path | None = None,
) -> ResolvedSettings:
    """Build the settings from every layer, lowest first."""
    values = dataclasses.asdict(Settings())
    sources = dict.fromkeys(values, DEFAULTS)
    warnings: list[str] = []
    path = file if file is not None else config_file()
    file_layer, file_warnings = read_config_file(path)
    warnings.extend(file_warnings)
    _apply_layer(values, sources, warnings, file_layer, str(path))
    env = os.environ if environ is None else environ
    env_layer = {name: env[var] for name, var in ENV_NAMES.items() if var in env}
    _apply_layer(values, sources, warnings, env_layer, "environment", from_text=True)
    if editor:
        _apply_layer(values, sources, warnings, editor_section(editor), "editor")
    return ResolvedSettings(Settings(**values), sources, tuple(warnings))
