"""The same line-level change on the sibling lines of the same shape.

The person changed a few characters of one line (`elif` -> `if` after a `raise`, `# noqa` ->
`# noqa: F401`, `timeout=5` -> `timeout=30`); lines near it, at the same indentation, where the same
characters stand in the same surroundings (the token before and the token after the change, or
the line's indentation where the change starts the line), get the same change. Only small
changes within one line, only lines within `SIBLING_LINES`, at most `MAX_PLACES` of them; a
changed name is left to rename propagation (`self.x` -> `self._x` at one use is not a pattern:
the other uses may mean another attribute).
"""

from __future__ import annotations

import keyword
import re

from ghostwright.edits.history import Hunk
from ghostwright.repair.verify import TextChange

MAX_CHANGE_CHARS = 40
SIBLING_LINES = 30
MAX_PLACES = 8
MIN_ANCHOR = 3
"""Characters of the tokens around the change (away from a line's start) that must match."""
_TOKEN_BEFORE = re.compile(r"(\w+[^\w\s]*|[^\w\s]+)$")
"""A word with the punctuation after it (`timeout=`), or punctuation alone."""
_TOKEN_AFTER = re.compile(r"^(\w+|[^\w\s]+)")


def _edits_a_name(text: str, hunk: Hunk) -> bool:
    """Whether the hunk changed an identifier (keywords and numbers are not names): the word
    its old or its new text is part of, grown over the neighbours it touches."""

    def word(content: str, other: str, left: str, right: str) -> str:
        # Grown where the change is a word character (an empty side: where the other side is).
        edge = content or other
        grow_left, grow_right = _is_word(edge[0]), _is_word(edge[-1])
        if grow_left:
            left = re.search(r"\w*$", left).group(0)  # type: ignore[union-attr]
        if grow_right:
            right = re.match(r"\w*", right).group(0)  # type: ignore[union-attr]
        return (left if grow_left else "") + content + (right if grow_right else "")

    line_start = text.rfind("\n", 0, hunk.start) + 1
    line_end = text.find("\n", hunk.end)
    left = text[line_start : hunk.start]
    right = text[hunk.end : len(text) if line_end < 0 else line_end]
    return any(
        candidate.isidentifier() and not keyword.iskeyword(candidate)
        for candidate in (
            word(hunk.old, hunk.new, left, right),
            word(hunk.new, hunk.old, left, right),
        )
    )


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def repeat_changes(text: str, hunk: Hunk) -> list[TextChange] | None:
    """The hunk's change applied to the sibling lines where it fits; None without any."""
    if "\n" in hunk.old or "\n" in hunk.new or len(hunk.old) + len(hunk.new) > MAX_CHANGE_CHARS:
        return None
    if _edits_a_name(text, hunk):
        return None  # a name changed: a rename (`rename`) or another variable, not a pattern
    line_start = text.rfind("\n", 0, hunk.start) + 1
    line_end = text.find("\n", hunk.end)
    line_end = len(text) if line_end < 0 else line_end
    before = text[line_start : hunk.start]
    after = text[hunk.end : line_end].rstrip("\r")
    indent = re.match(r"[ \t]*", before)
    assert indent is not None
    at_line_start = before == indent.group(0)
    token_before = _TOKEN_BEFORE.search(before)
    token_after = _TOKEN_AFTER.search(after)
    left = "" if at_line_start or token_before is None else token_before.group(0)
    right = "" if token_after is None else token_after.group(0)
    if (at_line_start and not right) or (not at_line_start and len(left + right) < MIN_ANCHOR):
        return None  # too little around it to tell the same place (`.`, `(` alone)
    if not hunk.old and not (left and (right or not after)):
        return None  # an insertion needs both sides (or the line's end) to say where
    # Whole tokens: `.x` must not match `.xs`, nor `if` match `elif`'s tail.
    left_bound = r"(?<!\w)" if left[:1].isalnum() or left[:1] == "_" else ""
    right_bound = r"(?!\w)" if right[-1:].isalnum() or right[-1:] == "_" else ""
    pattern = (
        (rf"^{re.escape(indent.group(0))}" if at_line_start else left_bound + re.escape(left))
        + f"({re.escape(hunk.old)})"
        + (re.escape(right) + right_bound if right else r"[ \t\r]*$")
    )
    matcher = re.compile(pattern)
    cursor_line = text.count("\n", 0, hunk.start)
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    changes = []
    margin = indent.group(0)
    first, stop = (
        max(0, cursor_line - SIBLING_LINES),
        min(len(lines), cursor_line + SIBLING_LINES + 1),
    )
    for row in range(first, stop):
        line = lines[row]
        if row == cursor_line or not line.startswith(margin) or line[len(margin) :][:1] in " \t":
            continue  # the changed line itself, or another indentation: another shape
        match = matcher.search(line)
        if match is None:
            continue
        start = offsets[row] + match.start(1)
        changes.append(TextChange(start, start + len(hunk.old), hunk.new))
        if len(changes) > MAX_PLACES:
            return None  # everywhere: not a sibling's change
    return changes or None
