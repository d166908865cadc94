"""Fix candidates from the model, with the diagnostic message in the prompt.

Two prompts, by what the model is:
- a chat model (its GGUF has a chat template, like the default SmolLM2-Instruct): the unit and
  the error message as a request, the reply begun with a code fence; the model answers with the
  corrected unit.
- a base model (no template): the completion task it was trained on: the code before the
  problem line, a comment naming the problem and quoting the broken line, and the model goes on
  with the corrected line and the rest of the unit.

Each answer gives up to two candidates: the corrected broken line alone (the line of the
answer most like it), and the whole rewritten span. The first generation is greedy, the others
sampled; verification picks.
"""

from __future__ import annotations

import difflib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from ghostwright.context.gather import comment_marker
from ghostwright.engine.base import REWRITE_LOOKAHEAD, Engine
from ghostwright.repair.diagnostics import Problem
from ghostwright.repair.fixes import Patch

log = logging.getLogger(__name__)

PROMPT_CONTEXT_CHARS = 3000
"""Most characters of the file before the problem line in a base model's prompt."""
SAMPLE_TEMPERATURE = 0.7
MIN_LINE_SIMILARITY = 0.5
"""How alike a line of the answer and the broken line must be for the line-only candidate."""
_MAX_TOKENS = 384
_FENCE = "```"


@dataclass(frozen=True)
class Unit:
    """The span a model candidate may rewrite, in whole lines."""

    start: int
    """Start of the unit's first line."""
    line_start: int
    """Start of the problem's line."""
    end: int
    """End of the unit's last line (before its line break)."""


def model_patches(
    engine: Engine,
    language_id: str,
    text: str,
    problem: Problem,
    unit: Unit,
    *,
    generations: int,
    feedback: str | None,
    cancelled: threading.Event,
    deadline: float,
    seed: int = 0,
) -> Iterator[Patch]:
    """Candidates from `generations` runs of the model (the first greedy); `feedback` says why
    the previous round's candidates failed verification. No run starts after `deadline`
    (`time.perf_counter()`), and a run ends at the first line break past it."""
    line_end = text.find("\n", unit.line_start)
    line_end = unit.end if line_end < 0 or line_end > unit.end else line_end
    if line_end > unit.line_start and text[line_end - 1] == "\r":
        line_end -= 1
    broken = text[unit.line_start : line_end]
    chat = _chat_tokens(engine, language_id, text, problem, unit, feedback)
    if chat is not None:
        tokens, span_start = chat, unit.start
        lines_wanted = None
    else:
        tokens, span_start = (
            _completion_tokens(engine, language_id, text, problem, unit, broken, feedback),
            unit.line_start,
        )
        lines_wanted = text[unit.line_start : unit.end].count("\n") + 1
    budget = engine.n_ctx - _MAX_TOKENS - 1
    if len(tokens) > budget:
        tokens = tokens[-budget:]
    span = text[span_start : unit.end]
    # An answer is the span again with a few characters changed: about as many tokens.
    max_tokens = min(_MAX_TOKENS, int(len(engine.tokenize(span)) * 1.25) + 16)

    def finished(generated: str) -> bool:
        if lines_wanted is None:
            return _FENCE in generated
        return generated.count("\n") >= lines_wanted

    for index in range(generations):
        remaining_ms = (deadline - time.perf_counter()) * 1000.0
        if cancelled.is_set() or remaining_ms <= 0:
            return
        generation = engine.generate(
            tokens,
            max_tokens=max_tokens,
            should_stop=finished,
            cancelled=cancelled,
            time_budget_ms=remaining_ms,
            temperature=0.0 if index == 0 else SAMPLE_TEMPERATURE,
            seed=seed + index,
            lookahead=REWRITE_LOOKAHEAD,
        )
        log.debug("repair generation %d: %r", index, generation.text[:300])
        answer = generation.text.split(_FENCE, 1)[0] if lines_wanted is None else generation.text
        lines = [line.rstrip("\r") for line in answer.split("\n")]
        if lines_wanted is not None:
            lines = lines[:lines_wanted]
        elif lines and not lines[-1].strip():
            lines.pop()
        if not any(line.strip() for line in lines):
            continue
        fixed_line = _most_like(broken, lines)
        if fixed_line is not None:
            yield Patch(unit.line_start, line_end, fixed_line, "model")
        yield Patch(span_start, unit.end, _line_breaks_like(span, "\n".join(lines)), "model")


def _chat_tokens(
    engine: Engine,
    language_id: str,
    text: str,
    problem: Problem,
    unit: Unit,
    feedback: str | None,
) -> list[int] | None:
    code = text[unit.start : unit.end].replace("\r\n", "\n")
    line = text.count("\n", unit.start, problem.start) + 1
    request = (
        f"Fix this error in the {language_id} code: {problem.message} (line {line}). "
        "Change as little as possible. Reply with the corrected code only.\n"
        f"{_FENCE}{language_id}\n{code}\n{_FENCE}"
    )
    if feedback:
        request += f"\nA previous attempt was wrong: {feedback}."
    return engine.chat_prompt([("user", request)], f"{_FENCE}{language_id}\n")


def _completion_tokens(
    engine: Engine,
    language_id: str,
    text: str,
    problem: Problem,
    unit: Unit,
    broken: str,
    feedback: str | None,
) -> list[int]:
    before = text[: unit.line_start]
    if len(before) > PROMPT_CONTEXT_CHARS:
        cut = before.find("\n", len(before) - PROMPT_CONTEXT_CHARS)
        before = before[cut + 1 :] if cut >= 0 else before[-PROMPT_CONTEXT_CHARS:]
    indent = broken[: len(broken) - len(broken.lstrip())]
    marker = comment_marker(language_id)
    note = f"{indent}{marker} error: {problem.message}; corrected version of: {broken.strip()}\n"
    if feedback:
        note += f"{indent}{marker} (not: {feedback})\n"
    tokens = engine.tokenize(before + note)
    bos = engine.prompt_bos()
    return [bos, *tokens] if bos is not None else tokens


def _most_like(broken: str, lines: list[str]) -> str | None:
    """The answer's line most like the broken one (its corrected version), if any is alike."""
    best, best_ratio = None, MIN_LINE_SIMILARITY
    for line in lines:
        if line == broken:
            continue
        ratio = difflib.SequenceMatcher(None, broken.strip(), line.strip()).ratio()
        if ratio > best_ratio:
            best, best_ratio = line, ratio
    return best


def _line_breaks_like(original: str, rewritten: str) -> str:
    return rewritten.replace("\n", "\r\n") if "\r\n" in original else rewritten
