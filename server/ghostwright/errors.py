"""The failures a user can hit, one type each, every message saying what to do."""

from __future__ import annotations

from pathlib import Path


class GhostwrightError(Exception):
    """Base of every error Ghostwright reports to a person."""


class ModelNotFoundError(GhostwrightError):
    """No model file could be resolved from settings, environment, or the cache."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"{detail} Run `ghostwright model fetch` to get the default model, or set "
            "`model` (GHOSTWRIGHT_MODEL) to the path of a GGUF file."
        )


class ModelLoadError(GhostwrightError):
    """A model file exists but cannot be used: unreadable, truncated, not GGUF, or refused."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(
            f"Cannot load model {self.path}: {reason}. Point `model` (GHOSTWRIGHT_MODEL) at a "
            "valid GGUF file, or run `ghostwright model fetch` for the default model."
        )


class ModelFetchError(GhostwrightError):
    """Downloading or extracting the default model failed."""


class SettingsError(GhostwrightError):
    """A settings file could not be read at all (single bad values are only warnings)."""


class TelemetryError(GhostwrightError):
    """The telemetry database cannot be created, read, or exported.

    A corrupt or stuck database never raises this: the store moves it aside and starts afresh.
    This is for what moving aside cannot fix, such as a directory that cannot be written.
    """

    def __init__(self, path: Path | str, reason: str, advice: str | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(
            f"Telemetry: {self.path} {reason}. "
            + (
                advice
                or "Check that its directory exists and is writable and the disk is not full; "
                "deleting the file is safe (it holds only local completion history)."
            )
        )
