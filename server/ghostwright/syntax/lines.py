"""Code-point offsets (what the rest of Ghostwright uses) to tree-sitter's bytes and (row, byte
column) points, kept current edit by edit: `LineIndex`."""

from __future__ import annotations

import bisect
import re

_NEWLINE = re.compile("\n")
_NEWLINE_BYTES = re.compile(b"\n")
UTF8_ERRORS = "surrogatepass"
"""A lone surrogate (JSON allows "\\ud800") must not make an edit fail; it costs 3 bytes like
any other BMP code point, so offsets stay consistent."""


class LineIndex:
    """Where each `\\n`-separated line starts, in code points and in UTF-8 bytes.

    An edit moves every later line. Shifting tens of thousands of list entries per keystroke
    would cost as much as the incremental parse, so later entries are shifted lazily: entries
    from `_stale_from` on are short by `_pending_chars` / `_pending_bytes`, and an edit only
    touches the entries between it and the previous edit. Typing in one place is O(1).
    """

    def __init__(self, text: str, source: bytes) -> None:
        self._chars = [0, *(match.end() for match in _NEWLINE.finditer(text))]
        self._bytes = [0, *(match.end() for match in _NEWLINE_BYTES.finditer(source))]
        self._stale_from = len(self._chars)
        self._pending_chars = 0
        self._pending_bytes = 0

    def copy(self) -> LineIndex:
        twin = LineIndex.__new__(LineIndex)
        twin._chars = list(self._chars)
        twin._bytes = list(self._bytes)
        twin._stale_from = self._stale_from
        twin._pending_chars = self._pending_chars
        twin._pending_bytes = self._pending_bytes
        return twin

    @property
    def line_count(self) -> int:
        return len(self._chars)

    def row_of(self, offset: int) -> int:
        """The row holding code-point `offset` (a line owns its terminating `\\n`)."""
        return self._row_in(self._chars, self._pending_chars, offset)

    def row_of_byte(self, byte: int) -> int:
        return self._row_in(self._bytes, self._pending_bytes, byte)

    def _row_in(self, starts: list[int], pending: int, position: int) -> int:
        # Both parts of the list are sorted, and stale entries plus `pending` continue the
        # exact ones, so one bisect in the right part finds the row.
        stale = self._stale_from
        if stale < len(starts) and position >= starts[stale] + pending:
            return bisect.bisect_right(starts, position - pending, stale) - 1
        return bisect.bisect_right(starts, position, 0, stale) - 1

    def char_start(self, row: int) -> int:
        return self._chars[row] + (self._pending_chars if row >= self._stale_from else 0)

    def byte_start(self, row: int) -> int:
        return self._bytes[row] + (self._pending_bytes if row >= self._stale_from else 0)

    def replace(
        self,
        first_row: int,
        last_row: int,
        new_chars: list[int],
        new_bytes: list[int],
        delta_chars: int,
        delta_bytes: int,
    ) -> None:
        """Lines first_row+1..last_row started inside the replaced text; put `new_*` there.

        Every line after them moves by the deltas of the edit.
        """
        self._settle(last_row + 1)
        self._chars[first_row + 1 : last_row + 1] = new_chars
        self._bytes[first_row + 1 : last_row + 1] = new_bytes
        self._stale_from += len(new_chars) - (last_row - first_row)
        self._shift_from(first_row + 1 + len(new_chars), delta_chars, delta_bytes)

    def _settle(self, stop: int) -> None:
        """Make the entries before `stop` exact."""
        stop = min(stop, len(self._chars))
        self._add(self._stale_from, stop, self._pending_chars, self._pending_bytes)
        self._stale_from = max(self._stale_from, stop)
        if self._stale_from == len(self._chars):
            self._pending_chars = self._pending_bytes = 0

    def _shift_from(self, first: int, delta_chars: int, delta_bytes: int) -> None:
        """Move the entries from `first` on, leaving them stale so the next edit is cheap."""
        if first > self._stale_from:
            self._settle(first)
        else:
            self._add(first, self._stale_from, -self._pending_chars, -self._pending_bytes)
        self._stale_from = min(first, len(self._chars))
        self._pending_chars += delta_chars
        self._pending_bytes += delta_bytes

    def _add(self, first: int, stop: int, chars: int, bytes_: int) -> None:
        if first < stop and (chars or bytes_):
            self._chars[first:stop] = [start + chars for start in self._chars[first:stop]]
            self._bytes[first:stop] = [start + bytes_ for start in self._bytes[first:stop]]
