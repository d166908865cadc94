"""The model half of the completion pipeline: from a request snapshot to cleaned suggestions.

Runs on the model thread. Steps, top to bottom: plan where and how much to complete, build the
prompt (context chunks, prefix, suffix: a token list in the local model's own format, or text
for an inference server, which tokenizes it itself), generate with stops that end the
suggestion where a person would (block, line limit, time budget), clean the text with the
post-processing filters, and score. The asynchronous half (gate, caches, debounce,
cancellation, syntax checks) is `ghostwright.completion.service`.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, TypedDict

from ghostwright.completion.plan import Plan, StopCheck, plan_completion
from ghostwright.completion.postprocess import Surroundings, clean_suggestion, surroundings_of
from ghostwright.engine.base import Engine, Generation, StopCondition, TextCallback, TextEngine
from ghostwright.prompt import ContextChunk, Prompt, build_prompt, build_text_prompt
from ghostwright.settings import Settings

if TYPE_CHECKING:
    from ghostwright.predictor.decide import Decision

# Fewer characters before the cursor than this is too little to go on (Copilot's rule).
MIN_PROMPT_CHARS = 10
COLD_SAVING_S = 0.33
"""A short prompt the KV cache holds less than half of is answered from the cold window when
that saves at least this long of prompt evaluation (`Engine.prompt_seconds`: about 60 tokens of
a 0.5B code model on 2 cores, more than the default model's whole other-file context): context
from other files not yet in the KV cache, which the warm-up adds later."""

Window = Literal["full", "cold"]
"""Which prompt window a suggestion was made from (`Suggestion.window`)."""

Generator = Callable[[int, TextCallback | None], Generation]
"""Generates candidate `branch` (0: the greedy one) from the prompt built for the request."""


class _Stops(TypedDict):
    """The stopping arguments `Engine.generate` and `TextEngine.generate_text` share."""

    max_tokens: int
    should_stop: StopCondition
    cancelled: threading.Event
    time_budget_ms: float | None


@dataclass(frozen=True)
class CompletionRequest:
    """A snapshot of what the editor asked: the document text and the cursor offset in it."""

    uri: str
    version: int | None
    """The document version the text is; None for a text no version has (a speculation's)."""
    language_id: str
    text: str
    offset: int
    context: tuple[ContextChunk, ...] = ()
    """Extra context gathered from the document's tree and other open documents."""
    comment: str = "#"
    """The language's line-comment marker, to label context chunks in the prompt."""
    origin: int | None = None
    """For a speculation: the cursor of the request whose suggestion it assumes accepted (the
    text from there to `offset` is that suggestion). None for a request the editor made."""

    @property
    def prefix(self) -> str:
        return self.text[: self.offset]

    @property
    def suffix(self) -> str:
        return self.text[self.offset :]


@dataclass(frozen=True)
class Suggestion:
    """A suggestion to insert at the cursor, with what it cost."""

    id: str
    text: str
    confidence: float
    """The model's own confidence: the geometric-mean probability of its tokens."""
    mode: str
    """How the prompt was built: "fim" or "prefix"."""
    source: str
    """Where the text came from: "model", "cache" (incl. typing-through) or "in-flight"."""
    prompt_tokens: int
    reused_tokens: int
    evaluated_tokens: int
    model_ms: float
    total_ms: float
    """From the request's arrival to the answer, `waited_ms` included."""
    stop_reason: str
    waited_ms: float = 0.0
    """Time spent on purpose in the adaptive debounce before the model was asked."""
    shifted_tokens: int = 0
    """Of the reused tokens, those moved to new positions in the KV cache (chunk reuse)."""
    generated_tokens: int = 0
    """Tokens the model generated for it (before any cut)."""
    token_logprobs: tuple[float, ...] = ()
    """Log-probability of each generated token (of the whole generation, before any cut)."""
    token_entropies: tuple[float, ...] = ()
    """Entropy of the distribution each token was chosen from."""
    decision: Decision | None = None
    """The acceptance predictor's verdict, with the features it used (None: not judged)."""
    context: tuple[ContextChunk, ...] = ()
    """The context from elsewhere (other files, the recent-edit ring) its prompt was built
    with: text the model saw besides the document, which the suggestion may have copied."""
    window: Window = "full"
    """The prompt window it was made from: "full", or "cold", the smaller window of a request
    that found little of its full window in the KV cache (`cold_prompt_tokens`)."""

    @property
    def score(self) -> float:
        """What ranks it (and what the editor's accept command carries): the acceptance
        predictor's probability once judged (`decision`), the model's `confidence` before."""
        return self.decision.score if self.decision is not None else self.confidence

    def remainder(self, typed: str, total_ms: float, source: str) -> Suggestion:
        """What is left of this suggestion after the person typed its first characters."""
        return replace(
            self,
            id=uuid.uuid4().hex,
            text=self.text[len(typed) :],
            source=source,
            model_ms=0.0,
            waited_ms=0.0,
            prompt_tokens=0,
            reused_tokens=0,
            shifted_tokens=0,
            evaluated_tokens=0,
            generated_tokens=0,
            total_ms=total_ms,
        )


def confidence(logprobs: tuple[float, ...]) -> float:
    """Geometric-mean token probability of a generation."""
    if not logprobs:
        return 0.0
    return math.exp(sum(logprobs) / len(logprobs))


class CompletionPipeline:
    """Turns a request into suggestions with one engine and the current settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def complete(
        self,
        engine: Engine | TextEngine,
        request: CompletionRequest,
        cancelled: threading.Event,
        on_text: Callable[[str], None] | None = None,
    ) -> Suggestion | None:
        """The best suggestion at the cursor, or None when nothing should be shown."""
        found = self.candidates(engine, request, cancelled, count=1, on_text=on_text)
        return found[0] if found else None

    def candidates(
        self,
        engine: Engine | TextEngine,
        request: CompletionRequest,
        cancelled: threading.Event,
        *,
        count: int,
        invoked: bool = False,
        on_text: Callable[[str], None] | None = None,
        on_lines: Callable[[Suggestion], None] | None = None,
    ) -> list[Suggestion]:
        """Up to `count` distinct suggestions, best first.

        The first is the greedy continuation; each further one starts with the next-best first
        token and continues greedily (the prompt is already in the KV cache, so each costs only
        its own tokens), while the answer is still within `time_budget_ms` (the automatic
        budget, also for an invoked request): on a slow model, or after a cold prompt, the
        person gets the first at once instead of three later. Ranked by
        confidence, duplicates dropped. `invoked` (the person asked) gives generation the
        invoked time budget.

        While the first generates, `on_text` sees its raw text after each token, and `on_lines`
        the suggestion its complete lines make so far, cleaned like a finished one, each time a
        line is completed (both on the model thread).
        """
        started = time.perf_counter()
        prefix, suffix = request.prefix, request.suffix
        if len(prefix.strip()) < MIN_PROMPT_CHARS:
            return []
        plan = plan_completion(
            prefix, suffix, self.settings.max_lines, fill_in_middle=engine_fills_middle(engine)
        )
        if plan is None:
            return []
        budget_ms = (
            self.settings.invoked_time_budget_ms if invoked else self.settings.time_budget_ms
        )
        window: Window = "full"
        if isinstance(engine, TextEngine):
            generate, mode = self._text_generator(engine, request, plan, cancelled, budget_ms)
        else:
            found_prompt = self._token_generator(engine, request, plan, cancelled, budget_ms)
            if found_prompt is None:
                return []
            generate, mode, window = found_prompt
        context = request.context if window == "full" else ()
        around = surroundings_of(prefix, plan)
        watch = _Progress(on_text, on_lines, around, mode, started, context, window)
        found: list[Suggestion] = []
        for branch in range(count):
            if branch and (time.perf_counter() - started) * 1000.0 > self.settings.time_budget_ms:
                break
            generation = generate(branch, watch if branch == 0 else None)
            if generation.stop_reason in ("cancelled", "error"):
                break
            text = clean_suggestion(generation.text, around)
            if text and all(text != other.text for other in found):
                found.append(model_suggestion(text, mode, generation, started, context, window))
        return sorted(found, key=lambda suggestion: -suggestion.score)

    def warm_up_tokens(self, engine: Engine, request: CompletionRequest) -> list[int]:
        """The start of the prompt a request at this cursor would send (up to the token before
        the cursor, which healing regenerates): what a warm-up evaluates ahead of it."""
        prompt = self._token_prompt(engine, request, request.prefix)
        return list(prompt.tokens[: max(0, prompt.prefix_end - 1)])

    def _token_prompt(
        self, engine: Engine, request: CompletionRequest, prefix: str, *, cold: bool = False
    ) -> Prompt:
        """The token prompt in the model's own format for the text before the cursor `prefix`
        (the request's own, or a speculation's origin), sized to the model's context; `cold`:
        the cold window instead (`cold_prompt_tokens`: three quarters of it before the cursor,
        a quarter after, no context from elsewhere)."""
        settings = self.settings
        budget = engine.n_ctx - settings.max_tokens - 8
        prefix_tokens, suffix_tokens, context_tokens = (
            settings.prefix_tokens,
            settings.suffix_tokens,
            settings.context_tokens,
        )
        if cold:
            window = settings.cold_prompt_tokens
            prefix_tokens = min(prefix_tokens, window * 3 // 4)
            suffix_tokens = min(suffix_tokens, window - prefix_tokens)
            context_tokens = 0
        max_prefix = max(16, min(prefix_tokens, budget * 3 // 4))
        max_suffix = max(0, min(suffix_tokens, budget - max_prefix))
        max_context = max(0, min(context_tokens, budget - max_prefix - max_suffix))
        return build_prompt(
            prefix,
            request.suffix,
            tokenize=engine.tokenize,
            fim=engine.fim,
            bos=engine.prompt_bos(),
            max_prefix_tokens=max_prefix,
            max_suffix_tokens=max_suffix,
            context=request.context if max_context else (),
            max_context_tokens=max_context,
            comment=request.comment,
            file_name=request.uri.rsplit("/", 1)[-1],
        )

    def _token_generator(
        self,
        engine: Engine,
        request: CompletionRequest,
        plan: Plan,
        cancelled: threading.Event,
        budget_ms: float,
    ) -> tuple[Generator, str, Window] | None:
        """Step 5 for the local model: a token prompt in the model's own FIM format, sized to
        its context, with the window it used ("full" or "cold"); None when there is nothing to
        prompt with."""
        prompt = self._token_prompt(engine, request, request.prefix)
        if not prompt.tokens:
            return None
        window: Window = "full"
        if request.origin is None:
            cold = self._cold_prompt(engine, request, prompt)
            if cold is not None:
                prompt, window = cold, "cold"
        else:
            # A speculation leaves its prompt in the KV cache. Where the suggestion moved the
            # window's start, the next request at the origin (the person did not accept) would
            # evaluate its whole window again: no speculation there.
            origin = self._token_prompt(engine, request, request.text[: request.origin])
            stable = max(0, origin.prefix_end - 1)
            if prompt.tokens[:stable] != origin.tokens[:stable]:
                return None

        def generate(branch: int, on_text: TextCallback | None) -> Generation:
            return engine.generate(
                prompt.tokens,
                heal_index=prompt.heal_index,
                **self._stops(plan, cancelled, budget_ms),
                branch=branch,
                on_text=on_text,
            )

        return generate, prompt.mode, window

    def _cold_prompt(
        self, engine: Engine, request: CompletionRequest, full: Prompt
    ) -> Prompt | None:
        """The cold window's prompt for a cold request, when it costs less than the full one;
        None to use the full one.

        A request is cold when its full prompt would evaluate more than `cold_prompt_tokens`
        tokens, or more than half as many while the KV cache holds less than half of it (a
        document just opened, a jump far away), or, shorter, when the KV cache holds less than
        half of it and the cold window would save `COLD_SAVING_S` of evaluation (context from
        other files not cached yet).
        The person waits for the prompt's evaluation (110 tokens/s for a 0.5B model on 2
        cores): a window of the naive FIM integration's size, without context from other files
        that is not in the KV cache, answers as fast as it does. The service warms the full
        window afterwards, when the person pauses."""
        limit = self.settings.cold_prompt_tokens
        if not limit:
            return None
        cached = engine.cached_tokens(full.tokens)
        cost = len(full.tokens) - cached
        mostly_cached = 2 * cached >= len(full.tokens)
        if cost <= limit and mostly_cached:
            return None
        cold = self._token_prompt(engine, request, request.prefix, cold=True)
        cold_cost = len(cold.tokens) - engine.cached_tokens(cold.tokens)
        if not cold.tokens:
            return None
        if cost > limit or 2 * cost > limit:
            return cold if cold_cost < cost else None
        saving = engine.prompt_seconds(cost - cold_cost)
        return cold if saving is not None and saving >= COLD_SAVING_S else None

    def _text_generator(
        self,
        engine: TextEngine,
        request: CompletionRequest,
        plan: Plan,
        cancelled: threading.Event,
        budget_ms: float,
    ) -> tuple[Generator, str]:
        """Step 5 for an inference server: the same windows as text; the server tokenizes them
        and applies the model's FIM format."""
        settings = self.settings
        prompt = build_text_prompt(
            request.prefix,
            request.suffix,
            max_prefix_tokens=settings.prefix_tokens,
            max_suffix_tokens=settings.suffix_tokens,
            context=request.context,
            max_context_tokens=settings.context_tokens,
            comment=request.comment,
        )

        def generate(branch: int, on_text: TextCallback | None) -> Generation:
            return engine.generate_text(
                prompt, **self._stops(plan, cancelled, budget_ms), branch=branch, on_text=on_text
            )

        return generate, engine.mode

    def _stops(self, plan: Plan, cancelled: threading.Event, budget_ms: float) -> _Stops:
        """Where every backend's generation ends: the plan's stops, the token and time budgets,
        and cancellation."""
        return _Stops(
            max_tokens=self.settings.max_tokens,
            should_stop=StopCheck(plan),
            cancelled=cancelled,
            time_budget_ms=budget_ms,
        )


def engine_fills_middle(engine: Engine | TextEngine) -> bool:
    """Whether the model sees the text after the cursor (a FIM prompt)."""
    if isinstance(engine, TextEngine):
        return engine.mode == "fim"
    return engine.fim is not None


def model_suggestion(
    text: str,
    mode: str,
    generation: Generation,
    started: float,
    context: tuple[ContextChunk, ...] = (),
    window: Window = "full",
) -> Suggestion:
    """The suggestion `text` (the cleaned generation) makes, with the generation's figures and
    the context its prompt held."""
    return Suggestion(
        id=uuid.uuid4().hex,
        text=text,
        confidence=confidence(generation.token_logprobs),
        mode=mode,
        source="model",
        prompt_tokens=generation.prompt_tokens,
        reused_tokens=generation.reused_tokens,
        shifted_tokens=generation.shifted_tokens,
        token_logprobs=generation.token_logprobs,
        token_entropies=generation.token_entropies,
        evaluated_tokens=generation.evaluated_tokens,
        generated_tokens=generation.generated_tokens,
        model_ms=generation.model_ms,
        total_ms=(time.perf_counter() - started) * 1000.0,
        stop_reason=generation.stop_reason,
        context=context,
        window=window,
    )


class _Progress:
    """The engine's callback for the first candidate: passes the raw text on (`on_text`), and
    at each completed line the suggestion of the complete lines so far (`on_lines`), when the
    line changed it (blank lines and lines the filters cut do not).

    That suggestion is cleaned as a finished one is, with the log-probabilities and entropies
    of the tokens so far; its stop reason is "stop_condition": it ends where a line limit would
    have ended the generation.
    """

    def __init__(
        self,
        on_text: Callable[[str], None] | None,
        on_lines: Callable[[Suggestion], None] | None,
        around: Surroundings,
        mode: str,
        started: float,
        context: tuple[ContextChunk, ...],
        window: Window,
    ) -> None:
        self._on_text = on_text
        self._on_lines = on_lines
        self._around = around
        self._mode = mode
        self._started = started
        self._context = context
        self._window = window
        self._lines_end = 0
        self._reported = ""

    def __call__(self, text: str, logprobs: Sequence[float], entropies: Sequence[float]) -> None:
        if self._on_text is not None:
            self._on_text(text)
        if self._on_lines is None:
            return
        lines_end = text.rfind("\n")
        if lines_end <= self._lines_end:
            return
        self._lines_end = lines_end
        cleaned = clean_suggestion(text[:lines_end], self._around)
        if not cleaned or cleaned == self._reported:
            return
        self._reported = cleaned
        so_far = Generation(
            text=text[:lines_end],
            token_logprobs=tuple(logprobs),
            token_entropies=tuple(entropies),
            prompt_tokens=0,
            reused_tokens=0,
            evaluated_tokens=0,
            model_ms=(time.perf_counter() - self._started) * 1000.0,
            stop_reason="stop_condition",
            generated_tokens=len(logprobs),
        )
        self._on_lines(
            model_suggestion(
                cleaned, self._mode, so_far, self._started, self._context, self._window
            )
        )
