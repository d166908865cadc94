"""A proposed next edit, and the verification every proposal passes before it is shown.

The checks are repair's (`repair.verify`): the text still parses where it changed, no problem
is new, a model's edit keeps the code it replaces (no comment added, no line of code dropped,
still alike). Two more are a next edit's own: it is an edit, not a rewrite (`MAX_CHANGES`
places, `MAX_CHANGED_CHARS` characters), and it leaves the person's last change alone (a
proposal touching the latest hunk would undo or redo what they just typed).

Checks run on a region, not the whole file: the whole text when it has at most
`WHOLE_CHECK_LINES` lines, else the outermost function holding the edits (Python) or the
top-level statements holding them (checking 20,000 lines with pyflakes costs about a third of
a second, a class of 2,000 lines a tenth; a function, a millisecond).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass

import tree_sitter

from ghostwright.edits.history import Hunk
from ghostwright.repair.diagnostics import Problem, check
from ghostwright.repair.verify import SYNTAX_CODES, TextChange, changed_size, keeps_code
from ghostwright.syntax import SyntaxTree

MAX_CHANGES = 64
MAX_CHANGED_CHARS = 4000
WHOLE_CHECK_LINES = 1000


@dataclass(frozen=True)
class Proposal:
    """Edits of the current text (sorted, not overlapping) and why they are proposed."""

    source: str
    changes: tuple[TextChange, ...]
    label: str

    @property
    def start(self) -> int:
        return self.changes[0].start

    @property
    def end(self) -> int:
        return self.changes[-1].end

    def apply(self, text: str) -> str:
        parts, at = [], 0
        for change in self.changes:
            parts.append(text[at : change.start])
            parts.append(change.text)
            at = change.end
        parts.append(text[at:])
        return "".join(parts)


@dataclass(frozen=True)
class Region:
    """text[start:end]: the part of a document the checks run on, after `prefix` (lines that
    make an indented function a statement of its own: `class _:`)."""

    start: int
    end: int
    prefix: str = ""

    def of(self, text: str) -> str:
        return self.prefix + text[self.start : self.end]

    @property
    def shift(self) -> int:
        """What to add to an offset of the document to get one in `of(text)`."""
        return len(self.prefix) - self.start


def check_region(tree: SyntaxTree, start: int, end: int) -> Region:
    """The whole text of a short document; else, in Python, the outermost function holding
    [start, end] (a method is checked as the body of a `class _:`), or the top-level statements
    around it."""
    text = tree.text
    root = tree.tree
    if root is None or text.count("\n") < WHOLE_CHECK_LINES:
        return Region(0, len(text))
    first_byte, last_byte = tree.byte_at(start), tree.byte_at(end)
    if tree.language_id == "python":
        function = _outermost_function(root.root_node, first_byte, last_byte)
        if function is not None:
            function_start, function_end = tree.offsets_of(function)
            line_start = text.rfind("\n", 0, function_start) + 1
            line_end = text.find("\n", function_end)
            prefix = "class _:\n" if function_start > line_start else ""
            return Region(line_start, len(text) if line_end < 0 else line_end + 1, prefix)
    region_start, region_end = None, None
    for child in root.root_node.children:
        if child.end_byte < first_byte or child.start_byte > last_byte:
            continue
        child_start, child_end = tree.offsets_of(child)
        region_start = child_start if region_start is None else region_start
        region_end = child_end
    if region_start is None or region_end is None:
        return Region(0, len(text))
    line_start = text.rfind("\n", 0, region_start) + 1
    line_end = text.find("\n", region_end)
    return Region(line_start, len(text) if line_end < 0 else line_end + 1)


def _outermost_function(
    root: tree_sitter.Node, first_byte: int, last_byte: int
) -> tree_sitter.Node | None:
    node: tree_sitter.Node | None = root.descendant_for_byte_range(first_byte, first_byte)
    outermost = None
    while node is not None:
        if node.type == "function_definition" and node.end_byte >= last_byte:
            holder = node.parent
            decorated = holder is not None and holder.type == "decorated_definition"
            outermost = holder if decorated else node
        node = node.parent
    return outermost


def verify_proposal(tree: SyntaxTree, proposal: Proposal, last: Hunk | None) -> str | None:
    """None when the proposal may be shown, else why not."""
    changes = proposal.changes
    if not changes:
        return "it changes nothing"
    if any(b.start < a.end for a, b in itertools.pairwise(changes)):
        return "its edits overlap"
    if len(changes) > MAX_CHANGES or changed_size(changes) > MAX_CHANGED_CHARS:
        return "it rewrites too much"
    if last is not None and any(_overlaps(change, last) for change in changes):
        return "it changes what was just typed"
    text = tree.text
    if all(
        not change.text.strip() and not text[change.start : change.end].strip()
        for change in changes
    ):
        return "it changes only blank space"
    if proposal.source == "model":
        # Whole lines: a replaced token alone is never "alike" its replacement.
        lines_start = text.rfind("\n", 0, proposal.start) + 1
        lines_end = text.find("\n", proposal.end)
        removed = text[lines_start : len(text) if lines_end < 0 else lines_end]
        inserted = Proposal(proposal.source, _shifted(changes, -lines_start), "").apply(removed)
        if not keeps_code(tree.language_id, removed, inserted):
            return "it rewrites the code instead of editing it"
    region = check_region(tree, proposal.start, proposal.end)
    before_text = region.of(text)
    local = _shifted(changes, region.shift)
    after_text = Proposal(proposal.source, local, "").apply(before_text)
    before = check(tree.language_id, before_text)
    after = check(tree.language_id, after_text)
    return new_problem(before, after, after_text, local)


def new_problem(
    before: list[Problem], after: list[Problem], after_text: str, changes: tuple[TextChange, ...]
) -> str | None:
    """Why the patched text is worse: a syntax error on a changed line, or a problem that was
    not there before; None when it is not."""
    edited_lines = _edited_lines(after_text, changes)
    for problem in after:
        if problem.code in SYNTAX_CODES and _line_of(after_text, problem.start) in edited_lines:
            return f"it does not parse: {problem.message}"
    expected = Counter(problem.key for problem in before)
    for problem in after:
        expected[problem.key] -= 1
        if expected[problem.key] < 0:
            return f"it adds a problem: {problem.message}"
    return None


def _overlaps(change: TextChange, hunk: Hunk) -> bool:
    if change.start == change.end:
        return hunk.start < change.start < hunk.end
    return change.start < hunk.end and change.end > hunk.start


def _shifted(changes: tuple[TextChange, ...], by: int) -> tuple[TextChange, ...]:
    return tuple(TextChange(c.start + by, c.end + by, c.text) for c in changes)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset)


def _edited_lines(after_text: str, changes: tuple[TextChange, ...]) -> set[int]:
    """The lines of the patched text that the changes wrote."""
    lines: set[int] = set()
    moved = 0
    for change in changes:
        start = change.start + moved
        end = start + len(change.text)
        lines.update(range(_line_of(after_text, start), _line_of(after_text, end) + 1))
        moved += len(change.text) - (change.end - change.start)
    return lines
