"""Where and how much to complete: the plan for one cursor, and the stop rule it implies."""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# How far back to look for the indentation of the block an empty cursor line is in.
_LOOKBACK_CHARS = 1 << 16
# Mid-line completion only when what follows the cursor on its line is closing brackets,
# quotes and punctuation (Copilot's rule): otherwise the suggestion would fight the text.
_CLOSERS_ONLY = re.compile(r"""[\s)\]}>"'`;:,.]*""")
# A word or one other character: the tokens two lines are compared by for a near echo.
_CODE_TOKEN = re.compile(r"\w+|[^\w\s]")
NEAR_ECHO_TOKENS = 3
"""A later line of a gap fill that starts with the same this-many tokens as the line below
the gap, at its indentation, is that line written again with a variation."""


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
    midline: bool = False
    """Code follows the cursor on its line: only a fill-in-the-middle model, which sees it, is
    asked there, for the one line (`for (|) {`)."""
    lines_below: tuple[str, ...] = ()
    """The next non-blank lines after the cursor's line (up to `LINES_BELOW`, right-stripped,
    indentation kept): a suggestion that reaches one of them has run into code already there."""

    @property
    def inside_block(self) -> bool:
        """Code of the cursor's block follows below: the suggestion fills a gap in the middle."""
        return bool(self.lines_below) and indentation(self.lines_below[0]) >= self.block_indent

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


LINES_BELOW = 3


def _lines_below(suffix: str) -> tuple[str, ...]:
    below = _LINE_BREAK.split(suffix[: 1 << 14])[1:]
    return tuple(line.rstrip() for line in below if line.strip())[:LINES_BELOW]


def _last_line(text: str) -> str:
    """The text after the last line break (CRLF, CR or LF)."""
    return text[max(text.rfind("\n"), text.rfind("\r")) + 1 :]


def plan_completion(
    prefix: str, suffix: str, max_lines: int, *, fill_in_middle: bool = False
) -> Plan | None:
    """Single- or multi-line, or None when the spot should not be completed.

    Where code follows the cursor on its line, a prefix-only model would write over it: no
    completion there, unless the model fills in the middle (`fill_in_middle`), sees that code,
    and can end its fill before it (Copilot's rule for the first case, llama.vim's `/infill`
    for the second)."""
    line_end = _LINE_BREAK.search(suffix)
    line_rest = suffix[: line_end.start()] if line_end else suffix
    line_prefix = _last_line(prefix)
    block = _block_indent(prefix, line_prefix)
    below = _lines_below(suffix)
    if not _CLOSERS_ONLY.fullmatch(line_rest):
        if not fill_in_middle:
            return None
        return Plan(1, line_prefix, line_rest, block, midline=True, lines_below=below)
    lines = max_lines if line_rest.strip() == "" else 1
    if below and indentation(below[0]) > block:
        lines = 1  # the body of the block this line opens is already below: write the header
    return Plan(lines, line_prefix, line_rest, block, lines_below=below)


def scope_lines(lines: list[str], plan: Plan) -> list[str]:
    """The leading lines that stay within the line limit and the cursor's block."""
    limit = plan.scope_indent(lines[0])
    kept = [lines[0]]
    for line in lines[1 : plan.max_lines]:
        if line.strip() and indentation(line) < limit:
            break
        kept.append(line)
    return kept


def gap_lines(lines: list[str], plan: Plan) -> list[str]:
    """The leading lines before the suggestion runs into code below the cursor: a line equal
    to one of the next lines there (it is being written again), or, where the cursor is in the
    middle of a block, a blank line after the first (the gap is filled, the model goes on to
    write more of its own) or a later line that is a near echo of the line below the gap (it
    starts with that line's first `NEAR_ECHO_TOKENS` tokens at its indentation: `for i, x in
    enumerate(pool):` written above `for i, x in zip(range(n), element):`). Small FIM models
    rarely end a middle themselves; they write the code below again, often with a change."""
    for index, line in enumerate(lines):
        written = plan.line_prefix + line if index == 0 else line
        whole = index > 0 or not plan.line_prefix.strip()
        if whole and written.rstrip() in plan.lines_below:
            return lines[:index]
        if (
            index > 0
            and plan.inside_block
            and (not line.strip() or near_echo(line, plan.lines_below[0]))
        ):
            return lines[:index]
    return lines


def near_echo(line: str, below: str) -> bool:
    """Whether `line` starts as `below` does: the same indentation and the same first
    `NEAR_ECHO_TOKENS` tokens (words, other characters one by one)."""
    if indentation(line) != indentation(below):
        return False
    head = _CODE_TOKEN.findall(line)[:NEAR_ECHO_TOKENS]
    return len(head) == NEAR_ECHO_TOKENS and head == _CODE_TOKEN.findall(below)[:NEAR_ECHO_TOKENS]


class StopCheck:
    """Ends generation at the line limit, when a finished line leaves the cursor's block, or
    when it runs into the code below the cursor."""

    def __init__(self, plan: Plan) -> None:
        self._plan = plan

    def __call__(self, text: str) -> bool:
        finished = text.split("\n")[:-1]
        if not finished:
            return False
        if len(finished) >= self._plan.max_lines:
            return True
        kept = gap_lines(scope_lines(finished, self._plan), self._plan)
        return len(kept) < len(finished)
