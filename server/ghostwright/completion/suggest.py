"""One way to make a suggestion: a document and a cursor in, what the editor gets out.

`Suggester` holds the steps that decide what a suggestion is (the README's "How a suggestion is
made"): context from the parse trees (4), prompt, generation and post-processing (5-7,
`CompletionPipeline`), the parse check (7), and the predictor's gate and filter (8). The
language server's `CompletionService` calls the steps one at a time around its caches,
debounce and cancellation (the generation on the model thread, the rest on the event loop,
where the trees live); `Suggester.suggest` runs the same steps in one go for everyone else:
`ghostwright complete`, the evals and the simulation of the predictor's rows. So what
`ghostwright complete` prints is what the editor gets at the same cursor (a test checks).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from ghostwright.completion.parse_check import refine_suggestion
from ghostwright.completion.pipeline import CompletionPipeline, CompletionRequest, Suggestion
from ghostwright.context.gather import comment_marker, gather_context
from ghostwright.context.recent import RecentChunks
from ghostwright.engine.base import Engine, TextEngine
from ghostwright.predictor.decide import Decision, Judge
from ghostwright.predictor.features import CursorContext
from ghostwright.settings import Settings
from ghostwright.syntax import SyntaxTree


@dataclass(frozen=True)
class Hidden:
    """What the predictor kept from the person: a request before the model ran (the gate,
    `suggestion` None) or a suggestion after (the filter)."""

    decision: Decision
    suggestion: Suggestion | None


@dataclass(frozen=True)
class Answer:
    """The outcome of one request, step by step."""

    shown: tuple[Suggestion, ...]
    """What the editor gets, best first (empty: nothing to show)."""
    checked: tuple[Suggestion, ...]
    """The model's candidates that passed the parse check, before the predictor's filter."""
    hidden: tuple[Hidden, ...]
    """What the predictor hid (a gated request: one entry without a suggestion)."""
    total_ms: float


@dataclass(frozen=True)
class Suggester:
    """The steps of one suggestion with one pipeline (settings) and one judge (predictor and
    history; None: every suggestion is shown)."""

    pipeline: CompletionPipeline
    judge: Judge | None = None

    @property
    def settings(self) -> Settings:
        return self.pipeline.settings

    def with_context(
        self,
        request: CompletionRequest,
        tree: SyntaxTree | None,
        others: Iterable[tuple[str, SyntaxTree]] = (),
        recent: RecentChunks | None = None,
    ) -> CompletionRequest:
        """Step 4: the request with the context its document's tree and the other open
        documents give (unchanged without a tree)."""
        if tree is None:
            return request
        context = gather_context(
            request.uri, tree, request.offset, others, recent or RecentChunks()
        )
        return replace(request, context=context, comment=comment_marker(request.language_id))

    @staticmethod
    def cursor(judge: Judge, request: CompletionRequest, tree: SyntaxTree | None) -> CursorContext:
        """What the predictor's features see at the request's cursor."""
        return judge.cursor(request.language_id, request.text, request.offset, tree)

    def gate(self, request: CompletionRequest, tree: SyntaxTree | None) -> Decision | None:
        """Step 8's gate: the predictor's score before the model runs (context features only); None
        without a predictor."""
        if self.judge is None:
            return None
        return self.judge.gate(self.cursor(self.judge, request, tree))

    def generate(
        self,
        engine: Engine | TextEngine,
        request: CompletionRequest,
        cancelled: threading.Event,
        *,
        invoked: bool = False,
        on_text: Callable[[str], None] | None = None,
        on_lines: Callable[[Suggestion], None] | None = None,
    ) -> list[Suggestion]:
        """Steps 5-7 on the model thread: the cleaned candidates, best first (several for an
        invoked request, the `candidates` setting)."""
        count = self.settings.candidates if invoked else 1
        return self.pipeline.candidates(
            engine,
            request,
            cancelled,
            count=count,
            invoked=invoked,
            on_text=on_text,
            on_lines=on_lines,
        )

    def checked(
        self, request: CompletionRequest, tree: SyntaxTree | None, suggestion: Suggestion
    ) -> Suggestion | None:
        """Step 7's parse check against the document's tree: cut at the end of the unit it
        completes, or dropped when it breaks the parse (unchanged without a tree)."""
        if tree is None:
            return suggestion
        text = refine_suggestion(
            tree, request.offset, suggestion.text, fill_in_middle=suggestion.mode == "fim"
        )
        if text == suggestion.text:
            return suggestion
        return replace(suggestion, text=text) if text else None

    def judged(
        self,
        request: CompletionRequest,
        tree: SyntaxTree | None,
        found: Sequence[Suggestion],
        invoked: bool,
    ) -> tuple[list[Suggestion], list[Hidden]]:
        """Step 8: each suggestion scored by the predictor (its `decision`); those below the
        threshold hidden unless the person asked (`invoked`). The shown ones best first."""
        if self.judge is None:
            return list(found), []
        cursor = self.cursor(self.judge, request, tree)
        shown, hidden = [], []
        for suggestion in found:
            decision = self.judge.judge(
                cursor,
                suggestion.text,
                suggestion.token_logprobs,
                suggestion.token_entropies,
                suggestion.stop_reason,
            )
            scored = replace(suggestion, decision=decision)
            if invoked or decision.show:
                shown.append(scored)
            else:
                hidden.append(Hidden(decision, scored))
        return sorted(shown, key=lambda suggestion: -suggestion.score), hidden

    def suggest(
        self,
        engine: Engine | TextEngine,
        request: CompletionRequest,
        tree: SyntaxTree | None,
        *,
        others: Iterable[tuple[str, SyntaxTree]] = (),
        recent: RecentChunks | None = None,
        invoked: bool = False,
        cancelled: threading.Event | None = None,
    ) -> Answer:
        """Every step for one request, in order, on the calling thread: the gate (automatic
        requests only), context, generation, the parse check and the filter. `tree` is the
        document's parse tree (None: no context from it and no parse check)."""
        started = time.perf_counter()
        if not invoked:
            gate = self.gate(request, tree)
            if gate is not None and not gate.show:
                return Answer((), (), (Hidden(gate, None),), _ms_since(started))
        request = self.with_context(request, tree, others, recent)
        found = self.generate(engine, request, cancelled or threading.Event(), invoked=invoked)
        checked = [c for c in (self.checked(request, tree, s) for s in found) if c is not None]
        shown, hidden = self.judged(request, tree, checked, invoked)
        total = _ms_since(started)
        return Answer(
            tuple(replace(s, total_ms=total) for s in shown), tuple(checked), tuple(hidden), total
        )


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
