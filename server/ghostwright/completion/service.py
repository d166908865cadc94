"""The asynchronous half of the completion pipeline, on the server's event loop.

For each request, in order: answer from the cache when the person typed into a suggestion they
were shown (typing-through, no model call); else join a generation that is still running for
this document when what was typed since matches what it produced so far (answered with its
complete lines as soon as they reach past what was typed); else wait out the person's own
typing rhythm (adaptive debounce) and run the model half (`CompletionPipeline`) on the model
thread. The newest request of a document wins: an older one still waiting or
generating is cancelled within one token and answered empty. A document change cancels the
running generation too, unless the change typed through it.

After answering with a suggestion, the model speculates (llama.vim): it computes the suggestion
at the cursor the person would have if they accepted this one, while they read it. Accepting
is then answered from that generation or the cache; any other change cancels it.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ghostwright.completion.cache import SuggestionCache, cache_key
from ghostwright.completion.pipeline import CompletionPipeline, CompletionRequest, Suggestion
from ghostwright.completion.suggest import Suggester
from ghostwright.context.recent import RecentChunks
from ghostwright.documents import Document, Documents
from ghostwright.engine.manager import ModelManager
from ghostwright.events import (
    Events,
    GenerationEvent,
    JoinedEmptyEvent,
    ParseCheckEvent,
    WarmUpEvent,
)
from ghostwright.predictor.decide import Decision, Judge
from ghostwright.settings import Settings
from ghostwright.syntax import SyntaxTree

log = logging.getLogger(__name__)

# Keystroke gaps longer than this are pauses, not typing rhythm.
_MAX_GAP_S = 1.5
# The debounce never waits longer than this after the last keystroke.
_MAX_DEBOUNCE_S = 0.25
WARM_UP_DELAY_S = 0.3
"""A document opened this long ago without a request has its prompt evaluated ahead."""


HiddenCallback = Callable[[CompletionRequest, Decision, Suggestion | None], None]
"""(request, the decision, the suggestion or None when the gate skipped the request)."""


class TypingRhythm:
    """One document's recent keystroke gaps, to wait about one gap before asking the model.

    Tabby's adaptive debounce: a person who types every 120 ms and has not typed for 120 ms has
    probably paused; asking earlier mostly computes suggestions that the next key makes stale.
    """

    def __init__(self) -> None:
        self._gaps: deque[float] = deque(maxlen=16)
        self._last: float | None = None

    def keystroke(self, now: float) -> None:
        if self._last is not None and now - self._last < _MAX_GAP_S:
            self._gaps.append(now - self._last)
        self._last = now

    def wait(self, now: float) -> float:
        """Seconds still to wait before generating, 0 when the pause is already long enough."""
        if self._last is None or len(self._gaps) < 3:
            return 0.0
        typical = min(statistics.median(self._gaps), _MAX_DEBOUNCE_S)
        return max(0.0, typical - (now - self._last))


@dataclass
class _Flight:
    """A request on its way through the model, as seen by later requests and edits."""

    request: CompletionRequest
    cancelled: threading.Event = field(default_factory=threading.Event)
    generating: bool = False
    partial: str = ""
    """The raw text generated so far (written by the model thread)."""
    typed: str = ""
    """What the person typed at the cursor since the request (written by the event loop)."""
    result: asyncio.Future[list[Suggestion]] | None = None
    """The model thread's raw candidates, set when the generation starts."""
    answer: asyncio.Future[list[Suggestion]] | None = None
    """The suggestions the service answers with once it is done: checked against the parse
    tree and judged by the predictor (`_generate`'s task)."""
    detached: bool = False
    """Its request was cancelled but the generation carries on (into the cache)."""
    lines: Suggestion | None = None
    """The suggestion the complete lines generated so far make (written by the model thread)."""
    _more_lines: asyncio.Future[None] | None = None

    def more_lines(self) -> asyncio.Future[None]:
        """Resolved when the next line is complete (event loop only)."""
        if self._more_lines is None or self._more_lines.done():
            self._more_lines = asyncio.get_running_loop().create_future()
        return self._more_lines

    def lines_arrived(self) -> None:
        """Wake whoever waits for `more_lines` (event loop only)."""
        if self._more_lines is not None and not self._more_lines.done():
            self._more_lines.set_result(None)

    def typed_since(self, text: str) -> str | None:
        """What was typed at this flight's cursor to turn its text into `text`, if only that."""
        prefix, suffix = self.request.prefix, self.request.suffix
        typed_length = len(text) - len(prefix) - len(suffix)
        if typed_length < 0 or not (text.startswith(prefix) and text.endswith(suffix)):
            return None
        return text[len(prefix) : len(prefix) + typed_length]

    def agrees_with(self, typed: str) -> bool:
        partial = self.partial
        return partial.startswith(typed) or typed.startswith(partial)

    @property
    def speculative(self) -> bool:
        return self.request.origin is not None

    def heading_here(self, text: str) -> bool:
        """A speculation whose origin is `text` but for part of the assumed suggestion typed
        at its cursor: the person types their way to where the speculation assumed them."""
        origin, assumed = self.request.origin, self.request.text
        if origin is None:
            return False
        end = len(text) - (len(assumed) - self.request.offset)
        return (
            origin <= end < self.request.offset
            and text.startswith(assumed[:end])
            and text.endswith(self.request.suffix)
        )


@dataclass
class ServiceStats:
    """Counters for the log and `ghostwright doctor`-style reports."""

    requests: int = 0
    cache_hits: int = 0
    joined_in_flight: int = 0
    model_runs: int = 0
    superseded: int = 0
    carried_on: int = 0
    """Generations that went on after the editor cancelled their request."""
    gated: int = 0
    """Requests the pre-generation gate skipped."""
    filtered: int = 0
    """Suggestions the post-generation filter hid."""
    refined: int = 0
    """Suggestions cut or dropped by the parse check."""
    speculations: int = 0
    """Generations started as if the person accepted the suggestion just answered."""
    warmed_tokens: int = 0
    """Prompt tokens evaluated ahead of requests (warm-ups of newly opened documents)."""


class CompletionService:
    """Owns the cache, the running generations, and the typing rhythm of each document."""

    def __init__(
        self,
        models: ModelManager,
        settings: Settings,
        documents: Documents,
        events: Events | None = None,
    ) -> None:
        self._models = models
        self.events = events or Events()
        """Where generations, warm-ups and parse-check cuts are told (`ghostwright.events`)."""
        self._documents = documents
        self.pipeline = CompletionPipeline(settings)
        self.cache = SuggestionCache()
        self.recent = RecentChunks()
        self.stats = ServiceStats()
        self._flights: dict[str, _Flight] = {}
        self._rhythms: dict[str, TypingRhythm] = {}
        self._working_in: str | None = None
        self._speculated: str | None = None
        """The cache key of the last speculation's cursor: typing through the suggestion it
        followed answers from the cache again and again, and must not start it again."""
        self.judge: Judge | None = None
        """The acceptance predictor's thresholds and features; None shows everything."""
        self.on_hidden: HiddenCallback | None = None
        """Told about each request or suggestion the predictor holds back (for the log)."""
        self._warm_up: threading.Event | None = None
        """Cancels the pending or running warm-up: any request does."""

    @property
    def suggester(self) -> Suggester:
        """The steps of a suggestion with the current settings and predictor."""
        return Suggester(self.pipeline, self.judge)

    def configure(self, settings: Settings) -> None:
        self.pipeline = CompletionPipeline(settings)
        self.cache.clear()

    # -- document events --------------------------------------------------------------------
    def document_opened(self, document: Document) -> None:
        self.recent.remember(document.uri, document.text, 0)
        self._schedule_warm_up(document.uri)

    # -- warming the KV cache ---------------------------------------------------------------
    def _schedule_warm_up(
        self, uri: str, offset: int | None = None, delay_s: float = WARM_UP_DELAY_S
    ) -> None:
        """Evaluate the full-window prompt of a request at `offset` (None: the end of the
        document) while the person reads, so that their next request evaluates little more
        than its suffix (llama.vim's warm-up): after a document is opened (for a document that
        fits the prefix window, every cursor's prompt starts with the same tokens), and after
        an answer from the cold window. A request (or a later warm-up) cancels it."""
        self.stop_warm_up()
        cancelled = self._warm_up = threading.Event()
        asyncio.get_running_loop().call_later(delay_s, self._warm, uri, offset, cancelled)

    def stop_warm_up(self) -> None:
        """Stop the warm-up running or scheduled (within a chunk): a request wants the model."""
        if self._warm_up is not None:
            self._warm_up.set()
            self._warm_up = None

    def _warm(self, uri: str, offset: int | None, cancelled: threading.Event) -> None:
        engine = self._models.engine
        if cancelled.is_set() or engine is None or self._models.completion_engine is not engine:
            return
        if uri not in self._documents or self._flights:
            return
        # The person is in this document now: the recent-edit ring (context from other files)
        # is updated as their first request would update it, so its prompt starts the same.
        self._switch_to(uri)
        document = self._documents.get(uri)
        at = len(document.text) if offset is None else min(offset, len(document.text))
        request = self._with_context(
            CompletionRequest(uri, document.version, document.language_id, document.text, at)
        )
        tokens = self.pipeline.warm_up_tokens(engine, request)

        def work() -> tuple[int, float]:
            started = time.perf_counter()
            return engine.warm(tokens, cancelled), _ms_since(started)

        def done(future: asyncio.Future[tuple[int, float]]) -> None:
            if future.cancelled() or future.exception() is not None:
                return
            evaluated, took_ms = future.result()
            self.stats.warmed_tokens += evaluated
            self.events.emit(
                WarmUpEvent(uri, len(tokens), evaluated, took_ms, stopped=cancelled.is_set())
            )

        asyncio.ensure_future(self._models.run(work)).add_done_callback(done)

    def document_changed(self, document: Document) -> None:
        """Keep a running generation only when the change typed through what it produced."""
        uri, text = document.uri, document.text
        self._rhythms.setdefault(uri, TypingRhythm()).keystroke(time.monotonic())
        self._switch_to(uri)
        flight = self._flights.get(uri)
        if flight is None or flight.heading_here(text):
            return
        typed = flight.typed_since(text) if flight.generating else None
        if typed is None or not flight.agrees_with(typed):
            self._cancel(uri)
        else:
            flight.typed = typed

    def document_closed(self, uri: str) -> None:
        self._cancel(uri)
        self._rhythms.pop(uri, None)

    def _switch_to(self, uri: str) -> None:
        """When the person moves to another document, remember where they worked before."""
        previous, self._working_in = self._working_in, uri
        if previous is None or previous == uri or previous not in self._documents:
            return
        left = self._documents.get(previous)
        self.recent.remember(previous, left.text, left.last_edit)

    def _cancel(self, uri: str) -> None:
        flight = self._flights.pop(uri, None)
        if flight is not None:
            flight.cancelled.set()

    def _stop_speculating(self) -> None:
        """A request the editor made comes first: cancel the speculations of other documents."""
        for uri, flight in list(self._flights.items()):
            if flight.speculative:
                self._cancel(uri)

    # -- requests ---------------------------------------------------------------------------
    async def complete(
        self, request: CompletionRequest, *, invoked: bool = False
    ) -> list[Suggestion]:
        """Suggestions to show at the request's cursor, best first ([] for none); after an
        automatic one, the speculation of the next (`speculate` setting)."""
        found = await self._answer(request, invoked)
        if found and found[0].window == "cold":
            # The KV cache holds the small window now: the full one is evaluated once the
            # person pauses (not between keystrokes: the next request would answer from the
            # small window again and overwrite what the warm-up did), instead of a speculation
            # (which would evaluate it right away).
            self._schedule_warm_up(request.uri, request.offset, _MAX_GAP_S)
        elif found and not invoked and self.pipeline.settings.speculate:
            # Timers due now run after the callbacks already queued, among them pygls's
            # sending of this answer: the editor is not kept waiting by the speculation.
            asyncio.get_running_loop().call_later(0.0, self._speculate, request, found[0])
        return found

    async def _answer(self, request: CompletionRequest, invoked: bool) -> list[Suggestion]:
        started = time.perf_counter()
        self.stats.requests += 1
        self.stop_warm_up()
        self._switch_to(request.uri)
        if not invoked:
            hit = self.cache.lookup(request.prefix, request.suffix)
            if hit is not None:
                self.stats.cache_hits += 1
                suggestion, typed = hit
                return [suggestion.remainder(typed, _ms_since(started), "cache")]
            joined = await self._join_running(request, started)
            if joined is not None:
                return joined
        self._cancel(request.uri)
        if not invoked and not self._gate_passes(request):
            return []
        self._stop_speculating()
        flight = _Flight(self._with_context(request))
        self._flights[request.uri] = flight
        generation: asyncio.Future[list[Suggestion]] | None = None
        try:
            waited = 0.0
            if not invoked:
                waited = self._rhythm(request.uri).wait(time.monotonic())
                await asyncio.sleep(waited)
            if flight.cancelled.is_set():
                self.stats.superseded += 1
                return []
            generation = self._launch(flight, invoked, started)
            found = await asyncio.shield(generation)
            return [replace(s, waited_ms=waited * 1000.0) for s in found]
        except asyncio.CancelledError:
            if generation is not None and not generation.done() and not invoked:
                # The editor gave up on this request because the person typed on. The model
                # goes on while the typing agrees with what it writes (`document_changed`
                # stops it otherwise): the next request joins it or finds it in the cache.
                self.stats.carried_on += 1
                generation.add_done_callback(lambda done: self._retire(request.uri, flight, done))
                generation = None
                flight.detached = True
            raise
        finally:
            if not flight.detached:
                self._retire(request.uri, flight, generation)

    async def settled(self) -> None:
        """Return once no generation of this service is under way: every flight's answer is
        done (checked, judged, in the cache), the speculations those answers start included.
        For tests and measurements that need a quiet model; the editor never waits for it."""
        while True:
            await asyncio.sleep(0)  # what is due now (a speculation after an answer) starts
            running = [
                flight.answer
                for flight in self._flights.values()
                if flight.answer is not None and not flight.answer.done()
            ]
            if not running:
                return
            await asyncio.wait(running)

    def _retire(
        self, uri: str, flight: _Flight, generation: asyncio.Future[list[Suggestion]] | None
    ) -> None:
        flight.cancelled.set()
        if self._flights.get(uri) is flight:
            del self._flights[uri]
        if generation is not None and generation.done() and not generation.cancelled():
            error = generation.exception()
            if error is not None:
                log.warning("a generation carried on after its request failed: %s", error)

    def _speculate(self, request: CompletionRequest, shown: Suggestion) -> None:
        """Start generating at the cursor after `shown`, as if the person accepted it.

        Only while the document is still as the request saw it and nothing else runs for it
        (a generation still running goes on into the cache), and not where the cache already
        answers. The speculation is a detached flight: the request after an accept joins it
        (`_join_running`) or finds its result in the cache.
        """
        if request.uri in self._flights or not self._is_current(request):
            return
        ahead = request.prefix + shown.text
        key = cache_key(ahead, request.suffix)
        if key == self._speculated or self.cache.lookup(ahead, request.suffix) is not None:
            return
        self._speculated = key
        assumed = replace(
            self._with_context(request),
            version=None,  # no parse tree of the document fits this text
            text=ahead + request.suffix,
            offset=len(ahead),
            origin=request.offset,
        )
        flight = _Flight(assumed, detached=True)
        self._flights[request.uri] = flight
        self.stats.speculations += 1
        generation = self._launch(flight, False, time.perf_counter())
        generation.add_done_callback(lambda done: self._retire(request.uri, flight, done))

    def _is_current(self, request: CompletionRequest) -> bool:
        """The request's document is open and still at the request's version."""
        if request.uri not in self._documents:
            return False
        return self._documents.get(request.uri).version == request.version

    def _current_tree(self, request: CompletionRequest) -> SyntaxTree | None:
        """The document's tree if it still is at the request's version."""
        return self._documents.get(request.uri).tree if self._is_current(request) else None

    def _with_context(self, request: CompletionRequest) -> CompletionRequest:
        tree = self._current_tree(request)
        if tree is None:  # a speculation's text: no tree, no context
            return request
        others = [(doc.uri, doc.tree) for doc in self._documents.all() if doc.uri != request.uri]
        return self.suggester.with_context(request, tree, others, self.recent)

    def _rhythm(self, uri: str) -> TypingRhythm:
        return self._rhythms.setdefault(uri, TypingRhythm())

    async def _join_running(
        self, request: CompletionRequest, started: float
    ) -> list[Suggestion] | None:
        """Answer from a running generation that the person is typing along with.

        The answer is the generation's complete lines as soon as they reach past what was typed
        and the predictor would show them: the person is typing now, and the rest of a
        multi-line generation goes on into the cache for their next request. Until then, or
        when the lines are not worth showing, the answer waits for the finished generation, and
        is what its own request is answered with: nothing where the predictor hides it. None
        where nothing runs that the person is typing along with, or they typed past all of it.
        """
        flight = self._flights.get(request.uri)
        if flight is None or flight.result is None or flight.answer is None:
            return None
        typed = flight.typed_since(request.text)
        if typed is None or not flight.agrees_with(typed):
            return None
        result, answer = flight.result, flight.answer
        while not result.done():
            lines = self._shown_lines(flight, typed)
            if lines is not None:
                self.stats.joined_in_flight += 1
                return [lines.remainder(typed, _ms_since(started), "in-flight")]
            await asyncio.wait((result, flight.more_lines()), return_when=asyncio.FIRST_COMPLETED)
        generated = result.result()
        if not generated or not _reaches_past(generated[0], typed):
            return None  # the person typed past all of it: a new generation from here
        # What the finished generation's own request is answered with: checked against the
        # parse tree and judged, so what the predictor hides is hidden from a joiner too.
        shown = await asyncio.shield(answer)
        self.stats.joined_in_flight += 1
        if not shown or not _reaches_past(shown[0], typed):
            self.events.emit(JoinedEmptyEvent(generated[0].id, request.uri))
            return []
        return [shown[0].remainder(typed, _ms_since(started), "in-flight")]

    def _shown_lines(self, flight: _Flight, typed: str) -> Suggestion | None:
        """The running generation's complete lines, if they reach past `typed` and are shown."""
        lines = flight.lines
        if lines is None or not _reaches_past(lines, typed):
            return None
        refined = self._refined(flight.request, lines)
        if refined is None or not _reaches_past(refined, typed):
            return None
        shown = self._judged(flight.request, [refined], invoked=False, report=False)
        return shown[0] if shown else None

    def _launch(
        self, flight: _Flight, invoked: bool, started: float
    ) -> asyncio.Future[list[Suggestion]]:
        """Start the flight's generation; its answer is what requests that join it wait for."""
        flight.answer = asyncio.ensure_future(self._generate(flight, invoked, started))
        return flight.answer

    async def _generate(self, flight: _Flight, invoked: bool, started: float) -> list[Suggestion]:
        engine = self._models.completion_engine
        if engine is None:
            return []
        request, suggester = flight.request, self.suggester

        def observe(text: str) -> None:
            """Model thread: stop within one token once the text parts from what was typed."""
            flight.partial = text
            typed = flight.typed
            if not (text.startswith(typed) or typed.startswith(text)):
                flight.cancelled.set()

        loop = asyncio.get_running_loop()

        def lines_done(lines: Suggestion) -> None:
            """Model thread: a line is complete; wake the requests that joined."""
            flight.lines = lines
            loop.call_soon_threadsafe(flight.lines_arrived)

        def work() -> list[Suggestion]:
            return suggester.generate(
                engine,
                request,
                flight.cancelled,
                invoked=invoked,
                on_text=observe,
                on_lines=None if invoked else lines_done,
            )

        flight.generating = True
        flight.result = asyncio.ensure_future(self._models.run(work))
        self.stats.model_runs += 1
        found = await asyncio.shield(flight.result)
        if flight.cancelled.is_set() and self._flights.get(request.uri) is not flight:
            self.stats.superseded += 1
        for generated in found[:1]:
            # Every answer the model computed, whether its request is still waiting or was
            # cancelled and the generation carried on into the cache.
            self.events.emit(
                GenerationEvent(
                    id=generated.id,
                    uri=request.uri,
                    prompt_tokens=generated.prompt_tokens,
                    reused_tokens=generated.reused_tokens,
                    generated_tokens=generated.generated_tokens,
                    model_ms=generated.model_ms,
                    stop_reason=generated.stop_reason,
                )
            )
        refined = [s for s in (self._refined(request, s) for s in found) if s is not None]
        # What a speculation's predictor hides was never asked for: no "hidden" event.
        shown = self._judged(request, refined, invoked, report=not flight.speculative)
        for suggestion in shown[:1]:
            self.cache.store(request.prefix, request.suffix, suggestion)
        total = _ms_since(started)
        return [replace(s, total_ms=total) for s in shown]

    def _gate_passes(self, request: CompletionRequest) -> bool:
        """Step 8's gate, run before the model: the predictor's pre-generation score."""
        decision = self.suggester.gate(request, self._current_tree(request))
        if decision is None or decision.show:
            return True
        self.stats.gated += 1
        if self.on_hidden is not None:
            self.on_hidden(request, decision, None)
        return False

    def _judged(
        self,
        request: CompletionRequest,
        found: list[Suggestion],
        invoked: bool,
        *,
        report: bool = True,
    ) -> list[Suggestion]:
        """Step 8: the suggestions the predictor shows, best first; those it hides counted
        and told to `on_hidden` when `report` (not for lines of a running generation, whose
        finished suggestion is judged and reported in its turn)."""
        shown, hidden = self.suggester.judged(request, self._current_tree(request), found, invoked)
        if report:
            self.stats.filtered += len(hidden)
            for held in hidden:
                if self.on_hidden is not None:
                    self.on_hidden(request, held.decision, held.suggestion)
        return shown

    def _refined(self, request: CompletionRequest, suggestion: Suggestion) -> Suggestion | None:
        """Step 7's parse check, against the document's tree while it is at the request's
        version (a speculation's text has no tree: unchecked)."""
        checked = self.suggester.checked(request, self._current_tree(request), suggestion)
        if checked is not None and checked.text == suggestion.text:
            return checked
        self.stats.refined += 1
        kept = len(checked.text) if checked is not None else 0
        self.events.emit(ParseCheckEvent(request.uri, len(suggestion.text), kept))
        return checked


def _reaches_past(suggestion: Suggestion, typed: str) -> bool:
    """The suggestion goes on from what was typed since its request: something is left to show."""
    return suggestion.text.startswith(typed) and suggestion.text != typed


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
