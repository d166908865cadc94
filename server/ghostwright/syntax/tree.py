"""`SyntaxTree`: one document's UTF-8 bytes, line index and tree-sitter tree, edited
incrementally, and the questions the pipeline asks of it (scopes, imports, definitions, unit
ends, errors with an insertion)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import tree_sitter

from ghostwright.syntax.grammars import grammar_of, language
from ghostwright.syntax.lines import UTF8_ERRORS, LineIndex

_NON_BLANK = re.compile(rb"\S")
_BLANK = frozenset(b" \t\r\n\f\v")

# Subtrees that may hold a body-like `{` or block that is not the definition's body.
_NOT_A_BODY = re.compile(r"parameter|string|initializer|argument")
_C_TAGGED = frozenset({"struct_specifier", "union_specifier", "enum_specifier"})
# Code nested in a string literal (f-strings, template literals): not "inside a string".
_CODE_IN_STRINGS = frozenset({"interpolation", "template_substitution", "string_interpolation"})
_FUNCTION_VALUES = frozenset(
    {"arrow_function", "function_expression", "function", "generator_function"}
)


def _count_errors(node: tree_sitter.Node) -> int:
    """ERROR plus MISSING nodes under `node`, visiting only subtrees that report an error."""
    count = 0
    stack = [node]
    while stack:
        current = stack.pop()
        if current.is_error or current.is_missing:
            count += 1
        stack.extend(child for child in current.children if child.has_error)
    return count


WINDOW_MIN_LINES = 5000
"""Documents longer than this are parsed in a window around the work (see `_refocus`)."""
WINDOW_BEFORE_LINES = 1500
WINDOW_AFTER_LINES = 500
WINDOW_MARGIN_LINES = 200
"""The window moves when an edit comes this close to one of its inner edges."""
HEAD_LINES = 200
"""The file's first lines (imports, module docstring) stay parsed wherever the window is."""
_SNAP_LINES = 300
_NOT_TOP_LEVEL_START = (b" ", b"\t", b"}", b")", b"]", b"\r", b"\n")
_WHOLE = tree_sitter.Range((0, 0), (0xFFFFFFFF, 0xFFFFFFFF), 0, 0xFFFFFFFF)


class SyntaxTree:
    """One document's text and its tree-sitter tree, updated incrementally edit by edit.

    Offsets in and out are code points (Python string indices); conversion to tree-sitter's
    bytes and points happens here, so callers never see UTF-8. The UTF-8 bytes are the copy
    kept: splicing bytes is a memcpy, while slicing a long non-ASCII str rescans it for its
    widest character (about 2 ms per edit for 20k lines); `text` is decoded when asked for.
    """

    def __init__(self, language_id: str, text: str) -> None:
        self.language_id = language_id
        self._language = language(language_id)
        self._grammar = grammar_of(language_id)
        self._source = text.encode("utf-8", UTF8_ERRORS)
        self._text: str | None = text
        self._length = len(text)
        self._index = LineIndex(text, self._source)
        self._parser = tree_sitter.Parser(self._language) if self._language is not None else None
        self._window: tuple[int, int] | None = None
        self._tree: tree_sitter.Tree | None = None
        if self._parser is not None:
            self._refocus(0)

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self._source.decode("utf-8", UTF8_ERRORS)
        return self._text

    @property
    def has_tree(self) -> bool:
        """False for plain text (a languageId without a grammar)."""
        return self._tree is not None

    @property
    def tree(self) -> tree_sitter.Tree | None:
        """The current tree, for callers with questions of their own (read it, do not edit)."""
        return self._tree

    # --- edits ---------------------------------------------------------------------------

    def apply_edit(self, start: int, end: int, new_text: str) -> None:
        """Replace text[start:end] (code points in the current text) and re-parse incrementally.

        The old tree is edited with the byte offsets and points of the change and handed to the
        parser, which then re-reads only the changed region.
        """
        start = self._clamp(start)
        end = max(self._clamp(end), start)
        start_row, start_byte, start_column = self._locate(start)
        end_row, end_byte, end_column = self._locate(end)
        encoded = new_text.encode("utf-8", UTF8_ERRORS)
        lines = new_text.split("\n")
        new_chars: list[int] = []
        new_bytes: list[int] = []
        char_at, byte_at = start, start_byte
        for line in lines[:-1]:
            char_at += len(line) + 1
            byte_at += len(line.encode("utf-8", UTF8_ERRORS)) + 1
            new_chars.append(char_at)
            new_bytes.append(byte_at)
        self._index.replace(
            start_row,
            end_row,
            new_chars,
            new_bytes,
            len(new_text) - (end - start),
            len(encoded) - (end_byte - start_byte),
        )
        self._source = self._source[:start_byte] + encoded + self._source[end_byte:]
        self._text = None
        self._length += len(new_text) - (end - start)
        if self._tree is None or self._parser is None:
            return
        self._shift_window(start_row, len(lines) - 1 - (end_row - start_row))
        if self._window is not None and not self._in_focus(start_row):
            self._refocus(start_row)
            return
        self._tree.edit(
            start_byte,
            end_byte,
            start_byte + len(encoded),
            (start_row, start_column),
            (end_row, end_column),
            _end_point(start_row, start_column, lines),
        )
        self._tree = self._parse(self._tree)

    # --- the parsed window of a long document ----------------------------------------------

    def _parse(self, old_tree: tree_sitter.Tree | None) -> tree_sitter.Tree:
        """Parse the source, or in a long document its head and the window around the work."""
        assert self._parser is not None
        if self._window is None:
            self._parser.included_ranges = [_WHOLE]
        else:
            self._parser.included_ranges = self._window_ranges(*self._window)
        if old_tree is None:
            tree = self._parser.parse(self._source)
        else:
            tree = self._parser.parse(self._source, old_tree=old_tree)
        assert tree is not None
        return tree

    def _refocus(self, row: int) -> None:
        """Parse afresh; a document longer than WINDOW_MIN_LINES only around `row`.

        Error recovery makes a reparse cost as much as the text after an unclosed bracket
        (about 235 ms for 20,000 lines here), on every keystroke while the bracket is open.
        Parsing the file's head (imports) plus WINDOW_BEFORE_LINES above and
        WINDOW_AFTER_LINES below the work, cut at top-level lines, bounds that cost by the
        window's size; the window moves when the work comes near its edge.
        """
        count = self._index.line_count
        if count <= WINDOW_MIN_LINES:
            self._window = None
        else:
            start = self._top_level_at_or_before(max(0, row - WINDOW_BEFORE_LINES))
            stop = self._top_level_at_or_after(min(count, row + WINDOW_AFTER_LINES))
            self._window = (start, stop)
        self._tree = self._parse(None)

    def _in_focus(self, row: int) -> bool:
        assert self._window is not None
        start, stop = self._window
        near_start = start > 0 and row < start + WINDOW_MARGIN_LINES
        near_stop = stop < self._index.line_count and row >= stop - WINDOW_MARGIN_LINES
        return start <= row < stop and not near_start and not near_stop

    def _shift_window(self, row: int, added_rows: int) -> None:
        """Keep the window on the same lines when an edit at `row` adds or removes lines."""
        if self._window is None or not added_rows:
            return
        start, stop = self._window
        if row < start:
            self._window = (start + added_rows, stop + added_rows)
        elif row < stop:
            self._window = (start, max(start + 1, stop + added_rows))

    def _window_ranges(self, start: int, stop: int) -> list[tree_sitter.Range]:
        head = self._top_level_at_or_after(min(HEAD_LINES, start))
        spans = [(0, head), (start, stop)] if head < start else [(0, stop)]
        ranges = []
        for first, end in spans:
            first_byte = self._index.byte_start(first)
            end_byte = (
                self._index.byte_start(end) if end < self._index.line_count else len(self._source)
            )
            ranges.append(tree_sitter.Range((first, 0), (end, 0), first_byte, end_byte))
        return ranges

    def _is_top_level(self, row: int) -> bool:
        line = self._line_bytes(row)
        return bool(line.strip()) and line[:1] not in _NOT_TOP_LEVEL_START

    def _top_level_at_or_before(self, row: int) -> int:
        for candidate in range(row, max(-1, row - _SNAP_LINES), -1):
            if self._is_top_level(candidate):
                return candidate
        return row

    def _top_level_at_or_after(self, row: int) -> int:
        count = self._index.line_count
        for candidate in range(row, min(count, row + _SNAP_LINES)):
            if self._is_top_level(candidate):
                return candidate
        return min(row, count)

    def with_insertion(self, offset: int, inserted: str) -> SyntaxTree:
        """A copy of this document with `inserted` at `offset`, re-parsed incrementally.

        For questions about a suggestion as if it were accepted (`unit_end`); this document,
        its tree and its line index are left as they were.
        """
        copy = SyntaxTree.__new__(SyntaxTree)
        copy.language_id = self.language_id
        copy._language = self._language
        copy._grammar = self._grammar
        copy._source = self._source
        copy._text = self._text
        copy._length = self._length
        copy._index = self._index.copy()
        copy._parser = self._parser
        copy._window = self._window
        copy._tree = self._tree.copy() if self._tree is not None else None
        copy.apply_edit(offset, offset, inserted)
        return copy

    # --- queries -------------------------------------------------------------------------

    def error_count(self) -> int:
        """ERROR and MISSING nodes in the tree: how broken the document is right now."""
        return 0 if self._tree is None else _count_errors(self._tree.root_node)

    def errors_with_insertion(self, offset: int, inserted: str) -> int:
        """The error count the document would have with `inserted` at `offset`.

        Re-parses an edited copy incrementally, so checking a suggestion costs about one
        keystroke and leaves this document's tree alone.
        """
        if self._tree is None or self._parser is None:
            return 0
        return self.with_insertion(offset, inserted).error_count()

    def scope_headers(self, offset: int) -> list[str]:
        """Header lines of the scopes enclosing `offset`, outermost first.

        A header is the first line of the scope, stripped (`def bar(self, x):`,
        `impl Foo for Bar {`). A scope whose header is on the cursor's own line is left out:
        the model sees that line in the prefix anyway. The scopes are found from the last
        non-blank character before the cursor, so a cursor on a blank line at the end of a
        Python body (past the end of the node) or after an unclosed `{` is still inside.
        """
        if self._tree is None or self._grammar is None:
            return []
        cursor_row, cursor_byte, _ = self._locate(self._clamp(offset))
        anchor_byte = self._last_non_blank_byte_before(cursor_byte)
        if anchor_byte is None:
            return []
        before_cursor = self._source[self._index.byte_start(cursor_row) : cursor_byte]
        cursor_indent = None if before_cursor.strip() else len(before_cursor.expandtabs())
        same_row = self._index.row_of_byte(anchor_byte) == cursor_row
        headers: list[str] = []
        node: tree_sitter.Node | None = self._node_at(anchor_byte)
        while node is not None:
            if (
                node.type in self._grammar.scopes
                and node.start_point.row != cursor_row
                and self._encloses(node, cursor_byte, same_row, cursor_indent)
            ):
                headers.append(self._line_text(node.start_point.row).strip())
            node = node.parent
        return headers[::-1]

    def imports(self) -> list[str]:
        """Source text of the top-level import/include/use statements, in document order."""
        if self._tree is None or self._grammar is None:
            return []
        return [
            self._node_text(node).strip()
            for node in self._members(self._tree.root_node)
            if node.type in self._grammar.imports
        ]

    def definitions(self) -> dict[str, str]:
        """Top-level and member definitions: name -> signature (the header without the body).

        Members are qualified with their container (`Foo.bar` for a method of class Foo, for a
        Go method with receiver `*Foo`, or for a Rust `fn bar` in `impl X for Foo`), so that
        same-named methods of different classes do not collide; callers matching an identifier
        compare the last dotted part. Signatures have their whitespace collapsed to single
        spaces, so a multi-line parameter list reads as one line.
        """
        if self._tree is None or self._grammar is None:
            return {}
        found: dict[str, str] = {}
        self._collect_definitions(self._tree.root_node, "", found)
        return found

    def unit_end(self, offset: int) -> int | None:
        """The end of the statement or definition that text generated at `offset` belongs to.

        Call it on the document with the suggestion already inserted at `offset`; cutting the
        suggestion at the returned offset (when it falls inside the suggestion) drops what the
        model wrote past the end of the statement or definition it was completing. The rule:

        1. The unit is the smallest statement or definition (a named child of a statement list:
           module, block, class body, ...) whose range holds the first generated character
           (start <= offset < end). Comments count as statements.
        2. If the cursor's line is blank up to `offset`, that unit starts on the cursor's line,
           and only comments and docstrings come before it in its block, the cursor is opening
           that block's body: the unit becomes the statement that owns the block (the `def`,
           `if`, `fn` ...), so a multi-line body at an empty block start is kept whole.
        3. The result is the unit's end, or None when there is no unit (offset at the end of
           the text, or between statements) or the unit contains a parse error: error recovery
           makes its end a guess, and a wrong cut is worse than none.
        """
        if self._tree is None or self._grammar is None:
            return None
        row, byte, _ = self._locate(self._clamp(offset))
        unit = self._innermost_unit(self._node_at(byte))
        if unit is None:
            return None
        blank_before = not self._source[self._index.byte_start(row) : byte].strip()
        if blank_before and unit.start_point.row == row:
            block = unit.parent
            if block is not None and block.parent is not None:
                earlier = [c for c in block.named_children if c.start_byte < unit.start_byte]
                if all(_is_comment_or_docstring(child) for child in earlier):
                    owner = self._innermost_unit(block)
                    unit = owner if owner is not None else unit
        if unit.has_error:
            return None
        return self._offset_of(unit.end_byte, unit.end_point.row)

    def is_empty_block_start(self, offset: int) -> bool:
        """True on a blank line right after a block opener whose body is still empty.

        The opener is the last token of the previous non-blank line: a `:` that starts a block
        (Python), or a `{` (the other languages) with nothing but whitespace before the next
        `}` or the end of the file. Multi-line suggestions are worth offering there.
        """
        if self._tree is None or self._grammar is None:
            return False
        row = self._index.row_of(self._clamp(offset))
        if self._line_text(row).strip():
            return False
        opener_row = next(
            (r for r in range(row - 1, -1, -1) if self._line_text(r).strip()),
            None,
        )
        opener = self._last_token_of_line(opener_row) if opener_row is not None else None
        if opener is None:
            return False
        if self._grammar.indented:
            block = _next_sibling(opener)
            return (
                opener.type == ":"
                and block is not None
                and block.type == "block"
                and block.named_child_count == 0
            )
        if opener.type != "{" or opener.is_named:
            return False
        following = _NON_BLANK.search(self._source, self._index.byte_start(row))
        return following is None or following.group() == b"}"

    def node_type_at(self, offset: int) -> str | None:
        """The grammar's name for what the person is writing at the cursor: the type of the
        smallest named node holding the character before `offset` (`argument_list`, `block`,
        `string_content`, `ERROR`, ...); at the start of the text, the first character's.

        For the acceptance predictor, which learns where suggestions tend to be taken. None for
        plain text.
        """
        if self._tree is None:
            return None
        _, byte, _ = self._locate(self._clamp(offset))
        node = self._tree.root_node.named_descendant_for_byte_range(max(byte - 1, 0), byte)
        return None if node is None else node.type

    def in_comment_or_string(self, offset: int) -> bool:
        """Whether the cursor is inside a comment or a string literal, where a suggestion is
        prose rather than code.

        Inside means past the opening delimiter and before the closing one: right after a
        closing quote or `*/` is outside, the end of a line comment is inside, and so is the end
        of a string whose closing quote is still missing. Code in an interpolation (`f"{x}"`,
        `${x}`) is not inside the string around it.
        """
        if self._tree is None:
            return False
        _, byte, _ = self._locate(self._clamp(offset))
        if byte == 0:
            return False
        node = self._tree.root_node.descendant_for_byte_range(byte - 1, byte)
        while node is not None:
            kind = node.type
            if kind in _CODE_IN_STRINGS:
                return False
            if "comment" in kind:
                is_line_comment = not self._source.startswith(b"/*", node.start_byte)
                return node.start_byte < byte < node.end_byte or (
                    is_line_comment and byte == node.end_byte
                )
            if "string" in kind:
                if node.start_byte < byte < node.end_byte:
                    return True
                last = node.children[-1] if node.children else None
                if byte == node.end_byte and last is not None and last.is_missing:
                    return True
            node = node.parent
        return False

    # --- nodes and offsets, for callers with tree-sitter questions of their own ----------

    @property
    def source(self) -> bytes:
        """The UTF-8 bytes the tree was parsed from (read them, do not change them)."""
        return self._source

    @property
    def parses_whole(self) -> bool:
        """Whether the tree covers the whole text (a long document is parsed in a window)."""
        return self._tree is not None and self._window is None

    def byte_at(self, offset: int) -> int:
        """The byte offset of a code-point offset."""
        return self._locate(self._clamp(offset))[1]

    def offsets_of(self, node: tree_sitter.Node) -> tuple[int, int]:
        """A node's [start, end) in code points."""
        return (
            self._offset_of(node.start_byte, node.start_point[0]),
            self._offset_of(node.end_byte, node.end_point[0]),
        )

    def node_text(self, node: tree_sitter.Node) -> str:
        return self._node_text(node)

    # --- helpers -------------------------------------------------------------------------

    def _clamp(self, offset: int) -> int:
        return min(max(offset, 0), self._length)

    def _line_bytes(self, row: int) -> bytes:
        """The bytes of a row, with its `\\n`."""
        start = self._index.byte_start(row)
        if row + 1 < self._index.line_count:
            return self._source[start : self._index.byte_start(row + 1)]
        return self._source[start:]

    def _line_text(self, row: int) -> str:
        """The text of a row without its `\\n` (or `\\r\\n`)."""
        return self._line_bytes(row).decode("utf-8", UTF8_ERRORS).rstrip("\r\n")

    def _locate(self, offset: int) -> tuple[int, int, int]:
        """(row, byte offset, byte column) of a code-point offset: one line is decoded, not all."""
        row = self._index.row_of(offset)
        line = self._line_bytes(row)
        column = offset - self._index.char_start(row)
        if not line.isascii():
            prefix = line.decode("utf-8", UTF8_ERRORS)[:column]
            column = len(prefix.encode("utf-8", UTF8_ERRORS))
        return row, self._index.byte_start(row) + column, column

    def _offset_of(self, byte: int, row: int) -> int:
        """Code-point offset of a byte offset on `row` (from a node's point)."""
        line_byte = self._index.byte_start(row)
        return self._index.char_start(row) + len(
            self._source[line_byte:byte].decode("utf-8", UTF8_ERRORS)
        )

    def _node_text(self, node: tree_sitter.Node) -> str:
        return self._source[node.start_byte : node.end_byte].decode("utf-8", UTF8_ERRORS)

    def _node_at(self, byte: int) -> tree_sitter.Node:
        """The smallest node with start <= byte < end (the root if none is smaller)."""
        assert self._tree is not None
        # A cursor, not Node.first_child_for_byte: in tree-sitter 0.26 that crashes where there
        # is no such child.
        cursor = self._tree.walk()
        while cursor.goto_first_child_for_byte(byte) is not None:
            child = cursor.node
            if child is None or child.start_byte > byte:
                cursor.goto_parent()
                break
        node = cursor.node
        assert node is not None
        return node

    def _last_non_blank_byte_before(self, byte: int) -> int | None:
        while byte > 0 and self._source[byte - 1] in _BLANK:
            byte -= 1
        return byte - 1 if byte > 0 else None

    def _encloses(
        self,
        scope: tree_sitter.Node,
        cursor_byte: int,
        same_row_as_anchor: bool,
        cursor_indent: int | None,
    ) -> bool:
        """Whether `scope`, which holds the last non-blank character before the cursor, holds it.

        Only blank text lies between that character and the cursor, so the scope can end before
        the cursor and still hold it only at a Python body's last line or an unclosed brace.
        """
        if cursor_byte < scope.end_byte:
            return True
        assert self._grammar is not None
        if self._grammar.indented:
            if same_row_as_anchor:
                return True
            header_indent = _indent_width(self._line_text(scope.start_point.row))
            return cursor_indent is not None and cursor_indent > header_indent
        last = scope
        while last.child_count:
            last = last.children[-1]
        return last.is_missing

    def _innermost_unit(self, node: tree_sitter.Node) -> tree_sitter.Node | None:
        """The innermost named child of a statement list at or above `node`."""
        assert self._grammar is not None
        current: tree_sitter.Node | None = node
        while current is not None:
            parent = current.parent
            if (
                parent is not None
                and current.is_named
                and not current.is_error
                and parent.type in self._grammar.statement_lists
            ):
                return current
            current = parent
        return None

    def _last_token_of_line(self, row: int) -> tree_sitter.Node | None:
        """The last token on `row` that is not a comment (an opener may carry a comment)."""
        line_byte = self._index.byte_start(row)
        end = line_byte + len(self._line_bytes(row).rstrip())
        while end > line_byte:
            token = self._node_at(end - 1)
            if "comment" not in token.type:
                return token
            if token.start_point.row != row:
                return None
            end = line_byte + len(self._source[line_byte : token.start_byte].rstrip())
        return None

    def _members(self, node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
        """Named children of `node`, looking through transparent wrappers."""
        assert self._grammar is not None
        for child in node.named_children:
            if child.type in self._grammar.transparent:
                yield from self._members(child)
            else:
                yield child

    def _collect_definitions(
        self, node: tree_sitter.Node, prefix: str, found: dict[str, str]
    ) -> None:
        assert self._grammar is not None
        for child in self._members(node):
            name = None
            if child.type in self._grammar.definitions:
                name = self._definition_name(child)
                if name is not None:
                    found[prefix + name] = self._signature(child)
            if child.type in self._grammar.containers:
                container = name or self._container_name(child)
                body = child.child_by_field_name("body")
                if container is not None and body is not None:
                    self._collect_definitions(body, f"{prefix}{container}.", found)

    def _definition_name(self, node: tree_sitter.Node) -> str | None:
        if node.type in {"lexical_declaration", "variable_declaration"}:
            # `const f = (a) => {...}` defines a function as much as `function f(a)` does.
            for declarator in node.named_children:
                value = declarator.child_by_field_name("value")
                name = declarator.child_by_field_name("name")
                if value is not None and name is not None and value.type in _FUNCTION_VALUES:
                    return self._node_text(name)
            return None
        if node.type == "type_declaration":  # Go: the name is on the (first) type_spec
            spec = next((c for c in node.named_children if c.child_by_field_name("name")), None)
            name = spec.child_by_field_name("name") if spec is not None else None
            return self._node_text(name) if name is not None else None
        if node.type in _C_TAGGED and node.child_by_field_name("body") is None:
            return None  # `struct point p;` uses a struct, it does not define one
        name = node.child_by_field_name("name")
        if name is None:
            return self._declarator_name(node)
        receiver = node.child_by_field_name("receiver")  # Go methods belong to their receiver
        receiver_type = _first_of_type(receiver, "type_identifier") if receiver else None
        if receiver_type is not None:
            return f"{self._node_text(receiver_type)}.{self._node_text(name)}"
        return self._node_text(name)

    def _declarator_name(self, node: tree_sitter.Node) -> str | None:
        """The name a C/C++ declarator chain ends in; declarations only count for functions."""
        declarator = node.child_by_field_name("declarator")
        is_function = node.type in {"function_definition", "type_definition"}
        while declarator is not None:
            is_function = is_function or declarator.type == "function_declarator"
            inner = declarator.child_by_field_name("declarator")
            if inner is None:
                break
            declarator = inner
        if declarator is None or not is_function:
            return None
        return self._node_text(declarator).replace("::", ".")

    def _container_name(self, node: tree_sitter.Node) -> str | None:
        """The name members of a nameless container are qualified with (Rust `impl` types)."""
        name = node.child_by_field_name("name") or node.child_by_field_name("type")
        if name is None:
            return None
        if name.type == "generic_type":
            name = name.child_by_field_name("type") or name
        return self._node_text(name)

    def _signature(self, node: tree_sitter.Node) -> str:
        """The definition's text up to its body, whitespace collapsed."""
        assert self._grammar is not None
        body = _first_body(node, self._grammar.body_starts)
        if body is None:
            return " ".join(self._node_text(node).split())
        head = self._source[node.start_byte : body.start_byte].decode("utf-8", UTF8_ERRORS)
        if node.type == "type_definition" and body.parent is not None:
            # `typedef struct {...} Name;`: the name comes after the body.
            tail_start = body.parent.end_byte
            tail = self._source[tail_start : node.end_byte].decode("utf-8", UTF8_ERRORS)
            head = f"{head}{{...}}{tail}"
        return " ".join(head.split())


def _is_comment_or_docstring(node: tree_sitter.Node) -> bool:
    """A comment, or a statement that is only a string literal (a docstring)."""
    if "comment" in node.type:
        return True
    only = node.named_children
    return (
        node.type == "expression_statement"
        and len(only) == 1
        and only[0].type in ("string", "concatenated_string")
    )


def _first_body(node: tree_sitter.Node, body_starts: frozenset[str]) -> tree_sitter.Node | None:
    """The first node in document order that starts a body, outside parameters and strings."""
    for child in node.children:
        if child.type in body_starts:
            return child
        if _NOT_A_BODY.search(child.type):
            continue
        found = _first_body(child, body_starts)
        if found is not None:
            return found
    return None


def _end_point(row: int, column: int, lines: list[str]) -> tuple[int, int]:
    """The point where text split into `lines` ends when inserted at (row, byte column)."""
    last_line_bytes = len(lines[-1].encode("utf-8", UTF8_ERRORS))
    if len(lines) == 1:
        return row, column + last_line_bytes
    return row + len(lines) - 1, last_line_bytes


def _next_sibling(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """The node after `node` in its parent, comments skipped.

    Not Node.next_sibling: it skips zero-width nodes, such as the empty block tree-sitter-python
    gives a `def f():` whose body is not written yet.
    """
    parent = node.parent
    if parent is None:
        return None
    children = parent.children
    index = next((i for i, child in enumerate(children) if child == node), len(children))
    return next((child for child in children[index + 1 :] if not child.is_extra), None)


def _first_of_type(node: tree_sitter.Node, node_type: str) -> tree_sitter.Node | None:
    if node.type == node_type:
        return node
    for child in node.children:
        found = _first_of_type(child, node_type)
        if found is not None:
            return found
    return None


def _indent_width(line: str) -> int:
    return len(line.expandtabs()) - len(line.expandtabs().lstrip())
