"""Repair's logic without a model: checkers, deterministic fixes, verification, minimal edits."""

from __future__ import annotations

import random

import pytest

from ghostwright.repair.diagnostics import Problem, check
from ghostwright.repair.fixes import Patch
from ghostwright.repair.pipeline import Repairer, enclosing_unit
from ghostwright.repair.verify import keeps_code, minimal_changes, verify
from ghostwright_lab.evals.repair_eval import KINDS, MAKERS, Injection, judge


def messages(language: str, text: str) -> list[tuple[str, str]]:
    problems = check(language, text)
    return [(p.message, text[p.start : p.end]) for p in problems]


def test_python_syntax_errors_use_the_interpreters_words_and_tight_ranges() -> None:
    assert messages("python", "def f(x)\n    return x\n") == [("expected ':'", "")]
    assert messages("python", "def f(x):\n    return g(x, 1\n") == [("'(' was never closed", "(")]
    assert messages("python", "def f():\n    a = 1\n      b = 2\n") == [
        ("unexpected indent", "      ")
    ]
    assert messages("python", "x = {'a': [1, 2}\n") == [("missing ']'", "")]


def test_pyflakes_findings_name_their_identifier() -> None:
    text = "import os\n\ndef f(x):\n    return undefined_thing + x\n"
    problems = check("python", text)
    assert [(p.code, p.name, text[p.start : p.end]) for p in problems] == [
        ("unused-import", "os", "os"),
        ("undefined-name", "undefined_thing", "undefined_thing"),
    ]
    assert problems[0].unnecessary


def test_other_languages_get_tree_sitter_syntax_errors() -> None:
    assert messages("javascript", "function f(x) {\n  return g(x, 1;\n}\n") == [("missing ')'", "")]
    assert [m for m, _ in messages("go", "package main\nfunc f() {\n  x := \n}\n")]


def test_unknown_language_and_huge_files_get_no_diagnostics() -> None:
    assert check("plaintext", "def (((") == []
    assert check("python", "x = (\n" * 400_000) == []


def test_binary_content_is_a_clear_problem_not_a_crash() -> None:
    (problem,) = check("python", "x = 1\x00\n")
    assert "cannot check" in problem.message or problem.code == "syntax"


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [
        ("def f(x)\n    return x\n", "def f(x):\n    return x\n"),
        ("def f(x):\n    return g(x, 1\n\ny = 1\n", "def f(x):\n    return g(x, 1)\n\ny = 1\n"),
        ("def f(x):\n    return [1, 2 3]\n", "def f(x):\n    return [1, 2, 3]\n"),
        ("def f(x):\n    s = 'abc\n    return s\n", "def f(x):\n    s = 'abc'\n    return s\n"),
        ("x = {'a': [1, 2}\n", "x = {'a': [1, 2]}\n"),
        (
            "def f(items):\n    total = 0\n    for item in items:\n        totl += item\n"
            "    return total\n",
            "def f(items):\n    total = 0\n    for item in items:\n        total += item\n"
            "    return total\n",
        ),
        ("def f():\n    return os.getcwd()\n", "import os\ndef f():\n    return os.getcwd()\n"),
        ("import os\nimport sys\nprint(sys.argv)\n", "import sys\nprint(sys.argv)\n"),
    ],
)
def test_deterministic_fixes_verify_without_a_model(broken: str, fixed: str) -> None:
    problems = check("python", broken)
    target = next(p for p in problems if p.severity == 1 or p.code == "unused-import")
    result = Repairer(None).repair("python", broken, target, problems=problems)
    assert result.origin == "deterministic", result.failure
    assert result.fixed_text == fixed


def test_javascript_missing_token_is_inserted() -> None:
    text = "function add(a, b) {\n  return sum(a, b;\n}\n"
    (problem,) = check("javascript", text)
    result = Repairer(None).repair("javascript", text, problem)
    assert result.fixed_text == text.replace("b;", "b);")


def test_without_a_model_an_unfixable_problem_says_why_and_changes_nothing() -> None:
    text = "def f():\n    return helper_defined_nowhere()\n"
    (problem,) = check("python", text)
    result = Repairer(None).repair("python", text, problem)
    assert not result.fixed and result.changes == () and result.fixed_text is None
    assert "model is not loaded" in result.failure


def test_verification_refuses_a_patch_that_adds_a_problem() -> None:
    text = "def f(x)\n    return x\n"
    before = check("python", text)
    # Closes the colon but breaks the next line: a new syntax error.
    patch = Patch(8, 21, ":\n    return (x", "model")
    verdict = verify("python", text, before, before[0], patch)
    assert not verdict.ok and "does not parse" in verdict.reason


def test_verification_refuses_a_later_syntax_error_the_patch_causes() -> None:
    """A wrongly indented `try:` makes the next lines fail: never offered."""
    text = (
        "def f(fp):\n    if fp:\n        try\n            return 1\n"
        "        except OSError:\n            return 2\n"
    )
    before = check("python", text)
    line = text.index("        try")
    patch = Patch(line, line + len("        try"), "    try:", "model")
    assert not verify("python", text, before, before[0], patch).ok


def test_pyflakes_findings_hidden_by_the_syntax_error_do_not_block_its_fix() -> None:
    text = "def f(x)\n    y = 1\n    return x\n"
    before = check("python", text)
    verdict = verify("python", text, before, before[0], Patch(8, 8, ":", "deterministic"))
    assert verdict.ok, verdict.reason
    assert [p.code for p in verdict.problems] == ["unused-variable"]


def test_a_model_may_not_comment_out_or_rewrite_the_broken_code() -> None:
    assert keeps_code("python", "    return g(x, 1", "    return g(x, 1)")
    assert not keeps_code("python", "    return g(x, 1", "    # return g(x, 1")
    assert not keeps_code("python", "a = 1\nb = 2\n", "a = 1\n")
    assert not keeps_code("python", "def f(x)", "def str_insert_non_alphanum(text, chars):")


def test_minimal_changes_are_character_edits_not_a_whole_replace() -> None:
    text = "def f(x)\n    return g(x, 1\n"
    patch = Patch(0, len(text), "def f(x):\n    return g(x, 1)\n", "model")
    changes = minimal_changes(text, patch)
    assert [(c.start, c.end, c.text) for c in changes] == [(8, 8, ":"), (26, 26, ")")]


def test_unit_is_the_enclosing_function_or_a_window() -> None:
    text = "import os\n\n\ndef f(x):\n    y = x +\n    return y\n\n\nz = 1\n"
    (problem,) = check("python", text)
    unit = enclosing_unit("python", text, problem)
    assert text[unit.start : unit.end] == "def f(x):\n    y = x +\n    return y"
    assert text[unit.line_start :].startswith("    y = x +")


@pytest.mark.parametrize("kind", KINDS)
def test_every_injected_error_kind_breaks_real_code(kind: str) -> None:
    import email.message

    source = email.message.__file__
    assert source is not None
    with open(source, encoding="utf-8") as handle:
        original = handle.read()
    made = MAKERS[kind](original, random.Random(3))
    assert made is not None
    broken, line, name = made
    assert broken != original and line >= 1
    injection = Injection(kind, "email/message.py", line, original, broken, name)
    assert judge(injection, original) == (True, True)
    assert judge(injection, broken)[0] is False


def test_problem_key_ignores_place() -> None:
    assert Problem(1, 2, "m", "c").key == Problem(5, 9, "m", "c").key
