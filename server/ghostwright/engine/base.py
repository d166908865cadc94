"""The interface every backend implements, and what one generation returns."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ghostwright.prompt import FimTokens, TextPrompt

StopCondition = Callable[[str], bool]
"""Called with the text generated so far after each token; True ends generation."""


TextCallback = Callable[[str, Sequence[float], Sequence[float]], None]
"""Told after each generated token: the text so far, and the log-probabilities and entropies of
the tokens so far (the engine's own growing lists: read them at once, never keep or change them;
entropies are empty where the backend does not report them)."""


def common_prefix(cached: Sequence[int], prompt: Sequence[int]) -> int:
    """How many leading tokens two token lists share (a KV cache and a prompt)."""
    shared = 0
    for kept, wanted in zip(cached, prompt, strict=False):
        if kept != wanted:
            break
        shared += 1
    return shared


REWRITE_LOOKAHEAD = 10
"""Draft tokens a model step checks when the model rewrites code it was shown (a next edit's
window, a repair's unit): most of it is copied, so the copied lines come a batch at a time."""
DRAFT_NGRAM = 3
"""The longest run of last tokens a draft is looked up by."""


def lookup_draft(history: Sequence[int], limit: int, ngram: int = DRAFT_NGRAM) -> list[int]:
    """Prompt lookup decoding's draft: the tokens that followed the latest earlier occurrence
    of the last `ngram` tokens of `history` (prompt and text so far), trying shorter runs down
    to one token when a longer one does not occur; at most `limit`, [] when none occurs.

    A model rewriting code copies most of it from its prompt (a next edit's window, a repair's
    unit), so a draft is often right for many tokens in a row. The engine evaluates the draft
    with the next token in one batch and keeps the drafted tokens as long as they are what it
    would have chosen anyway: the text is the same as without a draft, and on a CPU a batch of
    ten tokens costs little more than one (the weights are read once).
    """
    if limit <= 0:
        return []
    for size in range(min(ngram, len(history) - 1), 0, -1):
        tail = list(history[-size:])
        for start in range(len(history) - size - 1, -1, -1):
            if history[start] == tail[0] and list(history[start : start + size]) == tail:
                return list(history[start + size : start + size + limit])
    return []


class StopRule:
    """When a backend's generation loop ends early: the caller's stop condition after any new
    text, or the time budget, spent and checked only at a line break so that suggestions end on
    line boundaries (llama.vim's `t_max_predict_ms`). The budget is for generation: it starts at
    `start()`, after the prompt is evaluated."""

    def __init__(self, should_stop: StopCondition, time_budget_ms: float | None) -> None:
        self._should_stop = should_stop
        self._budget_s = time_budget_ms / 1000.0 if time_budget_ms is not None else None
        self._deadline: float | None = None

    def start(self) -> None:
        """Start the budget's clock (once; later calls keep the first start)."""
        if self._deadline is None and self._budget_s is not None:
            self._deadline = time.perf_counter() + self._budget_s

    def reason(self, text: str, fresh: str) -> str | None:
        """Why to stop now that `fresh` ended the text at `text` ("stop_condition" or
        "time_budget"), or None to go on."""
        if self._should_stop(text):
            return "stop_condition"
        if self._deadline is not None and "\n" in fresh and time.perf_counter() > self._deadline:
            return "time_budget"
        return None


@dataclass(frozen=True)
class Generation:
    """What one generation produced and what it cost."""

    text: str
    token_logprobs: tuple[float, ...]
    token_entropies: tuple[float, ...]
    prompt_tokens: int
    reused_tokens: int
    evaluated_tokens: int
    model_ms: float
    stop_reason: str
    """One of: eos, max_tokens, stop_condition, time_budget, cancelled, context_full, or error
    (an HTTP backend's request failed: reported by the backend, the text is empty)."""
    shifted_tokens: int = 0
    """Of the reused tokens, those moved to a new position in the KV cache (chunk reuse)."""
    generated_tokens: int = 0
    """Tokens the model generated, the ones a stop cut off included (not the end token)."""
    drafted_tokens: int = 0
    """Of the generated tokens, those a draft had evaluated ahead (`lookahead`)."""


class Engine(Protocol):
    """A loaded model that turns a token prompt into text."""

    fim: FimTokens | None
    n_ctx: int

    def prompt_bos(self) -> int | None:
        """The token every prompt must start with, if the model wants one."""

    def tokenize(self, text: str) -> list[int]:
        """Tokens of plain text (special-token markup is not interpreted)."""

    def cached_tokens(self, prompt: Sequence[int]) -> int:
        """How many leading tokens of `prompt` the KV cache holds already: what a generation
        from it would not evaluate again (0 for a model that keeps no cache)."""

    def prompt_seconds(self, tokens: int) -> float | None:
        """About how long evaluating `tokens` prompt tokens takes (an estimate that does not
        depend on timing, so that the same request is always planned the same way); None where
        prompts are cheap enough not to matter (a GPU) or it is unknown."""

    def chat_prompt(
        self, messages: Sequence[tuple[str, str]], reply_start: str
    ) -> list[int] | None:
        """Tokens of (role, content) messages in the model's chat template, the assistant's
        reply begun with `reply_start`; None when the model has no chat template."""

    def warm(self, tokens: Sequence[int], cancelled: threading.Event) -> int:
        """Evaluate `tokens` into the KV cache a chunk at a time, stopping between chunks once
        `cancelled` is set; returns the tokens evaluated (0 for a model that keeps no cache)."""

    def generate(
        self,
        prompt: Sequence[int],
        *,
        heal_index: int | None = None,
        max_tokens: int,
        should_stop: StopCondition,
        cancelled: threading.Event,
        time_budget_ms: float | None = None,
        branch: int = 0,
        on_text: TextCallback | None = None,
        temperature: float = 0.0,
        seed: int = 0,
        lookahead: int = 0,
    ) -> Generation:
        """Generate after `prompt` until EOS, `max_tokens`, `should_stop`, or cancellation.

        `heal_index` names a prompt token to remove and regenerate (token healing); the text it
        stood for is not part of the result. `time_budget_ms` ends generation at the first line
        break after the budget; `branch` = k takes the k-th best first token (an alternative
        candidate); `on_text` is told the text and token statistics so far after each token;
        `temperature` > 0 samples tokens (reproducibly for a `seed`) instead of taking the most
        likely. `lookahead` > 0 lets a greedy generation check up to that many tokens of a
        `lookup_draft` at once (the same text, fewer model steps); backends without it ignore it.
        """


@runtime_checkable
class TextEngine(Protocol):
    """A model behind an inference server (the HTTP backends): it takes a text prompt, since the
    server holds the tokenizer and, for /infill and Ollama, the FIM format.

    Log-probabilities are in the `Generation` where the server reports them; otherwise (and
    entropies always: servers report only the top few tokens) they are empty, which the
    predictor's features read as missing, not as zero confidence.
    """

    @property
    def description(self) -> str:
        """What serves the suggestions, for the log and the status line (backend, URL, model)."""

    @property
    def mode(self) -> str:
        """Either "fim" (the server sees the text after the cursor) or "prefix"."""

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
        """Stream a completion at the prompt's cursor until the server stops, `max_tokens`,
        `should_stop`, the time budget (at a line break), or cancellation, each of which closes
        the stream. `branch` = k > 0 asks for a sampled alternative (seed k)."""
