"""Rename propagation: the person renamed a name where it is bound; rename its other uses.

Only a rename at a binding (a parameter, an assignment or loop target, a `def`, an import's
alias, a declarator) is followed: renaming one use changes which variable it reads, which is
no rename. The uses renamed are those of the same binding: the identifiers with the old name in
the binding's scope, minus attribute and keyword names and the nested scopes that bind the name
again. Python's rules are followed exactly (function, lambda, comprehension and class scopes,
`global` / `nonlocal`); other languages through their tree-sitter grammars, conservatively: the
scope is the enclosing function, and a second binding of the old name there means no proposal.
Anything in doubt (the new name already used in the scope, a name the tree does not cover)
means no proposal rather than a wrong one.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import tree_sitter

from ghostwright.edits.history import Hunk
from ghostwright.repair.verify import TextChange
from ghostwright.syntax import SyntaxTree, language

_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Rename:
    """`old` became `new` at the identifier [start, end) of the current text."""

    old: str
    new: str
    start: int
    end: int


def renamed_identifier(text: str, hunk: Hunk) -> Rename | None:
    """The identifier the hunk changed, with its name before and after; None when the hunk did
    more than change one identifier (or spans lines)."""
    if "\n" in hunk.old or "\n" in hunk.new:
        return None
    start, end = hunk.start, hunk.end
    while start > 0 and _WORD.match(text[start - 1]):
        start -= 1
    while end < len(text) and _WORD.match(text[end]):
        end += 1
    new = text[start:end]
    old = text[start : hunk.start] + hunk.old + text[hunk.end : end]
    if not (new.isidentifier() and old.isidentifier()) or old == new:
        return None
    if keyword.iskeyword(new) or keyword.iskeyword(old):
        return None
    return Rename(old, new, start, end)


def rename_changes(tree: SyntaxTree, rename: Rename) -> list[TextChange] | None:
    """The edits that rename the binding's other uses; None when it is not a rename to follow
    (or it cannot be followed safely)."""
    root = tree.tree
    if root is None:
        return None
    start_byte = tree.byte_at(rename.start)
    node = root.root_node.named_descendant_for_byte_range(
        start_byte, start_byte + len(rename.new.encode("utf-8", "surrogatepass"))
    )
    if node is None or node.type != "identifier" or tree.node_text(node) != rename.new:
        return None
    rules = _PYTHON if tree.language_id == "python" else _GENERIC
    if not rules.is_binding(node):
        return None
    scope = rules.scope_of(node)
    if scope is None or not _covered(tree, scope):
        return None
    lang = language(tree.language_id)
    assert lang is not None
    if any(n.id != node.id for n in _named(lang, scope, rename.new)):
        return None  # the new name is in use there: renaming could capture it
    uses = rules.uses(lang, scope, rename.old)
    if uses is None or not uses:
        return None
    changes = []
    for use in uses:
        start, end = tree.offsets_of(use)
        changes.append(TextChange(start, end, rename.new))
    return changes


def _covered(tree: SyntaxTree, scope: tree_sitter.Node) -> bool:
    """Whether the parsed tree holds the whole scope (a long document's window may not)."""
    return tree.parses_whole or (scope.type != "module" and not scope.has_error)


@lru_cache(maxsize=64)
def _query(lang: tree_sitter.Language, name: str) -> tree_sitter.Query:
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return tree_sitter.Query(lang, f'((identifier) @name (#eq? @name "{escaped}"))')


def _named(
    lang: tree_sitter.Language, scope: tree_sitter.Node, name: str
) -> list[tree_sitter.Node]:
    """The identifiers spelled `name` inside `scope`, in document order."""
    cursor = tree_sitter.QueryCursor(_query(lang, name))
    cursor.set_byte_range(scope.start_byte, scope.end_byte)
    found = cursor.captures(scope).get("name", [])
    return sorted(found, key=lambda n: n.start_byte)


def _field(node: tree_sitter.Node) -> str | None:
    parent = node.parent
    if parent is None:
        return None
    for index, child in enumerate(parent.children):
        if child.id == node.id:
            return parent.field_name_for_child(index)
    return None


def _names_definition(node: tree_sitter.Node) -> bool:
    """Whether the identifier is the name of a `def` or `class`."""
    parent = node.parent
    return (
        parent is not None
        and parent.type in ("function_definition", "class_definition")
        and _field(node) == "name"
    )


_PARAMETER_PARTS = frozenset({"default_parameter", "typed_default_parameter", "typed_parameter"})


def _evaluated_outside(
    scope: tree_sitter.Node, child: tree_sitter.Node, node: tree_sitter.Node
) -> bool:
    """Whether `node`, inside the Python scope `scope` under its child `child`, is evaluated in
    the scope around it: a default value, an annotation, a class's bases, a comprehension's
    first iterable."""
    if scope.type in ("function_definition", "lambda", "class_definition"):
        field = _field(child)
        if field in ("return_type", "superclasses"):
            return True
        if field != "parameters":
            return False
        at = node
        while at.id != child.id and at.parent is not None:
            if at.parent.type in _PARAMETER_PARTS and _field(at) in ("value", "type"):
                return True
            at = at.parent
        return False
    first = next((c for c in scope.named_children if c.type == "for_in_clause"), None)
    if first is None or child.id != first.id:
        return False
    at = node
    while at.parent is not None and at.parent.id != first.id:
        at = at.parent
    return _field(at) == "right"


def _ancestors(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


class _PythonRules:
    SCOPES = frozenset(
        {
            "module",
            "function_definition",
            "lambda",
            "class_definition",
            "list_comprehension",
            "set_comprehension",
            "dictionary_comprehension",
            "generator_expression",
        }
    )
    _FUNCTIONS = SCOPES - {"module", "class_definition"}
    _PATTERNS = frozenset(
        {"pattern_list", "tuple_pattern", "list_pattern", "list_splat_pattern", "tuple", "list"}
    )
    _TARGETS = frozenset({"assignment", "augmented_assignment", "for_statement", "for_in_clause"})

    def is_binding(self, node: tree_sitter.Node) -> bool:
        parent = node.parent
        if parent is None:
            return False
        field = _field(node)
        kind = parent.type
        if kind in ("function_definition", "class_definition", "default_parameter"):
            return field == "name"
        if kind in ("typed_default_parameter", "named_expression", "aliased_import"):
            return field in ("name", "alias")
        if kind in ("parameters", "lambda_parameters", "typed_parameter", "as_pattern_target"):
            return True
        splat_in = parent.parent.type if parent.parent is not None else None
        if kind in ("list_splat_pattern", "dictionary_splat_pattern") and splat_in in (
            "parameters",
            "lambda_parameters",
            "typed_parameter",
        ):
            return True  # `*args`, `**kwargs: Any`
        target = node
        while target.parent is not None and target.parent.type in self._PATTERNS:
            target = target.parent
        holder = target.parent
        if holder is None:
            return False
        if holder.type == "as_pattern_target":
            return True
        return holder.type in self._TARGETS and _field(target) == "left"

    def scope_of(self, node: tree_sitter.Node) -> tree_sitter.Node | None:
        """The scope a binding binds in (a `def`'s or `class`'s name: the one around it)."""
        start = node.parent
        if _names_definition(node) and start is not None:
            start = start.parent
        while start is not None and start.type not in self.SCOPES:
            start = start.parent
        return start

    def uses(
        self, lang: tree_sitter.Language, scope: tree_sitter.Node, name: str
    ) -> list[tree_sitter.Node] | None:
        """The identifiers in `scope` that are this scope's `name`; None when the name is not
        local to the scope (`global` / `nonlocal` there)."""
        found = _named(lang, scope, name)
        binding_scopes: set[int] = set()
        free_scopes: set[int] = set()  # nested scopes that declare the name `nonlocal`
        global_scopes: set[int] = set()  # nested scopes whose `global` name is this module's
        for node in found:
            parent = node.parent
            declared = self._declaring_scope(node)
            if parent is not None and parent.type in ("global_statement", "nonlocal_statement"):
                if declared is not None and declared.id == scope.id:
                    return None
                if declared is None:
                    continue
                if parent.type == "nonlocal_statement":
                    free_scopes.add(declared.id)
                elif scope.type == "module":
                    global_scopes.add(declared.id)
                else:
                    binding_scopes.add(declared.id)
            elif self.is_binding(node):
                bound_in = self.scope_of(node)
                if bound_in is not None:
                    binding_scopes.add(bound_in.id)
        binding_scopes -= free_scopes | global_scopes
        return [
            node
            for node in found
            if self._is_reference(node) and self._sees(node, scope, binding_scopes, global_scopes)
        ]

    def _declaring_scope(self, node: tree_sitter.Node) -> tree_sitter.Node | None:
        return next((a for a in _ancestors(node) if a.type in self.SCOPES), None)

    @staticmethod
    def _is_reference(node: tree_sitter.Node) -> bool:
        parent = node.parent
        if parent is None:
            return False
        field = _field(node)
        if parent.type == "attribute" and field == "attribute":
            return False
        if parent.type == "keyword_argument" and field == "name":
            return False
        if parent.type == "aliased_import":
            return field == "alias"
        in_import = any(
            a.type in ("import_statement", "import_from_statement") for a in _ancestors(node)
        )
        return parent.type != "dotted_name" and not in_import

    def _sees(
        self,
        node: tree_sitter.Node,
        scope: tree_sitter.Node,
        binders: set[int],
        global_scopes: set[int],
    ) -> bool:
        """Whether `node` names `scope`'s binding: no scope between them binds the name again,
        and no class body lies between them (methods do not see their class's names). A scope
        declaring the name `global` names the module's; a default value, an annotation, a
        class's bases and a comprehension's first iterable belong to the scope around theirs."""
        # A def's name is bound in the scope around the def.
        start = node.parent if _names_definition(node) and node.parent is not None else node
        crossed_function = False
        child = start
        for ancestor in _ancestors(start):
            outside = ancestor.type in self.SCOPES and _evaluated_outside(ancestor, child, node)
            child = ancestor
            if ancestor.id == scope.id:
                return not outside and not (scope.type == "class_definition" and crossed_function)
            if ancestor.type not in self.SCOPES or outside:
                continue
            if ancestor.id in global_scopes:
                return True
            if ancestor.id in binders:
                return False
            if ancestor.type in self._FUNCTIONS:
                crossed_function = True
        return False


class _GenericRules:
    """Declarations and functions as most C-family grammars name them."""

    _BINDINGS = frozenset(
        {
            ("variable_declarator", "name"),
            ("formal_parameters", None),
            ("formal_parameter", "name"),
            ("assignment_pattern", "left"),
            ("for_in_statement", "left"),
            ("required_parameter", "pattern"),
            ("optional_parameter", "pattern"),
            ("init_declarator", "declarator"),
            ("parameter_declaration", "declarator"),
            ("catch_formal_parameter", "name"),
            ("catch_clause", "parameter"),
            ("enhanced_for_statement", "name"),
            ("short_var_declaration", None),
            ("let_declaration", "pattern"),
            ("parameter", "pattern"),
        }
    )
    _NOT_USES = frozenset({("field_access", "field"), ("method_invocation", "name")})

    def is_binding(self, node: tree_sitter.Node) -> bool:
        parent = node.parent
        if parent is None:
            return False
        key = (parent.type, _field(node))
        if key in self._BINDINGS:
            return True
        holder = parent.parent
        if parent.type not in ("expression_list", "array_pattern") or holder is None:
            return False
        return (holder.type, _field(parent)) in self._BINDINGS

    @staticmethod
    def _is_function(node: tree_sitter.Node) -> bool:
        kind = node.type
        return (
            any(part in kind for part in ("function", "method", "lambda", "constructor"))
            and "call" not in kind
            and "invocation" not in kind
        ) or kind in ("arrow_function", "func_literal", "closure_expression")

    def scope_of(self, node: tree_sitter.Node) -> tree_sitter.Node | None:
        return next((a for a in _ancestors(node) if self._is_function(a)), None)

    def uses(
        self, lang: tree_sitter.Language, scope: tree_sitter.Node, name: str
    ) -> list[tree_sitter.Node] | None:
        found = _named(lang, scope, name)
        if any(self.is_binding(node) for node in found):
            return None  # declared again inside (a shadowing block, a second declaration)
        if _has_shorthand(scope, name):
            return None  # `{name}` would need `{name: new}`
        return [
            node
            for node in found
            if node.parent is None or (node.parent.type, _field(node)) not in self._NOT_USES
        ]


def _has_shorthand(scope: tree_sitter.Node, name: str) -> bool:
    encoded = name.encode()
    stack = [scope]
    while stack:
        node = stack.pop()
        if node.type.startswith("shorthand_property_identifier") and node.text == encoded:
            return True
        stack.extend(node.named_children)
    return False


_PYTHON = _PythonRules()
_GENERIC = _GenericRules()
