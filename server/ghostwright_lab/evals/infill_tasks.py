"""Infilling tasks cut from real code: a hole where the author's code was, and how to judge a
fill.

Python tasks come from functions whose docstrings hold doctests, in real packages (a tune
package and held-out validation packages): the document is the function with its module's
imports above it (a small file, opened fresh), and a fill passes when the function's own
doctests pass with it in place in the whole module. A task is kept only where that judgement
means something: the doctests pass with the author's code and fail with the hole left empty
(`pass`), so a fill that passes did what the author's code does for those examples.

- `line`: one line of a function body (a statement, or a compound statement's header), the
  cursor after its indentation, the line below intact.
- `span`: two to four lines (whole statements of one block) replaced by one empty line with the
  first one's indentation: the fill must write them and stop before the code below.
- `midline`: an argument of a call or the condition of an `if`/`while` cut out of a line, code
  after the cursor on the same line (`total = sum(|, start)`).

C-family tasks (`midline` in C, C++, Java, JavaScript, TypeScript) cut the condition out of a
one-line `if (...)`, `while (...)` or `for (...)` header whose line goes on after the `)`; a
fill passes when the line it makes equals the author's line (spacing counted only where it
separates two words).
"""

from __future__ import annotations

import ast
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ghostwright.syntax import language_of_path

TaskKind = Literal["line", "span", "midline"]
TASK_KINDS: tuple[TaskKind, ...] = ("line", "span", "midline")

DOCTEST_TIMEOUT_S = 20.0
"""A fill that loops forever fails after this."""


@dataclass(frozen=True)
class DoctestTarget:
    """Where a Python task's tests are: a package on disk, a module in it, an object in that."""

    root: Path
    """The directory that holds the package (what goes on `sys.path`)."""
    module: str
    """Dotted module name."""
    path: Path
    """The module's file."""
    qualname: str
    """The function (or `Class.method`) whose doctests judge the fill."""


@dataclass(frozen=True)
class InfillTask:
    """A document with a hole at `offset`, and the author's text that was there."""

    kind: TaskKind
    language: str
    name: str
    """Where the hole is: file and line, for reports."""
    document: str
    offset: int
    truth: str
    doctest: DoctestTarget | None = None
    """How to test a Python fill; None for tasks judged by the line they make."""
    module_around: tuple[str, str] = ("", "")
    """The module's text before and after the hole, where the fill is tested (Python)."""

    @property
    def prefix(self) -> str:
        return self.document[: self.offset]

    @property
    def suffix(self) -> str:
        return self.document[self.offset :]

    def filled(self, fill: str) -> str:
        """The document with `fill` at the hole (line breaks as the document has them)."""
        newline = "\r\n" if "\r\n" in self.document else "\n"
        return self.prefix + fill.replace("\r\n", "\n").replace("\n", newline) + self.suffix

    def tested_module(self, fill: str) -> str:
        """The whole module with `fill` at the hole: what a Python task's doctests run."""
        before, after = self.module_around
        return before + fill.replace("\r\n", "\n") + after


# --- judging ------------------------------------------------------------------------------------

_RUNNER = r"""
import doctest, importlib, sys
sys.dont_write_bytecode = True
root, module, qualname = sys.argv[1:4]
sys.path.insert(0, root)
target = importlib.import_module(module)
globs = dict(vars(target))
for part in qualname.split("."):
    target = getattr(target, part)
runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
for test in doctest.DocTestFinder(recurse=False).find(target, qualname, globs=globs):
    runner.run(test, out=lambda text: None)
sys.exit(0 if runner.tries and not runner.failures else 1)
"""


def doctests_pass(target: DoctestTarget, source: str, scratch: Path) -> bool:
    """Whether the target's doctests pass with its module's text replaced by `source`, in a
    fresh interpreter over `scratch`, a copy of the package that this call may write."""
    relative = target.path.relative_to(target.root)
    copy = scratch / relative
    if not copy.exists():
        shutil.copytree(target.root, scratch, dirs_exist_ok=True)
    original = copy.read_text(encoding="utf-8")
    copy.write_text(source, encoding="utf-8")
    try:
        done = subprocess.run(
            [sys.executable, "-B", "-c", _RUNNER, str(scratch), target.module, target.qualname],
            capture_output=True,
            timeout=DOCTEST_TIMEOUT_S,
            check=False,
        )
        return done.returncode == 0
    except subprocess.TimeoutExpired:
        return False
    finally:
        copy.write_text(original, encoding="utf-8")


def _normalized(line: str) -> str:
    """The line with the spacing that does not separate two words taken out."""
    return " ".join(re.sub(r"\s*([^\w\s])\s*", r"\1", line).split())


def line_matches(task: InfillTask, fill: str) -> bool:
    """Whether the fill makes the author's line (spacing counted only between words), and
    nothing more: a fill of several lines does not."""
    if "\n" in fill.strip("\n"):
        return False
    start = task.document.rfind("\n", 0, task.offset) + 1
    end = task.document.find("\n", task.offset)
    end = len(task.document) if end == -1 else end
    made = task.document[start : task.offset] + fill + task.document[task.offset : end]
    wanted = task.document[start : task.offset] + task.truth + task.document[task.offset : end]
    return _normalized(made) == _normalized(wanted)


def passes(task: InfillTask, fill: str, scratch: Path) -> bool:
    """The judgement of a fill: the doctests for a Python task, the line otherwise."""
    if task.doctest is None:
        return line_matches(task, fill)
    return doctests_pass(task.doctest, task.tested_module(fill), scratch)


# --- Python tasks from doctests -----------------------------------------------------------------


@dataclass(frozen=True)
class _Function:
    node: ast.FunctionDef | ast.AsyncFunctionDef
    qualname: str
    owner: ast.ClassDef | None
    """The class of a method."""


def _doctested_functions(tree: ast.Module) -> Iterator[_Function]:
    """Top-level functions and methods of top-level classes with `>>>` in their docstrings."""
    for node in tree.body:
        owner = node if isinstance(node, ast.ClassDef) else None
        for member in owner.body if owner else [node]:
            if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                docstring = ast.get_docstring(member) or ""
                if ">>>" in docstring:
                    qualname = f"{owner.name}.{member.name}" if owner else member.name
                    yield _Function(member, qualname, owner)


def _body(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    """The function's statements after its docstring."""
    body = function.body
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return body[1:]
    return body


def _statements(statements: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement in these blocks, nested ones included, in source order."""
    for statement in statements:
        yield statement
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(statement, field, None)
            if isinstance(inner, list):
                yield from _statements(inner)
        for handler in getattr(statement, "handlers", []):
            yield from _statements(handler.body)


def _blocks(statements: list[ast.stmt]) -> Iterator[list[ast.stmt]]:
    """This block and every block nested in it."""
    yield statements
    for statement in statements:
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(statement, field, None)
            if isinstance(inner, list) and inner:
                yield from _blocks(inner)
        for handler in getattr(statement, "handlers", []):
            yield from _blocks(handler.body)


_COMPOUND = (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.AsyncFor, ast.AsyncWith)


def _line_holes(function: _Function, lines: list[str]) -> Iterator[tuple[int, int, int]]:
    """(line index, start column, end column) of whole-line holes."""
    for statement in _statements(_body(function.node)):
        if isinstance(statement, ast.Pass):
            continue
        row = statement.lineno - 1
        if isinstance(statement, _COMPOUND):
            header_end = statement.body[0].lineno - 1 if hasattr(statement, "body") else row
            if header_end != row + 1:
                continue  # a header over several lines, or a one-line compound
        elif statement.end_lineno != statement.lineno:
            continue
        text = lines[row].rstrip("\r\n")
        content = text.strip()
        if len(content) < 4 or content.startswith(("#", "else", "try:", "finally")):
            continue
        yield row, len(text) - len(text.lstrip()), len(text)


def _span_holes(function: _Function, lines: list[str]) -> Iterator[tuple[int, int]]:
    """(first line index, line count) of spans of 2-4 whole statements of one block."""
    for block in _blocks(_body(function.node)):
        for start in range(len(block)):
            first = block[start].lineno - 1
            for stop in range(start + 1, len(block) + 1):
                last = (block[stop - 1].end_lineno or block[stop - 1].lineno) - 1
                count = last - first + 1
                if count > 4:
                    break
                if count >= 2 and all(lines[row].strip() for row in range(first, last + 1)):
                    yield first, count


def _midline_holes(function: _Function, lines: list[str]) -> Iterator[tuple[int, int, int]]:
    """(line index, start column, end column) of an argument or condition with code after it
    on its line."""
    for node in ast.walk(function.node):
        parts: list[ast.expr] = []
        if isinstance(node, ast.Call) and len(node.args) >= 2:
            parts = list(node.args[:-1])  # not the last: code must follow on the line
        elif isinstance(node, ast.If | ast.While):
            parts = [node.test]
        for part in parts:
            if part.lineno != part.end_lineno or part.end_col_offset is None:
                continue
            row = part.lineno - 1
            line = lines[row].rstrip("\r\n")
            if not line.isascii():
                continue  # ast columns are UTF-8 bytes: ASCII lines keep them character columns
            start, end = part.col_offset, part.end_col_offset
            rest = line[end:]
            if end - start >= 3 and re.search(r"\w", rest) and line[:start].strip():
                yield row, start, end


def python_tasks(
    root: Path, package: str, kinds: tuple[TaskKind, ...], per_kind: int, seed: int
) -> list[InfillTask]:
    """Up to `per_kind` tasks of each kind from the doctested functions of `package` (a
    directory under `root`), picked at random (`seed`) among those whose doctests judge them."""
    candidates: dict[TaskKind, list[InfillTask]] = {kind: [] for kind in kinds}
    for path in sorted((root / package).rglob("*.py")):
        if any(part.startswith(("test", "_test")) for part in path.relative_to(root).parts):
            continue
        source = path.read_text(encoding="utf-8")
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        module = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        lines = source.splitlines(keepends=True)
        starts = [0]
        for line in lines:
            starts.append(starts[-1] + len(line))
        imports = "".join(
            source[starts[node.lineno - 1] : starts[node.end_lineno or node.lineno]]
            for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom)
        )
        header = imports + "\n\n" if imports else ""
        for function in _doctested_functions(tree):
            node = function.node
            first_row = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            function_start = starts[first_row]
            function_end = starts[node.end_lineno or node.lineno]
            owner_line = lines[function.owner.lineno - 1] if function.owner else ""
            target = DoctestTarget(root, module, path, function.qualname)
            holes: list[tuple[TaskKind, int, int]] = []
            if "line" in kinds:
                holes += [
                    ("line", starts[row] + first, starts[row] + last)
                    for row, first, last in _line_holes(function, lines)
                ]
            if "span" in kinds:
                for row, count in _span_holes(function, lines):
                    indent = len(lines[row]) - len(lines[row].lstrip())
                    end = starts[row + count] - (1 if lines[row + count - 1].endswith("\n") else 0)
                    holes.append(("span", starts[row] + indent, end))
            if "midline" in kinds:
                holes += [
                    ("midline", starts[row] + first, starts[row] + last)
                    for row, first, last in _midline_holes(function, lines)
                ]
            for kind, start, end in holes:
                row = source.count("\n", 0, start) + 1
                # The document: the imports, then the function (a method under its class line).
                before = owner_line + source[function_start:start]
                after = source[end:function_end]
                candidates[kind].append(
                    InfillTask(
                        kind,
                        "python",
                        f"{path.relative_to(root)}:{row} ({function.qualname})",
                        header + before + after,
                        len(header) + len(before),
                        source[start:end],
                        target,
                        (source[:start], source[end:]),
                    )
                )
    picked: list[InfillTask] = []
    generator = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="ghostwright-infill-") as scratch:
        for kind in kinds:
            pool = candidates[kind][:]
            generator.shuffle(pool)
            kept = 0
            for candidate in pool:
                if kept >= per_kind:
                    break
                if _judges(candidate, Path(scratch)):
                    picked.append(candidate)
                    kept += 1
    return picked


def _judges(task: InfillTask, scratch: Path) -> bool:
    """The doctests pass with the author's code and fail without it."""
    assert task.doctest is not None
    if not doctests_pass(task.doctest, task.filled(task.truth), scratch):
        return False
    placeholder = "pass" if task.kind != "midline" else "None"
    return not doctests_pass(task.doctest, task.filled(placeholder), scratch)


# --- C-family tasks ---------------------------------------------------------------------------

_HEADER = re.compile(r"\b(if|while|for)\s*\(")


def _matching_paren(line: str, open_at: int) -> int | None:
    depth = 0
    for index in range(open_at, len(line)):
        if line[index] == "(":
            depth += 1
        elif line[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    return None


def c_family_tasks(files: list[Path], per_file: int, total: int, seed: int) -> list[InfillTask]:
    """Conditions cut out of one-line `if (...)`, `while (...)`, `for (...)` headers whose line
    goes on after the `)`, in these files (CRLF kept where a file has it)."""
    generator = random.Random(seed)
    found: list[InfillTask] = []
    for path in files:
        language = language_of_path(path)
        if language in ("plaintext", "python"):
            continue
        try:
            source = path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        holes = []
        offset = 0
        for line in source.splitlines(keepends=True):
            text = line.rstrip("\r\n")
            stripped = text.lstrip()
            match = _HEADER.match(stripped)
            if match and not stripped.startswith(("//", "*", "/*")):
                open_at = len(text) - len(stripped) + match.end() - 1
                close_at = _matching_paren(text, open_at)
                if close_at is not None:
                    condition = text[open_at + 1 : close_at]
                    after = text[close_at + 1 :]
                    if 3 <= len(condition.strip()) <= 80 and after.strip() and condition.strip():
                        holes.append((offset + open_at + 1, offset + close_at, path))
            offset += len(line)
        generator.shuffle(holes)
        for start, end, where in holes[:per_file]:
            row = source.count("\n", 0, start) + 1
            found.append(
                InfillTask(
                    "midline",
                    language,
                    f"{where.name}:{row}",
                    source[:start] + source[end:],
                    start,
                    source[start:end],
                )
            )
    generator.shuffle(found)
    return found[:total]
