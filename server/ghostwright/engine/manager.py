"""The model's lifecycle: load once in the background, report failures, reload on change.

All generation runs on one worker thread, so the llama.cpp context is used by one caller at a
time and the LSP event loop never blocks on the model.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ghostwright.engine.local import LocalEngine
from ghostwright.engine.models import resolve_model_path
from ghostwright.errors import GhostwrightError
from ghostwright.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")


class ModelState(enum.Enum):
    NOT_LOADED = "not loaded"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class LoadKey:
    """The settings that require a reload when they change."""

    model: str | None
    context_size: int
    threads: int
    gpu_layers: int

    @classmethod
    def of(cls, settings: Settings) -> LoadKey:
        return cls(settings.model, settings.context_size, settings.threads, settings.gpu_layers)


class ModelManager:
    """Owns the current engine and the single thread that runs it."""

    def __init__(self, on_change: Callable[[ModelState, str], None] | None = None) -> None:
        """`on_change(state, detail)` is called from the model thread on every transition."""
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ghostwright-model")
        self._engine: LocalEngine | None = None
        self._key: LoadKey | None = None
        self._state = ModelState.NOT_LOADED
        self._error: str | None = None
        self._on_change = on_change
        self._state_lock = threading.Lock()

    @property
    def state(self) -> ModelState:
        return self._state

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def engine(self) -> LocalEngine | None:
        return self._engine if self._state is ModelState.READY else None

    def load(self, settings: Settings) -> Future[None] | None:
        """Start loading the model these settings name, unless it is already loaded or loading."""
        key = LoadKey.of(settings)
        with self._state_lock:
            if key == self._key and self._state in (ModelState.LOADING, ModelState.READY):
                return None
            self._key = key
            self._state = ModelState.LOADING
            self._error = None
        return self._worker.submit(self._load, settings, key)

    def _load(self, settings: Settings, key: LoadKey) -> None:
        self._notify(ModelState.LOADING, settings.model or "default model")
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        try:
            path: Path = resolve_model_path(settings)
            log.info("loading model %s", path)
            engine = LocalEngine(path, settings)
        except GhostwrightError as exc:
            self._fail(key, str(exc))
            return
        except Exception as exc:  # llama.cpp can raise anything; the server must stay up
            log.exception("unexpected failure loading the model")
            self._fail(key, f"Loading the model failed unexpectedly: {exc}")
            return
        with self._state_lock:
            if key != self._key:
                engine.close()
                return
            self._engine = engine
            self._state = ModelState.READY
        self._notify(ModelState.READY, str(engine.path))
        log.info(
            "model ready: %s (%s, n_ctx=%d, FIM %s, gpu_layers=%d)",
            engine.path,
            engine.info.architecture,
            engine.n_ctx,
            "yes" if engine.fim else "no",
            engine.gpu_layers,
        )

    def _fail(self, key: LoadKey, message: str) -> None:
        with self._state_lock:
            if key != self._key:
                return
            self._state = ModelState.FAILED
            self._error = message
        log.error("%s", message)
        self._notify(ModelState.FAILED, message)

    def _notify(self, state: ModelState, detail: str) -> None:
        if self._on_change is not None:
            self._on_change(state, detail)

    async def run(self, work: Callable[[], T]) -> T:
        """Run `work` on the model thread and await its result."""
        return await asyncio.wrap_future(self._worker.submit(work))

    def shutdown(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)
