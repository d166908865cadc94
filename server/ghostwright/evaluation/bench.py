"""`ghostwright bench`: replay a person writing real code, against Ghostwright and the naive path.

A suggestion engine is judged in the gaps between keystrokes, so the benchmark plays a person
typing (see `typing_trace`) in real time and counts what an editor would show. Both contenders
get the same traces, the same editor and the same accept rule, in one run on one machine:

- Ghostwright: the real server (`python -m ghostwright serve`) over stdio, driven by pygls'
  `LanguageClient` as an editor drives it: one `textDocument/didChange` per key (incremental,
  UTF-16 positions); an inline completion request when no key came for `DEBOUNCE_S`; a request
  still open when the next key comes is cancelled with `$/cancelRequest`, as VS Code and Neovim
  do. Gaps and the debounce are real sleeps divided by `--speed`.
- Naive: `NaiveCompleter`, the same model through llama-cpp-python's own `create_completion`,
  asked whenever the same debounce fires. Its call blocks the editor, so keys typed meanwhile
  wait, and a result that arrives after a key was typed is dropped. Nothing else runs beside
  it, so its replay keeps a simulated clock: the gaps are not slept, only the model calls take
  real time, and the timeline is what the person would have lived through.

The person accepts a suggestion instead of pressing their next key when it was on screen by
then (it answered the current text) and it, or its first line, is what they were about to type;
the keys that type the accepted text are skipped. The figures, per contender:

- requests, cancelled ones, answers holding a suggestion, and suggestions shown (answered
  before the next key, so the editor displays them).
- keystroke-to-suggestion latency p50/p95: from the last key before the request to the answer,
  the debounce included, over every answer holding a suggestion (shown or too late: the time it
  took is real either way).
- model time p50, server overhead p50 (the server's own total minus its model time and its
  deliberate debounce wait), prompt and reused tokens per model run: for Ghostwright from its
  LSP log lines (`window/logMessage` "suggestion ID: N chars, P prompt tokens (R reused,
  S shifted), model X ms, total Y ms, waited W ms, ..."); fields that a changed log format no
  longer carries are reported as unknown, not guessed.
- keystrokes saved per 100: accepted characters per 100 characters of the typed regions.
- peak RSS: VmHWM of the server process; for naive, of the benchmark process that holds its
  model.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import platform
import random
import re
import sys
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled
from pygls.lsp.client import LanguageClient

from ghostwright import __version__
from ghostwright.errors import GhostwrightError
from ghostwright.evaluation.completion_eval import percentile
from ghostwright.evaluation.corpus import Split, corpus_files, default_corpus
from ghostwright.evaluation.naive import NaiveCompleter, NaiveResult
from ghostwright.evaluation.typing_trace import (
    Trace,
    TraceCursor,
    accepted_part,
    apply_key,
    resize_document,
    trace_file,
)

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.075
"""An editor asks when no key has come for this long (VS Code's inline default is similar)."""

READY_TIMEOUT_S = 120.0
SHUTDOWN_TIMEOUT_S = 30.0

SIZE_CLASSES = ((100, 300), (300, 1000), (1000, 3000))
"""Lines of a small, a medium and a large file: traces take one of each in turn, since the
document length changes what a request costs (prompt window, parse, edits)."""

CORPUS_SPLIT: Split = "validation"
"""The held-out packages (see `corpus`): nothing is ever tuned on the files measured here."""


class BenchError(GhostwrightError):
    """The benchmark cannot run as asked: bad options, no corpus, or a server that failed."""


@dataclass(frozen=True)
class BenchOptions:
    """What to replay and where to write the report (defaults live in the command line)."""

    files: int
    lines: int
    seed: int
    speed: float
    naive: bool
    out: Path
    sizes: tuple[int, ...] = ()
    """Document sizes (lines) for the cost-vs-size sweep: the same traces replayed against
    Ghostwright with each document resized (see `typing_trace.resize_document`)."""

    def command(self) -> str:
        """The command line that repeats this run exactly."""
        parts = [
            "ghostwright bench",
            f"--files {self.files}",
            f"--lines {self.lines}",
            f"--seed {self.seed}",
            f"--speed {self.speed:g}",
            *([] if self.naive else ["--no-naive"]),
            *([f"--sizes {','.join(map(str, self.sizes))}"] if self.sizes else []),
            f"--out {self.out}",
        ]
        return " ".join(parts)


@dataclass(frozen=True)
class RequestOutcome:
    """What became of one completion request."""

    latency_ms: float | None
    """Last key before the request to an answer holding a suggestion; None: no suggestion."""
    shown: bool
    """The suggestion answered the current text: no key came between request and answer."""
    cancelled: bool = False
    error: str | None = None
    """The error the server answered with, other than "cancelled"."""
    source: str | None = None
    """Where the server says the text came from ("model", "cache", ...), when it says."""
    model_ms: float | None = None
    overhead_ms: float | None = None
    prompt_tokens: int | None = None
    reused_tokens: int | None = None


@dataclass(frozen=True)
class ContenderRun:
    """Everything one contender's replay produced."""

    name: str
    outcomes: tuple[RequestOutcome, ...]
    accepts: tuple[int, ...]
    """Characters of each accepted suggestion (or first line)."""
    typed_chars: int
    """Characters of all regions: what the person writes, with or without help."""
    wall_s: float
    peak_rss_kib: int | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContenderSummary:
    """The figures of one contender; None where nothing was there to measure."""

    requests: int
    cancelled: int
    errors: int
    suggestions: int
    shown: int
    accepts: int
    accepted_chars: int
    typed_chars: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    model_p50_ms: float | None
    overhead_p50_ms: float | None
    prompt_tokens_mean: float | None
    reused_tokens_mean: float | None
    saved_per_100: float
    peak_rss_mib: float | None
    wall_s: float
    sources: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class LatencyRatios:
    """Naive over Ghostwright: above 1 means Ghostwright answers sooner."""

    p50: float | None
    p95: float | None


@dataclass(frozen=True)
class SuggestionLog:
    """One "suggestion ..." line of the server's log; fields it no longer carries are None."""

    id: str
    chars: int | None = None
    prompt_tokens: int | None = None
    reused_tokens: int | None = None
    model_ms: float | None = None
    total_ms: float | None = None
    waited_ms: float | None = None
    source: str | None = None

    @property
    def model_run(self) -> bool:
        """Whether the model computed this answer (caches report zero tokens and time)."""
        if self.source is not None:
            return self.source == "model"
        return self.prompt_tokens is None or self.prompt_tokens > 0


@dataclass(frozen=True)
class Machine:
    """Where the numbers were taken: they mean little without it."""

    platform: str
    python: str
    cpu: str
    cores: int

    @classmethod
    def current(cls) -> Machine:
        return cls(platform.platform(), platform.python_version(), cpu_model(), os.cpu_count() or 1)


@dataclass(frozen=True)
class TraceInfo:
    """One typed region, as the report names it."""

    file: str
    first_line: int
    """1-based."""
    lines: int
    chars: int
    keys: int
    corrections: int
    duration_s: float
    """Typing time at speed 1 without accepts."""
    document_lines: int = 0
    """Lines of the document the region is written into."""


@dataclass(frozen=True)
class SizeRow:
    """Ghostwright on the same traces with every document resized to `lines` lines."""

    lines: int
    summary: ContenderSummary
    p50_vs_smallest: float | None
    """This size's latency p50 over the smallest size's."""


@dataclass(frozen=True)
class BenchReport:
    """One run: what was typed, on what, and how each contender did."""

    timestamp: str
    command: str
    options: BenchOptions
    machine: Machine
    model: Path
    model_bytes: int
    traces: tuple[TraceInfo, ...]
    ghostwright: ContenderSummary
    naive: ContenderSummary | None
    ratios: LatencyRatios | None
    notes: tuple[str, ...]
    wall_s: float
    sizes: tuple[SizeRow, ...] = ()
    """The cost-vs-size sweep, smallest document first (empty without `--sizes`)."""


# -- the server's log ---------------------------------------------------------------------------

_LOG_ID = re.compile(r"\bsuggestion (\S+):")
_LOG_FIELDS: tuple[tuple[str, re.Pattern[str], Callable[[str], Any]], ...] = (
    ("chars", re.compile(r"\b(\d+) chars\b"), int),
    ("prompt_tokens", re.compile(r"\b(\d+) prompt tokens\b"), int),
    ("reused_tokens", re.compile(r"\((\d+) reused\b"), int),
    ("model_ms", re.compile(r"\bmodel (\d+(?:\.\d+)?) ms\b"), float),
    ("total_ms", re.compile(r"\btotal (\d+(?:\.\d+)?) ms\b"), float),
    ("waited_ms", re.compile(r"\bwaited (\d+(?:\.\d+)?) ms\b"), float),
    ("source", re.compile(r"\bsource ([\w-]+)"), str),
)
"""Each field on its own, so that a reordered or extended line still yields what it has."""


def parse_suggestion_log(message: str) -> SuggestionLog | None:
    """The figures in a server log line about a suggestion; None for any other line."""
    found = _LOG_ID.search(message)
    if found is None:
        return None
    values: dict[str, Any] = {}
    for name, pattern, convert in _LOG_FIELDS:
        match = pattern.search(message, found.end())
        if match is not None:
            values[name] = convert(match.group(1))
    return SuggestionLog(id=found.group(1), **values)


# -- figures ------------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(run: ContenderRun) -> ContenderSummary:
    """The figures of one contender's replay."""
    outcomes = run.outcomes
    latencies = [o.latency_ms for o in outcomes if o.latency_ms is not None]
    model_times = [o.model_ms for o in outcomes if o.model_ms is not None]
    overheads = [o.overhead_ms for o in outcomes if o.overhead_ms is not None]
    tokens = [
        (o.prompt_tokens, o.reused_tokens)
        for o in outcomes
        if o.prompt_tokens is not None and o.reused_tokens is not None
    ]
    accepted_chars = sum(run.accepts)
    sources = Counter(o.source for o in outcomes if o.source is not None)
    return ContenderSummary(
        requests=len(outcomes),
        cancelled=sum(o.cancelled for o in outcomes),
        errors=sum(o.error is not None for o in outcomes),
        suggestions=len(latencies),
        shown=sum(o.shown for o in outcomes),
        accepts=len(run.accepts),
        accepted_chars=accepted_chars,
        typed_chars=run.typed_chars,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        model_p50_ms=percentile(model_times, 50),
        overhead_p50_ms=percentile(overheads, 50),
        prompt_tokens_mean=_mean([float(prompt) for prompt, _ in tokens]),
        reused_tokens_mean=_mean([float(reused) for _, reused in tokens]),
        saved_per_100=100.0 * accepted_chars / run.typed_chars if run.typed_chars else 0.0,
        peak_rss_mib=run.peak_rss_kib / 1024.0 if run.peak_rss_kib is not None else None,
        wall_s=run.wall_s,
        sources=dict(sorted(sources.items())),
    )


def _ratio(theirs: float | None, ours: float | None) -> float | None:
    return theirs / ours if theirs is not None and ours else None


def latency_ratios(ghostwright: ContenderSummary, naive: ContenderSummary) -> LatencyRatios:
    return LatencyRatios(
        p50=_ratio(naive.latency_p50_ms, ghostwright.latency_p50_ms),
        p95=_ratio(naive.latency_p95_ms, ghostwright.latency_p95_ms),
    )


# -- the machine --------------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, else what `platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def peak_rss_kib(pid: int | str) -> int | None:
    """VmHWM of a process (its peak resident memory) in KiB; None where /proc has no answer."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


# -- traces -------------------------------------------------------------------------------------


def _line_count(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def choose_traces(files: int, lines: int, seed: int) -> list[Trace]:
    """`files` traces of `lines` lines, from a small, a medium and a large file in turn."""
    corpus = default_corpus()
    sized = [(path, _line_count(path)) for path in corpus_files(corpus, CORPUS_SPLIT)]
    rng = random.Random(seed)
    classes: list[deque[Path]] = []
    for low, high in SIZE_CLASSES:
        members = [path for path, count in sized if low <= count < high]
        rng.shuffle(members)
        classes.append(deque(members))
    traces: list[Trace] = []
    turn = 0
    while len(traces) < files and any(classes):
        candidates = classes[turn % len(classes)]
        turn += 1
        while candidates:
            trace = trace_file(candidates.popleft(), lines, seed)
            if trace is not None:
                traces.append(trace)
                break
    if len(traces) < files:
        raise BenchError(
            f"Only {len(traces)} files of {corpus} ({CORPUS_SPLIT} packages) have a function "
            f"with {lines} lines after it: pass fewer --files or --lines."
        )
    return traces


def trace_info(trace: Trace) -> TraceInfo:
    region = trace.region
    try:
        name = str(region.path.relative_to(default_corpus()))
    except ValueError:
        name = str(region.path)
    return TraceInfo(
        file=name,
        first_line=region.first_line + 1,
        lines=region.line_count,
        chars=len(region.text),
        keys=len(trace.keys),
        corrections=trace.corrections,
        duration_s=trace.duration_s,
        document_lines=region.document.count("\n") + 1,
    )


# -- the editor against the real server ---------------------------------------------------------


def utf16_position(text: str) -> types.Position:
    """The LSP position (UTF-16 code units) of the end of `text`."""
    line_start = text.rfind("\n") + 1
    column = len(text[line_start:].encode("utf-16-le")) // 2
    return types.Position(line=text.count("\n"), character=column)


@dataclass
class _LiveRequest:
    """A request as the editor tracks it while it is open."""

    msg_id: str
    version: int
    last_key_s: float
    answered_s: float | None = None
    text: str = ""
    command: types.Command | None = None
    suggestion_id: str | None = None
    cancelled: bool = False
    error: str | None = None
    shown: bool = False


class _BenchClient(LanguageClient):
    """An editor's client: remembers the server's status and its log lines."""

    def __init__(self) -> None:
        super().__init__("ghostwright-bench", __version__)
        self.status: dict[str, str] = {}
        self.ready = asyncio.Event()
        self.log_lines: list[str] = []
        self.errors: list[str] = []


def _bench_client() -> _BenchClient:
    client = _BenchClient()

    @client.feature("ghostwright/status")  # type: ignore[untyped-decorator]
    def on_status(params: Any) -> None:
        client.status = {"state": str(params.state), "detail": str(params.detail)}
        if params.state in ("ready", "failed"):
            client.ready.set()

    @client.feature(types.WINDOW_LOG_MESSAGE)  # type: ignore[untyped-decorator]
    def on_log(params: types.LogMessageParams) -> None:
        client.log_lines.append(params.message)

    @client.feature(types.WINDOW_SHOW_MESSAGE)  # type: ignore[untyped-decorator]
    def on_message(params: types.ShowMessageParams) -> None:
        if params.type in (types.MessageType.Error, types.MessageType.Warning):
            client.errors.append(params.message)

    return client


async def _sleep_until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - time.perf_counter()))


class _Editor:
    """One document in the simulated editor while the person writes its region."""

    def __init__(self, client: _BenchClient, trace: Trace, speed: float) -> None:
        self._client = client
        self._trace = trace
        self._speed = speed
        self._uri = trace.region.path.resolve().as_uri()
        self._before = trace.region.document[: trace.region.offset]
        self._version = 1
        self._tasks: list[asyncio.Task[None]] = []
        self.requests: list[_LiveRequest] = []
        self.accepts: list[int] = []
        self.unanswered = 0
        """Requests (or accept commands) still unanswered long after the last key."""

    async def write_region(self) -> None:
        """Type the region key by key, asking after each pause, accepting what fits.

        After the last key the person stops: the editor's last request is waited for.
        """
        region = self._trace.region
        self._client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=self._uri, language_id="python", version=self._version, text=region.document
                )
            )
        )
        cursor = TraceCursor(self._trace)
        last_key = time.perf_counter()
        while (key := cursor.peek()) is not None:
            due = last_key + key.gap_s / self._speed
            fire = last_key + DEBOUNCE_S / self._speed
            if fire < due:
                await _sleep_until(fire)
                self._ask(last_key)
            await _sleep_until(due)
            accepted = self._acceptable(cursor)
            if accepted:
                self._accept(accepted)
                cursor.accept(len(accepted))
            else:
                typed = cursor.advance()
                self._change(typed.delete, typed.insert)
            self._cancel_open_request()
            last_key = time.perf_counter()
        await _sleep_until(last_key + DEBOUNCE_S / self._speed)
        self._ask(last_key)
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=SHUTDOWN_TIMEOUT_S)
            for task in late:
                task.cancel()
            if late:
                self.unanswered = len(late)
                log.warning(
                    "%d requests unanswered %.0f s after the last key",
                    len(late),
                    SHUTDOWN_TIMEOUT_S,
                )
        if self._before != region.document[: region.offset] + region.text:
            raise BenchError(f"the editor lost track of the text of {region.path}")
        self._client.text_document_did_close(
            types.DidCloseTextDocumentParams(
                text_document=types.TextDocumentIdentifier(uri=self._uri)
            )
        )

    def _acceptable(self, cursor: TraceCursor) -> str:
        latest = self.requests[-1] if self.requests else None
        if latest is None or not latest.shown or latest.version != self._version:
            return ""
        return accepted_part(latest.text, cursor.remaining) if cursor.clean else ""

    def _change(self, delete: int, insert: str) -> None:
        end = utf16_position(self._before)
        if delete:
            self._before = self._before[:-delete]
        start = utf16_position(self._before) if delete else end
        self._before += insert
        self._version += 1
        self._client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=self._uri, version=self._version
                ),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=start, end=end), text=insert
                    )
                ],
            )
        )

    def _accept(self, text: str) -> None:
        """Insert the accepted text, then run the item's command as an editor does."""
        command = self.requests[-1].command
        self._change(0, text)
        self.accepts.append(len(text))
        if command is not None:
            params = types.ExecuteCommandParams(
                command=command.command, arguments=command.arguments
            )
            self._tasks.append(asyncio.create_task(self._execute(params)))

    async def _execute(self, params: types.ExecuteCommandParams) -> None:
        try:
            await self._client.workspace_execute_command_async(params)
        except JsonRpcException as exc:
            log.warning("accept command failed: %s", exc)

    def _ask(self, last_key: float) -> None:
        request = _LiveRequest(uuid.uuid4().hex, self._version, last_key)
        self.requests.append(request)
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=self._uri),
            position=utf16_position(self._before),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        )
        self._tasks.append(asyncio.create_task(self._await_answer(request, params)))

    async def _await_answer(
        self, request: _LiveRequest, params: types.InlineCompletionParams
    ) -> None:
        try:
            result = await self._client.protocol.send_request_async(
                types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=request.msg_id
            )
        except JsonRpcRequestCancelled:
            result = None
        except JsonRpcException as exc:
            result, request.error = None, str(exc)
        request.answered_s = time.perf_counter()
        items = result.items if isinstance(result, types.InlineCompletionList) else result or []
        first = items[0] if items else None
        if first is not None and isinstance(first.insert_text, str) and first.insert_text:
            request.text = first.insert_text
            request.command = first.command
            arguments = first.command.arguments if first.command is not None else None
            if arguments and isinstance(arguments[0], Mapping):
                request.suggestion_id = str(arguments[0].get("id"))
        request.shown = bool(request.text) and request.version == self._version

    def _cancel_open_request(self) -> None:
        """Cancel the request still waiting for its answer; it can only be the latest one."""
        latest = self.requests[-1] if self.requests else None
        if latest is not None and latest.answered_s is None and not latest.cancelled:
            latest.cancelled = True
            self._client.cancel_request(types.CancelParams(id=latest.msg_id))


def _ghostwright_outcome(
    request: _LiveRequest, logs: Mapping[str, SuggestionLog]
) -> RequestOutcome:
    latency = None
    if request.text and request.answered_s is not None:
        latency = (request.answered_s - request.last_key_s) * 1000.0
    entry = logs.get(request.suggestion_id or "")
    if entry is None:
        return RequestOutcome(latency, request.shown, request.cancelled, request.error)
    model_run = entry.model_run
    overhead = None
    if entry.total_ms is not None and entry.model_ms is not None:
        # The adaptive debounce waits on purpose: it is latency, not overhead.
        overhead = entry.total_ms - entry.model_ms - (entry.waited_ms or 0.0)
    return RequestOutcome(
        latency_ms=latency,
        shown=request.shown,
        cancelled=request.cancelled,
        error=request.error,
        source=entry.source,
        model_ms=entry.model_ms if model_run else None,
        overhead_ms=overhead,
        prompt_tokens=entry.prompt_tokens if model_run else None,
        reused_tokens=entry.reused_tokens if model_run else None,
    )


async def _drain(stream: asyncio.StreamReader | None, tail: deque[str]) -> None:
    """Read the server's stderr so that its pipe never fills; keep the end for error messages."""
    if stream is None:
        return
    while line := await stream.readline():
        tail.append(line.decode("utf-8", "replace").rstrip())


async def _launch(client: _BenchClient) -> asyncio.subprocess.Process:
    await client.start_io(sys.executable, "-m", "ghostwright", "serve")
    process = client._server
    if process is None:
        raise BenchError("the server process did not start")
    return process


async def _initialize(client: _BenchClient) -> None:
    """The LSP handshake, then wait until the server's model is ready."""
    await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(
                general=types.GeneralClientCapabilities(
                    position_encodings=[types.PositionEncodingKind.Utf16]
                ),
            ),
            root_uri=default_corpus().as_uri(),
        )
    )
    client.initialized(types.InitializedParams())
    try:
        await asyncio.wait_for(client.ready.wait(), READY_TIMEOUT_S)
    except TimeoutError:
        raise BenchError(
            f"the server's model was not ready after {READY_TIMEOUT_S:.0f} s"
        ) from None
    if client.status.get("state") != "ready":
        raise BenchError(f"the server's model failed to load: {client.status.get('detail')}")


async def _stop_server(client: _BenchClient) -> None:
    process = client._server
    try:
        if not client.stopped:
            await asyncio.wait_for(client.shutdown_async(None), SHUTDOWN_TIMEOUT_S)
            client.exit(None)
        await asyncio.wait_for(client.stop(), SHUTDOWN_TIMEOUT_S)  # type: ignore[no-untyped-call]
    except (TimeoutError, RuntimeError, JsonRpcException) as exc:
        log.warning("the server did not stop cleanly (%s); killing it", exc)
        if process is not None and process.returncode is None:
            process.kill()


async def replay_ghostwright(traces: Sequence[Trace], speed: float) -> ContenderRun:
    """Write every trace's region in a real editor session against `ghostwright serve`."""
    client = _bench_client()
    tail: deque[str] = deque(maxlen=20)
    drain: asyncio.Task[None] | None = None
    requests: list[_LiveRequest] = []
    accepts: list[int] = []
    unanswered = 0
    started = time.perf_counter()
    try:
        process = await _launch(client)
        drain = asyncio.create_task(_drain(process.stderr, tail))
        await _initialize(client)
        ready_ms = (time.perf_counter() - started) * 1000.0
        log.info("ghostwright: server ready in %.0f ms", ready_ms)
        started = time.perf_counter()
        for trace in traces:
            log.info("ghostwright: writing %s (%d keys)", trace.region.path, len(trace.keys))
            editor = _Editor(client, trace, speed)
            await editor.write_region()
            requests += editor.requests
            accepts += editor.accepts
            unanswered += editor.unanswered
        wall = time.perf_counter() - started
        peak = peak_rss_kib(process.pid)
    except (RuntimeError, JsonRpcException) as exc:
        detail = "\n".join(tail)
        raise BenchError(
            f"the server failed during the replay ({exc}); the end of its log:\n{detail}"
        ) from exc
    finally:
        await _stop_server(client)
        if drain is not None:
            await asyncio.wait_for(drain, SHUTDOWN_TIMEOUT_S)
    parsed = (parse_suggestion_log(line) for line in client.log_lines)
    logs = {entry.id: entry for entry in parsed if entry is not None}
    outcomes = tuple(_ghostwright_outcome(request, logs) for request in requests)
    answered = [request for request in requests if request.text]
    unmatched = sum(1 for request in answered if (request.suggestion_id or "") not in logs)
    notes = [f"server ready {ready_ms:.0f} ms after start (not counted)"]
    if unanswered:
        notes.append(
            f"{unanswered} requests were still unanswered {SHUTDOWN_TIMEOUT_S:.0f} s after the "
            "last key"
        )
    if unmatched:
        notes.append(
            f"{unmatched} of {len(answered)} Ghostwright suggestions had no parsable log line: "
            "their model time, overhead and tokens are unknown"
        )
    errors = Counter(request.error for request in requests if request.error is not None)
    notes += [f"{count} requests failed: {error}" for error, count in errors.most_common(3)]
    notes += [f"server message: {message}" for message in client.errors]
    return ContenderRun(
        name="ghostwright",
        outcomes=outcomes,
        accepts=tuple(accepts),
        typed_chars=sum(len(trace.region.text) for trace in traces),
        wall_s=wall,
        peak_rss_kib=peak,
        notes=tuple(notes),
    )


# -- the naive path -----------------------------------------------------------------------------


def _naive_outcome(
    result: NaiveResult, last_key: float, arrived: float, *, on_time: bool
) -> RequestOutcome:
    suggested = bool(result.text.strip())
    return RequestOutcome(
        latency_ms=(arrived - last_key) * 1000.0 if suggested else None,
        shown=suggested and on_time,
        model_ms=result.model_ms,
        prompt_tokens=result.prompt_tokens,
        reused_tokens=result.prompt_tokens - result.evaluated_tokens,
    )


def replay_naive_trace(
    complete: Callable[[str], NaiveResult], trace: Trace, speed: float
) -> tuple[list[RequestOutcome], list[int]]:
    """One region with a blocking completer on a simulated clock (seconds from its start).

    The person presses keys at their own times; the editor handles a key at that time or, when
    a call blocks it, when the call returns. The debounce runs from whichever is later, and a
    result that arrives after the person's next key is never shown. After the last key the
    person stops, and the last request's answer is shown. Returns the outcome of each request
    and the length of each accept.
    """
    outcomes: list[RequestOutcome] = []
    accepts: list[int] = []
    cursor = TraceCursor(trace)
    before = trace.region.document[: trace.region.offset]
    last_key = busy_until = 0.0
    while (key := cursor.peek()) is not None:
        due = last_key + key.gap_s / speed
        fire = max(last_key, busy_until) + DEBOUNCE_S / speed
        on_screen = ""
        if fire < due:
            result = complete(before)
            busy_until = fire + result.latency_ms / 1000.0
            outcome = _naive_outcome(result, last_key, busy_until, on_time=busy_until <= due)
            outcomes.append(outcome)
            on_screen = result.text if outcome.shown else ""
        accepted = accepted_part(on_screen, cursor.remaining) if on_screen else ""
        if accepted:
            before += accepted
            cursor.accept(len(accepted))
            accepts.append(len(accepted))
        else:
            before = apply_key(before, cursor.advance())
        last_key = due
    result = complete(before)
    arrived = max(last_key, busy_until) + DEBOUNCE_S / speed + result.latency_ms / 1000.0
    outcomes.append(_naive_outcome(result, last_key, arrived, on_time=True))
    return outcomes, accepts


def replay_naive(traces: Sequence[Trace], model_path: Path, speed: float) -> ContenderRun:
    """Write every trace's region with the naive path in the editor's place."""
    completer = NaiveCompleter(model_path)
    outcomes: list[RequestOutcome] = []
    accepts: list[int] = []
    try:
        started = time.perf_counter()
        for trace in traces:
            log.info("naive: writing %s (%d keys)", trace.region.path, len(trace.keys))
            found, accepted = replay_naive_trace(completer.complete, trace, speed)
            outcomes += found
            accepts += accepted
        wall = time.perf_counter() - started
    finally:
        completer.close()
    return ContenderRun(
        name="naive",
        outcomes=tuple(outcomes),
        accepts=tuple(accepts),
        typed_chars=sum(len(trace.region.text) for trace in traces),
        wall_s=wall,
        peak_rss_kib=peak_rss_kib("self"),
        notes=(
            "naive: simulated clock, so its wall time is the time spent in model calls; its "
            "peak RSS is the benchmark process's, which holds the naive model",
        ),
    )


# -- the run ------------------------------------------------------------------------------------


def run_bench(options: BenchOptions) -> BenchReport:
    """Choose the traces, replay them with each contender in turn, and summarize."""
    from ghostwright.engine.models import resolve_model_path
    from ghostwright.settings import resolve_settings

    if options.files < 1 or options.lines < 2 or options.speed <= 0:
        raise BenchError("--files must be 1 or more, --lines 2 or more, --speed above 0.")
    if any(size < options.lines + 2 for size in options.sizes):
        raise BenchError("every --sizes entry must be at least --lines + 2.")
    started = time.perf_counter()
    model = resolve_model_path(resolve_settings().settings)
    traces = choose_traces(options.files, options.lines, options.seed)
    ours = asyncio.run(replay_ghostwright(traces, options.speed))
    sizes = size_sweep(traces, options) if options.sizes else ()
    naive = replay_naive(traces, model, options.speed) if options.naive else None
    ghostwright_summary = summarize(ours)
    naive_summary = summarize(naive) if naive is not None else None
    return BenchReport(
        timestamp=datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        command=options.command(),
        options=options,
        machine=Machine.current(),
        model=model,
        model_bytes=model.stat().st_size,
        traces=tuple(trace_info(trace) for trace in traces),
        ghostwright=ghostwright_summary,
        naive=naive_summary,
        ratios=latency_ratios(ghostwright_summary, naive_summary) if naive_summary else None,
        notes=ours.notes + (naive.notes if naive is not None else ()),
        wall_s=time.perf_counter() - started,
        sizes=sizes,
    )


def size_sweep(traces: Sequence[Trace], options: BenchOptions) -> tuple[SizeRow, ...]:
    """Replay the same traces in documents of each size, in one run, smallest first."""
    filler = corpus_files(default_corpus(), CORPUS_SPLIT)
    summaries = []
    for size in sorted(options.sizes):
        resized = [resize_document(trace, size, filler) for trace in traces]
        log.info("size sweep: documents of %d lines", size)
        summaries.append((size, summarize(asyncio.run(replay_ghostwright(resized, options.speed)))))
    smallest = summaries[0][1].latency_p50_ms
    return tuple(
        SizeRow(size, summary, _ratio(summary.latency_p50_ms, smallest))
        for size, summary in summaries
    )


# -- the report ---------------------------------------------------------------------------------


def report_json(report: BenchReport) -> dict[str, Any]:
    """The report as one JSON-ready object."""
    payload = dataclasses.asdict(report)
    payload["options"]["out"] = str(report.options.out)
    payload["model"] = str(report.model)
    return payload


def _count(value: int) -> str:
    return str(value)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _one_decimal(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


_ROWS: tuple[tuple[str, Callable[[ContenderSummary], str], Callable[[LatencyRatios], str]], ...] = (
    ("requests", lambda s: _count(s.requests), lambda r: ""),
    ("cancelled (superseded)", lambda s: _count(s.cancelled), lambda r: ""),
    ("errors", lambda s: _count(s.errors), lambda r: ""),
    ("answered with a suggestion", lambda s: _count(s.suggestions), lambda r: ""),
    ("suggestions shown", lambda s: _count(s.shown), lambda r: ""),
    ("accepted (chars)", lambda s: f"{s.accepts} ({s.accepted_chars})", lambda r: ""),
    ("latency p50 (ms)", lambda s: _ms(s.latency_p50_ms), lambda r: _times(r.p50)),
    ("latency p95 (ms)", lambda s: _ms(s.latency_p95_ms), lambda r: _times(r.p95)),
    ("model time p50 (ms)", lambda s: _ms(s.model_p50_ms), lambda r: ""),
    ("server overhead p50 (ms)", lambda s: _ms(s.overhead_p50_ms), lambda r: ""),
    ("prompt tokens / model run", lambda s: _one_decimal(s.prompt_tokens_mean), lambda r: ""),
    ("reused tokens / model run", lambda s: _one_decimal(s.reused_tokens_mean), lambda r: ""),
    ("keystrokes saved per 100", lambda s: _one_decimal(s.saved_per_100), lambda r: ""),
    ("peak RSS (MiB)", lambda s: _one_decimal(s.peak_rss_mib), lambda r: ""),
    ("replay wall time (s)", lambda s: _one_decimal(s.wall_s), lambda r: ""),
)
"""Table rows: label, a contender's value, and the naive/ghostwright ratio where there is one."""


def _table(report: BenchReport) -> list[list[str]]:
    header = ["", "ghostwright"]
    if report.naive is not None:
        header += ["naive", "naive/ghostwright"]
    rows = [header]
    for label, show, ratio in _ROWS:
        row = [label, show(report.ghostwright)]
        if report.naive is not None and report.ratios is not None:
            row += [show(report.naive), ratio(report.ratios)]
        rows.append(row)
    return rows


def _trace_lines(report: BenchReport) -> list[str]:
    return [
        f"{t.file}:{t.first_line}-{t.first_line + t.lines - 1}: {t.chars} chars, {t.keys} keys, "
        f"{t.corrections} corrections, {t.duration_s:.0f} s of typing, "
        f"in a document of {t.document_lines} lines"
        for t in report.traces
    ]


def format_table(report: BenchReport) -> str:
    """The figures as an aligned plain-text table, with what was typed above it."""
    rows = _table(report)
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        f"Replay bench ({report.command}); {report.machine.cores} cores, {report.machine.cpu}",
        f"Model {report.model.name}",
        *(f"  {line}" for line in _trace_lines(report)),
        "",
    ]
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    lines += _size_lines(report)
    lines += report.notes
    lines.append(f"total wall time {report.wall_s:.1f} s")
    return "\n".join(lines)


def _size_section(report: BenchReport) -> list[str]:
    if not report.sizes:
        return []
    title = "Cost vs document size (Ghostwright, the same traces, in the same run):"
    return [title, "", "```", *_size_lines(report), "```", ""]


def _size_lines(report: BenchReport) -> list[str]:
    """The cost-vs-size sweep as a small table (nothing without one)."""
    if not report.sizes:
        return []
    rows = [
        ["document lines", "latency p50", "latency p95", "overhead p50", "p50 vs smallest"],
        *(
            [
                str(row.lines),
                _ms(row.summary.latency_p50_ms),
                _ms(row.summary.latency_p95_ms),
                _one_decimal(row.summary.overhead_p50_ms),
                _times(row.p50_vs_smallest),
            ]
            for row in report.sizes
        ),
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ] + [""]


def format_markdown(report: BenchReport) -> str:
    """The report for `bench/results/latest.md`: machine, command, traces, figures, notes."""
    machine = report.machine
    rows = _table(report)
    table = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    table += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    sections = [
        "# Ghostwright replay benchmark",
        "",
        f"All figures from one run at {report.timestamp}, "
        f"{report.wall_s:.0f} s of wall time in all.",
        "",
        "## Machine and command",
        "",
        f"- platform: {machine.platform}, Python {machine.python}",
        f"- CPU: {machine.cpu}, {machine.cores} cores",
        f"- model: `{report.model}` ({report.model_bytes / 1e6:.1f} MB)",
        f"- command: `{report.command}`",
        "",
        "## What the simulated person wrote",
        "",
        *(f"- `{line}`" for line in _trace_lines(report)),
        "",
        "## Figures",
        "",
        *table,
        "",
        *(
            ["Cost vs document size (Ghostwright, same traces, one run):", "", "```"]
            if report.sizes
            else []
        ),
        *_size_lines(report),
        *(["```", ""] if report.sizes else []),
        *(f"- {note}" for note in report.notes),
        "",
        "Latency runs from the last key before a request to an answer holding a suggestion "
        f"(debounce of {DEBOUNCE_S * 1000:.0f} ms / speed included). A suggestion is shown when "
        "it answers the current text; keystrokes saved are accepted characters per 100 "
        "characters written. See `server/ghostwright/evaluation/bench.py` for every definition.",
        "",
    ]
    return "\n".join(sections)


def write_report(report: BenchReport, out: Path) -> tuple[Path, Path]:
    """`<out>/<timestamp>.json` and `<out>/latest.md`."""
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{report.timestamp}.json"
    json_path.write_text(json.dumps(report_json(report), indent=2) + "\n", encoding="utf-8")
    markdown_path = out / "latest.md"
    markdown_path.write_text(format_markdown(report), encoding="utf-8")
    return json_path, markdown_path


def run_bench_command(options: BenchOptions) -> int:
    """`ghostwright bench`: run, print the table, write the report."""
    report = run_bench(options)
    print(format_table(report))
    json_path, markdown_path = write_report(report, options.out)
    print(f"wrote {json_path} and {markdown_path}")
    return 0
