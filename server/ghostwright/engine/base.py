"""The interface every backend implements, and what one generation returns."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ghostwright.prompt import FimTokens

StopCondition = Callable[[str], bool]
"""Called with the text generated so far after each token; True ends generation."""


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
    """One of: eos, max_tokens, stop_condition, time_budget, cancelled, context_full."""
    shifted_tokens: int = 0
    """Of the reused tokens, those moved to a new position in the KV cache (chunk reuse)."""


class Engine(Protocol):
    """A loaded model that turns a token prompt into text."""

    fim: FimTokens | None
    n_ctx: int

    def prompt_bos(self) -> int | None:
        """The token every prompt must start with, if the model wants one."""

    def tokenize(self, text: str) -> list[int]:
        """Tokens of plain text (special-token markup is not interpreted)."""

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
        on_text: Callable[[str], None] | None = None,
    ) -> Generation:
        """Generate after `prompt` until EOS, `max_tokens`, `should_stop`, or cancellation.

        `heal_index` names a prompt token to remove and regenerate (token healing); the text it
        stood for is not part of the result. `time_budget_ms` ends generation at the first line
        break after the budget; `branch` = k takes the k-th best first token (an alternative
        candidate); `on_text` is called with the text so far after each token.
        """
