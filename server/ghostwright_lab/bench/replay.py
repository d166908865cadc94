"""The editor side of the replay benchmark, shared by every contender.

A contender is whatever answers the editor's completion requests: Ghostwright over LSP, a stock
inference server over HTTP, the naive path in-process. The editor behaves the same in front of
each (`LiveEditor`): it applies the person's keys one by one, asks when no key came for
`DEBOUNCE_S`, cancels the request still open when the next key comes, and accepts what was on
screen when it is what the person was about to type (the keys that type it are skipped). Gaps
and the debounce are real sleeps divided by the typing speed factor.

What became of each request is a `RequestOutcome`; a contender's whole replay a `ContenderRun`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghostwright.errors import GhostwrightError
from ghostwright_lab.bench.typing_trace import Trace, TraceCursor, accepted_part

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.050
"""An editor asks when no key has come for this long: VS Code's inline completions wait a fixed
50 ms (its `InlineCompletionsDebounce`, min 50 and max 50), and so does Ghostwright's Neovim
renderer (`debounce_ms`)."""

SHUTDOWN_TIMEOUT_S = 30.0
"""How long requests still open after the last key are waited for, and a server's shutdown."""


class BenchError(GhostwrightError):
    """The benchmark cannot run as asked: bad options, no corpus, or a contender that failed."""


@dataclass(frozen=True)
class RequestOutcome:
    """What became of one completion request."""

    latency_ms: float | None
    """Last key before the request to an answer holding a suggestion; None: no suggestion."""
    shown: bool
    """The suggestion answered the current text: no key came between request and answer."""
    cancelled: bool = False
    error: str | None = None
    """The error the contender answered with, other than "cancelled"."""
    source: str | None = None
    """Where the text came from ("model", "cache", "in-flight"), when the contender says."""
    model_ms: float | None = None
    """The model's own time for this answer (llama.cpp's timings, or the server's log)."""
    overhead_ms: float | None = None
    """Latency minus the editor's debounce, the contender's deliberate wait and the model time:
    what serving the answer cost beyond the model (see `bench` for each contender)."""
    server_overhead_ms: float | None = None
    """The part of the overhead spent inside the server process, where its log tells."""
    prompt_tokens: int | None = None
    reused_tokens: int | None = None
    """Prompt tokens that were already in the KV cache (evaluated = prompt - reused)."""
    asked_ms: float | None = None
    """Last key to the editor's request: its debounce, longer where a contender that blocks
    the editor (the naive path) held it past the debounce."""

    @property
    def after_request_ms(self) -> float | None:
        """Latency from the editor's request on: what the contender took, the editor's wait
        left out."""
        if self.latency_ms is None or self.asked_ms is None:
            return None
        return self.latency_ms - self.asked_ms

    @property
    def evaluated_tokens(self) -> int | None:
        if self.prompt_tokens is None or self.reused_tokens is None:
            return None
        return self.prompt_tokens - self.reused_tokens


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
    gated: int | None = None
    """Requests answered at once, without the model, because the gate judged them hopeless
    (None where the contender has no gate or did not say)."""
    joined_unshown: int = 0
    """Requests answered with nothing from a generation already running (the predictor hid
    it): no model run of their own, and no suggestion whose log line says so."""
    model_runs: tuple[tuple[int, int], ...] | None = None
    """(prompt, reused) tokens of every model run, where the contender reports its runs apart
    from its answers (Ghostwright's log); None: the outcomes' token counts are the runs."""


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


async def sleep_until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - time.perf_counter()))


@dataclass
class LiveRequest:
    """A request as the editor tracks it while it is open."""

    msg_id: str
    version: int
    last_key_s: float
    sent_s: float
    prefix: str
    """The text before the cursor when the request was made."""
    answered_s: float | None = None
    text: str = ""
    cancelled: bool = False
    error: str | None = None
    shown: bool = False
    suggestion_id: str | None = None
    accept_command: Any = None
    """What the editor runs when the person accepts (an LSP command), if anything."""
    completed: bool = False
    """The contender finished its answer (not cut short by a cancellation)."""
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def asked_ms(self) -> float:
        """Last key to the request: the editor's debounce (`RequestOutcome.asked_ms`)."""
        return (self.sent_s - self.last_key_s) * 1000.0


class LiveEditor(ABC):
    """One document in the simulated editor while the person writes a trace's region.

    Subclasses connect it to a contender: `opened`, `changed`, `closed` tell it about the
    document, `fetch` asks for a completion and fills in the request, `cancel` tells it the
    editor gave up on a request, `accepted` that the person took its suggestion.
    """

    def __init__(self, trace: Trace, speed: float) -> None:
        self.trace = trace
        self.speed = speed
        self.before = trace.region.document[: trace.region.offset]
        """The text before the cursor, as the editor holds it."""
        self.version = 1
        self.requests: list[LiveRequest] = []
        self.accepts: list[int] = []
        self.unanswered = 0
        """Requests (or accept commands) still unanswered long after the last key."""
        self._tasks: list[asyncio.Task[None]] = []

    # -- what a contender implements ----------------------------------------------------------

    def opened(self) -> None:  # noqa: B027 (a hook: contenders without documents skip it)
        """The document was opened with `trace.region.document`."""

    def changed(self, before: str, delete: int, insert: str) -> None:  # noqa: B027
        """`delete` characters before the cursor were removed, then `insert` typed there;
        `before` is the text before the cursor until then."""

    def closed(self) -> None:  # noqa: B027
        """The person is done with the document."""

    @abstractmethod
    async def fetch(self, request: LiveRequest) -> None:
        """Ask for a completion at the cursor (`request.prefix`) and fill in `request.text`,
        `error`, `completed` and whatever else the contender tells."""

    def cancel(self, request: LiveRequest) -> None:
        """The editor gave up on an open request because a key came."""
        if request.task is not None:
            request.task.cancel()

    def accepted(self, request: LiveRequest, text: str) -> None:  # noqa: B027
        """The person accepted `text` from `request`'s suggestion."""

    # -- the person at the keyboard ------------------------------------------------------------

    async def write_region(self) -> None:
        """Type the region key by key, asking after each pause, accepting what fits.

        After the last key the person stops: the editor's last request is waited for.
        """
        region = self.trace.region
        self.opened()
        cursor = TraceCursor(self.trace)
        last_key = time.perf_counter()
        while (key := cursor.peek()) is not None:
            due = last_key + key.gap_s / self.speed
            fire = last_key + DEBOUNCE_S / self.speed
            if fire < due:
                await sleep_until(fire)
                self._ask(last_key)
            await sleep_until(due)
            accepted = self._acceptable(cursor)
            if accepted:
                self._accept(accepted)
                cursor.accept(len(accepted))
            else:
                typed = cursor.advance()
                self._change(typed.delete, typed.insert)
            self._cancel_open_request()
            last_key = time.perf_counter()
        await sleep_until(last_key + DEBOUNCE_S / self.speed)
        self._ask(last_key)
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=SHUTDOWN_TIMEOUT_S)
            for request in self.requests:
                if request.task in late:
                    request.cancelled = True  # the editor gave up on it
            for task in late:
                task.cancel()
            if late:
                self.unanswered = len(late)
                log.warning(
                    "%d requests unanswered %.0f s after the last key",
                    len(late),
                    SHUTDOWN_TIMEOUT_S,
                )
        if self.before != region.document[: region.offset] + region.text:
            raise BenchError(f"the editor lost track of the text of {region.path}")
        self.closed()

    def _acceptable(self, cursor: TraceCursor) -> str:
        latest = self.requests[-1] if self.requests else None
        if latest is None or not latest.shown or latest.version != self.version:
            return ""
        return accepted_part(latest.text, cursor.remaining) if cursor.clean else ""

    def _change(self, delete: int, insert: str) -> None:
        before = self.before
        self.before = (before[: len(before) - delete] if delete else before) + insert
        self.version += 1
        self.changed(before, delete, insert)

    def _accept(self, text: str) -> None:
        request = self.requests[-1]
        self._change(0, text)
        self.accepts.append(len(text))
        self.accepted(request, text)

    def track(self, task: asyncio.Task[None]) -> None:
        """Wait for `task` (an accept command, say) before the document is closed."""
        self._tasks.append(task)

    def _ask(self, last_key: float) -> None:
        request = LiveRequest(
            msg_id=uuid.uuid4().hex,
            version=self.version,
            last_key_s=last_key,
            sent_s=time.perf_counter(),
            prefix=self.before,
        )
        self.requests.append(request)
        request.task = asyncio.create_task(self._answer(request))
        self._tasks.append(request.task)

    async def _answer(self, request: LiveRequest) -> None:
        try:
            await self.fetch(request)
        finally:
            request.answered_s = time.perf_counter()
            request.shown = (
                bool(request.text) and not request.cancelled and request.version == self.version
            )

    def _cancel_open_request(self) -> None:
        """Cancel the request still waiting for its answer; it can only be the latest one."""
        latest = self.requests[-1] if self.requests else None
        if latest is not None and latest.answered_s is None and not latest.cancelled:
            latest.cancelled = True
            self.cancel(latest)
