"""What the HTTP backends share: the connection, the token, the streaming loop, and failures.

One `HttpBackend` per configured inference server; the adaptors (`llamacpp_server.py`,
`openai.py`, `ollama.py`) only say how a request is written and how a streamed line reads.
Generation runs on the model thread like the local engine's: the response is streamed, and
after every chunk the loop checks cancellation, the stop condition and the time budget. Leaving
the loop early closes the response, and with it the connection (httpx does not return a
half-read HTTP/1.1 connection to its pool), so the server sees the client go and stops
generating.

Failures are sorted into two kinds. An outage (the server cannot be reached, times out, fails
with 5xx, refuses the token, or does not serve the model) is handed to `on_failure`, which the
model manager turns into one message and a background reconnection. Any other refusal of a
single request (a 4xx about that prompt) is logged once per distinct message. Either way the
request answers with no text, never an exception on the request path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from ghostwright.engine.base import Generation, StopCondition, StopRule, TextCallback
from ghostwright.errors import GhostwrightError
from ghostwright.prompt import TextPrompt
from ghostwright.settings import Settings

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0
"""The most a connection attempt waits (less when `backendTimeoutMs` is less)."""
ATTEMPTS = 3
"""Tries of a request that never reached the server (connection refused or timed out, or a 503
while the server loads): those are safe to repeat. Nothing that the server started is retried."""
RETRY_BACKOFF_S = 0.05
"""Wait before the second try; doubled before each further one."""
KEYRING_SERVICE = "ghostwright"
SAMPLED_TEMPERATURE = 0.7
"""Temperature of the alternatives asked for when completion is invoked (greedy otherwise)."""

_RETRYABLE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_OUTAGE_STATUS = frozenset({401, 403, 404, 408, 429})
"""Client errors that no prompt can fix: token, model or endpoint, or a server too busy."""


class BackendError(GhostwrightError):
    """The inference server failed a request or cannot be used; the message says what to do."""

    def __init__(self, message: str, *, outage: bool = True) -> None:
        super().__init__(message)
        self.outage = outage
        """True when no request can succeed until the server or the settings change."""


FailureCallback = Callable[[BackendError], None]


@dataclass(frozen=True)
class Chunk:
    """One streamed line of a server's answer, in the adaptors' common terms."""

    text: str = ""
    logprobs: tuple[float, ...] = ()
    """Log-probabilities of the tokens in `text`, where the server reports them."""
    finished: bool = False
    """The server's answer is complete."""
    stop_reason: str | None = None
    """Why the server stopped (eos, max_tokens), on the chunk that says so."""
    prompt_tokens: int | None = None
    reused_tokens: int | None = None
    evaluated_tokens: int | None = None
    error: str | None = None
    """An error the server reported inside the stream."""


def backend_token(settings: Settings, environ: Mapping[str, str] | None = None) -> str | None:
    """The API token for the configured server: the environment variable `backendTokenEnv`
    names, else the OS keyring (service "ghostwright", user: the backend URL) when the optional
    `keyring` package is installed, else none. Settings never hold the token itself, so it
    cannot come from a settings file in the workspace."""
    env = os.environ if environ is None else environ
    value = env.get(settings.backend_token_env, "").strip()
    if value:
        return value
    if settings.backend_url is None:
        return None
    try:
        keyring: Any = importlib.import_module("keyring")
    except ImportError:
        return None
    try:
        stored = keyring.get_password(KEYRING_SERVICE, settings.backend_url)
    except Exception as exc:  # any keyring backend failure: go on without a token
        log.warning("the OS keyring could not be read (%s); no token is sent", exc)
        return None
    return stored.strip() if isinstance(stored, str) and stored.strip() else None


def logprob_of(entry: object) -> float | None:
    """The `logprob` of a token entry (llama.cpp, Ollama), or None when it has none."""
    if isinstance(entry, Mapping):
        value = entry.get("logprob")
        if isinstance(value, int | float) and math.isfinite(value):
            return float(value)
    return None


def _error_text(response: httpx.Response) -> str:
    """The server's own error message from a failed response, shortened."""
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if isinstance(data, Mapping):
        error = data.get("error", data.get("detail", data))
        if isinstance(error, Mapping):
            error = error.get("message", error)
        return str(error)[:300]
    return str(data)[:300]


class HttpBackend:
    """An inference server reached over HTTP, streaming. Subclasses are the adaptors."""

    kind: ClassVar[str]
    """The `backend` setting's value for this adaptor."""

    def __init__(
        self,
        settings: Settings,
        *,
        token: str | None = None,
        on_failure: FailureCallback | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if settings.backend_url is None:
            raise BackendError(
                f"backend = {self.kind} needs backendUrl (GHOSTWRIGHT_BACKEND_URL): the "
                "inference server's address, such as http://gpu-box:8080."
            )
        self.url = settings.backend_url.rstrip("/")
        self.model: str | None = settings.backend_model
        """The model asked for; resolved from the server's list by `probe` when unset."""
        self.on_failure = on_failure
        self._timeout_s = settings.backend_timeout_ms / 1000.0
        self._token_env = settings.backend_token_env
        self._has_token = bool(token)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(
            base_url=self.base_url(self.url),
            headers=headers,
            timeout=httpx.Timeout(self._timeout_s, connect=min(CONNECT_TIMEOUT_S, self._timeout_s)),
            transport=transport,
        )
        self._reported: set[str] = set()
        self._lock = threading.Lock()

    # -- what the adaptors say ----------------------------------------------------------------
    @staticmethod
    def base_url(url: str) -> str:
        """The URL that the adaptor's paths are relative to."""
        return url

    @property
    def mode(self) -> str:
        return "fim"

    def resolve_model(self) -> None:
        """Check (or choose) `self.model` against what the server serves."""

    def request(
        self, prompt: TextPrompt, max_tokens: int, time_budget_ms: float | None, branch: int
    ) -> tuple[str, dict[str, Any]]:
        """The path and JSON body of a streaming completion request."""
        raise NotImplementedError

    def parse(self, line: str) -> Chunk | None:
        """One streamed line; None for lines that carry nothing (keep-alives, blanks)."""
        raise NotImplementedError

    def retry_without(self, status: int, message: str) -> bool:
        """Whether a refused request can be sent again without an optional feature that the
        server does not have (then the adaptor has turned it off)."""
        return False

    # -- shared ---------------------------------------------------------------------------------
    @property
    def description(self) -> str:
        model = f", model {self.model}" if self.model else ""
        return f"{self.kind} server {self.url}{model}"

    @property
    def model_name(self) -> str:
        """How telemetry names the model: the backend and the model it serves."""
        return f"{self.kind}:{self.model or self.url}"

    def probe(self) -> BackendError | None:
        """Whether the server answers a real one-token completion with these settings (token,
        model, endpoint): None when it does, else what is wrong."""
        try:
            self.resolve_model()
            prompt = TextPrompt("def f():\n    return ", "\n", ())
            self._stream(prompt, 1, None, 0, lambda text: False, threading.Event(), None)
        except BackendError as exc:
            return exc
        except httpx.HTTPError as exc:
            return self._transport_error(exc)
        return None

    def get_json(self, path: str) -> Any:
        """GET a JSON document (a model list); failures are outages."""
        for attempt in range(ATTEMPTS):
            try:
                response = self._client.get(path)
            except _RETRYABLE as exc:
                if attempt == ATTEMPTS - 1:
                    raise self._transport_error(exc) from exc
                time.sleep(RETRY_BACKOFF_S * 2**attempt)
                continue
            except httpx.HTTPError as exc:
                raise self._transport_error(exc) from exc
            if response.status_code >= 400:
                raise self._status_error(response)
            try:
                return response.json()
            except ValueError as exc:
                raise BackendError(
                    f"The {self.kind} server at {self.url} answered {path} with something that "
                    f"is not JSON: is backendUrl the right server (backend = {self.kind})?"
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def generate_text(
        self,
        prompt: TextPrompt,
        *,
        max_tokens: int,
        should_stop: StopCondition,
        cancelled: threading.Event,
        time_budget_ms: float | None = None,
        branch: int = 0,
        on_text: TextCallback | None = None,
    ) -> Generation:
        """See `TextEngine.generate_text`. Never raises for the server's failures: they are
        handed to `on_failure` (outages) or logged once, and the generation is empty."""
        started = time.perf_counter()
        try:
            return self._stream(
                prompt, max_tokens, time_budget_ms, branch, should_stop, cancelled, on_text
            )
        except BackendError as exc:
            self._report(exc)
        except httpx.HTTPError as exc:
            self._report(self._transport_error(exc))
        return _empty("error", started)

    def close(self) -> None:
        self._client.close()

    # -- the streaming loop ---------------------------------------------------------------------
    def _stream(
        self,
        prompt: TextPrompt,
        max_tokens: int,
        time_budget_ms: float | None,
        branch: int,
        should_stop: StopCondition,
        cancelled: threading.Event,
        on_text: TextCallback | None,
    ) -> Generation:
        started = time.perf_counter()
        if cancelled.is_set():
            return _empty("cancelled", started)
        prompt, healed = heal(prompt)
        raw = text = ""
        logprobs: list[float] = []
        counts: dict[str, int] = {}
        every_token_scored = True
        generated = 0
        stop_reason: str | None = None
        server_stop: str | None = None
        stop_rule = StopRule(should_stop, time_budget_ms)
        with self._open(prompt, max_tokens, time_budget_ms, branch, cancelled) as response:
            for line in response.iter_lines():
                if cancelled.is_set():
                    stop_reason = "cancelled"
                    break
                try:
                    chunk = self.parse(line)
                except (ValueError, TypeError, AttributeError, KeyError) as exc:
                    raise BackendError(
                        f"The server at {self.url} does not answer in the {self.kind} protocol "
                        f"({line[:80]!r}): is backend the right kind for backendUrl?"
                    ) from exc
                if chunk is None:
                    continue
                if chunk.error is not None:
                    raise BackendError(
                        f"The {self.kind} server at {self.url} failed the request: {chunk.error}",
                        outage=False,
                    )
                for name in ("prompt_tokens", "reused_tokens", "evaluated_tokens"):
                    value = getattr(chunk, name)
                    if value is not None:
                        counts[name] = value
                raw += chunk.text
                generated += bool(chunk.text)  # streaming servers send a token per chunk
                logprobs.extend(chunk.logprobs)
                every_token_scored = every_token_scored and bool(chunk.logprobs or not chunk.text)
                server_stop = chunk.stop_reason or server_stop
                visible = _after(raw, healed)
                fresh, text = visible[len(text) :], visible
                if chunk.finished:
                    break
                if not fresh:
                    continue
                # The server evaluated the prompt before its first token: the budget starts.
                stop_rule.start()
                if on_text is not None:
                    on_text(text, logprobs if every_token_scored else (), ())
                stop_reason = stop_rule.reason(text, fresh)
                if stop_reason is not None:
                    break
        prompt_tokens = counts.get("prompt_tokens", 0)
        reused = counts.get("reused_tokens", 0)
        return Generation(
            text=text,
            # Log-probabilities only when the server scored every token; else missing.
            token_logprobs=tuple(logprobs) if every_token_scored else (),
            token_entropies=(),
            prompt_tokens=prompt_tokens,
            reused_tokens=reused,
            evaluated_tokens=counts.get("evaluated_tokens", max(prompt_tokens - reused, 0)),
            model_ms=(time.perf_counter() - started) * 1000.0,
            stop_reason=stop_reason or server_stop or "eos",
            generated_tokens=generated,
        )

    @contextlib.contextmanager
    def _open(
        self,
        prompt: TextPrompt,
        max_tokens: int,
        time_budget_ms: float | None,
        branch: int,
        cancelled: threading.Event,
    ) -> Iterator[httpx.Response]:
        """The streaming response, once the server accepted the request; closed on exit."""
        attempt = 0
        while True:
            path, body = self.request(prompt, max_tokens, time_budget_ms, branch)
            try:
                response = self._client.send(
                    self._client.build_request("POST", path, json=body), stream=True
                )
            except _RETRYABLE:
                attempt += 1
                if attempt >= ATTEMPTS or cancelled.is_set():
                    raise
                time.sleep(RETRY_BACKOFF_S * 2 ** (attempt - 1))
                continue
            if response.status_code < 400:
                break
            response.read()
            response.close()
            if response.status_code == 503 and attempt + 1 < ATTEMPTS:
                attempt += 1
                time.sleep(RETRY_BACKOFF_S * 2 ** (attempt - 1))
                continue
            if response.status_code < 500 and self.retry_without(
                response.status_code, _error_text(response)
            ):
                continue
            raise self._status_error(response)
        try:
            yield response
        finally:
            response.close()

    # -- failures -------------------------------------------------------------------------------
    def _transport_error(self, exc: httpx.HTTPError) -> BackendError:
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            reason = "it cannot be reached"
        elif isinstance(exc, httpx.TimeoutException):
            reason = f"it did not answer within {self._timeout_s:g} s (backendTimeoutMs)"
        else:
            reason = "the connection failed"
        return BackendError(
            f"The {self.kind} server at {self.url} is unavailable: {reason} ({exc or type(exc)})."
            " Check that it is running and that backendUrl is right."
        )

    def _status_error(self, response: httpx.Response) -> BackendError:
        status, detail = response.status_code, _error_text(response)
        where = f"The {self.kind} server at {self.url}"
        if status in (401, 403):
            sent = "refused the API token" if self._has_token else "wants an API token"
            return BackendError(
                f"{where} {sent} ({status}: {detail}). Put the token in the environment "
                f"variable {self._token_env} (named by backendTokenEnv) or in the OS keyring "
                f"(service {KEYRING_SERVICE!r}, user {self.url!r})."
            )
        if status == 404:
            return BackendError(
                f"{where} answered 404 for {response.request.url.path} ({detail}): wrong "
                f"backendModel, or not a {self.kind} server (check backend and backendUrl)."
            )
        outage = status >= 500 or status in _OUTAGE_STATUS
        return BackendError(f"{where} refused the request ({status}: {detail}).", outage=outage)

    def _report(self, error: BackendError) -> None:
        if error.outage:
            if self.on_failure is not None:
                self.on_failure(error)
            else:
                log.error("%s", error)
            return
        with self._lock:
            first = str(error) not in self._reported
            self._reported.add(str(error))
        if first:
            log.warning("%s", error)


def heal(prompt: TextPrompt) -> tuple[TextPrompt, str]:
    """Token healing as text: the blanks the cursor's line ends with (`x = `) are left out of
    the prompt, so that the model does not have to continue after a lone space token (a rare
    tokenization of code, which it answers badly); the generation then has to reproduce them.
    A line of indentation only is kept whole. Returns the prompt and the blanks left out."""
    line = prompt.prefix[prompt.line_start :]
    kept = line.rstrip(" \t")
    if not kept.strip():
        return prompt, ""
    healed = line[len(kept) :]
    if not healed:
        return prompt, ""
    return dataclasses.replace(prompt, prefix=prompt.prefix[: -len(healed)]), healed


def _after(raw: str, healed: str) -> str:
    """The suggestion in what the model generated after a healed prompt: its text past the
    blanks that were left out ("" while it has not got past them; all of it when it took
    another way)."""
    if raw.startswith(healed):
        return raw[len(healed) :]
    return "" if healed.startswith(raw) else raw


def _empty(stop_reason: str, started: float) -> Generation:
    return Generation(
        text="",
        token_logprobs=(),
        token_entropies=(),
        prompt_tokens=0,
        reused_tokens=0,
        evaluated_tokens=0,
        model_ms=(time.perf_counter() - started) * 1000.0,
        stop_reason=stop_reason,
    )
