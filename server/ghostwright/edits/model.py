"""Model proposals: the model rewrites the lines after the person's change, having seen the
window before and after it.

The prompt follows Sweep's next-edit format (a Qwen2.5-Coder fine-tune; Zed's
`sweep_prompt.rs`) in Qwen2.5-Coder's own repository markup, which the base model was trained
on: `<|file_sep|>` blocks of the earlier changes as original/updated pairs, then the window as it
was (`original/`), as it is (`current/`), and `updated/`, which the model writes. Writing is the
slow part on a CPU (a token at a time; a prompt is evaluated a batch at a time), so the updated
window is given up to the end of the changed lines and the model writes only what follows:
at most `FORWARD_LINES` lines, and it stops as soon as its lines agree with the current ones
again after a difference (the rest is unchanged), or after `UNCHANGED_LINES` lines that repeat
the current text (there is nothing to propose). Models without that markup (no `<|file_sep|>`
token) propose nothing here; the deterministic sources still run.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ghostwright.edits.history import Hunk
from ghostwright.edits.proposal import Proposal
from ghostwright.engine.base import REWRITE_LOOKAHEAD, Engine
from ghostwright.repair.fixes import Patch
from ghostwright.repair.verify import minimal_changes

LINES_BEFORE = 1
"""Lines of the window above the latest change."""
FORWARD_LINES = 5
"""Most lines after the change the model rewrites (and that the window shows)."""
UNCHANGED_LINES = 2
"""Lines the model may copy unchanged before the search for a difference stops."""
EARLIER_HUNKS = 3
"""Earlier changes shown as diffs."""
MAX_TOKENS = 160
TIME_BUDGET_MS = 4000.0


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset)


def _line_start(text: str, line: int) -> int:
    at = 0
    for _ in range(line):
        found = text.find("\n", at)
        if found < 0:
            return len(text)
        at = found + 1
    return at


def _lines_text(text: str, first: int, stop: int) -> tuple[int, int]:
    """[start, end) offsets of lines first..stop-1 (end after the last one's line break)."""
    start = _line_start(text, first)
    end = start
    for _ in range(stop - first):
        found = text.find("\n", end)
        if found < 0:
            return start, len(text)
        end = found + 1
    return start, end


def _diverges_at(expected: Sequence[str], lines: Sequence[str]) -> int | None:
    """The first line where the model's lines differ from the current ones; None while they
    repeat them."""
    for index, line in enumerate(lines):
        if index >= len(expected) or line != expected[index]:
            return index
    return None


def realign(expected: Sequence[str], lines: Sequence[str]) -> tuple[int, int, int] | None:
    """(first, stop, written_stop) once the model's lines are back in step with the current
    ones after a difference: its lines[first:written_stop] replace expected[first:stop], and
    from lines[written_stop] on it repeats expected[stop:]. Back in step means the same
    non-blank line at the same offset (a line replaced), or two lines in a row at another
    offset (lines inserted or deleted); None before that."""
    first = _diverges_at(expected, lines)
    if first is None:
        return None
    for written_stop in range(first, len(lines)):
        line = lines[written_stop]
        if not line.strip():
            continue
        for stop in range(first, len(expected)):
            if (written_stop, stop) == (first, first) or expected[stop] != line:
                continue
            if written_stop == stop:
                return first, stop, written_stop
            if (
                written_stop + 1 < len(lines)
                and stop + 1 < len(expected)
                and lines[written_stop + 1] == expected[stop + 1]
            ):
                return first, stop, written_stop
    return None


def model_proposal(
    engine: Engine,
    path: str,
    text: str,
    hunks: Sequence[Hunk],
    cancelled: threading.Event,
    *,
    with_history: bool = True,
) -> Proposal | None:
    """The model's edit of the lines after the latest hunk, or None. `with_history` False is
    the naive baseline of `ghostwright eval next-edit`: the window alone, rewritten whole."""
    fim = engine.fim
    if fim is None or fim.file_separator is None or not hunks:
        return None
    separator = fim.file_separator
    last = hunks[-1]
    first_line = max(0, _line_of(text, last.start) - LINES_BEFORE)
    changed_last = _line_of(text, last.end)
    window_start, head_end = _lines_text(text, first_line, changed_last + 1)
    _, window_end = _lines_text(text, first_line, changed_last + 1 + FORWARD_LINES)
    current = text[window_start:window_end]
    head = text[window_start:head_end]
    # Lines compared and written without `\r`; a CRLF window gets its breaks back at the end.
    crlf = "\r\n" in current
    rest = text[head_end:window_end].replace("\r\n", "\n").split("\n")
    name = path.rsplit("/", 1)[-1]

    def block(label: str, body: str) -> list[int]:
        return [separator, *engine.tokenize(f"{label}\n{body}")]

    tokens: list[int] = []
    if fim.repo is not None:
        tokens += [fim.repo, *engine.tokenize("project\n")]
    if with_history:
        for hunk in hunks[-1 - EARLIER_HUNKS : -1]:
            tokens += block(f"{name}.diff", f"original:\n{hunk.old}\nupdated:\n{hunk.new}\n")
        before = text[window_start : last.start] + last.old + text[last.end : window_end]
        tokens += block(f"original/{name}", before)
        tokens += block(f"current/{name}", current)
        tokens += block(f"updated/{name}", head)
        expected = rest
    else:
        tokens += block(f"current/{name}", current)
        tokens += block(f"updated/{name}", "")
        expected = current.replace("\r\n", "\n").split("\n")
    bos = engine.prompt_bos()
    if bos is not None:
        tokens = [bos, *tokens]

    def finished(generated: str) -> bool:
        lines = [line.rstrip("\r") for line in generated.split("\n")[:-1]]
        if "```" in generated or len(lines) >= len(expected) + 2:
            return True
        if _diverges_at(expected, lines) is None:
            return with_history and len(lines) >= UNCHANGED_LINES  # nothing differs so far
        return realign(expected, lines) is not None  # back in step after a difference

    max_tokens = min(MAX_TOKENS, engine.n_ctx - len(tokens) - 1)
    if max_tokens <= 0:
        return None
    # The prompt a chunk at a time: a newer change stops it within a chunk, not after the
    # whole prompt (a generation checks for cancellation at every token).
    engine.warm(tokens, cancelled)
    if cancelled.is_set():
        return None
    generation = engine.generate(
        tokens,
        max_tokens=max_tokens,
        should_stop=finished,
        cancelled=cancelled,
        time_budget_ms=TIME_BUDGET_MS,
        lookahead=REWRITE_LOOKAHEAD,
    )
    if cancelled.is_set() or generation.stop_reason == "cancelled":
        return None
    fenced = "```" in generation.text
    written = [line.rstrip("\r") for line in generation.text.split("```", 1)[0].split("\n")]
    # A line is complete at its line break; at the model's end the last one is too, unless it
    # is the empty rest after a final line break (no line the model wrote).
    ended = generation.stop_reason == "eos" or fenced
    complete = written if ended and written[-1] != "" else written[:-1]
    aligned = realign(expected, complete)
    if aligned is None:
        start = _diverges_at(expected, complete)
        if start is None or not ended or len(complete) > len(expected):
            return None  # nothing differs, or the model stopped before it was back in step
        # It ended its window early: its lines replace as many, the lines after them stay.
        aligned = (start, len(complete), len(complete))
    first, stop, written_stop = aligned
    updated_tail = ("\r\n" if crlf else "\n").join(
        expected[:first] + complete[first:written_stop] + expected[stop:]
    )
    region_start = head_end if with_history else window_start
    patch = Patch(region_start, window_end, updated_tail, "model")
    changes = tuple(minimal_changes(text, patch))
    if not changes:
        return None
    lines = len({_line_of(text, change.start) for change in changes})
    return Proposal("model", changes, f"edit {lines} line{'s' * (lines > 1)} (model)")
