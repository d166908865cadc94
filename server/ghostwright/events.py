"""Typed events: what the server did, as data, for whoever listens.

The completion service emits one record per finished generation, warm-up and parse-check cut,
and per request that joined a generation and got nothing to show; the language server one per
answered request and per repaired problem.
Subscribers read the records themselves: the log formats them for people (`describe`), a JSON
Lines trace file keeps them for other programs (the `eventsFile` setting; `ghostwright bench`
reads the server's trace), tests subscribe in process. No program reads another's log text.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar, TypeAlias

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationEvent:
    """The model finished a generation: its request still waiting, or cancelled with the
    generation carried on into the cache. What the model computed, the first candidate's."""

    kind: ClassVar[str] = "generation"
    id: str
    uri: str
    prompt_tokens: int
    reused_tokens: int
    generated_tokens: int
    model_ms: float
    stop_reason: str

    def describe(self) -> str:
        return (
            f"generation {self.id}: {self.prompt_tokens} prompt tokens ({self.reused_tokens} "
            f"reused), {self.generated_tokens} tokens generated, model {self.model_ms:.1f} ms, "
            f"stop {self.stop_reason}"
        )


@dataclass(frozen=True)
class AnswerEvent:
    """A request answered with a suggestion: the first (best) one the editor shows."""

    kind: ClassVar[str] = "answer"
    id: str
    uri: str
    chars: int
    prompt_tokens: int
    reused_tokens: int
    shifted_tokens: int
    model_ms: float
    total_ms: float
    """From the request's arrival to the answer, `waited_ms` included."""
    waited_ms: float
    source: str
    """"model", "cache" (typing-through included) or "in-flight" (a running generation)."""
    mode: str
    window: str

    def describe(self) -> str:
        return (
            f"suggestion {self.id}: {self.chars} chars, {self.prompt_tokens} prompt tokens "
            f"({self.reused_tokens} reused, {self.shifted_tokens} shifted), model "
            f"{self.model_ms:.1f} ms, total {self.total_ms:.1f} ms, waited {self.waited_ms:.1f} "
            f"ms, source {self.source}, mode {self.mode}, window {self.window}"
        )


@dataclass(frozen=True)
class JoinedEmptyEvent:
    """A request joined a running generation whose answer had nothing to show it: answered
    (empty) without a model run of its own."""

    kind: ClassVar[str] = "joined-empty"
    generation_id: str
    uri: str

    def describe(self) -> str:
        return f"request joined generation {self.generation_id}: nothing to show"


@dataclass(frozen=True)
class WarmUpEvent:
    """A document's prompt was evaluated ahead of its requests (after it was opened, or after
    an answer from the cold window), or a request stopped that part way."""

    kind: ClassVar[str] = "warm-up"
    uri: str
    prompt_tokens: int
    """The tokens warmed: the prompt up to the cursor."""
    evaluated_tokens: int
    """Of them, those the model evaluated (the rest were in the KV cache already)."""
    took_ms: float
    stopped: bool
    """A request came first and stopped it after `evaluated_tokens`."""

    def describe(self) -> str:
        if self.stopped:
            return (
                f"warm-up of {self.uri}: stopped by a request after {self.evaluated_tokens} tokens"
            )
        return (
            f"warm-up of {self.uri}: {self.prompt_tokens} prompt tokens in the KV cache "
            f"({self.evaluated_tokens} evaluated) in {self.took_ms:.0f} ms"
        )


@dataclass(frozen=True)
class ParseCheckEvent:
    """The parse check cut a suggestion at the end of its unit, or dropped it (it broke the
    document's parse)."""

    kind: ClassVar[str] = "parse-check"
    uri: str
    chars: int
    kept_chars: int
    """0: dropped."""

    def describe(self) -> str:
        if not self.kept_chars:
            return f"parse check: dropped a suggestion of {self.chars} chars (it breaks the parse)"
        return f"parse check: cut a suggestion of {self.chars} chars to {self.kept_chars}"


@dataclass(frozen=True)
class RepairEvent:
    """A code action asked for the fix of one problem: what was tried and what came of it."""

    kind: ClassVar[str] = "repair"
    uri: str
    message: str
    """The problem's message (the diagnostic's)."""
    origin: str | None
    """"deterministic" or "model" for a verified fix; None without one."""
    failure: str
    """Why there is no fix (empty with one)."""
    total_ms: float
    candidates: int
    model_runs: int

    def describe(self) -> str:
        outcome = self.origin or f"no fix ({self.failure})"
        return (
            f"repair of {self.message!r}: {outcome} in {self.total_ms:.0f} ms "
            f"({self.candidates} candidates, {self.model_runs} model runs)"
        )


@dataclass(frozen=True)
class NextEditEvent:
    """A `ghostwright/nextEdit` request answered: what was proposed (or why nothing was)."""

    kind: ClassVar[str] = "next-edit"
    uri: str
    id: str | None
    """The proposal's id; None when nothing was shown."""
    source: str | None
    """rename, call-arguments, repair or model; None without a proposal."""
    outcome: str
    """`shown`, `hidden` (the predictor scored it low), `none` (no verified proposal) or
    `superseded` (a newer change came first)."""
    places: int
    score: float | None
    refused: tuple[str, ...]
    """Why the candidates before it failed verification."""
    settle_ms: float
    """How long the request waited for the document to be quiet."""
    compute_ms: float
    """From quiet to answer: sources, verification, predictor."""
    model_ms: float = 0.0
    """Of which the model source took (0 when it did not run)."""

    def describe(self) -> str:
        what = f"{self.source} at {self.places} places" if self.source else "nothing"
        refused = f"; refused: {'; '.join(self.refused)}" if self.refused else ""
        model = f" ({self.model_ms:.0f} ms model)" if self.model_ms else ""
        return (
            f"next edit {self.outcome}: {what} in {self.compute_ms:.1f} ms{model} after "
            f"{self.settle_ms:.0f} ms settling{refused}"
        )


Event: TypeAlias = (
    GenerationEvent
    | AnswerEvent
    | JoinedEmptyEvent
    | WarmUpEvent
    | ParseCheckEvent
    | RepairEvent
    | NextEditEvent
)
EVENT_TYPES: dict[str, type[Event]] = {
    kind.kind: kind
    for kind in (
        GenerationEvent,
        AnswerEvent,
        JoinedEmptyEvent,
        WarmUpEvent,
        ParseCheckEvent,
        RepairEvent,
        NextEditEvent,
    )
}
Subscriber = Callable[[Event], None]


class Events:
    """The server's event stream: `emit` hands each record to every subscriber, in order.

    A subscriber that raises is logged and skipped: no listener can fail a request."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    def emit(self, event: Event) -> None:
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                log.exception("an event subscriber failed on %s", event.kind)


def log_event(event: Event) -> None:
    """The subscriber that writes each event to the log, for people."""
    log.info("%s", event.describe())


def to_json(event: Event) -> dict[str, Any]:
    """One trace line's object: the kind, the time, the fields."""
    return {"event": event.kind, "time": round(time.time(), 3), **dataclasses.asdict(event)}


def from_json(record: dict[str, Any]) -> Event | None:
    """The event a trace line holds; None for a kind this version does not know."""
    event_type = EVENT_TYPES.get(str(record.get("event")))
    if event_type is None:
        return None
    names = {field.name for field in dataclasses.fields(event_type)}
    return event_type(**{name: value for name, value in record.items() if name in names})


class TraceFile:
    """A subscriber that appends each event to a JSON Lines file, a line at a time, flushed:
    a reader sees every event emitted before it reads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._stream: IO[str] = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        line = json.dumps(to_json(event), separators=(",", ":"))
        with self._lock:
            if not self._stream.closed:
                self._stream.write(line + "\n")
                self._stream.flush()

    def close(self) -> None:
        with self._lock:
            self._stream.close()


def read_trace(path: Path) -> Iterator[Event]:
    """The events of a trace file, in order (lines it cannot read are skipped)."""
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as stream:
        for line in stream:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and (event := from_json(record)) is not None:
                yield event
