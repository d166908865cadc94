"""Next-edit tasks from real history, for `ghostwright eval next-edit`.

Two kinds:
- `history`: two consecutive releases of a real package (sdists from PyPI), diffed per file
  into ordered hunks as typing would leave them: changed runs of characters, one per line.
  The first k hunks of a file are replayed as the person's edits; the later hunks within
  `WINDOW_LINES` of the last one are what a next edit may hit.
- `rename`: a real local variable or parameter renamed where it is bound. The expected edit
  renames every other use of that binding, found by an oracle independent of Ghostwright's
  tree-sitter rules: Python's own `symtable` (which scope owns each name) walked over `ast`.

Packages are split: tuning looks at the tune pairs only; the validation pairs are held out.
"""

from __future__ import annotations

import ast
import difflib
import random
import re
import symtable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ghostwright.repair.verify import TextChange
from ghostwright_lab.corpora import SourceCorpus, corpus_files

WINDOW_LINES = 40
"""A later hunk is a target when it starts within this many lines of the last edit."""
MAX_TASKS_PER_FILE = 4


@dataclass(frozen=True)
class VersionPair:
    """Two consecutive releases of one package, and the files to compare."""

    name: str
    split: str
    old: str
    new: str
    members: tuple[str, ...]

    def corpus(self, version: str) -> SourceCorpus:
        return SourceCorpus(
            f"{self.name}-{version}",
            "python",
            self.split,
            "pypi",
            f"{self.name}=={version}",
            self.members,
        )


PAIRS: tuple[VersionPair, ...] = (
    VersionPair("attrs", "tune", "23.1.0", "23.2.0", ("*/src/*.py", "*/src/*/*.py")),
    VersionPair("more-itertools", "tune", "10.1.0", "10.2.0", ("*/more_itertools/*.py",)),
    VersionPair("click", "tune", "8.1.6", "8.1.7", ("*/src/click/*.py",)),
    VersionPair(
        "packaging", "tune", "23.2", "24.0", ("*/src/packaging/*.py", "*/src/packaging/*/*.py")
    ),
    VersionPair("httpx", "validation", "0.26.0", "0.27.0", ("*/httpx/*.py", "*/httpx/*/*.py")),
    VersionPair("pluggy", "validation", "1.3.0", "1.4.0", ("*/src/pluggy/*.py",)),
    VersionPair("rich", "validation", "13.7.0", "13.7.1", ("*/rich/*.py",)),
)


@dataclass(frozen=True)
class EditTask:
    """A document, the edits replayed before asking (each in the text before it), and the
    edits that count as the right next one."""

    kind: str
    """`history` or `rename`."""
    package: str
    path: str
    text: str
    """The document after the replayed edits."""
    replayed: tuple[tuple[int, str, str], ...]
    """(start, deleted, inserted) per replayed edit, in order, each in the text before it."""
    targets: tuple[tuple[TextChange, ...], ...]
    """Each a later change (in `text`), any of which a proposal may hit."""

    @property
    def cursor(self) -> int:
        start, _, inserted = self.replayed[-1]
        return start + len(inserted)


def pairs(split: str) -> list[VersionPair]:
    return [pair for pair in PAIRS if split in (pair.split, "all")]


def _files(pair: VersionPair, version: str) -> dict[str, str]:
    """The release's files by their path below the package's top folder, with `\\n` breaks."""
    files = {}
    for path in corpus_files(pair.corpus(version)):
        parts = path.parts
        top = next(i for i, part in enumerate(parts) if part == f"{pair.name}-{version}")
        relative = "/".join(parts[top + 2 :])
        text = path.read_bytes().decode("utf-8", "replace").replace("\r\n", "\n")
        files[relative] = text
    return files


def _hunks(old: str, new: str) -> list[tuple[int, int, str]]:
    """The changes from old to new as (start, end, text) in `old`, top to bottom, as a person
    types them: changed line blocks are split into the runs of changed characters, and runs
    on one line (closer than a line break) are one change."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    offsets = [0]
    for line in old_lines:
        offsets.append(offsets[-1] + len(line))
    hunks: list[tuple[int, int, str]] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        before, after = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
        base = offsets[i1]
        runs: list[list[int]] = []  # [old start, old end, new start, new end]
        chars = difflib.SequenceMatcher(None, before, after, autojunk=False)
        for char_tag, a1, a2, b1, b2 in chars.get_opcodes():
            if char_tag == "equal":
                continue
            if runs and "\n" not in before[runs[-1][1] : a1]:
                runs[-1][1], runs[-1][3] = a2, b2  # the same line: one change
            else:
                runs.append([a1, a2, b1, b2])
        hunks.extend((base + a1, base + a2, after[b1:b2]) for a1, a2, b1, b2 in runs)
    return hunks


def history_tasks(split: str) -> list[EditTask]:
    """Every replayable prefix of every changed file of the split's version pairs (at most
    `MAX_TASKS_PER_FILE` per file) that has a later hunk within the window."""
    tasks: list[EditTask] = []
    for pair in pairs(split):
        old_files, new_files = _files(pair, pair.old), _files(pair, pair.new)
        for path in sorted(set(old_files) & set(new_files)):
            tasks.extend(_file_tasks(pair.name, path, old_files[path], new_files[path]))
    return tasks


def _file_tasks(package: str, path: str, old: str, new: str) -> Iterator[EditTask]:
    hunks = _hunks(old, new)
    made = 0
    for k in range(1, len(hunks)):
        if made >= MAX_TASKS_PER_FILE:
            return
        text, replayed, shift = old, [], 0
        for start, end, inserted in hunks[:k]:
            at = start + shift
            replayed.append((at, text[at : end + shift], inserted))
            text = text[:at] + inserted + text[end + shift :]
            shift += len(inserted) - (end - start)
        cursor_line = text.count("\n", 0, replayed[-1][0])
        targets = []
        for start, end, inserted in hunks[k:]:
            at = start + shift
            if abs(text.count("\n", 0, at) - cursor_line) <= WINDOW_LINES:
                targets.append((TextChange(at, end + shift, inserted),))
        if targets:
            made += 1
            yield EditTask("history", package, path, text, tuple(replayed), tuple(targets))


# -- renames -------------------------------------------------------------------------------


def rename_tasks(files: list[tuple[str, str, str]], n: int, seed: int) -> list[EditTask]:
    """`n` renames of real locals and parameters in (package, path, text) files, picked at
    random (reproducibly for `seed`), each renamed at its first binding."""
    candidates: list[EditTask] = []
    for package, path, text in files:
        candidates.extend(_renames_in(package, path, text))
    random.Random(seed).shuffle(candidates)
    return candidates[:n]


def _renames_in(package: str, path: str, text: str) -> Iterator[EditTask]:
    try:
        module = ast.parse(text)
        table = symtable.symtable(text, path, "exec")
    except (SyntaxError, ValueError):
        return
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    functions = {
        (node.name, node.lineno): node
        for node in ast.walk(module)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    identifiers = set(_identifiers(text))
    for function_table in _function_tables(table):
        node = functions.get((function_table.get_name(), function_table.get_lineno()))
        if node is None:
            continue
        for symbol in function_table.get_symbols():
            name = symbol.get_name()
            if not symbol.is_local() or symbol.is_imported() or symbol.is_global():
                continue
            if not (symbol.is_parameter() or symbol.is_assigned()) or symbol.is_namespace():
                continue  # (a nested def or class bound to the name: not a variable)
            if _in_fstring_or_nonlocal(node, name):
                continue  # positions in f-strings, `nonlocal` names: no oracle positions
            uses = sorted(
                {*_uses(node, function_table, name), *_except_bindings(node, name, text, starts)}
            )
            if len(uses) < 2:
                continue
            new = f"{name}_new"
            if new in identifiers:
                continue
            offsets = [
                starts[line - 1] + _char_column(text, starts[line - 1], col) for line, col in uses
            ]
            first, rest = offsets[0], offsets[1:]
            renamed = text[:first] + new + text[first + len(name) :]
            shift = len(new) - len(name)
            yield EditTask(
                "rename",
                package,
                path,
                renamed,
                ((first, name, new),),
                (tuple(TextChange(at + shift, at + shift + len(name), new) for at in rest),),
            )


def _in_fstring_or_nonlocal(function: ast.AST, name: str) -> bool:
    for node in ast.walk(function):
        if isinstance(node, ast.Nonlocal | ast.Global) and name in node.names:
            return True
        if isinstance(node, ast.JoinedStr) and any(
            isinstance(inner, ast.Name) and inner.id == name for inner in ast.walk(node)
        ):
            return True
    return False


def _identifiers(text: str) -> Iterator[str]:
    return (match.group(0) for match in re.finditer(r"[^\W\d]\w*", text))


def _char_column(text: str, line_start: int, byte_column: int) -> int:
    line_end = text.find("\n", line_start)
    line = text[line_start : len(text) if line_end < 0 else line_end]
    return len(line.encode("utf-8")[:byte_column].decode("utf-8", "replace"))


def _function_tables(table: symtable.SymbolTable) -> Iterator[symtable.SymbolTable]:
    for child in table.get_children():
        if child.get_type() == "function" and child.get_name() not in (
            "lambda",
            "listcomp",
            "setcomp",
            "dictcomp",
            "genexpr",
        ):
            yield child
        yield from _function_tables(child)


def _uses(
    function: ast.FunctionDef | ast.AsyncFunctionDef, table: symtable.SymbolTable, name: str
) -> Iterator[tuple[int, int]]:
    """(line, byte column) of every occurrence of the function's local `name`: its parameter,
    its Name nodes, and those in nested scopes where `name` is free (a closure's)."""
    arguments = function.args
    for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
        if arg.arg == name:
            yield arg.lineno, arg.col_offset
    for extra in (arguments.vararg, arguments.kwarg):
        if extra is not None and extra.arg == name:
            yield extra.lineno, extra.col_offset
    children = {(child.get_name(), child.get_lineno()): child for child in table.get_children()}
    for statement in function.body:
        yield from _names_in_scope(statement, children, name)


def _except_bindings(
    function: ast.AST, name: str, text: str, starts: list[int]
) -> Iterator[tuple[int, int]]:
    """(line, byte column) of each `except E as name` in the function: ast gives the
    handler's position only, so the name is found after the exception's type."""
    for node in ast.walk(function):
        if not (isinstance(node, ast.ExceptHandler) and node.name == name and node.type):
            continue
        line = node.type.end_lineno or node.lineno
        after = node.type.end_col_offset or 0
        line_start = starts[line - 1]
        line_end = text.find("\n", line_start)
        encoded = text[line_start : len(text) if line_end < 0 else line_end].encode("utf-8")
        match = re.search(rb"\bas\s+(" + re.escape(name.encode()) + rb")\b", encoded[after:])
        if match:
            yield line, after + match.start(1)


_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = {
    ast.ListComp: "listcomp",
    ast.SetComp: "setcomp",
    ast.DictComp: "dictcomp",
    ast.GeneratorExp: "genexpr",
}


def _names_in_scope(
    node: ast.AST, children: dict[tuple[str, int], symtable.SymbolTable], name: str
) -> Iterator[tuple[int, int]]:
    if isinstance(node, ast.Name) and node.id == name:
        yield node.lineno, node.col_offset
        return
    nested_name = None
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        nested_name = node.name
        # Decorators, defaults, bases and annotations are evaluated in this scope.
        outer: list[ast.AST] = [*node.decorator_list]
        if isinstance(node, ast.ClassDef):
            outer += [*node.bases, *node.keywords]
        else:
            outer += [d for d in [*node.args.defaults, *node.args.kw_defaults] if d is not None]
        for part in outer:
            yield from _names_in_scope(part, children, name)
    elif isinstance(node, ast.Lambda):
        nested_name = "lambda"
    elif type(node) in _COMPREHENSIONS:
        nested_name = _COMPREHENSIONS[type(node)]
    if nested_name is None:
        for child in ast.iter_child_nodes(node):
            yield from _names_in_scope(child, children, name)
        return
    nested = children.get((nested_name, node.lineno))  # type: ignore[attr-defined]
    if nested is None:
        return  # no table to tell (two on one line): leave it out, the task is then skipped
    if isinstance(node, _NESTED):
        symbols = {symbol.get_name(): symbol for symbol in nested.get_symbols()}
        symbol = symbols.get(name)
        if symbol is not None and symbol.is_local():
            return  # bound again in there: another variable
        grandchildren = {(c.get_name(), c.get_lineno()): c for c in nested.get_children()}
        body: list[ast.AST] = [node.body] if isinstance(node, ast.Lambda) else list(node.body)
        for statement in body:
            yield from _names_in_scope(statement, grandchildren, name)
        return
    # A comprehension: its first iterable belongs to this scope, the rest to its own.
    generators = node.generators  # type: ignore[attr-defined]
    yield from _names_in_scope(generators[0].iter, children, name)
    symbols = {symbol.get_name(): symbol for symbol in nested.get_symbols()}
    symbol = symbols.get(name)
    if symbol is not None and symbol.is_local():
        return
    grandchildren = {(c.get_name(), c.get_lineno()): c for c in nested.get_children()}
    inner: list[ast.AST] = [generators[0].target, *generators[0].ifs]
    for generator in generators[1:]:
        inner += [generator.target, generator.iter, *generator.ifs]
    inner += [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]  # type: ignore[attr-defined]
    for part in inner:
        yield from _names_in_scope(part, grandchildren, name)


def python_files(root: Path) -> list[tuple[str, str, str]]:
    """(package, path, text) for a folder of Python files."""
    found = []
    for path in sorted(root.rglob("*.py")):
        try:
            found.append((root.name, str(path.relative_to(root)), path.read_text("utf-8")))
        except (OSError, UnicodeDecodeError):
            continue
    return found


def release_files(split: str) -> list[tuple[str, str, str]]:
    """(package, path, text) of the newer release of each of the split's version pairs."""
    return [
        (pair.name, path, text)
        for pair in pairs(split)
        for path, text in sorted(_files(pair, pair.new).items())
    ]
