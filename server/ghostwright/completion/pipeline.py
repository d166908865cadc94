"""The completion pipeline: from a cursor in a document to a suggestion worth showing.

Steps, top to bottom: decide whether and how much to complete at this spot, build the prompt,
generate with stop conditions that end the suggestion where a person would, clean the text
up, and score it. Everything here is plain data in, plain data out; the LSP layer converts.
"""

from __future__ import annotations

import math
import re
import threading
import time
import uuid
from dataclasses import dataclass

from ghostwright.engine.base import Engine
from ghostwright.prompt import build_prompt
from ghostwright.settings import Settings

# Mid-line completion only when what follows the cursor on its line is closing brackets,
# quotes and punctuation (Copilot's rule): otherwise the suggestion would fight the text.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# How far back to look for the indentation of the block an empty cursor line is in.
_LOOKBACK_CHARS = 1 << 16
_CLOSERS_ONLY = re.compile(r"""[\s)\]}>"'`;:,.]*""")


@dataclass(frozen=True)
class CompletionRequest:
    """A snapshot of what the editor asked: the document text and the cursor offset in it."""

    uri: str
    version: int
    language_id: str
    text: str
    offset: int


@dataclass(frozen=True)
class Suggestion:
    """A suggestion to insert at the cursor, with what it cost."""

    id: str
    text: str
    score: float
    """Placeholder confidence (geometric-mean token probability) until the predictor scores."""
    mode: str
    prompt_tokens: int
    reused_tokens: int
    evaluated_tokens: int
    model_ms: float
    total_ms: float
    stop_reason: str


@dataclass(frozen=True)
class Plan:
    """How to complete at this cursor."""

    max_lines: int
    line_prefix: str
    """The cursor line up to the cursor."""
    line_rest: str
    """The cursor line after the cursor."""
    block_indent: int
    """Indentation of the block the cursor is in: a later line indented less ends the suggestion."""

    def scope_indent(self, first_line: str) -> int:
        """The dedent limit, once the first line (cursor line + generated start) is known.

        A suggestion that itself starts further left (a new top-level `def` typed at column 0)
        sets a lower limit.
        """
        full_line = self.line_prefix + first_line
        if not full_line.strip():
            return self.block_indent
        return min(self.block_indent, indentation(full_line))


def indentation(line: str) -> int:
    """Width of a line's leading whitespace, tabs counted as 4."""
    stripped = line.lstrip(" \t")
    return len(line[: len(line) - len(stripped)].expandtabs(4))


def _block_indent(prefix: str, line_prefix: str) -> int:
    """The cursor line's indentation (an editor's auto-indent counts); on an empty line, that
    of the last non-blank line above."""
    if line_prefix:
        return indentation(line_prefix)
    above = prefix[max(0, len(prefix) - _LOOKBACK_CHARS) :]
    for line in reversed(_LINE_BREAK.split(above)):
        if line.strip():
            return indentation(line)
    return 0


def _last_line(text: str) -> str:
    """The text after the last line break (CRLF, CR or LF)."""
    return text[max(text.rfind("\n"), text.rfind("\r")) + 1 :]


def plan_completion(prefix: str, suffix: str, max_lines: int) -> Plan | None:
    """Single- or multi-line, or None when the spot should not be completed."""
    line_end = _LINE_BREAK.search(suffix)
    line_rest = suffix[: line_end.start()] if line_end else suffix
    if not _CLOSERS_ONLY.fullmatch(line_rest):
        return None
    line_prefix = _last_line(prefix)
    lines = max_lines if line_rest.strip() == "" else 1
    return Plan(lines, line_prefix, line_rest, _block_indent(prefix, line_prefix))


def _bracket_balance(text: str) -> int:
    """Opening minus closing brackets: negative when the line closes more than it opens."""
    return sum(text.count(c) for c in "([{") - sum(text.count(c) for c in ")]}")


def _scope_lines(lines: list[str], plan: Plan) -> list[str]:
    """The leading lines that stay within the line limit and the cursor's block."""
    limit = plan.scope_indent(lines[0])
    kept = [lines[0]]
    for line in lines[1 : plan.max_lines]:
        if line.strip() and indentation(line) < limit:
            break
        kept.append(line)
    return kept


class StopCheck:
    """Ends generation at the line limit or when a finished line leaves the cursor's block."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan

    def __call__(self, text: str) -> bool:
        finished = text.split("\n")[:-1]
        if not finished:
            return False
        return len(finished) >= self._plan.max_lines or len(
            _scope_lines(finished, self._plan)
        ) < len(finished)


def postprocess(text: str, plan: Plan) -> str:
    """Cut the raw generation down to what should be shown."""
    kept = _scope_lines(text.replace("\r\n", "\n").split("\n"), plan)
    while len(kept) > 1 and not kept[-1].strip():
        kept.pop()
    result = "\n".join(kept).rstrip()
    rest = plan.line_rest.strip()
    overclosed = _bracket_balance(plan.line_prefix + result + plan.line_rest) < 0
    if rest and overclosed and "\n" not in result and result.endswith(rest):
        result = result[: -len(rest)].rstrip()
    if not result.strip():
        return ""
    return result


def _confidence(logprobs: tuple[float, ...]) -> float:
    if not logprobs:
        return 0.0
    return math.exp(sum(logprobs) / len(logprobs))


class CompletionPipeline:
    """Turns a request into a suggestion with one engine and the current settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def complete(
        self, engine: Engine, request: CompletionRequest, cancelled: threading.Event
    ) -> Suggestion | None:
        started = time.perf_counter()
        prefix, suffix = request.text[: request.offset], request.text[request.offset :]
        plan = plan_completion(prefix, suffix, self.settings.max_lines)
        if plan is None:
            return None
        budget = engine.n_ctx - self.settings.max_tokens - 8
        max_prefix = max(16, min(self.settings.prefix_tokens, budget * 3 // 4))
        max_suffix = min(self.settings.suffix_tokens, budget - max_prefix)
        prompt = build_prompt(
            prefix,
            suffix,
            tokenize=engine.tokenize,
            fim=engine.fim,
            bos=engine.prompt_bos(),
            max_prefix_tokens=max_prefix,
            max_suffix_tokens=max_suffix,
        )
        if not prompt.tokens:
            return None
        generation = engine.generate(
            prompt.tokens,
            heal_index=prompt.heal_index,
            max_tokens=self.settings.max_tokens,
            should_stop=StopCheck(plan),
            cancelled=cancelled,
        )
        if generation.stop_reason == "cancelled":
            return None
        text = postprocess(generation.text, plan)
        if not text:
            return None
        return Suggestion(
            id=uuid.uuid4().hex,
            text=text,
            score=_confidence(generation.token_logprobs),
            mode=prompt.mode,
            prompt_tokens=generation.prompt_tokens,
            reused_tokens=generation.reused_tokens,
            evaluated_tokens=generation.evaluated_tokens,
            model_ms=generation.model_ms,
            total_ms=(time.perf_counter() - started) * 1000.0,
            stop_reason=generation.stop_reason,
        )
