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


def scope_lines(lines: list[str], plan: Plan) -> list[str]:
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
            scope_lines(finished, self._plan)
        ) < len(finished)
