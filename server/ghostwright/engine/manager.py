"""The model's lifecycle: load once in the background, report failures, reload on change.

All generation runs on one worker thread, so the llama.cpp context is used by one caller at a
time and the LSP event loop never blocks on the model.

With an HTTP backend (`backend` other than "local") the manager checks at load that the server
answers a real completion, and from then on watches for outages: the first failure of an outage
is reported once (log, and the state change that the server shows the person), never per
keystroke; while it lasts no request goes to the server, a background thread probes it with
growing pauses, and the local model completes meanwhile when `fallbackToLocal` is on.
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
from typing import TYPE_CHECKING, TypeVar

from ghostwright.engine.base import Engine, TextEngine
from ghostwright.engine.local import LocalEngine
from ghostwright.engine.models import resolve_model_path
from ghostwright.errors import GhostwrightError
from ghostwright.settings import Settings

if TYPE_CHECKING:
    from ghostwright.engine.http import BackendError, HttpBackend

log = logging.getLogger(__name__)

T = TypeVar("T")

RECONNECT_FIRST_S = 1.0
"""Pause before the first probe of a server that failed; doubled after each failed probe."""
RECONNECT_MAX_S = 30.0


class ModelState(enum.Enum):
    NOT_LOADED = "not loaded"
    LOADING = "loading"
    READY = "ready"
    DEGRADED = "degraded"
    """The inference server is unavailable; the local model completes meanwhile."""
    FAILED = "failed"


@dataclass(frozen=True)
class LoadKey:
    """The settings that require a reload when they change."""

    model: str | None
    context_size: int
    threads: int
    gpu_layers: int
    backend: str
    backend_url: str | None
    backend_model: str | None
    backend_token_env: str
    backend_timeout_ms: int
    fallback_to_local: bool

    @classmethod
    def of(cls, settings: Settings) -> LoadKey:
        return cls(
            settings.model,
            settings.context_size,
            settings.threads,
            settings.gpu_layers,
            settings.backend,
            settings.backend_url,
            settings.backend_model,
            settings.backend_token_env,
            settings.backend_timeout_ms,
            settings.fallback_to_local,
        )


def open_backend(
    settings: Settings, on_failure: Callable[[BackendError], None] | None = None
) -> HttpBackend:
    """The HTTP backend the settings name, with its token (not yet contacted)."""
    from ghostwright.engine.http import backend_token
    from ghostwright.engine.llamacpp_server import LlamaCppServer
    from ghostwright.engine.ollama import Ollama
    from ghostwright.engine.openai import OpenAICompatible

    adaptors: dict[str, type[HttpBackend]] = {
        adaptor.kind: adaptor for adaptor in (LlamaCppServer, OpenAICompatible, Ollama)
    }
    adaptor = adaptors[settings.backend]
    return adaptor(settings, token=backend_token(settings), on_failure=on_failure)


class ModelManager:
    """Owns the current engines and the single thread that runs them."""

    def __init__(self, on_change: Callable[[ModelState, str], None] | None = None) -> None:
        """`on_change(state, detail)` is called from the model thread (or the reconnecting
        thread) on every transition."""
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ghostwright-model")
        self._engine: LocalEngine | None = None
        """The local model: the backend, or the fallback of an HTTP backend."""
        self._remote: HttpBackend | None = None
        self._remote_up = False
        self._key: LoadKey | None = None
        self._state = ModelState.NOT_LOADED
        self._error: str | None = None
        self._on_change = on_change
        self._state_lock = threading.Lock()
        self._stop_reconnecting = threading.Event()

    @property
    def state(self) -> ModelState:
        return self._state

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def engine(self) -> LocalEngine | None:
        """The local model when it is loaded (as the backend, or as the fallback)."""
        return self._engine if self._state in (ModelState.READY, ModelState.DEGRADED) else None

    @property
    def rewrite_engine(self) -> LocalEngine | None:
        """The local model's rewrite context (`LocalEngine.rewriter`), for next edits and repair:
        their prompts then leave the completion's KV cache as it was. Use it on the model thread
        (`run`): its first use creates the context."""
        engine = self.engine
        return engine.rewriter() if engine is not None else None

    @property
    def completion_engine(self) -> Engine | TextEngine | None:
        """What completes now: the inference server while it answers, else the local model."""
        if self._state not in (ModelState.READY, ModelState.DEGRADED):
            return None
        if self._remote is not None and self._remote_up:
            return self._remote
        return self._engine

    @property
    def model_name(self) -> str:
        """The model that completes now, as telemetry records it."""
        engine = self.completion_engine
        if isinstance(engine, LocalEngine):
            return engine.path.name
        return self._remote.model_name if self._remote is not None else ""

    def load(self, settings: Settings) -> Future[None] | None:
        """Start loading what these settings name, unless it is already loaded or loading."""
        key = LoadKey.of(settings)
        with self._state_lock:
            settled = (ModelState.LOADING, ModelState.READY, ModelState.DEGRADED)
            if key == self._key and self._state in settled:
                return None
            self._key = key
            self._state = ModelState.LOADING
            self._error = None
        return self._worker.submit(self._load, settings, key)

    def _load(self, settings: Settings, key: LoadKey) -> None:
        remote = settings.backend != "local"
        target = settings.backend_url if remote else settings.model
        self._notify(ModelState.LOADING, target or "default model")
        self._close_engines()
        backend: HttpBackend | None = None
        if remote:
            try:
                backend = open_backend(settings, lambda error: self._remote_failed(key, error))
            except GhostwrightError as exc:
                self._fail(key, str(exc))
                return
        local: LocalEngine | None = None
        local_problem: str | None = None
        if not remote or settings.fallback_to_local:
            try:
                path: Path = resolve_model_path(settings)
                log.info("loading model %s", path)
                local = LocalEngine(path, settings)
            except GhostwrightError as exc:
                local_problem = str(exc)
            except Exception as exc:  # llama.cpp can raise anything; the server must stay up
                log.exception("unexpected failure loading the model")
                local_problem = f"Loading the model failed unexpectedly: {exc}"
        if backend is None:
            if local is None:
                self._fail(key, local_problem or "no model")
                return
            self._settle(key, local, None, None)
            return
        if local_problem is not None:
            log.warning("the local fallback model is not available: %s", local_problem)
        self._settle(key, local, backend, backend.probe())

    def _settle(
        self,
        key: LoadKey,
        local: LocalEngine | None,
        backend: HttpBackend | None,
        outage: BackendError | None,
    ) -> None:
        """Install what `_load` made, unless the settings changed meanwhile, and say so."""
        with self._state_lock:
            if key != self._key:
                for engine in (local, backend):
                    if engine is not None:
                        engine.close()
                return
            self._engine, self._remote = local, backend
            self._remote_up = backend is not None and outage is None
            if backend is not None and outage is not None:
                self._state = ModelState.DEGRADED if local is not None else ModelState.FAILED
                self._error = self._outage_message(outage)
            else:
                self._state = ModelState.READY
        if backend is not None and outage is not None:
            self._announce_outage(key, backend)
            return
        if backend is not None:
            fallback = f"; local fallback {local.path.name}" if local is not None else ""
            log.info("completing with the %s%s", backend.description, fallback)
            self._notify(ModelState.READY, backend.description)
            return
        assert local is not None
        self._notify(ModelState.READY, str(local.path))
        log.info(
            "model ready: %s (%s, n_ctx=%d, FIM %s, gpu_layers=%d)",
            local.path,
            local.info.architecture,
            local.n_ctx,
            "yes" if local.fim else "no",
            local.gpu_layers,
        )

    # -- outages of an HTTP backend -------------------------------------------------------------
    def _outage_message(self, error: BackendError) -> str:
        if self._engine is not None:
            then = "the local model completes until it is back"
        else:
            then = "no completions until it is back (fallbackToLocal uses the local model)"
        return f"{error} Meanwhile {then}; Ghostwright keeps trying in the background."

    def _remote_failed(self, key: LoadKey, error: BackendError) -> None:
        """A request found the server unavailable: report it, unless this outage already was."""
        with self._state_lock:
            backend = self._remote
            if key != self._key or backend is None or not self._remote_up:
                return
            self._remote_up = False
            self._state = ModelState.DEGRADED if self._engine is not None else ModelState.FAILED
            self._error = self._outage_message(error)
        self._announce_outage(key, backend)

    def _announce_outage(self, key: LoadKey, backend: HttpBackend) -> None:
        message = self._error or "the inference server is unavailable"
        log.error("%s", message)
        self._notify(self._state, message)
        stop = self._stop_reconnecting
        threading.Thread(
            target=self._reconnect,
            args=(key, backend, stop),
            name="ghostwright-reconnect",
            daemon=True,
        ).start()

    def _reconnect(self, key: LoadKey, backend: HttpBackend, stop: threading.Event) -> None:
        """Probe the server with growing pauses until it answers or the settings change."""
        pause = RECONNECT_FIRST_S
        while not stop.wait(pause):
            if backend.probe() is None:
                with self._state_lock:
                    if key != self._key or self._remote is not backend:
                        return
                    self._remote_up = True
                    self._state = ModelState.READY
                    self._error = None
                log.info("the %s answers again", backend.description)
                self._notify(ModelState.READY, backend.description)
                return
            pause = min(pause * 2, RECONNECT_MAX_S)

    # -- shared -----------------------------------------------------------------------------------
    def _close_engines(self) -> None:
        self._stop_reconnecting.set()
        self._stop_reconnecting = threading.Event()
        for engine in (self._engine, self._remote):
            if engine is not None:
                engine.close()
        self._engine = self._remote = None
        self._remote_up = False

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
        self._stop_reconnecting.set()
        if self._remote is not None:
            self._remote.close()
        self._worker.shutdown(wait=False, cancel_futures=True)
