"""What is wrong with a document: syntax errors in every supported language, and for Python the
interpreter's own syntax check and pyflakes' undefined names and unused imports.

`check` is the one entry point; repair runs it again on every candidate fix, so the same
checkers that raised a problem decide whether it is gone. Offsets are code points into the
text, like everywhere else in the server.

Syntax problems come from tree-sitter (ERROR and MISSING nodes) for every grammar. For Python
`compile()` is the authority instead: tree-sitter's Python grammar accepts bad indentation and
wraps a missing colon into one ERROR node spanning several statements, while the interpreter
names the problem precisely ("expected ':'", "unexpected indent"). Tree-sitter's MISSING nodes
are kept for Python too: they say exactly which token is missing and where.
"""

from __future__ import annotations

import ast
import enum
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import tree_sitter
from pyflakes import checker as pyflakes_checker
from pyflakes import messages as pyflakes_messages

from ghostwright.syntax import language

SOURCE = "ghostwright"
"""The `source` of every diagnostic Ghostwright publishes."""

MAX_CHECK_CHARS = 2_000_000
"""Documents longer than this are not checked (a generated or minified file, not code to fix)."""

_ERROR_TEXT_CHARS = 20
"""An unexpected stretch longer than this is not quoted in the message."""


class Severity(enum.IntEnum):
    """LSP's DiagnosticSeverity values."""

    ERROR = 1
    WARNING = 2


@dataclass(frozen=True)
class Problem:
    """One diagnostic: where (code points into the text), what, and which check found it."""

    start: int
    end: int
    message: str
    code: str
    """Which kind of problem: `syntax`, `missing`, `indentation`, or a pyflakes message class
    name in kebab case (`undefined-name`, `unused-import`, ...)."""
    severity: Severity = Severity.ERROR
    unnecessary: bool = False
    """Code that does nothing (an unused import): editors fade it."""
    name: str | None = None
    """The identifier the problem is about (undefined or unused names), for fixes."""

    @property
    def key(self) -> tuple[str, str]:
        """What identifies a problem across edits that move it: its code and message."""
        return (self.code, self.message)


# pyflakes messages published, with their severity; the rest (style, redefinitions) are left to
# linters the person chose.
_PYFLAKES: dict[type[pyflakes_messages.Message], Severity] = {
    pyflakes_messages.UndefinedName: Severity.ERROR,
    pyflakes_messages.UndefinedLocal: Severity.ERROR,
    pyflakes_messages.UndefinedExport: Severity.ERROR,
    pyflakes_messages.UnusedImport: Severity.WARNING,
    pyflakes_messages.UnusedVariable: Severity.WARNING,
}
_UNNECESSARY = (pyflakes_messages.UnusedImport, pyflakes_messages.UnusedVariable)


def check(language_id: str, text: str) -> list[Problem]:
    """Every problem our checkers find in `text`, sorted by position."""
    if len(text) > MAX_CHECK_CHARS:
        return []
    lines = _LineStarts(text)
    if language_id == "python":
        problems = python_problems(text, lines)
    else:
        problems = list(tree_sitter_problems(language_id, text, lines, missing_only=False))
    return sorted(problems, key=lambda p: (p.start, p.end, p.message))


def python_problems(text: str, lines: _LineStarts) -> list[Problem]:
    """compile()'s syntax error and tree-sitter's missing tokens; pyflakes when it compiles."""
    problems = list(tree_sitter_problems("python", text, lines, missing_only=True))
    try:
        with warnings.catch_warnings():
            # Invalid escape sequences and the like warn; they are not what repair is for.
            warnings.simplefilter("ignore")
            tree = ast.parse(text, "<document>")
    except SyntaxError as exc:
        error = _compile_problem(exc, text, lines)
        # A missing token on the same line is the same problem said better: keep one.
        if not any(lines.row(p.start) == lines.row(error.start) for p in problems):
            problems.append(error)
        return problems
    except (ValueError, MemoryError, RecursionError) as exc:  # NUL bytes, absurd nesting
        return [Problem(0, 0, f"cannot check this file: {exc}", "syntax")]
    problems.extend(pyflakes_problems(tree, text, lines))
    return problems


def pyflakes_problems(tree: ast.Module, text: str, lines: _LineStarts) -> Iterator[Problem]:
    """Undefined names, unused imports and variables, from pyflakes' checker."""
    try:
        found = pyflakes_checker.Checker(tree, filename="<document>").messages
    except RecursionError:
        return
    for message in found:
        severity = _PYFLAKES.get(type(message))
        if severity is None:
            continue
        row = message.lineno - 1
        column = getattr(message, "col", 0) or 0
        name = message.message_args[0] if message.message_args else None
        start = lines.offset(row, column)
        end = _name_end(text, start, str(name)) if name is not None else lines.line_end(row)
        if isinstance(message, pyflakes_messages.UnusedImport):
            start, end = _import_range(text, lines, row, str(name))
        yield Problem(
            start,
            end,
            message.message % message.message_args,
            _kebab(type(message).__name__),
            severity,
            unnecessary=isinstance(message, _UNNECESSARY),
            name=str(name) if name is not None else None,
        )


def tree_sitter_problems(
    language_id: str, text: str, lines: _LineStarts, *, missing_only: bool
) -> Iterator[Problem]:
    """ERROR and MISSING nodes of the language's grammar, as problems a person understands."""
    grammar = language(language_id)
    if grammar is None:
        return
    source = text.encode("utf-8", "surrogatepass")
    tree = tree_sitter.Parser(grammar).parse(source)
    if not tree.root_node.has_error:
        return
    to_offset = _ByteOffsets(source)
    for node in _error_nodes(tree.root_node):
        start = to_offset(node.start_byte)
        if node.is_missing:
            if missing_only and node.type.isidentifier():
                # A missing `string_end` or `identifier`: the interpreter's words are better.
                continue
            yield Problem(start, start, f"missing {_token_name(node.type)}", "missing")
        elif not missing_only:
            end = to_offset(node.end_byte)
            yield _unexpected(node, text, lines, start, end)


def _error_nodes(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """The outermost ERROR nodes and every MISSING node, in document order."""
    if node.is_missing or node.is_error:
        # MISSING tokens inside an ERROR are the parser's guesses at the same problem.
        yield node
        return
    if not node.has_error:
        return
    for child in node.children:
        yield from _error_nodes(child)


def _unexpected(
    node: tree_sitter.Node, text: str, lines: _LineStarts, start: int, end: int
) -> Problem:
    """An ERROR node as 'unexpected X', with its range cut to its first line."""
    line_end = lines.line_end(lines.row(start))
    end = min(end, line_end) if line_end > start else end
    snippet = text[start:end].strip()
    if start >= len(text.rstrip()):
        return Problem(start, end, "unexpected end of file", "syntax")
    if not snippet:
        return Problem(start, end, "syntax error", "syntax")
    first = snippet.split()[0]
    if len(first) > _ERROR_TEXT_CHARS:
        return Problem(start, end, "syntax error here", "syntax")
    return Problem(start, end, f"unexpected {_quoted(first)}", "syntax")


def _compile_problem(exc: SyntaxError, text: str, lines: _LineStarts) -> Problem:
    """The interpreter's syntax error with a tight range: the token it points at, or the
    indentation when indentation is the problem."""
    row = max((exc.lineno or 1) - 1, 0)
    row = min(row, max(lines.count - 1, 0))
    message = exc.msg or "invalid syntax"
    if isinstance(exc, IndentationError) and "indent" in message:
        line_start = lines.offset(row, 0)
        line = text[line_start : lines.line_end(row)]
        indent = len(line) - len(line.lstrip(" \t"))
        end = line_start + indent
        if indent == 0:  # "expected an indented block": the line that should be indented
            end = line_start + len(line.rstrip())
        return Problem(line_start, end, message, "indentation")
    column = max((exc.offset or 1) - 1, 0)
    start = lines.offset(row, column)
    end = start
    if exc.end_lineno == exc.lineno and exc.end_offset and exc.end_offset - 1 > column:
        end = lines.offset(row, exc.end_offset - 1)
    elif start < len(text) and not text[start].isspace():
        end = _token_end(text, start)
    return Problem(start, end, message, "syntax")


# --- small text helpers -------------------------------------------------------------------


class _LineStarts:
    """Line starts of a text, for (row, column) <-> offset in code points."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    @property
    def count(self) -> int:
        return len(self._starts)

    def row(self, offset: int) -> int:
        low, high = 0, len(self._starts) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if self._starts[middle] <= offset:
                low = middle
            else:
                high = middle - 1
        return low

    def offset(self, row: int, column: int) -> int:
        row = min(max(row, 0), len(self._starts) - 1)
        return min(self._starts[row] + column, self.line_end(row))

    def line_end(self, row: int) -> int:
        """Offset of the end of `row`'s content (before its line break)."""
        end = self._starts[row + 1] - 1 if row + 1 < len(self._starts) else len(self._text)
        if end > self._starts[row] and self._text[end - 1] == "\r":
            end -= 1
        return end


class _ByteOffsets:
    """UTF-8 byte offsets -> code point offsets, for tree-sitter's positions."""

    def __init__(self, source: bytes) -> None:
        self._source = source
        self._ascii = source.isascii()

    def __call__(self, byte: int) -> int:
        if self._ascii:
            return byte
        return len(self._source[:byte].decode("utf-8", "surrogatepass"))


_TOKEN = re.compile(r"\w+|\S")


def _token_end(text: str, start: int) -> int:
    match = _TOKEN.match(text, start)
    return match.end() if match else start


def _name_end(text: str, start: int, name: str) -> int:
    return start + len(name) if text.startswith(name, start) else _token_end(text, start)


def _import_range(text: str, lines: _LineStarts, row: int, name: str) -> tuple[int, int]:
    """The unused name inside its import statement (`os.path` in `import os.path`)."""
    line_start = lines.offset(row, 0)
    line = text[line_start : lines.line_end(row)]
    last = name.rsplit(" as ", 1)[-1].split(".")[-1]
    for candidate in (name, last):
        match = re.search(rf"(?<![\w.]){re.escape(candidate)}(?!\w)", line)
        if match:
            return line_start + match.start(), line_start + match.end()
    return line_start, line_start + len(line.rstrip())


def _token_name(node_type: str) -> str:
    """`)` -> "')'", `identifier` -> "identifier"."""
    return node_type.replace("_", " ") if node_type.isidentifier() else _quoted(node_type)


def _quoted(token: str) -> str:
    return f'"{token}"' if "'" in token else f"'{token}'"


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()
