"""The same change at the other calls: an argument added, removed or changed at one call of `f`
is proposed at the file's other calls of `f` that had the same arguments before.

What counts as "the same": added at position i of a call that had n arguments -> added at
position i of the other calls with n arguments that do not have it yet; removed from position
i -> removed there too; argument i changed from `a` to `b` -> changed where argument i is `a`; a
keyword renamed (`key=v` -> `name=v`) -> renamed wherever `key=` is passed. Calls are matched by
the callee's text (`f`, `self.f`, `os.path.join`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import tree_sitter

from ghostwright.edits.history import Hunk
from ghostwright.repair.verify import TextChange
from ghostwright.syntax import SyntaxTree, language

_CALLS: dict[str, tuple[str, str]] = {
    "python": ("call", "function"),
    "javascript": ("call_expression", "function"),
    "typescript": ("call_expression", "function"),
    "typescriptreact": ("call_expression", "function"),
    "javascriptreact": ("call_expression", "function"),
    "java": ("method_invocation", "name"),
    "c": ("call_expression", "function"),
    "cpp": ("call_expression", "function"),
    "go": ("call_expression", "function"),
    "rust": ("call_expression", "function"),
}
"""Per language: the call node's type and the field naming the callee."""
_KEYWORD = re.compile(r"\s*([A-Za-z_]\w*)\s*[=:](?![=>])")
"""`name=value` (Python) or `name: value`; not `a == b` nor an arrow function `x => y`."""
_PUNCTUATION = frozenset({"(", ")", ",", "comment"})


@dataclass(frozen=True)
class _Call:
    callee: str
    arguments: tree_sitter.Node
    args: list[tree_sitter.Node]


def call_changes(tree: SyntaxTree, hunk: Hunk) -> list[TextChange] | None:
    """Edits repeating the hunk's change of a call's arguments at the other calls of the same
    callee; None when the hunk is not such a change or no other call takes it."""
    kinds = _CALLS.get(tree.language_id)
    lang = language(tree.language_id)
    root = tree.tree
    if kinds is None or lang is None or root is None:
        return None
    start_byte, end_byte = tree.byte_at(hunk.start), tree.byte_at(hunk.end)
    edited = _call_around(tree, root.root_node, start_byte, end_byte, kinds)
    if edited is None:
        return None
    text = tree.text
    a_start, a_end = tree.offsets_of(edited.arguments)
    new_list = [tree.node_text(arg) for arg in edited.args]
    old_inner = text[a_start + 1 : hunk.start] + hunk.old + text[hunk.end : a_end - 1]
    old_list = split_arguments(old_inner)
    if old_list is None or old_list == new_list:
        return None
    change = _argument_change(old_list, new_list)
    if change is None:
        return None
    changes: list[TextChange] = []
    for call in _calls_of(tree, lang, root.root_node, kinds, edited.callee):
        if call.arguments.id == edited.arguments.id:
            continue
        changes.extend(change.at(tree, call))
    return sorted(changes, key=lambda c: c.start) or None


def split_arguments(inner: str) -> list[str] | None:
    """The top-level, comma-separated arguments of an argument list's inside (stripped);
    None when its brackets or quotes do not balance."""
    parts: list[str] = []
    depth, quote, current = 0, "", []
    escaped = False
    for char in inner:
        if quote:
            current.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
            continue
        if char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if depth or quote:
        return None
    parts.append("".join(current).strip())
    return [part for part in parts if part]


@dataclass(frozen=True)
class _ArgumentChange:
    kind: str
    """`add`, `remove`, `replace` or `keyword`."""
    index: int
    count: int
    """How many arguments the call had before."""
    old: str
    new: str

    def at(self, tree: SyntaxTree, call: _Call) -> list[TextChange]:
        args = [tree.node_text(arg) for arg in call.args]
        if self.kind == "keyword":
            for node, arg in zip(call.args, args, strict=True):
                match = _KEYWORD.match(arg)
                if match and match.group(1) == self.old:
                    start, _ = tree.offsets_of(node)
                    return [TextChange(start + match.start(1), start + match.end(1), self.new)]
            return []
        if len(args) != self.count:
            return []
        if self.kind == "add":
            if self.new in args:
                return []
            if not args:
                open_end = tree.offsets_of(call.arguments)[0] + 1
                return [TextChange(open_end, open_end, self.new)]
            if self.index == len(args):
                end = tree.offsets_of(call.args[-1])[1]
                return [TextChange(end, end, f", {self.new}")]
            start = tree.offsets_of(call.args[self.index])[0]
            return [TextChange(start, start, f"{self.new}, ")]
        if self.kind == "remove":
            if len(args) == 1:
                start, end = tree.offsets_of(call.args[0])
            elif self.index + 1 < len(args):
                start = tree.offsets_of(call.args[self.index])[0]
                end = tree.offsets_of(call.args[self.index + 1])[0]
            else:
                start = tree.offsets_of(call.args[self.index - 1])[1]
                end = tree.offsets_of(call.args[self.index])[1]
            return [TextChange(start, end, "")]
        if args[self.index] != self.old:
            return []
        start, end = tree.offsets_of(call.args[self.index])
        return [TextChange(start, end, self.new)]


def _argument_change(old: list[str], new: list[str]) -> _ArgumentChange | None:
    if len(new) == len(old) + 1:
        for index in range(len(new)):
            if new[:index] + new[index + 1 :] == old:
                return _ArgumentChange("add", index, len(old), "", new[index])
        return None
    if len(new) + 1 == len(old):
        for index in range(len(old)):
            if old[:index] + old[index + 1 :] == new:
                return _ArgumentChange("remove", index, len(old), old[index], "")
        return None
    differing = [i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b]
    if len(old) != len(new) or len(differing) != 1:
        return None
    index = differing[0]
    before, after = _KEYWORD.match(old[index]), _KEYWORD.match(new[index])
    if (
        before
        and after
        and before.group(1) != after.group(1)
        and old[index][before.end() :] == new[index][after.end() :]
    ):
        return _ArgumentChange("keyword", index, len(old), before.group(1), after.group(1))
    return _ArgumentChange("replace", index, len(old), old[index], new[index])


def _arguments_of(call: tree_sitter.Node) -> tree_sitter.Node | None:
    arguments = call.child_by_field_name("arguments")
    if arguments is None or arguments.type not in ("argument_list", "arguments"):
        return None  # `f(x for x in xs)`: a generator, not a list of arguments
    return arguments


def _args(arguments: tree_sitter.Node) -> list[tree_sitter.Node]:
    return [child for child in arguments.named_children if child.type not in _PUNCTUATION]


def _call_around(
    tree: SyntaxTree,
    root: tree_sitter.Node,
    start: int,
    end: int,
    kinds: tuple[str, str],
) -> _Call | None:
    node: tree_sitter.Node | None = root.descendant_for_byte_range(start, end)
    while node is not None:
        if node.type == kinds[0]:
            arguments = _arguments_of(node)
            callee = node.child_by_field_name(kinds[1])
            if (
                arguments is not None
                and callee is not None
                and arguments.start_byte < start
                and end < arguments.end_byte
                and not arguments.has_error
            ):
                return _Call(tree.node_text(callee), arguments, _args(arguments))
        node = node.parent
    return None


@lru_cache(maxsize=64)
def _calls_query(
    lang: tree_sitter.Language, kind: str, field: str, callee: str
) -> tree_sitter.Query:
    escaped = callee.replace("\\", "\\\\").replace('"', '\\"')
    pattern = f'({kind} {field}: (_) @callee (#eq? @callee "{escaped}")) @call'
    return tree_sitter.Query(lang, pattern)


def _calls_of(
    tree: SyntaxTree,
    lang: tree_sitter.Language,
    root: tree_sitter.Node,
    kinds: tuple[str, str],
    callee: str,
) -> list[_Call]:
    cursor = tree_sitter.QueryCursor(_calls_query(lang, kinds[0], kinds[1], callee))
    calls = []
    for node in cursor.captures(root).get("call", []):
        arguments = _arguments_of(node)
        if arguments is not None and not arguments.has_error:
            calls.append(_Call(callee, arguments, _args(arguments)))
    return calls
