"""The languages Ghostwright parses: LSP languageIds and file suffixes, their tree-sitter
grammars (from the per-language wheels, loaded on first use), and which node types of each
grammar play which part in the queries of `syntax.tree`."""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path

import tree_sitter

# LSP languageId -> grammar name. JSX needs no grammar of its own: the JavaScript grammar parses
# it; TSX does (the TypeScript grammar reads `<T>` as a type assertion, not an element).
_GRAMMAR_OF_LANGUAGE_ID = {
    "python": "python",
    "javascript": "javascript",
    "javascriptreact": "javascript",
    "typescript": "typescript",
    "typescriptreact": "tsx",
    "go": "go",
    "rust": "rust",
    "java": "java",
    "c": "c",
    "cpp": "cpp",
}
# grammar name -> (module of its wheel, function returning the language pointer).
_GRAMMAR_WHEELS = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}

LANGUAGE_IDS = frozenset(_GRAMMAR_OF_LANGUAGE_ID)
"""The LSP languageIds that get a syntax tree; any other is plain text."""

LANGUAGE_OF_SUFFIX = {
    ".py": "python",
    ".js": "javascript",
    ".jsx": "javascriptreact",
    ".mjs": "javascript",
    ".ts": "typescript",
    ".tsx": "typescriptreact",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "cpp",
    ".cpp": "cpp",
    ".cc": "cpp",
    ".hpp": "cpp",
}
"""The languageId of a file opened outside an editor (the CLI, the evals), by its suffix; a
`.h` header is read as C++, whose grammar parses C headers too."""


def language_of_path(path: Path) -> str:
    return LANGUAGE_OF_SUFFIX.get(path.suffix.lower(), "plaintext")


@functools.cache
def language(language_id: str) -> tree_sitter.Language | None:
    """The tree-sitter language for an LSP languageId, or None for plain text.

    Loaded on first use, so a session that only edits Python never maps the C++ grammar.
    """
    grammar = _GRAMMAR_OF_LANGUAGE_ID.get(language_id)
    if grammar is None:
        return None
    module, function = _GRAMMAR_WHEELS[grammar]
    return tree_sitter.Language(getattr(importlib.import_module(module), function)())


@dataclass(frozen=True)
class Grammar:
    """Which node types of one grammar play which part; the queries below are generic."""

    scopes: frozenset[str]
    """Nodes whose header line tells a model where the cursor is (classes, functions, impls)."""
    imports: frozenset[str]
    """Top-level statements that bring names into the file."""
    definitions: frozenset[str]
    """Named definitions listed by `definitions()`."""
    containers: frozenset[str]
    """Nodes whose body members are listed too, qualified with the container's name."""
    transparent: frozenset[str]
    """Wrappers whose children count as top level (export, decorators, #ifdef, templates)."""
    statement_lists: frozenset[str]
    """Nodes whose named children are statements or definitions: the units `unit_end` cuts at."""
    body_starts: frozenset[str]
    """Where a definition's body begins: its signature is the text before the first of these."""
    indented: bool = False
    """Blocks end where indentation drops (Python), so trailing blank lines can still be inside."""


_BRACE = frozenset({"{"})
_JS_SCOPES = frozenset(
    {
        "class_declaration",
        "class",
        "function_declaration",
        "function_expression",
        "generator_function_declaration",
        "generator_function",
        "arrow_function",
        "method_definition",
    }
)
_JS_DEFINITIONS = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "class_declaration",
        "method_definition",
        "lexical_declaration",
        "variable_declaration",
    }
)
_JS_STATEMENT_LISTS = frozenset(
    {"program", "statement_block", "class_body", "switch_case", "switch_default"}
)
_JAVASCRIPT = Grammar(
    scopes=_JS_SCOPES,
    imports=frozenset({"import_statement"}),
    definitions=_JS_DEFINITIONS,
    containers=frozenset({"class_declaration"}),
    transparent=frozenset({"export_statement"}),
    statement_lists=_JS_STATEMENT_LISTS,
    body_starts=_BRACE,
)
_TYPESCRIPT = Grammar(
    scopes=_JS_SCOPES
    | {"abstract_class_declaration", "interface_declaration", "internal_module", "module"},
    imports=frozenset({"import_statement"}),
    definitions=_JS_DEFINITIONS
    | {
        "abstract_class_declaration",
        "interface_declaration",
        "type_alias_declaration",
        "enum_declaration",
        "function_signature",
    },
    containers=frozenset({"class_declaration", "abstract_class_declaration"}),
    transparent=frozenset({"export_statement", "ambient_declaration"}),
    statement_lists=_JS_STATEMENT_LISTS | {"interface_body"},
    body_starts=_BRACE,
)
_C_TRANSPARENT = frozenset(
    {"preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif", "preproc_elifdef"}
)
_C = Grammar(
    scopes=frozenset(
        {"function_definition", "struct_specifier", "union_specifier", "enum_specifier"}
    ),
    imports=frozenset({"preproc_include"}),
    definitions=frozenset(
        {
            "function_definition",
            "declaration",
            "field_declaration",
            "struct_specifier",
            "union_specifier",
            "enum_specifier",
            "type_definition",
        }
    ),
    containers=frozenset(),
    transparent=_C_TRANSPARENT,
    statement_lists=frozenset(
        {"translation_unit", "compound_statement", "field_declaration_list", "case_statement"}
    ),
    body_starts=_BRACE,
)
_GRAMMARS: dict[str, Grammar] = {
    "python": Grammar(
        scopes=frozenset({"class_definition", "function_definition"}),
        imports=frozenset({"import_statement", "import_from_statement", "future_import_statement"}),
        definitions=frozenset({"class_definition", "function_definition"}),
        containers=frozenset({"class_definition"}),
        transparent=frozenset({"decorated_definition"}),
        statement_lists=frozenset({"module", "block"}),
        body_starts=frozenset({"block"}),
        indented=True,
    ),
    "javascript": _JAVASCRIPT,
    "typescript": _TYPESCRIPT,
    "tsx": _TYPESCRIPT,
    "go": Grammar(
        scopes=frozenset(
            {"function_declaration", "method_declaration", "func_literal", "type_declaration"}
        ),
        imports=frozenset({"import_declaration"}),
        definitions=frozenset({"function_declaration", "method_declaration", "type_declaration"}),
        containers=frozenset(),
        transparent=frozenset(),
        statement_lists=frozenset(
            {
                "source_file",
                "statement_list",
                "expression_case",
                "default_case",
                "type_case",
                "communication_case",
            }
        ),
        body_starts=_BRACE,
    ),
    "rust": Grammar(
        scopes=frozenset(
            {"function_item", "impl_item", "trait_item", "mod_item", "struct_item", "enum_item"}
        ),
        imports=frozenset({"use_declaration", "extern_crate_declaration"}),
        definitions=frozenset(
            {
                "function_item",
                "function_signature_item",
                "struct_item",
                "enum_item",
                "union_item",
                "trait_item",
                "type_item",
            }
        ),
        containers=frozenset({"impl_item", "trait_item", "mod_item"}),
        transparent=frozenset(),
        statement_lists=frozenset({"source_file", "block", "declaration_list"}),
        body_starts=_BRACE,
    ),
    "java": Grammar(
        scopes=frozenset(
            {
                "class_declaration",
                "interface_declaration",
                "enum_declaration",
                "record_declaration",
                "method_declaration",
                "constructor_declaration",
            }
        ),
        imports=frozenset({"import_declaration"}),
        definitions=frozenset(
            {
                "class_declaration",
                "interface_declaration",
                "enum_declaration",
                "record_declaration",
                "annotation_type_declaration",
                "method_declaration",
                "constructor_declaration",
            }
        ),
        containers=frozenset(
            {
                "class_declaration",
                "interface_declaration",
                "enum_declaration",
                "record_declaration",
                "annotation_type_declaration",
            }
        ),
        transparent=frozenset({"enum_body_declarations"}),
        statement_lists=frozenset(
            {
                "program",
                "block",
                "class_body",
                "interface_body",
                "constructor_body",
                "enum_body_declarations",
                "switch_block_statement_group",
            }
        ),
        body_starts=_BRACE,
    ),
    "c": _C,
    "cpp": Grammar(
        scopes=_C.scopes | {"class_specifier", "namespace_definition"},
        imports=_C.imports,
        definitions=_C.definitions | {"class_specifier"},
        containers=frozenset({"class_specifier", "struct_specifier", "namespace_definition"}),
        transparent=_C_TRANSPARENT
        | {"template_declaration", "linkage_specification", "declaration_list"},
        statement_lists=_C.statement_lists | {"declaration_list"},
        body_starts=_BRACE,
    ),
}


def grammar_of(language_id: str) -> Grammar | None:
    """The roles of the node types of a languageId's grammar; None for plain text."""
    return _GRAMMARS.get(_GRAMMAR_OF_LANGUAGE_ID.get(language_id, ""))
