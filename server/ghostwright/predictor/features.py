"""What the acceptance predictor knows about a request: one table, two stages.

The "context" stage is what is known before the model runs (the gate decides from it whether
generating is worth it); the "suggestion" stage adds what the generation produced (the filter
decides from it whether to show it). The context features start from Copilot's contextual
filter (DESIGN.md, "When not to ask"), then add the parse tree's view of the cursor and the
person's recent decisions; the suggestion features add the model's own confidence, the shape of
the suggestion, and whether it breaks the parse.

`FEATURES` is the single source of truth: its order is the column order of the shipped models
(checked against the model card when they load), and its docs are what the model card lists.
Categorical features are small stable integer codes from fixed vocabularies below; code 0 is
reserved for anything outside the vocabulary and code 1 for "nothing there", so a vocabulary can
grow at its end without changing what an old model's codes mean. A value that cannot be known
(no previous decision, no tree) is NaN, which LightGBM treats as missing.

Everything here is cheap string and tree work on the request path: no model, no I/O.
"""

from __future__ import annotations

import difflib
import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ghostwright.syntax import SyntaxTree

Stage = Literal["context", "suggestion"]
Kind = Literal["numeric", "categorical"]

NAN = float("nan")
HISTORY_LABELS = 5
"""How many of the newest decisions are features of their own."""
NEARBY_LINES = 10
"""Lines above and below the cursor that a suggestion's lines are compared with."""
MAX_IDENTIFIERS = 20
"""Identifiers of a suggestion looked up in the document, at most."""
_IDENTIFIER = re.compile(r"[^\W\d]\w*")
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Feature:
    name: str
    stage: Stage
    kind: Kind
    doc: str


@dataclass(frozen=True)
class History:
    """The person's recent decisions, kept by the server per session."""

    labels: tuple[int, ...] = ()
    """Newest last: 1 accepted, 0 rejected. The newest `HISTORY_LABELS` are used."""
    seconds_since_last_decision: float | None = None
    session_accept_rate: float | None = None
    project_accept_rate: float | None = None
    typing_gap_ms: float | None = None
    """The median gap between the person's recent keystrokes."""


@dataclass(frozen=True)
class CursorContext:
    """A request as the predictor sees it."""

    language_id: str
    text: str
    """The document."""
    offset: int
    """The cursor, in code points."""
    tree: SyntaxTree | None
    history: History


OTHER = 0
"""The code of a value outside a vocabulary."""
NONE = 1
"""The code of "nothing there": no character before the cursor, no tree, no node."""


def _vocabulary(*values: str) -> dict[str, int]:
    """Codes for `values` after the two reserved ones (OTHER, NONE)."""
    return {value: code for code, value in enumerate(values, start=2)}


LANGUAGES = _vocabulary(
    "plaintext",
    "python",
    "javascript",
    "javascriptreact",
    "typescript",
    "typescriptreact",
    "go",
    "rust",
    "java",
    "c",
    "cpp",
)
_LOWER, _UPPER, _DIGIT = "<lower>", "<upper>", "<digit>"
CHARACTERS = _vocabulary(
    _LOWER, _UPPER, _DIGIT, " ", "\t", "\n", *"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)
"""Letters and digits by class, whitespace and ASCII punctuation each by itself."""
STOP_REASONS = _vocabulary(
    "eos", "max_tokens", "stop_condition", "time_budget", "cancelled", "context_full"
)
"""`Generation.stop_reason` values."""

_NODE_GROUPS: dict[str, tuple[str, ...]] = {
    "root": ("module", "program", "source_file", "translation_unit"),
    "block": (
        "block",
        "statement_block",
        "compound_statement",
        "statement_list",
        "declaration_list",
        "constructor_body",
    ),
    "class_body": ("class_body", "field_declaration_list", "interface_body", "enum_body"),
    "class": (
        "class_definition",
        "class_declaration",
        "abstract_class_declaration",
        "interface_declaration",
        "struct_item",
        "impl_item",
        "trait_item",
        "struct_specifier",
        "type_declaration",
    ),
    "function": (
        "function_definition",
        "function_declaration",
        "method_definition",
        "method_declaration",
        "function_item",
        "arrow_function",
        "function_expression",
        "constructor_declaration",
    ),
    "decorator": ("decorator", "decorated_definition", "annotation", "attribute_item"),
    "if": ("if_statement", "elif_clause", "else_clause", "if_expression", "conditional_expression"),
    "loop": (
        "for_statement",
        "for_in_statement",
        "while_statement",
        "do_statement",
        "enhanced_for_statement",
        "for_expression",
        "while_expression",
        "loop_expression",
        "for_clause",
    ),
    "try": ("try_statement", "except_clause", "finally_clause", "catch_clause"),
    "with": ("with_statement", "with_clause", "with_item"),
    "match": ("match_statement", "case_clause", "switch_statement", "switch_case", "match_arm"),
    "return": ("return_statement", "return_expression", "yield", "yield_statement"),
    "raise": ("raise_statement", "throw_statement", "assert_statement"),
    "import": (
        "import_statement",
        "import_from_statement",
        "future_import_statement",
        "import_declaration",
        "use_declaration",
        "preproc_include",
        "dotted_name",
    ),
    "assignment": (
        "assignment",
        "augmented_assignment",
        "assignment_expression",
        "augmented_assignment_expression",
        "variable_declarator",
        "short_var_declaration",
        "let_declaration",
        "lexical_declaration",
        "variable_declaration",
        "local_variable_declaration",
        "init_declarator",
        "declaration",
        "field_declaration",
    ),
    "keyword_argument": (
        "keyword_argument",
        "default_parameter",
        "typed_default_parameter",
        "named_argument",
    ),
    "arguments": ("argument_list", "arguments", "generic_arguments"),
    "parameters": ("parameters", "formal_parameters", "parameter_list", "lambda_parameters"),
    "call": ("call", "call_expression", "method_invocation", "macro_invocation"),
    "attribute": (
        "attribute",
        "member_expression",
        "field_expression",
        "selector_expression",
        "field_access",
        "scoped_identifier",
    ),
    "subscript": ("subscript", "subscript_expression", "index_expression", "slice"),
    "collection": (
        "list",
        "dictionary",
        "set",
        "tuple",
        "pair",
        "array",
        "object",
        "initializer_list",
        "array_expression",
        "composite_literal",
        "literal_value",
        "list_comprehension",
        "dictionary_comprehension",
        "set_comprehension",
        "generator_expression",
    ),
    "parenthesized": ("parenthesized_expression",),
    "operator": (
        "binary_operator",
        "binary_expression",
        "boolean_operator",
        "comparison_operator",
        "not_operator",
        "unary_operator",
        "unary_expression",
    ),
    "lambda": ("lambda", "closure_expression", "func_literal"),
    "string": (
        "string",
        "string_content",
        "concatenated_string",
        "template_string",
        "string_literal",
        "raw_string_literal",
        "raw_string_literal_content",
        "interpreted_string_literal",
        "string_fragment",
    ),
    "comment": ("comment", "line_comment", "block_comment"),
    "identifier": ("identifier", "type_identifier", "field_identifier", "property_identifier"),
    "number": ("integer", "float", "number", "number_literal", "integer_literal", "int_literal"),
    "expression_statement": ("expression_statement",),
    "type": ("type", "type_annotation", "generic_type", "type_parameters"),
    "error": ("ERROR",),
}
NODE_TYPES = _vocabulary(*_NODE_GROUPS)
"""Node types by role, shared by all grammars: `assignment` covers Python's `assignment`,
JavaScript's `variable_declarator`, Go's `short_var_declaration`, ..."""
_NODE_GROUP_OF = {node_type: group for group, types in _NODE_GROUPS.items() for node_type in types}


FEATURES: tuple[Feature, ...] = (
    # Copilot's contextual filter.
    Feature("previous_label", "context", "numeric", "the person's last decision: 1 accepted"),
    Feature(
        "whitespace_after_cursor", "context", "numeric", "1 when the rest of the line is blank"
    ),
    Feature(
        "log_seconds_since_last_decision", "context", "numeric", "log(1 + s) since the last one"
    ),
    Feature("log_prefix_line_length", "context", "numeric", "log(1 + chars) of the line so far"),
    Feature(
        "log_prefix_line_length_trimmed", "context", "numeric", "the same, right-trimmed first"
    ),
    Feature("log_document_length", "context", "numeric", "log(1 + chars) of the document"),
    Feature("log_cursor_offset", "context", "numeric", "log(1 + chars) before the cursor"),
    Feature("relative_position", "context", "numeric", "cursor offset / document length"),
    Feature("language", "context", "categorical", "LSP languageId (LANGUAGES)"),
    Feature("last_character", "context", "categorical", "character before the cursor"),
    Feature("last_non_blank_character", "context", "categorical", "last non-blank one before it"),
    # The parse tree at the cursor.
    Feature("indent_columns", "context", "numeric", "indentation of the cursor's line (tabs 4)"),
    Feature("node_type", "context", "categorical", "role of the node at the cursor (NODE_TYPES)"),
    Feature("in_comment_or_string", "context", "numeric", "1 inside a comment or string literal"),
    Feature("empty_block_start", "context", "numeric", "1 on the blank first line of a new block"),
    # The person's recent decisions (previous_label is the newest).
    Feature("label_2", "context", "numeric", "the decision before the previous one"),
    Feature("label_3", "context", "numeric", "the third newest decision"),
    Feature("label_4", "context", "numeric", "the fourth newest decision"),
    Feature("label_5", "context", "numeric", "the fifth newest decision"),
    Feature("session_accept_rate", "context", "numeric", "accepted / decided in this session"),
    Feature("project_accept_rate", "context", "numeric", "accepted / decided in this project"),
    Feature("log_typing_gap_ms", "context", "numeric", "log(1 + median gap between keystrokes)"),
    # The model's confidence (tokens of the whole generation, before any cut).
    Feature("mean_logprob", "suggestion", "numeric", "mean log-probability of the tokens"),
    Feature("min_logprob", "suggestion", "numeric", "lowest token log-probability"),
    Feature("first_logprob", "suggestion", "numeric", "log-probability of the first token"),
    Feature("mean_entropy", "suggestion", "numeric", "mean entropy of the token distributions"),
    # The suggestion's shape.
    Feature("log_suggestion_chars", "suggestion", "numeric", "log(1 + chars) of the suggestion"),
    Feature("suggestion_lines", "suggestion", "numeric", "lines in the suggestion"),
    Feature("suggestion_tokens", "suggestion", "numeric", "tokens generated"),
    Feature(
        "repeated_lines", "suggestion", "numeric", "its non-blank lines equal to a nearby line"
    ),
    Feature(
        "next_line_similarity",
        "suggestion",
        "numeric",
        "similarity of its first line to the next non-blank line after the cursor's",
    ),
    Feature(
        "novel_identifiers",
        "suggestion",
        "numeric",
        "share of its identifiers found nowhere in the document (made up?)",
    ),
    Feature("repetition", "suggestion", "numeric", "1 - distinct words / words in it (loops)"),
    Feature(
        "brackets_left_open",
        "suggestion",
        "numeric",
        "( [ { opened minus closed on the cursor's line up to the end of its first line",
    ),
    Feature("max_entropy", "suggestion", "numeric", "highest entropy of a token distribution"),
    Feature("stop_reason", "suggestion", "categorical", "why generation stopped (STOP_REASONS)"),
    Feature(
        "parse_errors_added", "suggestion", "numeric", "parse errors it adds (0 without a tree)"
    ),
)

CONTEXT_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES if f.stage == "context")
SUGGESTION_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
"""The suggestion stage sees every feature: the context ones first."""
CATEGORICAL: frozenset[str] = frozenset(f.name for f in FEATURES if f.kind == "categorical")
COPILOT_FEATURES: tuple[str, ...] = CONTEXT_NAMES[:11]
"""Copilot's contextual filter's own features: the baseline's inputs."""


def names(stage: Stage) -> tuple[str, ...]:
    """The feature names of a stage, in model column order."""
    return CONTEXT_NAMES if stage == "context" else SUGGESTION_NAMES


def vector(features: Mapping[str, float], stage: Stage) -> list[float]:
    """The features of `stage` in table order; NaN for any that is missing."""
    return [features.get(name, NAN) for name in names(stage)]


def character_code(character: str | None) -> int:
    """The CHARACTERS code of one character (NONE for no character)."""
    if not character:
        return NONE
    if character.isalpha():
        return CHARACTERS[_UPPER if character.isupper() else _LOWER]
    if character.isdigit():
        return CHARACTERS[_DIGIT]
    return CHARACTERS.get(character, OTHER)


def node_type_code(node_type: str | None) -> int:
    """The NODE_TYPES code of a grammar's node type (NONE for no node)."""
    if node_type is None:
        return NONE
    group = _NODE_GROUP_OF.get(node_type)
    return OTHER if group is None else NODE_TYPES[group]


def _log(value: float | None) -> float:
    return NAN if value is None else math.log1p(max(value, 0.0))


def _flag(value: bool | None) -> float:
    return NAN if value is None else float(value)


def _line_start(text: str, offset: int) -> int:
    return text.rfind("\n", 0, offset) + 1


def context_features(cursor: CursorContext) -> dict[str, float]:
    """Everything the gate knows before generating. Costs a few microseconds plus two tree
    lookups."""
    text, offset, tree, history = cursor.text, cursor.offset, cursor.tree, cursor.history
    offset = min(max(offset, 0), len(text))
    line_prefix = text[_line_start(text, offset) : offset]
    line_end = text.find("\n", offset)
    rest_of_line = text[offset : len(text) if line_end < 0 else line_end]
    before = text[max(0, offset - 4096) : offset].rstrip()
    labels = history.labels[-HISTORY_LABELS:][::-1]
    parsed = tree if tree is not None and tree.has_tree else None
    features = {
        "previous_label": float(labels[0]) if labels else NAN,
        "whitespace_after_cursor": float(not rest_of_line.strip()),
        "log_seconds_since_last_decision": _log(history.seconds_since_last_decision),
        "log_prefix_line_length": math.log1p(len(line_prefix)),
        "log_prefix_line_length_trimmed": math.log1p(len(line_prefix.rstrip())),
        "log_document_length": math.log1p(len(text)),
        "log_cursor_offset": math.log1p(offset),
        "relative_position": offset / len(text) if text else 0.0,
        "language": float(LANGUAGES.get(cursor.language_id, OTHER)),
        "last_character": float(character_code(text[offset - 1] if offset else None)),
        "last_non_blank_character": float(character_code(before[-1] if before else None)),
        "indent_columns": float(_indent(line_prefix)),
        "node_type": float(node_type_code(tree.node_type_at(offset) if tree else None)),
        "in_comment_or_string": _flag(parsed.in_comment_or_string(offset) if parsed else None),
        "empty_block_start": _flag(parsed.is_empty_block_start(offset) if parsed else None),
        "session_accept_rate": _number(history.session_accept_rate),
        "project_accept_rate": _number(history.project_accept_rate),
        "log_typing_gap_ms": _log(history.typing_gap_ms),
    }
    for back in range(2, HISTORY_LABELS + 1):
        features[f"label_{back}"] = float(labels[back - 1]) if len(labels) >= back else NAN
    return features


def _number(value: float | None) -> float:
    return NAN if value is None else float(value)


def _indent(line_prefix: str) -> int:
    expanded = line_prefix.expandtabs(4)
    return len(expanded) - len(expanded.lstrip(" "))


def suggestion_features(
    cursor: CursorContext,
    suggestion_text: str,
    token_logprobs: Sequence[float],
    token_entropies: Sequence[float],
    stop_reason: str,
) -> dict[str, float]:
    """Everything the filter knows about one suggestion, the context features included.

    Cheap (about 0.1 ms, p95 under 0.2 ms, on the validation suggestions) except
    `parse_errors_added`, which re-parses the document with the suggestion inserted
    incrementally (about one keystroke's parse: 0.2 ms median, 1 ms p95 on the same).
    """
    features = context_features(cursor)
    lines = suggestion_text.split("\n")
    above, below = _nearby_lines(cursor.text, cursor.offset)
    nearby = {line.strip() for line in above + below} - {""}
    first = lines[0].strip()
    next_line = next((line.strip() for line in below if line.strip()), None)
    tree = cursor.tree
    added = 0.0
    if tree is not None and tree.has_tree and suggestion_text:
        added = float(tree.errors_with_insertion(cursor.offset, suggestion_text))
        added -= tree.error_count()
    features.update(
        {
            "mean_logprob": statistics.fmean(token_logprobs) if token_logprobs else NAN,
            "min_logprob": min(token_logprobs) if token_logprobs else NAN,
            "first_logprob": token_logprobs[0] if token_logprobs else NAN,
            "mean_entropy": statistics.fmean(token_entropies) if token_entropies else NAN,
            "log_suggestion_chars": math.log1p(len(suggestion_text)),
            "suggestion_lines": float(len(lines)),
            # Unknown (NaN) when an inference server reported no per-token data.
            "suggestion_tokens": float(len(token_logprobs)) if token_logprobs else NAN,
            "repeated_lines": float(sum(1 for line in lines if line.strip() in nearby)),
            "next_line_similarity": (NAN if next_line is None else _similarity(first, next_line)),
            "novel_identifiers": _novel_identifiers(suggestion_text, cursor.text),
            "repetition": _repetition(suggestion_text),
            "brackets_left_open": _open_brackets(
                cursor.text[_line_start(cursor.text, cursor.offset) : cursor.offset] + lines[0]
            ),
            "max_entropy": max(token_entropies) if token_entropies else NAN,
            "stop_reason": float(STOP_REASONS.get(stop_reason, OTHER)),
            "parse_errors_added": added,
        }
    )
    return features


def _nearby_lines(text: str, offset: int) -> tuple[list[str], list[str]]:
    """Up to `NEARBY_LINES` whole lines above the cursor's line and below it (nearest first
    below), found without splitting the whole document."""
    start = _line_start(text, offset)
    top = start
    for _ in range(NEARBY_LINES):
        if top == 0:
            break
        top = text.rfind("\n", 0, top - 1) + 1
    above = text[top:start].split("\n")[:-1] if start else []
    end = text.find("\n", offset)
    below: list[str] = []
    while end >= 0 and len(below) < NEARBY_LINES:
        following = text.find("\n", end + 1)
        below.append(text[end + 1 : len(text) if following < 0 else following])
        end = following
    return above, below


def _novel_identifiers(suggestion: str, document: str) -> float:
    """The share of the suggestion's distinct identifiers (up to `MAX_IDENTIFIERS`) that occur
    nowhere in the document; NaN when it has none. A substring search per name, so a name
    inside a longer one counts as found: cheap, and errs towards "not novel"."""
    found = list(dict.fromkeys(_IDENTIFIER.findall(suggestion)))[:MAX_IDENTIFIERS]
    if not found:
        return NAN
    return sum(1 for name in found if name not in document) / len(found)


def _open_brackets(line: str) -> float:
    """Opening minus closing brackets of a line (strings not excluded: cheap, and rare)."""
    return float(sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}"))


def _repetition(suggestion: str) -> float:
    """1 - distinct words / words: near 1 for a model stuck in a loop (`C2_C2_C2_...`)."""
    words = _WORD.findall(suggestion)
    return 1.0 - len(set(words)) / len(words) if len(words) > 1 else 0.0


def _similarity(a: str, b: str) -> float:
    """difflib's ratio: 1 for equal strings, 0 for nothing in common."""
    if not a and not b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
