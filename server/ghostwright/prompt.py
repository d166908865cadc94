"""Prompts as token lists: fill-in-the-middle where the vocabulary has FIM tokens, else prefix-only.

The FIM token ids come from the model's own vocabulary (llama.cpp's `llama_vocab_fim_*`), never
from a hard-coded template, and the list is built by hand: `create_completion(suffix=...)` in
llama-cpp-python inserts token 0 instead of the FIM tokens. The prefix window starts at a line
boundary so that it does not slide with every keystroke, which keeps the KV cache reusable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Tokenizer = Callable[[str], list[int]]

# Characters of text looked at per token of budget before tokenizing: generous for code.
_CHARS_PER_TOKEN = 8


@dataclass(frozen=True)
class FimTokens:
    """The model's fill-in-the-middle token ids (prefix-suffix-middle order)."""

    prefix: int
    suffix: int
    middle: int
    others: tuple[int, ...] = ()
    """Other FIM control tokens (pad, repo, file separator): generating one ends a suggestion."""

    @property
    def all_ids(self) -> frozenset[int]:
        return frozenset((self.prefix, self.suffix, self.middle, *self.others))


@dataclass(frozen=True)
class Prompt:
    tokens: tuple[int, ...]
    mode: str
    """"fim" or "prefix"."""
    prefix_tokens: int
    suffix_tokens: int
    heal_index: int | None
    """Index of the last token before the cursor, for token healing; None if there is none."""


def _tail_lines(text: str, max_tokens: int, tokenize: Tokenizer) -> list[int]:
    """Tokens of the longest run of whole trailing lines of `text` that fits `max_tokens`.

    The current (last, partial) line is always kept; if it alone is too long, its tail is.
    """
    window = text[-max_tokens * _CHARS_PER_TOKEN :]
    if len(window) < len(text):
        first_break = window.find("\n")
        if first_break != -1:
            window = window[first_break + 1 :]
    tokens = tokenize(window)
    while len(tokens) > max_tokens:
        next_break = window.find("\n")
        if next_break == -1:
            return tokens[-max_tokens:]
        window = window[next_break + 1 :]
        tokens = tokenize(window)
    return tokens


def _head_lines(text: str, max_tokens: int, tokenize: Tokenizer) -> list[int]:
    """Tokens of the longest run of whole leading lines of `text` that fits `max_tokens`."""
    if max_tokens <= 0:
        return []
    window = text[: max_tokens * _CHARS_PER_TOKEN]
    tokens = tokenize(window)
    while len(tokens) > max_tokens:
        last_break = window.rfind("\n", 0, max(len(window) - 1, 0))
        if last_break == -1:
            return tokens[:max_tokens]
        window = window[: last_break + 1]
        tokens = tokenize(window)
    return tokens


def build_prompt(
    prefix: str,
    suffix: str,
    *,
    tokenize: Tokenizer,
    fim: FimTokens | None,
    bos: int | None,
    max_prefix_tokens: int,
    max_suffix_tokens: int,
) -> Prompt:
    """The prompt for a completion at the point between `prefix` and `suffix`.

    FIM (PSM order): [bos] <fim_pre> prefix <fim_suf> suffix <fim_mid>. Prefix-only: [bos] prefix.
    """
    head = [bos] if bos is not None else []
    prefix_ids = _tail_lines(prefix, max_prefix_tokens, tokenize)
    if fim is None:
        tokens = head + prefix_ids
        heal = len(tokens) - 1 if prefix_ids else None
        return Prompt(tuple(tokens), "prefix", len(prefix_ids), 0, heal)
    suffix_ids = _head_lines(suffix, max_suffix_tokens, tokenize)
    tokens = [*head, fim.prefix, *prefix_ids, fim.suffix, *suffix_ids, fim.middle]
    heal = len(head) + len(prefix_ids) if prefix_ids else None
    return Prompt(tuple(tokens), "fim", len(prefix_ids), len(suffix_ids), heal)
