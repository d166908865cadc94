"""The stock server: what a user would put behind llm-ls or Continue instead of Ghostwright.

`python -m llama_cpp.server` (llama-cpp-python's OpenAI-compatible server) with the same model
on loopback, the same context size and threads as the naive path, and otherwise its own
defaults but one: `logits_all` is turned off, as the naive path has it, so that the model runs
exactly as in the naive path and the comparison is not won by a default. Every layer goes to
the GPU where the build can offload.

The editor in front of it behaves as an editor plugin does (llm-ls, Continue): after the
debounce it sends the naive path's prompt (`naive.naive_prompt`, `naive.COMPLETION_PARAMS`) to
`/v1/completions` with `stream: true`; when a key comes while the answer is still streaming,
it closes the stream, which the server notices at its next token; the suggestion is shown when
the stream ends. The server's own defaults stay: it interrupts a running generation when a new
request arrives, and it logs llama.cpp's timings of each finished generation to stderr
(`verbose`), which is where the model time and the evaluated tokens of each answer come from:

- `Llama.generate: P prefix-match hit, remaining M prompt tokens to eval` starts a generation
  that reuses P cached tokens (none is printed when nothing is reused);
- `llama_perf_context_print: prompt eval time = X ms / N tokens` and `eval time = Y ms / K
  runs` end a generation that ran to its end: model time X + Y, N tokens evaluated.

A finished answer's generation is the last one whose timings arrived while its request was
open (the server prints them just before the stream's last chunk); an earlier one in that
window is a cancelled request's generation that ran to its end anyway. The overhead of an
answer (request sent to last chunk, minus its model time) includes waiting for such a
superseded generation: llama.cpp cannot stop in the middle of a prompt, and the server checks
for a closed stream only between tokens.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

from ghostwright.engine.local import llama_threads
from ghostwright_lab.bench.naive import COMPLETION_PARAMS, N_CTX, naive_prompt
from ghostwright_lab.bench.replay import (
    SHUTDOWN_TIMEOUT_S,
    BenchError,
    ContenderRun,
    LiveEditor,
    LiveRequest,
    RequestOutcome,
    peak_rss_kib,
)
from ghostwright_lab.bench.typing_trace import Trace

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 120.0
"""Longest wait for a byte of an answer: a cold prompt on a busy CPU can take seconds."""
PAIRING_SLACK_S = 0.05
"""Timings may be read a little after the answer's last chunk (two pipes, one event loop); the
next request comes a debounce later at the earliest."""


@dataclass(frozen=True)
class Generation:
    """One generation the stock server ran to its end, from its log."""

    logged_s: float
    """When its timings were read (`time.perf_counter`)."""
    model_ms: float
    evaluated_tokens: int
    reused_tokens: int


_PREFIX_HIT = re.compile(r"Llama\.generate: (\d+) prefix-match hit, remaining (\d+) prompt tokens")
_PROMPT_EVAL = re.compile(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens")
_EVAL = re.compile(r"(?<!prompt )eval time =\s*([\d.]+) ms /\s*(\d+) runs")


def parse_generations(lines: Sequence[tuple[float, str]]) -> list[Generation]:
    """The finished generations in the server's stderr lines, each with when it was read.

    A prefix-match line belongs to the next timings when its remaining tokens are the ones
    evaluated there; otherwise its generation was cut short, and the next one reused nothing.
    """
    generations: list[Generation] = []
    pending: tuple[int, int] | None = None
    prompt: tuple[float, int] | None = None
    for logged, line in lines:
        if (hit := _PREFIX_HIT.search(line)) is not None:
            pending = (int(hit.group(1)), int(hit.group(2)))
            prompt = None
        elif (found := _PROMPT_EVAL.search(line)) is not None:
            prompt = (float(found.group(1)), int(found.group(2)))
        elif (found := _EVAL.search(line)) is not None and prompt is not None:
            prompt_ms, evaluated = prompt
            reused = pending[0] if pending is not None and pending[1] == evaluated else 0
            total = prompt_ms + float(found.group(1))
            generations.append(Generation(logged, total, evaluated, reused))
            pending = prompt = None
    return generations


def pair_generations(
    requests: Sequence[LiveRequest], generations: Sequence[Generation]
) -> dict[int, Generation]:
    """Each finished request's generation (by index in `requests`), where its window has one."""
    paired: dict[int, Generation] = {}
    for index, request in enumerate(requests):
        if not request.completed or request.answered_s is None:
            continue
        window = [
            generation
            for generation in generations
            if request.sent_s <= generation.logged_s <= request.answered_s + PAIRING_SLACK_S
        ]
        if window:
            paired[index] = window[-1]
    return paired


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class StockServer:
    """A running `python -m llama_cpp.server` and what it wrote to stderr, with times."""

    def __init__(self, model_path: Path, threads: int = 0) -> None:
        self.model_path = model_path
        self.threads = threads
        """Ghostwright's `threads` setting, for the same llama.cpp threads."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None
        self.lines: list[tuple[float, str]] = []
        self.tail: deque[str] = deque(maxlen=30)
        self._drain: asyncio.Task[None] | None = None

    def command(self) -> list[str]:
        import llama_cpp

        generation_threads, prompt_threads = llama_threads(self.threads)
        command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(self.model_path),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(N_CTX),
            "--n_threads",
            str(generation_threads),
            "--n_threads_batch",
            str(prompt_threads),
            "--logits_all",
            "false",
        ]
        if llama_cpp.llama_supports_gpu_offload():
            command += ["--n_gpu_layers", "-1"]
        return command

    async def start(self, client: httpx.AsyncClient) -> float:
        """Start the server and wait until it answers; returns how long that took (ms)."""
        started = time.perf_counter()
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.command(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise BenchError(f"llama_cpp.server could not start: {exc}") from exc
        self._drain = asyncio.create_task(self._read(self.process.stderr))
        deadline = started + READY_TIMEOUT_S
        while True:
            if self.process.returncode is not None:
                await asyncio.wait_for(self._drain, SHUTDOWN_TIMEOUT_S)
                raise BenchError(
                    "llama_cpp.server exited before it answered (is llama-cpp-python's [server] "
                    "extra installed?); the end of its log:\n" + "\n".join(self.tail)
                )
            try:
                response = await client.get(f"{self.url}/v1/models", timeout=2.0)
                if response.status_code == 200:
                    return (time.perf_counter() - started) * 1000.0
            except httpx.HTTPError:
                pass
            if time.perf_counter() > deadline:
                raise BenchError(f"llama_cpp.server did not answer within {READY_TIMEOUT_S:.0f} s")
            await asyncio.sleep(0.1)

    async def _read(self, stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        while line := await stream.readline():
            text = line.decode("utf-8", "replace").rstrip()
            self.lines.append((time.perf_counter(), text))
            self.tail.append(text)

    async def stop(self) -> int | None:
        """Stop the server; returns its peak RSS (KiB) measured just before."""
        process = self.process
        if process is None:
            return None
        peak = peak_rss_kib(process.pid)
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), SHUTDOWN_TIMEOUT_S)
            except TimeoutError:
                log.warning("llama_cpp.server did not stop; killing it")
                process.kill()
                await process.wait()
        if self._drain is not None:
            await asyncio.wait_for(self._drain, SHUTDOWN_TIMEOUT_S)
        return peak


class StockEditor(LiveEditor):
    """The editor with an llm-ls- or Continue-like plugin talking to the stock server."""

    def __init__(self, trace: Trace, speed: float, client: httpx.AsyncClient, url: str) -> None:
        super().__init__(trace, speed)
        self._client = client
        self._url = f"{url}/v1/completions"

    async def fetch(self, request: LiveRequest) -> None:
        body = {"prompt": naive_prompt(request.prefix), "stream": True, **COMPLETION_PARAMS}
        text = ""
        try:
            async with self._client.stream("POST", self._url, json=body) as response:
                if response.status_code != 200:
                    await response.aread()
                    request.error = f"HTTP {response.status_code}: {response.text[:200]}"
                    return
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue  # keep-alive pings, blank separators
                    data = line[len("data:") :].strip()
                    if data == "[DONE]":
                        break
                    choice = json.loads(data)["choices"][0]
                    text += str(choice.get("text") or "")
                    if choice.get("finish_reason") is not None:
                        request.completed = True
        except (httpx.HTTPError, ValueError, KeyError, IndexError) as exc:
            request.error = f"{type(exc).__name__}: {exc}"
            return
        if request.completed:
            request.text = text


def _stock_outcome(
    request: LiveRequest, generation: Generation | None, prompt_tokens: int | None
) -> RequestOutcome:
    latency = None
    if request.text.strip() and request.answered_s is not None:
        latency = (request.answered_s - request.last_key_s) * 1000.0
    outcome = RequestOutcome(
        latency,
        request.shown,
        request.cancelled,
        request.error,
        asked_ms=request.asked_ms,
    )
    if not request.completed:
        return outcome
    outcome = replace(outcome, source="model")
    if generation is None or request.answered_s is None:
        return outcome
    served_ms = (request.answered_s - request.sent_s) * 1000.0
    return replace(
        outcome,
        model_ms=generation.model_ms,
        overhead_ms=max(0.0, served_ms - generation.model_ms),
        prompt_tokens=prompt_tokens,
        reused_tokens=generation.reused_tokens if prompt_tokens is not None else None,
    )


async def replay_stock(
    traces: Sequence[Trace], model_path: Path, speed: float, threads: int = 0
) -> ContenderRun:
    """Write every trace's region in an editor whose plugin asks the stock server (with the
    llama.cpp threads Ghostwright's `threads` setting gives)."""
    server = StockServer(model_path, threads)
    requests: list[LiveRequest] = []
    accepts: list[int] = []
    unanswered = 0
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=2)
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        try:
            ready_ms = await server.start(client)
            log.info("stock server: ready in %.0f ms", ready_ms)
            started = time.perf_counter()
            for trace in traces:
                log.info("stock: writing %s (%d keys)", trace.region.path, len(trace.keys))
                editor = StockEditor(trace, speed, client, server.url)
                await editor.write_region()
                requests += editor.requests
                accepts += editor.accepts
                unanswered += editor.unanswered
            wall = time.perf_counter() - started
        finally:
            peak = await server.stop()
    generations = parse_generations(server.lines)
    paired = pair_generations(requests, generations)
    outcomes = []
    for index, request in enumerate(requests):
        generation = paired.get(index)
        prompt = generation.evaluated_tokens + generation.reused_tokens if generation else None
        outcomes.append(_stock_outcome(request, generation, prompt))
    finished = sum(request.completed for request in requests)
    notes = [
        f"stock server: ready {ready_ms:.0f} ms after start (not counted); {len(generations)} "
        f"generations ran to their end, {len(paired)} of {finished} finished answers paired with "
        "their timings"
    ]
    if unanswered:
        notes.append(f"stock server: {unanswered} requests still open after the last key")
    errors = [request.error for request in requests if request.error is not None]
    notes += [f"stock server request failed: {error}" for error in errors[:3]]
    return ContenderRun(
        name="stock",
        outcomes=tuple(outcomes),
        accepts=tuple(accepts),
        typed_chars=sum(len(trace.region.text) for trace in traces),
        wall_s=wall,
        peak_rss_kib=peak,
        notes=tuple(notes),
    )
