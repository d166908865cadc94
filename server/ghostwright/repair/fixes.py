"""Cheap, deterministic fix candidates: where the parse tree or the checker already says what
is wrong, the fix is a token away and no model is needed.

Every function here proposes; none decides. Each candidate goes through the same verification
as a model's (`verify`), so a wrong guess costs a re-check and is never offered.
"""

from __future__ import annotations

import difflib
import keyword
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import tree_sitter

from ghostwright.repair.diagnostics import Problem
from ghostwright.syntax import language


@dataclass(frozen=True)
class Patch:
    """Replace text[start:end] with `text`: one candidate fix."""

    start: int
    end: int
    text: str
    origin: str
    """How it was made: `deterministic` or `model`."""

    def apply(self, document: str) -> str:
        return document[: self.start] + self.text + document[self.end :]


_CLOSER = {"(": ")", "[": "]", "{": "}"}
_NEVER_CLOSED = re.compile(r"'([(\[{])' was never closed")
_MISMATCH = re.compile(r"closing parenthesis '(.)' does not match opening parenthesis '(.)'")
_UNMATCHED = re.compile(r"unmatched '(.)'")
_UNDEFINED = re.compile(r"undefined name '(\w+)'")
_STRING_START = re.compile(r"([rRbBuUfF]{0,2})('''|\"\"\"|'|\")")


def deterministic_patches(language_id: str, text: str, problem: Problem) -> list[Patch]:
    """Candidate fixes for `problem`, most likely first; empty when none is cheap."""
    found: list[Patch] = []
    found.extend(_missing_token(language_id, text, problem))
    if language_id == "python":
        found.extend(_python_syntax(text, problem))
        found.extend(_python_names(text, problem))
    unique: dict[tuple[int, int, str], Patch] = {}
    for patch in found:
        unique.setdefault((patch.start, patch.end, patch.text), patch)
    return list(unique.values())


def _patch(start: int, end: int, text: str) -> Patch:
    return Patch(start, end, text, "deterministic")


def _missing_token(language_id: str, text: str, problem: Problem) -> Iterator[Patch]:
    """Insert the token a MISSING node names, at its place, for MISSING nodes on the problem's
    line (tree-sitter's own recovery often says exactly what was left out)."""
    grammar = language(language_id)
    if grammar is None:
        return
    source = text.encode("utf-8", "surrogatepass")
    tree = tree_sitter.Parser(grammar).parse(source)
    row = text.count("\n", 0, problem.start)
    for node in _missing_nodes(tree.root_node):
        if node.start_point.row == row and not node.type.isidentifier():
            offset = len(source[: node.start_byte].decode("utf-8", "surrogatepass"))
            yield _patch(offset, offset, node.type)


def _missing_nodes(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    if node.is_missing:
        yield node
    elif node.has_error:
        for child in node.children:
            yield from _missing_nodes(child)


def _line_bounds(text: str, offset: int) -> tuple[int, int]:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    end = len(text) if end < 0 else end
    if end > start and text[end - 1] == "\r":
        end -= 1
    return start, end


def _code_end(line: str) -> int:
    """Where a Python line's code ends: before a trailing comment and trailing blanks (a `#`
    inside a string is not a comment; good enough for the one-line guesses below)."""
    quote: str | None = None
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#":
            return len(line[:index].rstrip())
    return len(line.rstrip())


def _python_syntax(text: str, problem: Problem) -> Iterator[Patch]:
    message = problem.message
    line_start, line_end = _line_bounds(text, problem.start)
    line = text[line_start:line_end]
    code_end = line_start + _code_end(line)
    if message == "expected ':'":
        yield _patch(problem.start, problem.start, ":")
        yield _patch(code_end, code_end, ":")
    elif match := _NEVER_CLOSED.match(message):
        closer = _CLOSER[match.group(1)]
        yield _patch(code_end, code_end, closer)
        # Before the colon of a header (`def f(self:`) or another separator, the last first.
        opener = problem.start - line_start
        for index in range(code_end - line_start - 1, opener, -1):
            if line[index] in ":,=":
                yield _patch(line_start + index, line_start + index, closer)
        # A call or literal continued on the next lines: close it where the statement ends.
        for end in _continuation_ends(text, line_end):
            yield _patch(end, end, closer)
    elif match := _MISMATCH.match(message):
        closer = _CLOSER[match.group(2)]
        yield _patch(problem.start, problem.start, closer)
        yield _patch(problem.start, problem.start + 1, closer)
    elif _UNMATCHED.match(message):
        yield _patch(problem.start, problem.start + 1, "")
    elif message.startswith("unterminated string literal"):
        quote = _STRING_START.match(text, problem.start)
        if quote:
            # Where the string ended: before a separator, closer or blank after its start, or
            # at the end of the line; the earliest that verifies wins.
            # When the quote Python flags is the last on the line, the one missing is often
            # earlier (`'a, 'b'` reads as `'a, '` then b then an open quote): those places too.
            body_start = quote.end() - line_start
            end = len(line.rstrip())
            indent = len(line) - len(line.lstrip())
            spots = [*range(body_start, end + 1), *range(indent, body_start)]
            for index in spots:
                if index == end or line[index] in ",)]}: ":
                    yield _patch(line_start + index, line_start + index, quote.group(2))
    elif "Perhaps you forgot a comma?" in message:
        for gap in re.finditer(r"\s+", text[problem.start : problem.end]):
            at = problem.start + gap.start()
            yield _patch(at, at, ",")
    elif message == "invalid syntax":
        # `def f(self payload)`: the interpreter points at the token after the missing comma.
        before = text[line_start : problem.start]
        word_end = len(before.rstrip())
        if (
            word_end < len(before)
            and word_end > 0
            and (before[word_end - 1].isalnum() or before[word_end - 1] in "_)]}'\"")
        ):
            yield _patch(line_start + word_end, line_start + word_end, ",")
    elif problem.code == "indentation":
        yield from _reindent(text, problem, line_start)


def _continuation_ends(text: str, line_end: int, limit: int = 5) -> Iterator[int]:
    """Ends of the next few non-blank lines (where an unclosed bracket's statement may end)."""
    position = line_end
    for _ in range(limit):
        if position >= len(text):
            return
        start = position + 1
        start, end = _line_bounds(text, start)
        position = end
        line = text[start:end]
        if line.strip():
            yield start + _code_end(line)


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _reindent(text: str, problem: Problem, line_start: int) -> Iterator[Patch]:
    """Give the line (and the lines of its block) each indentation an enclosing line has."""
    previous = [_indent_of(line) for line in text[:line_start].splitlines() if line.strip()]
    _, line_end = _line_bounds(text, line_start)
    current = _indent_of(text[line_start:line_end])
    levels: list[str] = []
    for indent in reversed(previous):
        if indent not in levels:
            levels.append(indent)
    if problem.message.startswith("expected an indented block") and previous:
        levels.insert(0, previous[-1] + "    ")
    for indent in levels:
        if indent == current:
            continue
        yield _patch(line_start, line_start + len(current), indent)
        block_end = _block_end(text, line_end, current)
        if block_end > line_end:
            yield _shift_block(text, line_start, block_end, current, indent)


def _block_end(text: str, line_end: int, indent: str) -> int:
    """End of the lines after `line_end` indented at least like `indent` (the line's block)."""
    end = line_end
    position = line_end
    while position < len(text):
        start, stop = _line_bounds(text, position + 1)
        line = text[start:stop]
        if line.strip() and not (
            _indent_of(line).startswith(indent) and len(_indent_of(line)) >= len(indent)
        ):
            break
        if line.strip():
            end = stop
        if stop == position:
            break
        position = stop
    return end


def _shift_block(text: str, start: int, end: int, old: str, new: str) -> Patch:
    lines = text[start:end].split("\n")
    shifted = [new + line[len(old) :] if line.startswith(old) else line for line in lines]
    return _patch(start, end, "\n".join(shifted))


def _python_names(text: str, problem: Problem) -> Iterator[Patch]:
    """An undefined name: a close spelling of a name the file defines, or a missing import of a
    standard-library module. An unused import: its removal."""
    if problem.code in ("undefined-name", "undefined-local") and problem.name:
        name = problem.name
        if name in sys.stdlib_module_names and re.search(rf"(?<![\w.]){name}\.\w", text):
            # Used as a module (`name.attr`): the import is missing, not a letter.
            at = _import_position(text)
            yield _patch(at, at, f"import {name}\n")
            return
        known = _names_in(text) - {name}
        for close in difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.75):
            yield _patch(problem.start, problem.end, close)
    elif problem.code == "unused-import" and problem.name:
        yield from _remove_import(text, problem)


_IDENTIFIER = re.compile(r"[^\W\d]\w*")


def _names_in(text: str) -> set[str]:
    """Identifiers in the file and the builtins: what a misspelling most likely meant."""
    import builtins

    names = set(_IDENTIFIER.findall(text)) | set(dir(builtins))
    return {name for name in names if not keyword.iskeyword(name)}


_IMPORT_LINE = re.compile(r"(?:import|from)\s+\S")
_DOCSTRING = re.compile(r'\s*(?:[rRuU]?(?:"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'))[ \t]*\n')


def _import_position(text: str) -> int:
    """After the file's leading block of imports (the one before any other code), else after
    a module docstring, else the top: where a new module-level import is seen by all code."""
    docstring = _DOCSTRING.match(text)
    position = docstring.end() if docstring else 0
    after_imports = None
    continued = False
    for line in text[position:].splitlines(keepends=True):
        stripped = line.strip()
        if continued or _IMPORT_LINE.match(line):
            continued = stripped.endswith(("(", ",", "\\")) or (
                continued and not stripped.endswith(")")
            )
            position += len(line)
            after_imports = position
        elif not stripped or stripped.startswith("#"):
            position += len(line)
        else:
            break
    if after_imports is not None:
        return after_imports
    return docstring.end() if docstring else 0


def _remove_import(text: str, problem: Problem) -> Iterator[Patch]:
    line_start, line_end = _line_bounds(text, problem.start)
    line = text[line_start:line_end]
    statement = line.strip()
    names_part = (
        statement.split(" import ", 1)[-1]
        if statement.startswith("from ")
        else (statement[len("import ") :])
    )
    if "," not in names_part and "(" not in names_part:
        removal_end = min(line_end + 1, len(text))
        yield _patch(line_start, removal_end, "")
        return
    # One name of several: drop it with its comma.
    for pattern in (
        rf",\s*{re.escape(text[problem.start : problem.end])}(?=\s*(?:,|$|\)))",
        rf"{re.escape(text[problem.start : problem.end])}\s*,\s*",
    ):
        match = re.search(pattern, line)
        if match:
            yield _patch(line_start + match.start(), line_start + match.end(), "")
            return
