"""Open documents: their text, version and language, and LSP positions <-> string offsets.

LSP positions count lines split at `\\n`, `\\r\\n` or `\\r`, and columns in code units of the
negotiated encoding (UTF-16 unless the client offered another). Python strings index code
points, so every conversion goes through this module. Following the LSP specification, a column
past the end of its line means the end of the line; a line past the end of the document is an
error for requests (`PositionError`) and the end of the document for edits.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from lsprotocol import types

from ghostwright.syntax import SyntaxTree

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class PositionError(ValueError):
    """A request named a position outside the document."""


class DocumentNotFoundError(KeyError):
    """A request named a document that is not open."""

    def __str__(self) -> str:
        return f"document {self.args[0]} is not open (send textDocument/didOpen first)"


def _unit_width(char: str, encoding: str) -> int:
    code = ord(char)
    if encoding == UTF16:
        return 2 if code > 0xFFFF else 1
    if encoding == UTF8:
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    return 1


def column_to_index(line: str, column: int, encoding: str) -> int:
    """Code-point index in `line` of an LSP column; past the end means the end of the line.

    A column inside a character (half a surrogate pair) lands before that character.
    """
    if encoding == UTF32:
        return min(max(column, 0), len(line))
    units = 0
    for index, char in enumerate(line):
        width = _unit_width(char, encoding)
        if units + width > column:
            return index
        units += width
    return len(line)


def index_to_column(line: str, index: int, encoding: str) -> int:
    if encoding == UTF32:
        return index
    return sum(_unit_width(char, encoding) for char in line[:index])


@dataclass(frozen=True)
class Edit:
    """One applied change: `removed` code points at `start` replaced by `inserted`."""

    start: int
    removed: int
    inserted: str
    deleted: str = ""
    """The text the change removed (`removed` code points of it)."""


@dataclass
class Document:
    """One open text. `line_starts[i]` is the offset of line i; lines exclude their break."""

    uri: str
    language_id: str
    version: int
    text: str
    encoding: str = UTF16
    line_starts: list[int] = field(default_factory=list)
    tree: SyntaxTree = field(init=False)
    """The tree-sitter tree of the text, updated incrementally with every change."""
    last_edit: int = 0
    """Offset where the latest change ended: where the person is working."""

    def __post_init__(self) -> None:
        self._index_lines()
        self.tree = SyntaxTree(self.language_id, self.text)

    def _index_lines(self) -> None:
        self.line_starts = [0] + [match.end() for match in _LINE_BREAK.finditer(self.text)]

    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def line_text(self, line: int) -> str:
        """The text of a line without its line break."""
        start = self.line_starts[line]
        end = self.line_starts[line + 1] if line + 1 < self.line_count else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def offset_at(self, position: types.Position, *, strict: bool = False) -> int:
        """String offset of an LSP position (see the module docstring for out-of-range rules)."""
        if position.line < 0 or position.character < 0:
            raise PositionError(f"negative position {position.line}:{position.character}")
        if position.line >= self.line_count:
            if strict:
                raise PositionError(
                    f"line {position.line} is past the end of {self.uri} ({self.line_count} lines)"
                )
            return len(self.text)
        line = self.line_text(position.line)
        return self.line_starts[position.line] + column_to_index(
            line, position.character, self.encoding
        )

    def position_at(self, offset: int) -> types.Position:
        offset = min(max(offset, 0), len(self.text))
        line = bisect.bisect_right(self.line_starts, offset) - 1
        # An offset between \r and \n belongs to the line the pair ends.
        column_index = min(offset - self.line_starts[line], len(self.line_text(line)))
        return types.Position(
            line=line,
            character=index_to_column(self.line_text(line), column_index, self.encoding),
        )

    def apply_change(self, change: types.TextDocumentContentChangeEvent) -> Edit:
        """Apply one change; return it as offsets in the text before it."""
        if isinstance(change, types.TextDocumentContentChangeWholeDocument):
            edit = Edit(0, len(self.text), change.text, self.text)
            self.text = change.text
            self.tree = SyntaxTree(self.language_id, self.text)
            self._index_lines()
            return edit
        start = self.offset_at(change.range.start)
        end = max(start, self.offset_at(change.range.end))
        deleted = self.text[start:end]
        self.text = self.text[:start] + change.text + self.text[end:]
        self.tree.apply_edit(start, end, change.text)
        self._reindex_lines(start, end, start + len(change.text))
        return Edit(start, end - start, change.text, deleted)

    def _reindex_lines(self, start: int, old_end: int, new_end: int) -> None:
        """Update `line_starts` after text[start:old_end] became text[start:new_end].

        Whether offset p starts a line depends on the characters at p-1 and p only, so the
        starts in [start, old_end] are recomputed from the new text and every later one moves
        by the change in length: a keystroke costs a shift of a list, not a scan of the file.
        """
        first = max(start, 1)
        starts = self.line_starts
        keep_before = bisect.bisect_left(starts, first)
        keep_after = bisect.bisect_right(starts, old_end)
        window_start = first - 1
        window = self.text[window_start : new_end + 1]
        fresh = [
            window_start + match.end()
            for match in _LINE_BREAK.finditer(window)
            if window_start + match.end() <= new_end
        ]
        delta = new_end - old_end
        moved = starts[keep_after:] if delta == 0 else [p + delta for p in starts[keep_after:]]
        self.line_starts = starts[:keep_before] + fresh + moved


@dataclass
class Documents:
    """The open documents by URI."""

    encoding: str = UTF16
    _open: dict[str, Document] = field(default_factory=dict)

    def open(self, item: types.TextDocumentItem) -> Document:
        document = Document(item.uri, item.language_id, item.version, item.text, self.encoding)
        self._open[item.uri] = document
        return document

    def change(self, params: types.DidChangeTextDocumentParams) -> tuple[Document, list[Edit]]:
        """Apply a didChange; the document and its edits in order (each in the text before it)."""
        document = self.get(params.text_document.uri)
        edits = []
        for change in params.content_changes:
            edit = document.apply_change(change)
            document.last_edit = edit.start + len(edit.inserted)
            edits.append(edit)
        document.version = params.text_document.version
        return document, edits

    def close(self, uri: str) -> None:
        self._open.pop(uri, None)

    def get(self, uri: str) -> Document:
        try:
            return self._open[uri]
        except KeyError:
            raise DocumentNotFoundError(uri) from None

    def __contains__(self, uri: object) -> bool:
        return uri in self._open

    def all(self) -> list[Document]:
        return list(self._open.values())
