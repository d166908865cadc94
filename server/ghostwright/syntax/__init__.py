"""Syntax trees of open documents, kept current edit by edit, and the questions the pipeline asks.

Every keystroke edits the document, and the completion request that follows wants to know the
enclosing scopes, whether a suggestion still parses, and where the statement being written
ends. A full parse of a 20k-line file costs 100 ms or more; tree-sitter's incremental parse,
given the old tree edited with the exact byte offsets and (row, byte column) points of the
change, costs a few. So `SyntaxTree` owns the document's UTF-8 bytes, a lazily shifted index of
line starts (code points and bytes) that turns the code-point offsets the rest of Ghostwright
uses into what tree-sitter wants, and the tree. Rows follow tree-sitter: lines end at `\\n` only
(a `\\r` before it is one more byte of the line).

Languages are the grammars of DESIGN.md, keyed by LSP languageId and loaded on first use. Any
other languageId is plain text: no tree, no errors, no scopes, no imports, no cut points.

A `SyntaxTree` is not thread-safe: edit and query it from one thread (the documents layer's).

Modules: `grammars` (languages, grammar wheels, the roles of node types), `lines` (code points
to bytes and points, `LineIndex`), `tree` (`SyntaxTree` and its queries).
"""

from ghostwright.syntax.grammars import LANGUAGE_IDS, language, language_of_path
from ghostwright.syntax.tree import WINDOW_MIN_LINES, SyntaxTree

__all__ = ["LANGUAGE_IDS", "WINDOW_MIN_LINES", "SyntaxTree", "language", "language_of_path"]
