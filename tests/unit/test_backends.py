"""The HTTP backends against real HTTP servers on 127.0.0.1 (`tests/protocol_servers.py`):
what Ghostwright sends, how it reads the streamed answers, cancellation and stops closing the
stream, retries, errors, the token, and outages reported once by the model manager."""

from __future__ import annotations

import math
import sys
import threading
import time
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.protocol_servers import ProtocolServer

from ghostwright.completion.pipeline import CompletionPipeline, CompletionRequest
from ghostwright.engine.base import TextEngine
from ghostwright.engine.http import BackendError, HttpBackend, backend_token
from ghostwright.engine.llamacpp_server import LlamaCppServer
from ghostwright.engine.manager import ModelManager, ModelState
from ghostwright.engine.ollama import Ollama
from ghostwright.engine.openai import OpenAICompatible, family_for, fim_text
from ghostwright.predictor.features import CursorContext, History, suggestion_features
from ghostwright.prompt import ContextChunk, TextPrompt, build_text_prompt
from ghostwright.settings import Settings, resolve_settings


def never(text: str) -> bool:
    return False


def settings_for(server: ProtocolServer, **extra: Any) -> Settings:
    values: dict[str, Any] = {"backend": server.protocol, "backend_url": server.url}
    if server.protocol == "ollama":
        values["backend_model"] = server.models[0]
    return Settings(**{**values, **extra})


@pytest.fixture
def infill() -> Iterator[ProtocolServer]:
    server = ProtocolServer("llamacpp", reply=lambda body: [" a", " +", " b"]).start()
    yield server
    server.stop()


@pytest.fixture
def ollama() -> Iterator[ProtocolServer]:
    server = ProtocolServer("ollama", reply=lambda body: [" a", " +", " b"]).start()
    yield server
    server.stop()


PROMPT = TextPrompt(
    prefix="import os\n\ndef add(a, b):\n    return ",
    suffix="\n\nprint(add(1, 2))\n",
    context=(ContextChunk("util.py", "def helper():\n    pass"),),
)


# --- settings --------------------------------------------------------------------------------


def test_backend_settings_from_the_environment(tmp_path: Path) -> None:
    resolved = resolve_settings(
        environ={
            "GHOSTWRIGHT_BACKEND": "LlamaCpp",
            "GHOSTWRIGHT_BACKEND_URL": "http://gpu-box:8080",
            "GHOSTWRIGHT_BACKEND_MODEL": "qwen2.5-coder:7b",
            "GHOSTWRIGHT_BACKEND_TOKEN_ENV": "TEAM_LLM_TOKEN",
            "GHOSTWRIGHT_BACKEND_TIMEOUT_MS": "1500",
            "GHOSTWRIGHT_FALLBACK_TO_LOCAL": "yes",
            "GHOSTWRIGHT_PREDICTOR_MODEL": "https://models.example/predictor/",
            "GHOSTWRIGHT_PREDICTOR_SHA256": "AB" * 32,
        },
        file=tmp_path / "none.toml",
    )
    settings = resolved.settings
    assert resolved.warnings == ()
    assert settings.backend == "llamacpp"
    assert settings.backend_url == "http://gpu-box:8080"
    assert settings.backend_model == "qwen2.5-coder:7b"
    assert settings.backend_token_env == "TEAM_LLM_TOKEN"
    assert settings.backend_timeout_ms == 1500
    assert settings.fallback_to_local is True
    assert settings.predictor_model == "https://models.example/predictor/"
    assert settings.predictor_sha256 == "ab" * 32


def test_the_default_backend_is_local_and_needs_no_network() -> None:
    settings = Settings()
    assert settings.backend == "local" and settings.backend_url is None
    assert settings.predictor_model is None and settings.fallback_to_local is False


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("backend", "gpt", "one of local, llamacpp, openai, ollama"),
        ("backendUrl", "gpu-box:8080", "an http:// or https:// URL"),
        ("backendTokenEnv", "1 BAD", "the name of an environment variable"),
        ("backendTimeoutMs", 5, "between 100 and 600000"),
        ("predictorModel", "ftp://x/y", "a directory or an http:// or https:// URL"),
        ("predictorSha256", "xyz", "64 hexadecimal digits"),
    ],
)
def test_invalid_backend_settings_are_reported_and_the_lower_layer_kept(
    tmp_path: Path, key: str, value: object, why: str
) -> None:
    resolved = resolve_settings(
        editor={"backend": "openai", key: value} if key != "backend" else {key: value},
        environ={},
        file=tmp_path / "none.toml",
    )
    assert len(resolved.warnings) == 1 and why in resolved.warnings[0]
    assert resolved.sources.get(_field(key), "default") == "default"


def _field(camel: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in camel)


def test_a_token_cannot_be_a_setting(tmp_path: Path) -> None:
    """Settings files and editor settings can live in a workspace: a token is never read from
    them, only from the environment or the OS keyring."""
    config = tmp_path / "ghostwright.toml"
    config.write_text('backend_token = "s3cret"\n', encoding="utf-8")
    resolved = resolve_settings(editor={"backendToken": "s3cret"}, environ={}, file=config)
    assert len(resolved.warnings) == 2
    assert all("unknown setting" in warning for warning in resolved.warnings)


def test_the_token_comes_from_the_named_environment_variable() -> None:
    settings = Settings(backend="openai", backend_url="http://h:1", backend_token_env="TEAM_TOKEN")
    assert backend_token(settings, {"TEAM_TOKEN": " s3cret\n"}) == "s3cret"
    assert backend_token(settings, {"GHOSTWRIGHT_BACKEND_TOKEN": "other"}) is None


def test_the_token_comes_from_the_os_keyring_when_no_variable_holds_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[str, str]] = []
    keyring = types.ModuleType("keyring")

    def get_password(service: str, user: str) -> str:
        asked.append((service, user))
        return "from-keyring"

    keyring.get_password = get_password  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", keyring)
    settings = Settings(backend="ollama", backend_url="http://gpu-box:11434")
    assert backend_token(settings, {}) == "from-keyring"
    assert asked == [("ghostwright", "http://gpu-box:11434")]
    assert backend_token(settings, {"GHOSTWRIGHT_BACKEND_TOKEN": "env"}) == "env"


# --- text prompts ----------------------------------------------------------------------------


def test_text_prompt_windows_are_whole_lines_within_the_budget() -> None:
    lines = [f"value_{i} = {i}\n" for i in range(400)]
    prefix = "".join(lines) + "def f():\n    return "
    prompt = build_text_prompt(
        prefix, "\nmore()\n" * 50, max_prefix_tokens=100, max_suffix_tokens=5
    )
    assert len(prompt.prefix) <= 300 and prefix.endswith(prompt.prefix)
    assert prompt.prefix.startswith("value_") and prompt.prefix.endswith("    return ")
    assert len(prompt.suffix) <= 15 and prompt.suffix.startswith("\nmore()")
    assert prompt.prefix[prompt.line_start :] == "    return "


def test_text_prompt_context_chunks_fit_their_budget_whole() -> None:
    chunks = [ContextChunk(f"f{i}.py", "x" * 40) for i in range(5)]
    prompt = build_text_prompt(
        "a = 1\n",
        "",
        max_prefix_tokens=50,
        max_suffix_tokens=0,
        context=chunks,
        max_context_tokens=40,
    )
    assert [chunk.label for chunk in prompt.context] == ["f0.py", "f1.py"]
    assert prompt.context_text == f"# f0.py\n{'x' * 40}\n# f1.py\n{'x' * 40}\n# ---\n"


def test_openai_fim_layouts_by_model_family() -> None:
    qwen = family_for("Qwen/Qwen2.5-Coder-7B-Instruct")
    assert qwen is not None and qwen.family == "qwen2.5-coder"
    assert fim_text(PROMPT, qwen) == (
        "<|fim_prefix|>"
        + PROMPT.context_text
        + PROMPT.prefix
        + "<|fim_suffix|>"
        + PROMPT.suffix
        + "<|fim_middle|>"
    )
    codestral = family_for("codestral-22b")
    assert codestral is not None
    assert fim_text(PROMPT, codestral) == (
        "[SUFFIX]" + PROMPT.suffix + "[PREFIX]" + PROMPT.context_text + PROMPT.prefix
    )
    assert family_for("/models/SmolLM2-135M-Instruct.Q4_1.gguf") is None
    assert fim_text(PROMPT, None) == PROMPT.context_text + PROMPT.prefix


# --- llama.cpp /infill -------------------------------------------------------------------------


def test_infill_request_and_streamed_answer(infill: ProtocolServer) -> None:
    backend = LlamaCppServer(settings_for(infill), token="s3cret")
    assert isinstance(backend, TextEngine) and backend.mode == "fim"
    generation = backend.generate_text(
        PROMPT, max_tokens=32, should_stop=never, cancelled=threading.Event(), time_budget_ms=250
    )
    assert generation.text == "a + b"
    assert generation.token_logprobs == (-0.25, -0.25, -0.25)
    assert generation.token_entropies == ()
    assert (generation.prompt_tokens, generation.reused_tokens, generation.evaluated_tokens) == (
        120,
        100,
        20,
    )
    assert generation.stop_reason == "eos"
    [sent] = infill.completions
    assert sent.headers["authorization"] == "Bearer s3cret"
    assert sent.body == {
        "input_prefix": "import os\n\ndef add(a, b):\n",
        "input_suffix": PROMPT.suffix,
        "input_extra": [{"filename": "util.py", "text": "def helper():\n    pass"}],
        "prompt": "    return",  # healed: the model writes the space
        "n_predict": 32,
        "n_indent": 4,
        "cache_prompt": True,
        "stream": True,
        "n_probs": 1,
        "temperature": 0.0,
        "t_max_predict_ms": 250,
    }
    backend.close()


def test_a_met_stop_condition_closes_the_stream(infill: ProtocolServer) -> None:
    infill.endless = True
    infill.delay_s = 0.01
    backend = LlamaCppServer(settings_for(infill))
    generation = backend.generate_text(
        PROMPT,
        max_tokens=10_000,
        should_stop=lambda text: len(text) > 20,
        cancelled=threading.Event(),
    )
    assert generation.stop_reason == "stop_condition" and 20 < len(generation.text) < 30
    assert infill.disconnected.wait(5), "the server kept streaming to a client that stopped"
    backend.close()


def test_cancelling_closes_the_http_stream(infill: ProtocolServer) -> None:
    """The model thread sets the request's event; within one chunk the stream is closed and
    the server's next write fails: it sees the client go."""
    infill.endless = True
    infill.delay_s = 0.02
    backend = LlamaCppServer(settings_for(infill))
    cancelled = threading.Event()
    seen: list[str] = []

    def on_text(text: str, logprobs: Sequence[float], entropies: Sequence[float]) -> None:
        seen.append(text)
        if len(seen) == 5:
            threading.Timer(0.05, cancelled.set).start()

    started = time.perf_counter()
    generation = backend.generate_text(
        PROMPT, max_tokens=10_000, should_stop=never, cancelled=cancelled, on_text=on_text
    )
    elapsed = time.perf_counter() - started
    assert generation.stop_reason == "cancelled"
    assert elapsed < 2.0
    assert infill.disconnected.wait(5), "the stream stayed open after cancellation"
    backend.close()


def test_the_time_budget_ends_at_a_line_break(infill: ProtocolServer) -> None:
    infill.reply = lambda body: ["x = 1", "\n"]
    infill.endless = True
    infill.delay_s = 0.02
    backend = LlamaCppServer(settings_for(infill))
    started = time.perf_counter()
    generation = backend.generate_text(
        PROMPT,
        max_tokens=10_000,
        should_stop=never,
        cancelled=threading.Event(),
        time_budget_ms=150,
    )
    assert generation.stop_reason == "time_budget"
    assert generation.text.endswith("\n") and 0.15 < time.perf_counter() - started < 1.5
    backend.close()


@pytest.mark.parametrize(
    ("pieces", "text"),
    [
        ([" a", " +", " b"], "a + b"),  # the usual: the space comes with the next word
        ([" ", "a", " + b"], "a + b"),  # the space alone
        (["a", " + b"], "a + b"),  # another way: all of it, after the person's space
    ],
)
def test_text_healing_leaves_the_trailing_blank_to_the_model(
    infill: ProtocolServer, pieces: list[str], text: str
) -> None:
    infill.reply = lambda body: pieces
    backend = LlamaCppServer(settings_for(infill))
    seen: list[str] = []
    generation = backend.generate_text(
        PROMPT,
        max_tokens=8,
        should_stop=never,
        cancelled=threading.Event(),
        on_text=lambda text, logprobs, entropies: seen.append(text),
    )
    assert generation.text == text and seen[-1] == text
    assert "" not in seen  # nothing is reported before the model got past the blank
    assert infill.completions[-1].body["prompt"] == "    return"
    backend.close()


def test_a_line_of_indentation_only_is_not_healed(infill: ProtocolServer) -> None:
    backend = LlamaCppServer(settings_for(infill))
    prompt = TextPrompt("def f():\n    ", "\n", ())
    backend.generate_text(prompt, max_tokens=8, should_stop=never, cancelled=threading.Event())
    body = infill.completions[-1].body
    assert body["prompt"] == "    " and body["n_indent"] == 4
    backend.close()


def test_invoked_alternatives_are_sampled_with_a_seed(infill: ProtocolServer) -> None:
    backend = LlamaCppServer(settings_for(infill))
    backend.generate_text(
        PROMPT, max_tokens=8, should_stop=never, cancelled=threading.Event(), branch=2
    )
    [sent] = infill.completions
    assert sent.body["seed"] == 2 and sent.body["temperature"] > 0
    backend.close()


def test_the_pipeline_completes_through_a_text_engine(infill: ProtocolServer) -> None:
    backend = LlamaCppServer(settings_for(infill))
    text = "import os\n\ndef add(a, b):\n    return \n"
    request = CompletionRequest("file:///t.py", 1, "python", text, len(text) - 1)
    suggestion = CompletionPipeline(Settings()).complete(backend, request, threading.Event())
    assert suggestion is not None
    assert suggestion.text == "a + b" and suggestion.mode == "fim"
    assert suggestion.token_logprobs == (-0.25, -0.25, -0.25)
    assert suggestion.prompt_tokens == 120 and suggestion.reused_tokens == 100
    backend.close()


# --- Ollama ----------------------------------------------------------------------------------


def test_ollama_request_and_streamed_answer(ollama: ProtocolServer) -> None:
    backend = Ollama(settings_for(ollama), token="s3cret")
    assert backend.probe() is None
    generation = backend.generate_text(
        PROMPT, max_tokens=16, should_stop=never, cancelled=threading.Event()
    )
    assert generation.text == "a + b" and generation.token_logprobs == (-0.5, -0.5, -0.5)
    assert generation.prompt_tokens == 42 and generation.stop_reason == "eos"
    sent = ollama.completions[-1]
    assert sent.headers["authorization"] == "Bearer s3cret"
    assert sent.body == {
        "model": "qwen2.5-coder:1.5b",
        "prompt": PROMPT.context_text + PROMPT.prefix.removesuffix(" "),
        "suffix": PROMPT.suffix,
        "stream": True,
        "options": {"num_predict": 16, "temperature": 0.0},
        "logprobs": True,
        "keep_alive": "30m",
    }
    backend.close()


def test_ollama_model_without_insert_is_asked_prefix_only(ollama: ProtocolServer) -> None:
    ollama.insert = False
    backend = Ollama(settings_for(ollama))
    generation = backend.generate_text(
        PROMPT, max_tokens=16, should_stop=never, cancelled=threading.Event()
    )
    assert generation.text == "a + b" and backend.mode == "prefix"
    refused, accepted = ollama.completions
    assert "suffix" in refused.body and "raw" not in refused.body
    assert "suffix" not in accepted.body and accepted.body["raw"] is True
    backend.close()


def test_ollama_without_logprobs_leaves_confidence_missing(ollama: ProtocolServer) -> None:
    """An Ollama that does not report log-probabilities: no confidence is invented, and the
    predictor's confidence features are NaN (missing), not zero."""
    backend = Ollama(settings_for(ollama))
    original = backend.parse
    backend.parse = lambda line: _without_logprobs(original(line))  # type: ignore[method-assign]
    generation = backend.generate_text(
        PROMPT, max_tokens=16, should_stop=never, cancelled=threading.Event()
    )
    assert generation.text == "a + b" and generation.token_logprobs == ()
    cursor = CursorContext("python", PROMPT.prefix, len(PROMPT.prefix), None, History())
    features = suggestion_features(cursor, generation.text, (), (), generation.stop_reason)
    for name in ("mean_logprob", "min_logprob", "first_logprob", "mean_entropy", "max_entropy"):
        assert math.isnan(features[name]), name
    assert math.isnan(features["suggestion_tokens"])
    backend.close()


def _without_logprobs(chunk: Any) -> Any:
    import dataclasses

    return None if chunk is None else dataclasses.replace(chunk, logprobs=())


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (None, "needs backendModel"),
        ("llama3:8b", "has no model 'llama3:8b' (it has: qwen2.5-coder:1.5b)"),
    ],
)
def test_ollama_wrong_model_is_a_clear_error(
    ollama: ProtocolServer, model: str | None, message: str
) -> None:
    backend = Ollama(settings_for(ollama, backend_model=model))
    problem = backend.probe()
    assert problem is not None and message in str(problem)
    backend.close()


# --- errors, retries, the token --------------------------------------------------------------


def test_a_refused_token_is_an_outage_with_the_fix(infill: ProtocolServer) -> None:
    infill.token = "right"
    failures: list[BackendError] = []
    settings = settings_for(infill, backend_token_env="TEAM_TOKEN")
    for token, phrase in ((None, "wants an API token"), ("wrong", "refused the API token")):
        backend = LlamaCppServer(settings, token=token, on_failure=failures.append)
        problem = backend.probe()
        assert problem is not None and problem.outage and phrase in str(problem)
        assert "TEAM_TOKEN" in str(problem)
        generation = backend.generate_text(
            PROMPT, max_tokens=8, should_stop=never, cancelled=threading.Event()
        )
        assert generation.text == "" and generation.stop_reason == "error"
        backend.close()
    assert len(failures) == 2
    assert LlamaCppServer(settings, token="right").probe() is None


def test_an_unreachable_server_is_an_outage() -> None:
    settings = Settings(backend="llamacpp", backend_url=f"http://127.0.0.1:{_free_port()}")
    failures: list[BackendError] = []
    backend = LlamaCppServer(settings, on_failure=failures.append)
    generation = backend.generate_text(
        PROMPT, max_tokens=8, should_stop=never, cancelled=threading.Event()
    )
    assert generation.stop_reason == "error"
    [failure] = failures
    assert failure.outage and "cannot be reached" in str(failure)


class Flaky(httpx.BaseTransport):
    """Fails the first `failures` sends with `error` (or answers `status`), then streams."""

    def __init__(self, failures: int, error: Exception | None = None, status: int = 200) -> None:
        self.failures, self.error, self.status, self.sends = failures, error, status, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sends += 1
        if self.sends <= self.failures:
            if self.error is not None:
                raise self.error
            return httpx.Response(self.status, json={"error": "busy"})
        lines = 'data: {"content": "ok", "stop": false}\n\ndata: {"content": "", "stop": true}\n\n'
        return httpx.Response(200, content=iter([lines.encode()]))


@pytest.mark.parametrize(
    ("transport", "sends", "text"),
    [
        (Flaky(2, httpx.ConnectError("refused")), 3, "ok"),  # never reached the server: retried
        (Flaky(3, httpx.ConnectError("refused")), 3, ""),  # bounded
        (Flaky(1, status=503), 2, "ok"),  # loading: refused before any work
        (Flaky(1, status=500), 1, ""),  # the server may have started: not repeated
        (Flaky(1, httpx.ReadTimeout("slow")), 1, ""),  # sent: not repeated
    ],
)
def test_only_requests_that_never_reached_the_server_are_retried(
    transport: Flaky, sends: int, text: str
) -> None:
    settings = Settings(backend="llamacpp", backend_url="http://gpu-box:8080")
    failures: list[BackendError] = []
    backend = LlamaCppServer(settings, on_failure=failures.append, transport=transport)
    generation = backend.generate_text(
        PROMPT, max_tokens=8, should_stop=never, cancelled=threading.Event()
    )
    assert (transport.sends, generation.text) == (sends, text)
    assert len(failures) == (0 if text else 1)


def test_a_server_refusing_logprobs_is_asked_without() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        import json

        body = json.loads(request.content)
        bodies.append(body)
        if "logprobs" in body:
            return httpx.Response(400, json={"error": {"message": "logprobs are not supported"}})
        lines = 'data: {"choices": [{"text": "ok", "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n'
        return httpx.Response(200, content=iter([lines.encode()]))

    settings = Settings(backend="openai", backend_url="http://h:1/v1", backend_model="m")
    backend = OpenAICompatible(settings, transport=httpx.MockTransport(handler))
    generation = backend.generate_text(
        PROMPT, max_tokens=8, should_stop=never, cancelled=threading.Event()
    )
    assert generation.text == "ok" and generation.token_logprobs == ()
    assert ["logprobs" in body for body in bodies] == [True, False]


def test_a_server_of_another_kind_is_a_clear_outage(ollama: ProtocolServer) -> None:
    """Pointing backend = llamacpp at an Ollama: it answers, but not in the protocol."""
    ollama.reply = lambda body: ["x"]
    settings = Settings(
        backend="llamacpp", backend_url=ollama.url, backend_model="qwen2.5-coder:1.5b"
    )
    failures: list[BackendError] = []
    backend = LlamaCppServer(settings, on_failure=failures.append)
    generation = backend.generate_text(
        PROMPT, max_tokens=8, should_stop=never, cancelled=threading.Event()
    )
    assert generation.stop_reason == "error"
    [failure] = failures
    assert "404" in str(failure) and "not a llamacpp server" in str(failure)
    backend.close()


def test_an_answer_in_another_protocol_is_a_clear_outage() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b"data: <html>proxy error</html>\n\n"]))

    settings = Settings(backend="openai", backend_url="http://h:1", backend_model="m")
    backend = OpenAICompatible(settings, transport=httpx.MockTransport(handler))
    problem = backend.probe()
    assert problem is not None and problem.outage
    assert "does not answer in the openai protocol" in str(problem)


def test_a_per_request_refusal_is_logged_once_and_is_no_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "the prompt is too long"})

    failures: list[BackendError] = []
    settings = Settings(backend="llamacpp", backend_url="http://h:1")
    backend = LlamaCppServer(
        settings, on_failure=failures.append, transport=httpx.MockTransport(handler)
    )
    for _ in range(3):
        backend.generate_text(PROMPT, max_tokens=8, should_stop=never, cancelled=threading.Event())
    assert failures == []
    assert sum("the prompt is too long" in r.getMessage() for r in caplog.records) == 1


# --- the model manager: outages reported once ------------------------------------------------


class Transitions:
    def __init__(self) -> None:
        self.seen: list[tuple[ModelState, str]] = []
        self.changed = threading.Condition()

    def __call__(self, state: ModelState, detail: str) -> None:
        with self.changed:
            self.seen.append((state, detail))
            self.changed.notify_all()

    def wait_for(self, state: ModelState, count: int = 1, timeout: float = 15.0) -> None:
        with self.changed:
            ok = self.changed.wait_for(lambda: self.count(state) >= count, timeout)
        assert ok, f"no {state} (seen {self.seen})"

    def count(self, state: ModelState) -> int:
        return sum(1 for seen, _ in self.seen if seen is state)


def test_an_outage_is_reported_once_and_the_server_found_again(infill: ProtocolServer) -> None:
    transitions = Transitions()
    manager = ModelManager(on_change=transitions)
    manager.load(settings_for(infill)).result(30)  # type: ignore[union-attr]
    assert manager.state is ModelState.READY
    remote = manager.completion_engine
    assert isinstance(remote, HttpBackend) and manager.engine is None

    port = infill.port
    infill.stop()
    for _ in range(3):  # keystrokes while the server is down
        engine = manager.completion_engine
        if isinstance(engine, HttpBackend):
            engine.generate_text(
                PROMPT, max_tokens=8, should_stop=never, cancelled=threading.Event()
            )
    assert transitions.count(ModelState.FAILED) == 1
    assert manager.completion_engine is None
    [(_, message)] = [(s, d) for s, d in transitions.seen if s is ModelState.FAILED]
    assert "cannot be reached" in message and "keeps trying" in message

    back = ProtocolServer("llamacpp", port=port).start()
    try:
        transitions.wait_for(ModelState.READY, count=2)
        assert manager.completion_engine is remote
        assert transitions.count(ModelState.FAILED) == 1
    finally:
        back.stop()
        manager.shutdown()


def test_a_server_down_at_start_falls_back_to_the_local_model(default_model_path: Path) -> None:
    transitions = Transitions()
    manager = ModelManager(on_change=transitions)
    settings = Settings(
        backend="openai",
        backend_url=f"http://127.0.0.1:{_free_port()}",
        fallback_to_local=True,
        model=str(default_model_path),
    )
    manager.load(settings).result(60)  # type: ignore[union-attr]
    try:
        assert manager.state is ModelState.DEGRADED
        assert transitions.count(ModelState.DEGRADED) == 1
        engine = manager.completion_engine
        assert engine is not None and not isinstance(engine, HttpBackend)
        assert manager.model_name == default_model_path.name
        [(_, message)] = [(s, d) for s, d in transitions.seen if s is ModelState.DEGRADED]
        assert "the local model completes until it is back" in message
    finally:
        manager.shutdown()


def test_a_remote_backend_without_a_url_is_one_clear_failure() -> None:
    transitions = Transitions()
    manager = ModelManager(on_change=transitions)
    manager.load(Settings(backend="openai")).result(30)  # type: ignore[union-attr]
    try:
        assert manager.state is ModelState.FAILED and manager.completion_engine is None
        [(_, message)] = [(s, d) for s, d in transitions.seen if s is ModelState.FAILED]
        assert "needs backendUrl (GHOSTWRIGHT_BACKEND_URL)" in message
    finally:
        manager.shutdown()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
