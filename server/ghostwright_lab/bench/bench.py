"""`ghostwright bench`: replay a person writing real code, against Ghostwright and what a user
would otherwise run, and against the model's own limit, in one run on one machine.

A suggestion engine is judged in the gaps between keystrokes, so the benchmark plays a person
typing (see `typing_trace`) and counts what an editor would show. Every contender gets the same
traces, the same model, the same editor and the same accept rule (see `replay`):

- ghostwright: the real server (`python -m ghostwright serve`) over stdio, driven by pygls'
  `LanguageClient` as an editor drives it: one `textDocument/didChange` per key (incremental,
  UTF-16 positions); an inline completion request when no key came for `DEBOUNCE_S`; a request
  still open when the next key comes is cancelled with `$/cancelRequest`, as VS Code and Neovim
  do; accepting runs the item's command. The server runs with its defaults (plus any
  `GHOSTWRIGHT_*` variables of the environment) and a config and data directory of its own, so
  neither the user's settings nor their telemetry history enter the numbers.
- naive: the same model through llama-cpp-python's `create_completion`, a sliding window of the
  text before the cursor, no caches or filters (`naive`); its call blocks the editor.
- stock: `llama_cpp.server` on loopback, asked with the naive path's prompts over streaming
  HTTP by an editor plugin that closes the stream of a superseded request (`stock_server`).
- limit: the model's own time for the tokens each of Ghostwright's model-computed answers
  needed (`model_limit`; every finished generation, carried-on ones included), plus the
  editor's debounce: no server can answer sooner.

`--repeat K` runs all of it K times, each contender in turn (the order rotates from one run to
the next), and every figure is reported as the median of the K runs' values with their range.
The size sweep (`--sizes`) replays the same typing with Ghostwright in documents resized to
each line count; the context sweep (`--contexts`) does so in `CONTEXT_SWEEP_LINES`-line
documents with each `prefixTokens` setting.

The figures of one contender in one run (`summarize`):

- requests, cancelled ones, errors, answers holding a suggestion, suggestions shown (answered
  before the next key, so the editor displays them), accepts, keystrokes saved per 100
  (accepted characters per 100 characters of the typed regions).
- keystroke-to-suggestion latency p50/p95: from the last key before the request to the answer,
  the debounce included, over every answer holding a suggestion (shown or too late: the time it
  took is real either way); the same over the answers the model computed; and the same from the
  editor's request on (the debounce, or the longer wait where the naive path blocked the editor,
  left out): what the contender itself took.
- model time: Ghostwright's log; llama.cpp's timings for the naive path (`llama_perf_context`),
  for the stock server (its stderr) and for the limit.
- overhead: the time from sending the request to the answer, minus the model time and the
  contender's deliberate wait (Ghostwright's adaptive debounce), over the answers where both are
  known; for Ghostwright also the part inside the server (its log: total - model - waited).
  Answers that joined a generation already running ("in-flight") are left out: their wait is
  that generation's model time.
- answered without the model: of the requests answered (not cancelled, no error), those that
  came from the cache or a running generation (Ghostwright's log: the suggestion's source, or
  a "joined generation ...: nothing to show" line where the predictor hid what it joined) or
  that the gate skipped (its telemetry, "hidden" events of stage "gate").
- prompt and evaluated tokens per model run (evaluated = prompt - reused from the KV cache),
  and evaluated / prompt as the ratio of their means. For Ghostwright, every generation its
  log reports (the "generation ..." lines), those that went on after their request was
  cancelled and served a later request from the cache or in flight included.
- peak RSS: VmHWM of the Ghostwright server, of the stock server, and of the process the naive
  path ran in (a fresh one).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import multiprocessing
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled
from pygls.lsp.client import LanguageClient

from ghostwright import __version__
from ghostwright.events import AnswerEvent, GenerationEvent, JoinedEmptyEvent, read_trace
from ghostwright.progress import Advance, progress
from ghostwright_lab.bench.model_limit import EngineShape, LimitRequest, measure_limits
from ghostwright_lab.bench.naive import replay_naive
from ghostwright_lab.bench.replay import (
    DEBOUNCE_S,
    SHUTDOWN_TIMEOUT_S,
    BenchError,
    ContenderRun,
    LiveEditor,
    LiveRequest,
    RequestOutcome,
    peak_rss_kib,
)
from ghostwright_lab.bench.stock_server import replay_stock
from ghostwright_lab.bench.typing_trace import Trace, resize_document, trace_file
from ghostwright_lab.corpus import Split, corpus_files, default_corpus
from ghostwright_lab.stats import percentile

if TYPE_CHECKING:
    from ghostwright.settings import Settings

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 120.0

SIZE_CLASSES = ((100, 300), (300, 1000), (1000, 3000))
"""Lines of a small, a medium and a large file: traces take one of each in turn, since the
document length changes what a request costs (prompt window, parse, edits)."""

CORPUS_SPLIT: Split = "validation"
"""The held-out packages (see `corpus`): nothing is ever tuned on the files measured here."""

CONTEXT_SWEEP_LINES = 2000
"""Document size of the context sweep: long enough that every prefix window is full."""

CONTENDERS = ("ghostwright", "naive", "stock", "limit")

ANSWERED_WITHOUT_MODEL = frozenset({"cache", "in-flight"})
"""Ghostwright's log sources that mean no model run was started for the request."""

T = TypeVar("T")


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
    contexts: tuple[int, ...] = ()
    """`prefixTokens` values for the cost-vs-context sweep (in `CONTEXT_SWEEP_LINES`-line
    documents); the default setting is always one of the points."""
    repeat: int = 1
    stock: bool = True
    quick: bool = False
    model: str | None = None
    """A registry name or GGUF path (None: the configured model)."""

    def command(self) -> str:
        """The command line that repeats this run exactly."""
        model = [f"--model {self.model}"] if self.model else []
        if self.quick:
            return " ".join(
                ["ghostwright bench --quick", *model, f"--seed {self.seed} --out {self.out}"]
            )
        parts = [
            "ghostwright bench",
            *model,
            f"--files {self.files}",
            f"--lines {self.lines}",
            f"--repeat {self.repeat}",
            f"--seed {self.seed}",
            f"--speed {self.speed:g}",
            *([] if self.naive else ["--no-naive"]),
            *([] if self.stock else ["--no-stock"]),
            f"--sizes {','.join(map(str, self.sizes)) or 'none'}",
            f"--contexts {','.join(map(str, self.contexts)) or 'none'}",
            f"--out {self.out}",
        ]
        return " ".join(parts)

    def effective(self) -> BenchOptions:
        """The options `--quick` stands for, or these: a two-line trace at a person's speed
        through every contender and both sweeps, once (for CI: it fails on errors only). Not
        faster: on a slow machine every generation would be overtaken by the next key, and the
        run would measure nothing."""
        if not self.quick:
            return self
        return dataclasses.replace(
            self,
            files=1,
            lines=2,
            repeat=1,
            speed=1.0,
            naive=True,
            stock=True,
            sizes=(200, CONTEXT_SWEEP_LINES),
            contexts=(256,),
        )


@dataclass(frozen=True)
class ContenderSummary:
    """The figures of one contender in one run; None where nothing was there to measure."""

    name: str
    requests: int
    cancelled: int
    errors: int
    answered: int
    """Requests answered (not cancelled by the editor, no error), with or without text."""
    suggestions: int
    shown: int
    accepts: int
    accepted_chars: int
    typed_chars: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    model_answer_p50_ms: float | None
    """Latency of the answers the model computed (not from a cache or a running generation)."""
    model_answer_p95_ms: float | None
    after_request_p50_ms: float | None
    """Latency from the editor's request on (its debounce left out): what the contender took."""
    after_request_p95_ms: float | None
    model_p50_ms: float | None
    model_p95_ms: float | None
    overhead_p50_ms: float | None
    overhead_p95_ms: float | None
    server_overhead_p50_ms: float | None
    without_model: int
    without_model_share: float | None
    prompt_tokens_mean: float | None
    evaluated_tokens_mean: float | None
    evaluated_share: float | None
    """Mean evaluated tokens over mean prompt tokens, per model run."""
    saved_per_100: float
    peak_rss_mib: float | None
    wall_s: float
    gated: int | None = None
    sources: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Machine:
    """Where the numbers were taken: they mean little without it."""

    platform: str
    python: str
    cpu: str
    cores: int
    device: str = "CPU"
    """Where llama.cpp runs the model: "CPU", or its GPU backend ("CUDA", "Metal", ...)."""
    gpu: str = ""
    """The GPU's name where one is used and can be found."""
    llama_cpp_python: str = ""
    system_info: str = ""
    """llama.cpp's `llama_print_system_info`: its backends and CPU features."""
    generation_threads: int = 0
    prompt_threads: int = 0
    """llama.cpp's threads for Ghostwright, the naive path and the stock server (the limit
    runs alone and takes `prompt_threads` for both)."""

    @classmethod
    def current(cls, threads: int = 0) -> Machine:
        """This machine, with the llama.cpp threads the `threads` setting gives on it."""
        from ghostwright.engine.local import llama_build_info, llama_threads

        build = llama_build_info()
        generation_threads, prompt_threads = llama_threads(threads)
        device = device_of(bool(build["gpu_offload"]), str(build["system_info"]))
        return cls(
            platform=platform.platform(),
            python=platform.python_version(),
            cpu=cpu_model(),
            cores=os.cpu_count() or 1,
            device=device,
            gpu=gpu_model() if device == "CUDA" else "",
            llama_cpp_python=str(build["llama_cpp_python"]),
            system_info=str(build["system_info"]),
            generation_threads=generation_threads,
            prompt_threads=prompt_threads,
        )

    @property
    def slug(self) -> str:
        """The device as a file-name label: "cpu", "cuda", ..."""
        return re.sub(r"[^a-z0-9]+", "-", self.device.lower()).strip("-") or "cpu"


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
class SweepPoint:
    """Ghostwright on the same traces at one document size or one context setting."""

    value: int
    """Document lines (size sweep) or `prefixTokens` (context sweep)."""
    summary: ContenderSummary


@dataclass(frozen=True)
class RepeatResult:
    """One run of every contender and both sweeps."""

    contenders: tuple[ContenderSummary, ...]
    sizes: tuple[SweepPoint, ...] = ()
    """Smallest document first."""
    contexts: tuple[SweepPoint, ...] = ()
    """Smallest `prefixTokens` first."""
    latencies: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    """Every answer's latency (ms) per contender, for the distribution plot."""
    notes: tuple[str, ...] = ()

    def contender(self, name: str) -> ContenderSummary | None:
        return next((summary for summary in self.contenders if summary.name == name), None)


@dataclass(frozen=True)
class BenchReport:
    """One invocation: what was typed, on what, and how each contender did in each run."""

    timestamp: str
    command: str
    options: BenchOptions
    machine: Machine
    model: Path
    model_bytes: int
    settings: Mapping[str, str]
    """Ghostwright's settings that differ from the defaults in this run (from the environment)."""
    traces: tuple[TraceInfo, ...]
    repeats: tuple[RepeatResult, ...]
    notes: tuple[str, ...]
    wall_s: float


# -- figures ------------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _known(values: Sequence[float | None]) -> list[float]:
    return [value for value in values if value is not None]


def summarize(run: ContenderRun) -> ContenderSummary:
    """The figures of one contender's replay."""
    outcomes = run.outcomes
    latencies = _known([o.latency_ms for o in outcomes])
    model_latencies = _known([o.latency_ms for o in outcomes if o.source == "model"])
    after_request = _known([o.after_request_ms for o in outcomes])
    model_times = _known([o.model_ms for o in outcomes])
    overheads = _known([o.overhead_ms for o in outcomes])
    if run.model_runs is not None:
        tokens = [(float(prompt), float(prompt - reused)) for prompt, reused in run.model_runs]
    else:
        tokens = [
            (float(o.prompt_tokens), float(o.evaluated_tokens))
            for o in outcomes
            if o.prompt_tokens is not None and o.evaluated_tokens is not None
        ]
    answered = [o for o in outcomes if not o.cancelled and o.error is None]
    without_model = (
        sum(o.source in ANSWERED_WITHOUT_MODEL for o in answered)
        + (run.gated or 0)
        + run.joined_unshown
    )
    prompt_mean = _mean([prompt for prompt, _ in tokens])
    evaluated_mean = _mean([evaluated for _, evaluated in tokens])
    accepted_chars = sum(run.accepts)
    sources = Counter(o.source for o in outcomes if o.source is not None)
    return ContenderSummary(
        name=run.name,
        requests=len(outcomes),
        cancelled=sum(o.cancelled for o in outcomes),
        errors=sum(o.error is not None for o in outcomes),
        answered=len(answered),
        suggestions=len(latencies),
        shown=sum(o.shown for o in outcomes),
        accepts=len(run.accepts),
        accepted_chars=accepted_chars,
        typed_chars=run.typed_chars,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        model_answer_p50_ms=percentile(model_latencies, 50),
        model_answer_p95_ms=percentile(model_latencies, 95),
        after_request_p50_ms=percentile(after_request, 50),
        after_request_p95_ms=percentile(after_request, 95),
        model_p50_ms=percentile(model_times, 50),
        model_p95_ms=percentile(model_times, 95),
        overhead_p50_ms=percentile(overheads, 50),
        overhead_p95_ms=percentile(overheads, 95),
        server_overhead_p50_ms=percentile(_known([o.server_overhead_ms for o in outcomes]), 50),
        without_model=without_model,
        without_model_share=without_model / len(answered) if answered else None,
        prompt_tokens_mean=prompt_mean,
        evaluated_tokens_mean=evaluated_mean,
        evaluated_share=(
            evaluated_mean / prompt_mean if evaluated_mean is not None and prompt_mean else None
        ),
        saved_per_100=100.0 * accepted_chars / run.typed_chars if run.typed_chars else 0.0,
        peak_rss_mib=run.peak_rss_kib / 1024.0 if run.peak_rss_kib is not None else None,
        wall_s=run.wall_s,
        gated=run.gated,
        sources=dict(sorted(sources.items())),
    )


def latencies_of(run: ContenderRun) -> tuple[float, ...]:
    return tuple(o.latency_ms for o in run.outcomes if o.latency_ms is not None)


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


_BACKEND = re.compile(r"(?:^|\|)\s*([A-Za-z][\w-]*) : ")


def device_of(gpu_offload: bool, system_info: str) -> str:
    """Where llama.cpp runs the model: its first non-CPU backend when it can offload layers."""
    if not gpu_offload:
        return "CPU"
    backends = [name for name in _BACKEND.findall(system_info) if name.upper() != "CPU"]
    return backends[0] if backends else "GPU"


def gpu_model() -> str:
    """The first NVIDIA GPU's name, from nvidia-smi where it is installed; else ""."""
    try:
        found = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    names = found.stdout.strip().splitlines()
    return names[0].strip() if found.returncode == 0 and names else ""


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


class BenchClient(LanguageClient):
    """An editor's client: remembers the server's status and the messages it showed."""

    def __init__(self) -> None:
        super().__init__("ghostwright-bench", __version__)
        self.status: dict[str, str] = {}
        self.ready = asyncio.Event()
        self.errors: list[str] = []


def bench_client() -> BenchClient:
    client = BenchClient()

    @client.feature("ghostwright/status")  # type: ignore[untyped-decorator]
    def on_status(params: Any) -> None:
        client.status = {"state": str(params.state), "detail": str(params.detail)}
        if params.state in ("ready", "failed"):
            client.ready.set()

    @client.feature(types.WINDOW_LOG_MESSAGE)  # type: ignore[untyped-decorator]
    def on_log(params: types.LogMessageParams) -> None:
        """The server's log is for people; the benchmark reads its typed event trace."""

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)  # type: ignore[untyped-decorator]
    def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
        """Repair's diagnostics: an editor shows them; the benchmark has no use for them."""

    @client.feature(types.WINDOW_SHOW_MESSAGE)  # type: ignore[untyped-decorator]
    def on_message(params: types.ShowMessageParams) -> None:
        if params.type in (types.MessageType.Error, types.MessageType.Warning):
            client.errors.append(params.message)

    return client


class LspEditor(LiveEditor):
    """The editor as VS Code or Neovim drive Ghostwright: LSP over stdio."""

    def __init__(self, client: BenchClient, trace: Trace, speed: float) -> None:
        super().__init__(trace, speed)
        self._client = client
        self._uri = trace.region.path.resolve().as_uri()

    def opened(self) -> None:
        self._client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=self._uri,
                    language_id="python",
                    version=self.version,
                    text=self.trace.region.document,
                )
            )
        )

    def changed(self, before: str, delete: int, insert: str) -> None:
        end = utf16_position(before)
        start = utf16_position(before[: len(before) - delete]) if delete else end
        self._client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=self._uri, version=self.version
                ),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=start, end=end), text=insert
                    )
                ],
            )
        )

    def closed(self) -> None:
        self._client.text_document_did_close(
            types.DidCloseTextDocumentParams(
                text_document=types.TextDocumentIdentifier(uri=self._uri)
            )
        )

    def accepted(self, request: LiveRequest, text: str) -> None:
        """Run the item's command, as an editor does when a suggestion is accepted."""
        command = request.accept_command
        if isinstance(command, types.Command):
            params = types.ExecuteCommandParams(
                command=command.command, arguments=command.arguments
            )
            self.track(asyncio.create_task(self._execute(params)))

    async def _execute(self, params: types.ExecuteCommandParams) -> None:
        try:
            await self._client.workspace_execute_command_async(params)
        except JsonRpcException as exc:
            log.warning("accept command failed: %s", exc)

    def cancel(self, request: LiveRequest) -> None:
        """`$/cancelRequest`; the server still answers (empty), which the editor waits for."""
        self._client.cancel_request(types.CancelParams(id=request.msg_id))

    async def fetch(self, request: LiveRequest) -> None:
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=self._uri),
            position=utf16_position(request.prefix),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        )
        try:
            result = await self._client.protocol.send_request_async(
                types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id=request.msg_id
            )
        except JsonRpcRequestCancelled:
            return
        except JsonRpcException as exc:
            request.error = str(exc)
            return
        request.completed = True
        items = result.items if isinstance(result, types.InlineCompletionList) else result or []
        first = items[0] if items else None
        if first is not None and isinstance(first.insert_text, str) and first.insert_text:
            request.text = first.insert_text
            request.accept_command = first.command
            arguments = first.command.arguments if first.command is not None else None
            if arguments and isinstance(arguments[0], Mapping):
                request.suggestion_id = str(arguments[0].get("id"))


def _ghostwright_outcome(request: LiveRequest, logs: Mapping[str, AnswerEvent]) -> RequestOutcome:
    latency = None
    if request.text and request.answered_s is not None:
        latency = (request.answered_s - request.last_key_s) * 1000.0
    asked = request.asked_ms
    entry = logs.get(request.suggestion_id or "")
    if entry is None:
        return RequestOutcome(
            latency, request.shown, request.cancelled, request.error, asked_ms=asked
        )
    model_run = entry.source == "model"
    model_ms = entry.model_ms if model_run else 0.0
    waited_ms = entry.waited_ms or 0.0
    overhead = server_overhead = None
    if entry.source != "in-flight" and model_ms is not None and request.answered_s is not None:
        served_ms = (request.answered_s - request.sent_s) * 1000.0
        # The adaptive debounce waits on purpose: it is latency, not overhead.
        overhead = served_ms - model_ms - waited_ms
        if entry.total_ms is not None:
            server_overhead = entry.total_ms - model_ms - waited_ms
    return RequestOutcome(
        latency_ms=latency,
        shown=request.shown,
        cancelled=request.cancelled,
        error=request.error,
        source=entry.source,
        model_ms=entry.model_ms if model_run else None,
        overhead_ms=overhead,
        server_overhead_ms=server_overhead,
        prompt_tokens=entry.prompt_tokens if model_run else None,
        reused_tokens=entry.reused_tokens if model_run else None,
        asked_ms=asked,
    )


async def _drain(stream: asyncio.StreamReader | None, tail: deque[str]) -> None:
    """Read the server's stderr so that its pipe never fills; keep the end for error messages."""
    if stream is None:
        return
    while line := await stream.readline():
        tail.append(line.decode("utf-8", "replace").rstrip())


def server_environment(home: Path, model: Path, prefix_tokens: int | None) -> dict[str, str]:
    """The server's environment: the caller's, with a config and data directory of its own
    (no user settings file, a fresh telemetry database), the benchmarked model, telemetry on
    (the gate's decisions are counted from it), its typed events traced to `events_file(home)`
    (what each answer cost), and the swept setting."""
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = str(home / "config")
    env["XDG_DATA_HOME"] = str(home / "data")
    env["GHOSTWRIGHT_MODEL"] = str(model)
    env["GHOSTWRIGHT_TELEMETRY"] = "true"
    env["GHOSTWRIGHT_EVENTS_FILE"] = str(events_file(home))
    if prefix_tokens is not None:
        env["GHOSTWRIGHT_PREFIX_TOKENS"] = str(prefix_tokens)
    return env


def events_file(home: Path) -> Path:
    """Where the benchmarked server traces its events (`ghostwright.events`)."""
    return home / "events.jsonl"


async def launch(client: BenchClient, env: Mapping[str, str]) -> asyncio.subprocess.Process:
    await client.start_io(sys.executable, "-m", "ghostwright", "serve", env=dict(env))
    process = client._server
    if process is None:
        raise BenchError("the server process did not start")
    return process


async def initialize(client: BenchClient) -> None:
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


async def stop_server(client: BenchClient) -> None:
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


def count_gated(home: Path) -> int | None:
    """Requests the server's gate skipped, from the telemetry it wrote under `home`."""
    from ghostwright.errors import TelemetryError
    from ghostwright.telemetry.store import TelemetryStore

    databases = sorted(home.rglob("telemetry.sqlite3"))
    if not databases:
        return None
    try:
        store = TelemetryStore(databases[0])
    except TelemetryError:
        return None
    try:
        hidden = store.events(kinds=["hidden"])
    except TelemetryError:
        return None
    finally:
        store.close()
    return sum(1 for event in hidden if event.data.get("stage") == "gate")


async def replay_ghostwright(
    traces: Sequence[Trace], speed: float, model: Path, prefix_tokens: int | None = None
) -> tuple[ContenderRun, list[LimitRequest]]:
    """Write every trace's region in a real editor session against `ghostwright serve`.

    Returns the run and, for the limit, what each answer the model computed had to evaluate.
    """
    with tempfile.TemporaryDirectory(prefix="ghostwright-bench-") as scratch:
        home = Path(scratch)
        run, answers = await _replay_ghostwright(
            traces, speed, server_environment(home, model, prefix_tokens), events_file(home)
        )
        gated = count_gated(home)
    if gated is None:
        run = dataclasses.replace(
            run, notes=(*run.notes, "the server's telemetry was not readable: gated unknown")
        )
    return dataclasses.replace(run, gated=gated), answers


async def _replay_ghostwright(
    traces: Sequence[Trace], speed: float, env: Mapping[str, str], trace_path: Path
) -> tuple[ContenderRun, list[LimitRequest]]:
    client = bench_client()
    tail: deque[str] = deque(maxlen=20)
    drain: asyncio.Task[None] | None = None
    requests: list[LiveRequest] = []
    accepts: list[int] = []
    unanswered = 0
    started = time.perf_counter()
    try:
        process = await launch(client, env)
        drain = asyncio.create_task(_drain(process.stderr, tail))
        await initialize(client)
        ready_ms = (time.perf_counter() - started) * 1000.0
        log.info("ghostwright: server ready in %.0f ms", ready_ms)
        started = time.perf_counter()
        for trace in traces:
            log.info("ghostwright: writing %s (%d keys)", trace.region.path, len(trace.keys))
            editor = LspEditor(client, trace, speed)
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
        await stop_server(client)
        if drain is not None:
            await asyncio.wait_for(drain, SHUTDOWN_TIMEOUT_S)
    events = list(read_trace(trace_path))
    logs = {event.id: event for event in events if isinstance(event, AnswerEvent)}
    outcomes = tuple(_ghostwright_outcome(request, logs) for request in requests)
    answers = [
        LimitRequest(event.prompt_tokens, event.reused_tokens, event.generated_tokens)
        for event in events
        if isinstance(event, GenerationEvent)
    ]
    answered = [request for request in requests if request.text]
    unmatched = sum(1 for request in answered if (request.suggestion_id or "") not in logs)
    notes = [f"ghostwright: server ready {ready_ms:.0f} ms after start (not counted)"]
    if unanswered:
        notes.append(
            f"{unanswered} requests were still unanswered {SHUTDOWN_TIMEOUT_S:.0f} s after the "
            "last key"
        )
    if unmatched:
        notes.append(
            f"{unmatched} of {len(answered)} Ghostwright suggestions had no answer event in the "
            "server's trace: their model time, overhead and tokens are unknown"
        )
    errors = Counter(request.error for request in requests if request.error is not None)
    notes += [f"{count} requests failed: {error}" for error, count in errors.most_common(3)]
    notes += [f"server message: {message}" for message in client.errors]
    run = ContenderRun(
        name="ghostwright",
        outcomes=outcomes,
        accepts=tuple(accepts),
        typed_chars=sum(len(trace.region.text) for trace in traces),
        wall_s=wall,
        peak_rss_kib=peak,
        notes=tuple(notes),
        joined_unshown=sum(1 for event in events if isinstance(event, JoinedEmptyEvent)),
        model_runs=tuple((answer.prompt_tokens, answer.reused_tokens) for answer in answers),
    )
    return run, answers


# -- the limit ----------------------------------------------------------------------------------


def server_settings() -> Settings:
    """The settings Ghostwright's server runs with in the bench: the defaults and the
    environment, as `server_environment` leaves them (no settings file)."""
    from ghostwright.settings import resolve_settings

    return resolve_settings(file=Path(os.devnull)).settings


def engine_shape() -> EngineShape:
    """The llama.cpp context Ghostwright's server runs with. The limit runs alone, so it takes
    the prompt threads (every core by default) for generation too: the model's best."""
    from ghostwright.engine.local import llama_threads

    settings = server_settings()
    _, prompt_threads = llama_threads(settings.threads)
    return EngineShape(
        n_ctx=settings.context_size,
        threads=prompt_threads,
        gpu_layers=settings.gpu_layers,
    )


def limit_run(
    answers: Sequence[LimitRequest], traces: Sequence[Trace], model: Path, speed: float
) -> ContenderRun:
    """The limit for each of Ghostwright's model-computed answers, as a contender's run."""
    filler = "".join(trace.region.document for trace in traces)
    started = time.perf_counter()
    timings = (
        in_fresh_process(measure_limits, model, engine_shape(), list(answers), filler)
        if answers
        else []
    )
    wall = time.perf_counter() - started
    debounce_ms = DEBOUNCE_S * 1000.0 / speed
    outcomes = tuple(
        RequestOutcome(
            latency_ms=debounce_ms + timing.model_ms,
            shown=False,
            source="model",
            model_ms=timing.model_ms,
            prompt_tokens=answer.prompt_tokens,
            reused_tokens=answer.prompt_tokens - timing.evaluated_tokens,
            asked_ms=debounce_ms,
        )
        for answer, timing in zip(answers, timings, strict=True)
    )
    return ContenderRun(
        name="limit",
        outcomes=outcomes,
        accepts=(),
        typed_chars=sum(len(trace.region.text) for trace in traces),
        wall_s=wall,
        peak_rss_kib=None,
    )


# -- the run ------------------------------------------------------------------------------------


def in_fresh_process(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` in a new Python process: its memory is its own, and a crash in
    llama.cpp is reported instead of taking the benchmark down."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        try:
            return pool.submit(function, *args).result()
        except concurrent.futures.process.BrokenProcessPool as exc:
            raise BenchError(f"{function.__name__} crashed its process ({exc})") from exc


@dataclass(frozen=True)
class _Variant:
    """One Ghostwright replay of a sweep: documents resized to `lines`, a `prefixTokens`."""

    lines: int
    prefix_tokens: int


def _sweep_variants(options: BenchOptions, default_prefix: int) -> list[_Variant]:
    variants = [_Variant(size, default_prefix) for size in sorted(options.sizes)]
    if options.contexts:
        values = sorted({*options.contexts, default_prefix})
        variants += [_Variant(CONTEXT_SWEEP_LINES, value) for value in values]
    return list(dict.fromkeys(variants))


def _replayed_contenders(options: BenchOptions) -> list[str]:
    """The contenders that replay the traces themselves (the limit only re-times answers)."""
    return [
        "ghostwright",
        *(["naive"] if options.naive else []),
        *(["stock"] if options.stock else []),
    ]


def steps_per_repeat(options: BenchOptions) -> int:
    """Replays in one run: every contender, the limit, every sweep variant."""
    from ghostwright.settings import Settings

    variants = _sweep_variants(options, Settings().prefix_tokens)
    return len(_replayed_contenders(options)) + 1 + len(variants)


def run_repeat(
    options: BenchOptions,
    traces: Sequence[Trace],
    model: Path,
    index: int,
    filler: Sequence[Path],
    advance: Advance = lambda amount: None,
) -> RepeatResult:
    """One run of every contender in turn (the order rotated by `index`), then the sweeps;
    `advance(1)` after each replay."""
    from ghostwright.settings import Settings

    names = _replayed_contenders(options)
    names = names[index % len(names) :] + names[: index % len(names)]
    runs: dict[str, ContenderRun] = {}
    answers: list[LimitRequest] = []
    threads = server_settings().threads  # the naive path and the stock server use the same
    for name in names:
        log.info("contender %s", name)
        if name == "ghostwright":
            runs[name], answers = asyncio.run(replay_ghostwright(traces, options.speed, model))
        elif name == "naive":
            runs[name] = in_fresh_process(replay_naive, list(traces), model, options.speed, threads)
        else:
            runs[name] = asyncio.run(replay_stock(traces, model, options.speed, threads))
        advance(1)
    log.info("contender limit (%d answers)", len(answers))
    runs["limit"] = limit_run(answers, traces, model, options.speed)
    advance(1)
    default_prefix = Settings().prefix_tokens
    swept: dict[_Variant, ContenderSummary] = {}
    notes = [note for run in runs.values() for note in run.notes]
    for variant in _sweep_variants(options, default_prefix):
        log.info("sweep: %d lines, prefixTokens %d", variant.lines, variant.prefix_tokens)
        resized = [resize_document(trace, variant.lines, filler) for trace in traces]
        prefix = None if variant.prefix_tokens == default_prefix else variant.prefix_tokens
        run, _ = asyncio.run(replay_ghostwright(resized, options.speed, model, prefix))
        swept[variant] = summarize(run)
        advance(1)
        where = f"sweep ({variant.lines} lines, prefixTokens {variant.prefix_tokens})"
        notes += [f"{where}: {note}" for note in run.notes if "server ready" not in note]
    order = [name for name in CONTENDERS if name in runs]
    return RepeatResult(
        contenders=tuple(summarize(runs[name]) for name in order),
        sizes=tuple(
            SweepPoint(size, swept[_Variant(size, default_prefix)])
            for size in sorted(options.sizes)
        ),
        contexts=tuple(
            SweepPoint(value, swept[_Variant(CONTEXT_SWEEP_LINES, value)])
            for value in sorted({*options.contexts, default_prefix})
        )
        if options.contexts
        else (),
        latencies={name: latencies_of(runs[name]) for name in order},
        notes=tuple(notes),
    )


def non_default_settings() -> dict[str, str]:
    """Ghostwright's settings that the environment changes from the defaults in this run."""
    from ghostwright.settings import Settings, resolve_settings

    resolved = resolve_settings(file=Path(os.devnull))
    defaults = dataclasses.asdict(Settings())
    return {
        name: str(value)
        for name, value in dataclasses.asdict(resolved.settings).items()
        if value != defaults[name] and name != "model"
    }


def check_options(options: BenchOptions) -> None:
    if options.files < 1 or options.lines < 2 or options.speed <= 0 or options.repeat < 1:
        raise BenchError(
            "--files and --repeat must be 1 or more, --lines 2 or more, --speed above 0."
        )
    if any(size < options.lines + 2 for size in options.sizes):
        raise BenchError("every --sizes entry must be at least --lines + 2.")
    if any(value < 16 for value in options.contexts):
        raise BenchError("every --contexts entry (prefixTokens) must be at least 16.")


def run_bench(options: BenchOptions) -> BenchReport:
    """Choose the traces, run every contender `repeat` times, and collect the figures."""
    from ghostwright.engine.models import resolve_model_path
    from ghostwright.settings import resolve_settings

    options = options.effective()
    check_options(options)
    started = time.perf_counter()
    settings = resolve_settings().settings
    if options.model is not None:
        settings = dataclasses.replace(settings, model=options.model)
    model = resolve_model_path(settings)
    traces = choose_traces(options.files, options.lines, options.seed)
    filler = corpus_files(default_corpus(), CORPUS_SPLIT)
    machine = Machine.current(server_settings().threads)
    repeats = []
    steps = options.repeat * steps_per_repeat(options)
    with progress("bench", steps, unit="replays") as advance:
        for index in range(options.repeat):
            log.info("run %d of %d", index + 1, options.repeat)
            repeats.append(run_repeat(options, traces, model, index, filler, advance))
    return BenchReport(
        timestamp=datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        command=options.command(),
        options=options,
        machine=machine,
        model=model,
        model_bytes=model.stat().st_size,
        settings=non_default_settings(),
        traces=tuple(trace_info(trace) for trace in traces),
        repeats=tuple(repeats),
        notes=tuple(
            f"run {number}: {note}" if len(repeats) > 1 else note
            for number, repeat in enumerate(repeats, 1)
            for note in repeat.notes
        ),
        wall_s=time.perf_counter() - started,
    )


def failures(report: BenchReport) -> list[str]:
    """What went wrong in the run: request errors, contenders with no requests at all."""
    found = []
    for number, repeat in enumerate(report.repeats, 1):
        summaries = [*repeat.contenders, *(p.summary for p in (*repeat.sizes, *repeat.contexts))]
        for summary in summaries:
            if summary.errors:
                found.append(f"run {number}: {summary.errors} {summary.name} requests failed")
            if summary.name != "limit" and not summary.requests:
                found.append(f"run {number}: {summary.name} got no requests")
    return found
