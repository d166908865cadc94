"""The one helper the next-edit tests share: the change between two texts, as a hunk."""

from __future__ import annotations

from ghostwright.edits.history import Hunk


def hunk_between(before: str, after: str) -> Hunk:
    """The one span the person changed (common ends trimmed), as the history records it."""
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end = 0
    while (
        end < min(len(before), len(after)) - start
        and before[len(before) - 1 - end] == after[len(after) - 1 - end]
    ):
        end += 1
    return Hunk(start, before[start : len(before) - end], after[start : len(after) - end], 0.0)
