"""What the person changed recently: per document, `didChange` edits coalesced into hunks.

A rename typed letter by letter arrives as a dozen edits; what a proposal needs is one hunk:
"`result` became `total` here". Edits that touch the latest hunk within `COALESCE_S` of it
are merged into it; any other edit starts a new hunk. Hunks are kept in the coordinates of the
current text (later edits shift them), at most `MAX_HUNKS` per document, and dropped when the
document closes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from ghostwright.documents import Edit

COALESCE_S = 3.0
"""Edits touching the latest hunk within this many seconds of its last change join it."""
MAX_HUNKS = 16
"""Hunks kept per document (the oldest go first)."""
MAX_HUNK_CHARS = 64 * 1024
"""A change larger than this (a whole-file replace, a paste of a module) is no edit to follow:
the document's history starts afresh after it."""


@dataclass(frozen=True)
class Hunk:
    """`old` became `new` at `start` (an offset in the current text), last touched at `time`."""

    start: int
    old: str
    new: str
    time: float

    @property
    def end(self) -> int:
        return self.start + len(self.new)

    def touches(self, start: int, end: int) -> bool:
        """Whether the current-text range [start, end] overlaps or adjoins this hunk."""
        return start <= self.end and end >= self.start

    def merged(self, edit: Edit, now: float) -> Hunk:
        """This hunk after `edit` (which touches it): one hunk from the original text to the
        text after both."""
        edit_end = edit.start + edit.removed
        start = min(edit.start, self.start)
        left = edit.deleted[: max(0, self.start - edit.start)]
        right = edit.deleted[max(0, self.end - edit.start) :] if edit_end > self.end else ""
        current = left + self.new + right
        after = current[: edit.start - start] + edit.inserted + current[edit_end - start :]
        return Hunk(start, left + self.old + right, after, now)


@dataclass
class DocumentHistory:
    """One document's hunks, oldest first."""

    hunks: list[Hunk] = field(default_factory=list)
    changed_at: float = 0.0
    """When the document last changed (the clock of `EditHistory.record`)."""

    def record(self, edit: Edit, now: float) -> None:
        if edit.removed + len(edit.inserted) > MAX_HUNK_CHARS:
            self.hunks.clear()
            self.changed_at = now
            return
        edit_end = edit.start + edit.removed
        shift = len(edit.inserted) - edit.removed
        target = None
        latest = self.hunks[-1] if self.hunks else None
        if latest is not None and latest.touches(edit.start, edit_end):
            target = len(self.hunks) - 1 if now - latest.time <= COALESCE_S else None
        kept: list[Hunk] = []
        merged = None
        for index, hunk in enumerate(self.hunks):
            if index == target:
                merged = hunk.merged(edit, now)
            elif hunk.end <= edit.start:
                kept.append(hunk)
            elif hunk.start >= edit_end:
                kept.append(replace(hunk, start=hunk.start + shift))
            # An older hunk the edit overwrote (not the one it joined) no longer describes text.
        if merged is None:
            merged = Hunk(edit.start, edit.deleted, edit.inserted, now)
        if merged.old != merged.new and len(merged.old) + len(merged.new) <= MAX_HUNK_CHARS:
            kept.append(merged)
        self.hunks = kept[-MAX_HUNKS:]
        self.changed_at = now


@dataclass
class EditHistory:
    """The open documents' histories, by URI."""

    _documents: dict[str, DocumentHistory] = field(default_factory=dict)

    def record(self, uri: str, edits: Iterable[Edit], now: float) -> None:
        """Fold one didChange's edits (each in the text before it, in order) into the history."""
        history = self._documents.setdefault(uri, DocumentHistory())
        for edit in edits:
            history.record(edit, now)

    def hunks(self, uri: str) -> list[Hunk]:
        """The document's hunks, oldest first (a copy)."""
        history = self._documents.get(uri)
        return list(history.hunks) if history is not None else []

    def changed_at(self, uri: str) -> float | None:
        history = self._documents.get(uri)
        return history.changed_at if history is not None else None

    def forget(self, uri: str) -> None:
        self._documents.pop(uri, None)
