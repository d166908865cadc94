"""Unit tests for ghostwright.predictor.features: the table, every feature, vectors, cost."""

from __future__ import annotations

import math

import pytest

from ghostwright.predictor.features import (
    CATEGORICAL,
    CHARACTERS,
    CONTEXT_NAMES,
    COPILOT_FEATURES,
    FEATURES,
    LANGUAGES,
    NODE_TYPES,
    NONE,
    OTHER,
    STOP_REASONS,
    SUGGESTION_NAMES,
    CursorContext,
    History,
    character_code,
    context_features,
    names,
    node_type_code,
    suggestion_features,
    vector,
)
from ghostwright.syntax import SyntaxTree


def cursor(language_id: str, marked: str, history: History | None = None) -> CursorContext:
    """A request at the `|` of `marked`, with the document's tree."""
    offset = marked.index("|")
    text = marked[:offset] + marked[offset + 1 :]
    return CursorContext(
        language_id, text, offset, SyntaxTree(language_id, text), history or History()
    )


def same(actual: float, expected: float) -> bool:
    return (math.isnan(actual) and math.isnan(expected)) or actual == pytest.approx(expected)


# --- the table -----------------------------------------------------------------------------


def test_the_table_has_unique_names_context_first_and_docs() -> None:
    assert len({f.name for f in FEATURES}) == len(FEATURES)
    stages = [f.stage for f in FEATURES]
    assert stages == sorted(stages)  # "context" < "suggestion": all context features first
    assert all(f.kind in ("numeric", "categorical") and f.doc for f in FEATURES)
    assert names("context") == CONTEXT_NAMES
    assert names("suggestion") == SUGGESTION_NAMES == tuple(f.name for f in FEATURES)
    assert {
        "language",
        "last_character",
        "last_non_blank_character",
        "node_type",
        "stop_reason",
    } == CATEGORICAL


def test_copilot_features_are_its_contextual_filter() -> None:
    assert COPILOT_FEATURES == (
        "previous_label",
        "whitespace_after_cursor",
        "log_seconds_since_last_decision",
        "log_prefix_line_length",
        "log_prefix_line_length_trimmed",
        "log_document_length",
        "log_cursor_offset",
        "relative_position",
        "language",
        "last_character",
        "last_non_blank_character",
    )


def test_computed_features_are_exactly_the_table() -> None:
    at = cursor("python", "x = 1\n|")
    assert set(context_features(at)) == set(CONTEXT_NAMES)
    assert set(suggestion_features(at, "y = 2", [-0.1], [0.2], "eos")) == set(SUGGESTION_NAMES)


def test_vocabulary_codes_are_stable_and_reserve_other_and_none() -> None:
    # Appending to a vocabulary is fine; changing these codes breaks the shipped model.
    assert (OTHER, NONE) == (0, 1)
    assert LANGUAGES["plaintext"] == 2 and LANGUAGES["python"] == 3 and LANGUAGES["cpp"] == 12
    assert CHARACTERS["<lower>"] == 2 and CHARACTERS[" "] == 5 and CHARACTERS["~"] == 39
    assert STOP_REASONS["eos"] == 2 and STOP_REASONS["context_full"] == 7
    assert NODE_TYPES["root"] == 2 and NODE_TYPES["error"] == max(NODE_TYPES.values())
    for vocabulary in (LANGUAGES, CHARACTERS, STOP_REASONS, NODE_TYPES):
        assert sorted(vocabulary.values()) == list(range(2, len(vocabulary) + 2))


# --- vectors -------------------------------------------------------------------------------


def test_vector_is_in_table_order_with_nan_for_missing() -> None:
    features = {"relative_position": 0.5, "previous_label": 1.0, "mean_logprob": -0.2}
    context = vector(features, "context")
    assert len(context) == len(CONTEXT_NAMES)
    assert context[0] == 1.0 and context[CONTEXT_NAMES.index("relative_position")] == 0.5
    assert sum(not math.isnan(value) for value in context) == 2  # mean_logprob is not context
    full = vector(features, "suggestion")
    assert len(full) == len(FEATURES)
    assert full[SUGGESTION_NAMES.index("mean_logprob")] == -0.2
    assert all(math.isnan(value) for value in vector({}, "suggestion"))


def test_vector_ignores_unknown_names() -> None:
    assert all(math.isnan(v) for v in vector({"no_such_feature": 1.0}, "context"))


# --- character and node codes --------------------------------------------------------------


@pytest.mark.parametrize(
    ("character", "expected"),
    [
        (None, "NONE"),
        ("", "NONE"),
        ("a", "<lower>"),
        ("é", "<lower>"),
        ("Q", "<upper>"),
        ("7", "<digit>"),
        (" ", " "),
        ("\t", "\t"),
        ("\n", "\n"),
        ("(", "("),
        ("=", "="),
        (":", ":"),
        ("€", "OTHER"),
        ("\r", "OTHER"),
    ],
)
def test_character_code(character: str | None, expected: str) -> None:
    codes = {"NONE": NONE, "OTHER": OTHER, **CHARACTERS}
    assert character_code(character) == codes[expected]


@pytest.mark.parametrize(
    ("node_type", "group"),
    [
        ("module", "root"),
        ("program", "root"),
        ("source_file", "root"),
        ("translation_unit", "root"),
        ("statement_block", "block"),
        ("compound_statement", "block"),
        ("argument_list", "arguments"),
        ("arguments", "arguments"),
        ("variable_declarator", "assignment"),
        ("short_var_declaration", "assignment"),
        ("ERROR", "error"),
        ("string_content", "string"),
        ("line_comment", "comment"),
        ("function_item", "function"),
        ("no_such_node", None),
    ],
)
def test_node_types_map_to_roles_shared_by_grammars(node_type: str, group: str | None) -> None:
    assert node_type_code(node_type) == (OTHER if group is None else NODE_TYPES[group])


def test_no_node_is_none() -> None:
    assert node_type_code(None) == NONE


# --- context features ----------------------------------------------------------------------

CONTEXT_CASES = [
    # Copilot's line and document features.
    (
        "python",
        "import os\nx = os.pa|",
        {
            "whitespace_after_cursor": 1.0,
            "log_prefix_line_length": math.log1p(9),
            "log_prefix_line_length_trimmed": math.log1p(9),
            "log_document_length": math.log1p(19),
            "log_cursor_offset": math.log1p(19),
            "relative_position": 1.0,
            "language": LANGUAGES["python"],
            "last_character": CHARACTERS["<lower>"],
            "last_non_blank_character": CHARACTERS["<lower>"],
            "indent_columns": 0.0,
            "node_type": NODE_TYPES["identifier"],
            "in_comment_or_string": 0.0,
            "empty_block_start": 0.0,
        },
    ),
    (
        "python",
        "def f(a):\n    return g(a, |)\n",
        {
            "whitespace_after_cursor": 0.0,
            "log_prefix_line_length": math.log1p(16),
            "log_prefix_line_length_trimmed": math.log1p(15),
            "relative_position": 26 / 28,
            "last_character": CHARACTERS[" "],
            "last_non_blank_character": CHARACTERS[","],
            "indent_columns": 4.0,
            "node_type": NODE_TYPES["arguments"],
        },
    ),
    (
        "python",
        "class A:\n    def f(self):\n        |\n",
        {
            "whitespace_after_cursor": 1.0,
            "log_prefix_line_length_trimmed": 0.0,
            "last_character": CHARACTERS[" "],
            "last_non_blank_character": CHARACTERS[":"],
            "indent_columns": 8.0,
            "empty_block_start": 1.0,
        },
    ),
    (
        "python",
        "x = 1  # note |\n",
        {"in_comment_or_string": 1.0, "node_type": NODE_TYPES["comment"]},
    ),
    ("python", 'x = "a b|"\n', {"in_comment_or_string": 1.0, "node_type": NODE_TYPES["string"]}),
    ("python", 'x = f"{a|}"\n', {"in_comment_or_string": 0.0}),
    ("python", "|x = 1\n", {"last_character": NONE, "last_non_blank_character": NONE}),
    (
        "javascript",
        "function f(a) {\n  |\n}\n",
        {
            "language": LANGUAGES["javascript"],
            "empty_block_start": 1.0,
            "node_type": NODE_TYPES["block"],
            "last_non_blank_character": CHARACTERS["{"],
        },
    ),
    ("javascript", "const s = `a ${b|}`;\n", {"in_comment_or_string": 0.0}),
    ("typescript", "let x: number = |\n", {"last_non_blank_character": CHARACTERS["="]}),
    (
        "go",
        "package main\n\nfunc main() {\n\tx := |\n}\n",
        {"language": LANGUAGES["go"], "indent_columns": 4.0},
    ),
    ("rust", 'fn main() {\n    let s = "ab|";\n}\n', {"in_comment_or_string": 1.0}),
    ("c", "int main(void) { /* a| */ }\n", {"in_comment_or_string": 1.0}),
    ("c", "int main(void) { /* a */| }\n", {"in_comment_or_string": 0.0}),
    ("java", "class A {\n  void f() {\n    |\n  }\n}\n", {"empty_block_start": 1.0}),
    (
        "plaintext",
        "dear diary, |",
        {
            "language": LANGUAGES["plaintext"],
            "node_type": NONE,
            "in_comment_or_string": math.nan,
            "empty_block_start": math.nan,
        },
    ),
    ("markdown", "# Title\n|", {"language": OTHER, "node_type": NONE}),
]


@pytest.mark.parametrize(("language_id", "marked", "expected"), CONTEXT_CASES)
def test_context_features(language_id: str, marked: str, expected: dict[str, float]) -> None:
    features = context_features(cursor(language_id, marked))
    for name, value in expected.items():
        assert same(features[name], value), (name, features[name], value)


def test_an_empty_document() -> None:
    features = context_features(CursorContext("python", "", 0, None, History()))
    assert features["relative_position"] == 0.0
    assert features["log_document_length"] == 0.0
    assert features["last_character"] == NONE
    assert math.isnan(features["empty_block_start"])


def test_an_offset_past_the_end_is_clamped() -> None:
    features = context_features(CursorContext("python", "abc", 99, None, History()))
    assert features["relative_position"] == 1.0
    assert features["log_cursor_offset"] == pytest.approx(math.log1p(3))


HISTORY_CASES = [
    (History(), {"previous_label": math.nan, "label_2": math.nan, "label_5": math.nan}),
    (History(labels=(1,)), {"previous_label": 1.0, "label_2": math.nan}),
    (
        History(labels=(0, 1, 1, 0, 0, 1, 0)),
        {
            "previous_label": 0.0,
            "label_2": 1.0,
            "label_3": 0.0,
            "label_4": 0.0,
            "label_5": 1.0,
        },
    ),
    (
        History(
            seconds_since_last_decision=9.0,
            session_accept_rate=0.25,
            project_accept_rate=0.4,
            typing_gap_ms=120.0,
        ),
        {
            "log_seconds_since_last_decision": math.log1p(9.0),
            "session_accept_rate": 0.25,
            "project_accept_rate": 0.4,
            "log_typing_gap_ms": math.log1p(120.0),
        },
    ),
    (
        History(),
        {
            "log_seconds_since_last_decision": math.nan,
            "session_accept_rate": math.nan,
            "project_accept_rate": math.nan,
            "log_typing_gap_ms": math.nan,
        },
    ),
]


@pytest.mark.parametrize(("history", "expected"), HISTORY_CASES)
def test_history_features(history: History, expected: dict[str, float]) -> None:
    features = context_features(cursor("python", "x = 1\n|", history))
    for name, value in expected.items():
        assert same(features[name], value), (name, features[name], value)


# --- suggestion features -------------------------------------------------------------------

SUGGESTION_CASES = [
    (
        "python",
        "def f(a):\n    return |\n",
        "a + 1",
        [-0.5, -0.1, -1.2],
        [0.4, 0.2, 0.9],
        "stop_condition",
        {
            "mean_logprob": -0.6,
            "min_logprob": -1.2,
            "first_logprob": -0.5,
            "mean_entropy": 0.5,
            "log_suggestion_chars": math.log1p(5),
            "suggestion_lines": 1.0,
            "suggestion_tokens": 3.0,
            "repeated_lines": 0.0,
            "next_line_similarity": math.nan,
            "stop_reason": STOP_REASONS["stop_condition"],
            "parse_errors_added": 0.0,
        },
    ),
    (
        "python",
        "x = 1\ny = 2\n|\nz = 3\n",
        "y = 2\nz = 3\nw = 4",
        [-0.1],
        [0.1],
        "eos",
        {"suggestion_lines": 3.0, "repeated_lines": 2.0, "next_line_similarity": 0.6},
    ),
    (
        "python",
        "def f():\n    |\n    return total\n",
        "return total",
        [-0.1],
        [0.1],
        "max_tokens",
        {
            "next_line_similarity": 1.0,
            "repeated_lines": 1.0,
            "stop_reason": STOP_REASONS["max_tokens"],
        },
    ),
    (
        "python",
        "def f():\n    return 1\n|\n",
        "y = )",
        [-0.1],
        [0.1],
        "time_budget",
        {"parse_errors_added": 1.0, "stop_reason": STOP_REASONS["time_budget"]},
    ),
    (
        "javascript",
        "function f() {\n  |\n}\n",
        "return g(1);",
        [],
        [],
        "something_new",
        {
            "mean_logprob": math.nan,
            "first_logprob": math.nan,
            "mean_entropy": math.nan,
            "suggestion_tokens": math.nan,
            "stop_reason": OTHER,
            "parse_errors_added": 0.0,
            "next_line_similarity": 0.0,
        },
    ),
    (
        "go",
        "package main\n\nfunc main() {\n\tx := |\n}\n",
        "foo(1, 2))",
        [-0.2, -0.4],
        [0.0, 0.0],
        "eos",
        {"mean_logprob": -0.3, "mean_entropy": 0.0},
    ),
    (
        "plaintext",
        "one\ntwo\n|\nthree\n",
        "three",
        [-1.0],
        [1.0],
        "eos",
        {"parse_errors_added": 0.0, "next_line_similarity": 1.0, "repeated_lines": 1.0},
    ),
]


@pytest.mark.parametrize(
    ("language_id", "marked", "text", "logprobs", "entropies", "stop", "expected"),
    SUGGESTION_CASES,
)
def test_suggestion_features(
    language_id: str,
    marked: str,
    text: str,
    logprobs: list[float],
    entropies: list[float],
    stop: str,
    expected: dict[str, float],
) -> None:
    at = cursor(language_id, marked)
    features = suggestion_features(at, text, logprobs, entropies, stop)
    for name, value in expected.items():
        assert same(features[name], value), (name, features[name], value)
    assert {k: v for k, v in features.items() if k in CONTEXT_NAMES}.keys() == set(CONTEXT_NAMES)


def test_a_suggestion_that_fixes_the_parse_adds_negative_errors() -> None:
    at = cursor("python", "x = foo(1, |\ny = 2\n")
    features = suggestion_features(at, "2)", [-0.1], [0.1], "eos")
    assert features["parse_errors_added"] < 0


def test_without_a_tree_no_parse_errors_are_added() -> None:
    at = CursorContext("python", "x = |\n", 4, None, History())
    assert suggestion_features(at, "(((", [-0.1], [0.1], "eos")["parse_errors_added"] == 0.0


def test_nearby_lines_reach_ten_lines_each_way() -> None:
    lines = [f"line_{i} = {i}" for i in range(30)]
    text = "\n".join(lines[:15]) + "\n|\n" + "\n".join(lines[15:]) + "\n"
    at = cursor("python", text)
    near = "line_5 = 5\nline_24 = 24"  # 10 above, 10 below
    far = "line_4 = 4\nline_25 = 25"
    assert suggestion_features(at, near, [0.0], [0.0], "eos")["repeated_lines"] == 2.0
    assert suggestion_features(at, far, [0.0], [0.0], "eos")["repeated_lines"] == 0.0


def test_suggestion_features_in_a_long_document() -> None:
    """A 4,200-line document, the cursor in its middle (parse check excluded): lines are
    compared with those near the cursor only, identifiers looked up in the whole document."""
    body = "".join(f"def f{i}(a, b):\n    return a + b * {i}\n\n" for i in range(700))
    marked = body + "def g(x):\n    |\n" + body
    offset = marked.index("|")
    text = marked[:offset] + marked[offset + 1 :]
    at = CursorContext("python", text, offset, None, History(labels=(1, 0, 1)))
    logprobs = [-0.3] * 24
    suggestion = "return a + b * 1\n    return a + b * 600\n    y = helper(x)"
    features = suggestion_features(at, suggestion, logprobs, logprobs, "eos")
    assert set(features) == set(names("suggestion"))
    assert features["suggestion_lines"] == 3.0 and features["suggestion_tokens"] == 24.0
    assert features["repeated_lines"] == 1.0  # f1's line is 5 lines below, f600's far above
    assert features["novel_identifiers"] == pytest.approx(2 / 6)  # y and helper
    assert features["relative_position"] == pytest.approx(0.5, abs=0.001)
