"""Real code to evaluate on: corpus files, the held-out split, and cursor positions in them.

The corpus is code no one here wrote; by default the Python standard library of the running
interpreter, which every machine has. Whole top-level packages are held out for validation so
that tuning (prompt shapes, stop rules, the predictor) never sees the files the reported numbers
come from: a file belongs to the validation split when the first component of its path under the
corpus root, without `.py`, is one of `VALIDATION_PACKAGES`. Everything else is the tune split.

A cursor is placed where a person pauses and a completion is wanted: at the start of a
statement (after its indentation), and right after `=` or `(`. What the author wrote from there
to the end of the line is the target. Positions come from `tokenize`, so `=` and `(` inside
strings and comments are never picked.
"""

from __future__ import annotations

import io
import random
import sysconfig
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Literal

from ghostwright.errors import GhostwrightError
from ghostwright.syntax import language_of_path

VALIDATION_PACKAGES = frozenset({"email", "json", "http", "logging", "xml"})
"""Top-level stdlib packages held out for validation: mature, varied, and about 30,000 lines."""

Split = Literal["tune", "validation", "all"]
SPLITS: tuple[Split, ...] = ("tune", "validation", "all")

PositionKind = Literal["statement", "after_equals", "after_paren"]

MAX_FILE_LINES = 3000
"""Longer files (generated tables, giant modules) are skipped: they would dominate the sample."""

_SKIPPED_DIRECTORIES = frozenset(
    {"test", "tests", "idle_test", "site-packages", "__pycache__", "lib-dynload"}
)
"""Tests are not the code people complete most, and site-packages is not the standard library."""


class CorpusError(GhostwrightError):
    """The corpus directory is missing or holds no usable Python files for the split."""


def default_corpus() -> Path:
    """The running interpreter's standard library."""
    return Path(sysconfig.get_paths()["stdlib"])


def split_of(relative: Path) -> Literal["tune", "validation"]:
    """The split a file belongs to, from its path relative to the corpus root."""
    top = relative.parts[0].removesuffix(".py") if relative.parts else ""
    return "validation" if top in VALIDATION_PACKAGES else "tune"


def _is_skipped(relative: Path) -> bool:
    directories = relative.parts[:-1]
    if any(part in _SKIPPED_DIRECTORIES or part.startswith(".") for part in directories):
        return True
    name = relative.name
    return name.startswith("test_") or name.endswith("_test.py")


def corpus_files(root: Path, split: Split) -> list[Path]:
    """Python files of `split` under `root`, sorted so that sampling is reproducible.

    Test directories and files, site-packages, and files over `MAX_FILE_LINES` lines are left
    out.
    """
    if not root.is_dir():
        raise CorpusError(f"Corpus {root} is not a directory: pass --corpus DIR with Python files.")
    files = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if _is_skipped(relative) or not path.is_file():
            continue
        if split != "all" and split_of(relative) != split:
            continue
        with path.open("rb") as handle:
            if sum(1 for _ in handle) > MAX_FILE_LINES:
                continue
        files.append(path)
    if not files:
        raise CorpusError(
            f"No usable Python files of the {split} split under {root}: pick another --split "
            f"(validation is the packages {', '.join(sorted(VALIDATION_PACKAGES))})."
        )
    return files


@dataclass(frozen=True)
class Position:
    """A cursor in a real file, the document as the editor holds it then, and the truth."""

    file: Path
    line: int
    """1-based."""
    column: int
    """0-based, in characters."""
    kind: PositionKind
    document: str
    """The file with the rest of the cursor line removed: the author has not typed it yet, but
    the lines after it are there (as when editing in the middle of a file)."""
    offset: int
    """The cursor in `document`."""
    target: str
    """What the author wrote from the cursor to the end of the line."""

    @property
    def prefix(self) -> str:
        return self.document[: self.offset]

    @property
    def language(self) -> str:
        return language_of_path(self.file)


Cursor = tuple[int, int, PositionKind]
"""(1-based line, 0-based column, kind): a position before its document is cut."""


def _cursors(text: str, language_id: str = "python") -> Iterator[Cursor]:
    """Every candidate cursor of a file: from Python's tokenizer, or from the tree-sitter tree
    of another language (`_tree_cursors`)."""
    if language_id != "python":
        yield from _tree_cursors(text, language_id)
        return
    yield from _python_cursors(text)


_STATEMENT_ENDINGS = ("_statement", "declaration", "_definition")
"""Node types that are statements (a cursor at their first character is at a statement start)."""


def _tree_cursors(text: str, language_id: str) -> Iterator[Cursor]:
    """Statement starts (the first node of its line whose type is a statement or declaration)
    and the points after `=` and `(`, outside comments and string literals."""
    import tree_sitter

    from ghostwright.syntax import language

    grammar = language(language_id)
    if grammar is None:
        return
    tree = tree_sitter.Parser(grammar).parse(text.encode("utf-8"))
    lines = text.encode("utf-8").split(b"\n")

    def column(row: int, byte_column: int) -> int:
        return len(lines[row][:byte_column].decode("utf-8", errors="replace"))

    def first_of_line(row: int, byte_column: int) -> bool:
        return not lines[row][:byte_column].strip()

    found: list[Cursor] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if "comment" in node.type or "string" in node.type or node.type.endswith("_literal"):
            continue
        row, byte_column = node.start_point
        if node.is_named and node.type.endswith(_STATEMENT_ENDINGS) and node.parent is not None:
            if first_of_line(row, byte_column):
                found.append((row + 1, column(row, byte_column), "statement"))
        elif not node.is_named and node.type in ("=", "("):
            end_row, end_column = node.end_point
            kind: PositionKind = "after_equals" if node.type == "=" else "after_paren"
            found.append((end_row + 1, column(end_row, end_column), kind))
        stack.extend(reversed(node.children))
    yield from sorted(set(found))


def _python_cursors(text: str) -> Iterator[Cursor]:
    """Every candidate cursor of a file; nothing past a point where the code stops tokenizing."""
    at_statement_start = True
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    try:
        for token in tokens:
            if token.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
                continue
            if token.type == tokenize.NEWLINE:
                at_statement_start = True
                continue
            if at_statement_start and token.type != tokenize.ENDMARKER:
                yield token.start[0], token.start[1], "statement"
            at_statement_start = False
            if token.type == tokenize.OP and token.string in ("=", "("):
                kind: PositionKind = "after_equals" if token.string == "=" else "after_paren"
                yield token.end[0], token.end[1], kind
    except (tokenize.TokenError, SyntaxError):
        return


class _Source:
    """One file's text and line starts: finds its cursors and cuts the document at one.

    Documents are cut only for the cursors picked, since each is a near-copy of the file.
    """

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.language = language_of_path(path)
        self.text = text
        self.lines = io.StringIO(text).readlines()
        self.starts = list(accumulate((len(line) for line in self.lines), initial=0))
        self.code_start = len(text) - len(text.lstrip())

    def _target(self, row: int, column: int) -> str:
        if row > len(self.lines):
            return ""
        return self.lines[row - 1].rstrip("\r\n")[column:]

    def cursors(self) -> list[Cursor]:
        """The cursors whose target has something to predict, with something before them.

        A target without a letter or digit (a lone `)` or `:`) is left out: the next line
        carries the real content, and matching punctuation says nothing about the model. So is
        a cursor with only blank text before it: there is nothing to complete from (and an
        empty prompt is not a request either side can make).
        """
        return [
            (row, column, kind)
            for row, column, kind in _cursors(self.text, self.language)
            if self.starts[row - 1] + column > self.code_start
            and any(char.isalnum() for char in self._target(row, column))
        ]

    def position(self, cursor: Cursor) -> Position:
        row, column, kind = cursor
        line, target = self.lines[row - 1], self._target(row, column)
        offset = self.starts[row - 1] + column
        line_end = line[column + len(target) :]
        document = self.text[:offset] + line_end + self.text[self.starts[row] :]
        return Position(self.path, row, column, kind, document, offset, target)


def positions_in(path: Path, text: str) -> list[Position]:
    """Every position of a file worth asking at (see `_Source.cursors`)."""
    source = _Source(path, text)
    return [source.position(cursor) for cursor in source.cursors()]


def _read(path: Path) -> _Source | None:
    try:
        return _Source(path, path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def pick_positions(files: list[Path], n: int, seed: int) -> list[Position]:
    """`n` positions spread over `files`, the same ones for the same files and seed.

    Files are shuffled, then visited round-robin, each visit taking one random position not
    taken before: a sample smaller than the corpus takes at most one position per file, a
    larger one spreads evenly. Files are read only when first visited.
    """
    rng = random.Random(seed)
    order = list(files)
    rng.shuffle(order)
    remaining: dict[Path, tuple[_Source | None, list[Cursor]]] = {}
    picked: list[Position] = []
    while len(picked) < n:
        progressed = False
        for path in order:
            if len(picked) == n:
                break
            if path not in remaining:
                source = _read(path)
                remaining[path] = (source, source.cursors() if source else [])
            source, cursors = remaining[path]
            if source is not None and cursors:
                picked.append(source.position(cursors.pop(rng.randrange(len(cursors)))))
                progressed = True
        if not progressed:
            break
    return picked
