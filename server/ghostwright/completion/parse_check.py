"""The parse check (step 7 of the pipeline): a suggestion is cut at the end of the syntactic
unit it completes, and one that makes the document parse worse falls back to its first line,
else to nothing."""

from __future__ import annotations

import re

from ghostwright.completion.plan import plan_completion
from ghostwright.completion.postprocess import unclosed_brackets
from ghostwright.syntax import SyntaxTree

_OPENER_LINE = re.compile(r":\s*$")


def refine_suggestion(
    tree: SyntaxTree, offset: int, text: str, *, fill_in_middle: bool = False
) -> str:
    """Cut at the end of the syntactic unit, then keep only what does not break the parse.

    A suggestion may end inside an unfinished construct (a block opener, an open bracket),
    which is fine: the check closes it first. One that adds real errors falls back to its first
    line, else to nothing.

    Where the model saw the code after the cursor (`fill_in_middle`) and the cursor is on a
    blank line with code of its block below (`fills_gap`), the suggestion fills a gap that may
    take several statements: it is not cut after the first (the generation's stops already
    ended it before the code below and at the block's end).
    """
    if not tree.has_tree:
        return text
    if not (fill_in_middle and fills_gap(tree.text, offset)):
        end = tree.with_insertion(offset, text).unit_end(offset)
        if end is not None and offset < end < offset + len(text):
            text = text[: end - offset].rstrip()
    baseline = tree.error_count()
    line_start = max(tree.text.rfind("\n", 0, offset), tree.text.rfind("\r", 0, offset)) + 1
    line_prefix = tree.text[line_start:offset]
    for candidate in (text, text.split("\n", 1)[0]):
        if candidate.strip() and _parses_as_well(tree, offset, candidate, line_prefix, baseline):
            return candidate
    return ""


def fills_gap(text: str, offset: int) -> bool:
    """The cursor is on a blank line in the middle of a block: code of the same block follows
    below, so a fill-in-the-middle model is filling a gap (of one statement or several).
    The blank line is checked first: the plan looks far up the text for the block's indent."""
    line_start = max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1
    line_end = min(
        (i for i in (text.find("\n", offset), text.find("\r", offset)) if i >= 0), default=len(text)
    )
    if text[line_start:line_end].strip():
        return False
    plan = plan_completion(text[:offset], text[offset:], 2, fill_in_middle=True)
    return plan is not None and plan.inside_block


def _parses_as_well(
    tree: SyntaxTree, offset: int, candidate: str, line_prefix: str, baseline: int
) -> bool:
    """Whether the document with `candidate` at `offset` has no more parse errors than now:
    as it is (it may finish a pair the editor already closed), or closed by `_closing` (it may
    stop inside a construct the person is still writing)."""
    if tree.errors_with_insertion(offset, candidate) <= baseline:
        return True
    closing = _closing(line_prefix + candidate, tree.language_id)
    return bool(closing) and tree.errors_with_insertion(offset, candidate + closing) <= baseline


def _closing(text: str, language_id: str) -> str:
    """What finishes an unfinished suggestion for the parse check: closing brackets (outside
    string literals), or a body for a Python block opener outside any bracket. `text` starts at
    the beginning of the cursor's line."""
    owed = unclosed_brackets(text)
    last_line = text.rsplit("\n", 1)[-1]
    if owed or language_id != "python" or not _OPENER_LINE.search(last_line):
        return owed
    indent = len(last_line) - len(last_line.lstrip())
    return "\n" + " " * (indent + 4) + "pass"
