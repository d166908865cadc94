"""Unit tests for ghostwright.edits.calls: an argument change at one call repeated at the other
calls of the same callee."""

from __future__ import annotations

from tests.hunks import hunk_between

from ghostwright.edits.calls import call_changes, split_arguments
from ghostwright.edits.history import Hunk
from ghostwright.edits.proposal import Proposal
from ghostwright.syntax import SyntaxTree


def repeated(before: str, after: str, language_id: str = "python") -> str | None:
    """The text once the proposal for the change `before` -> `after` is applied; None when
    there is none."""
    tree = SyntaxTree(language_id, before)
    hunk = hunk_between(before, after)
    tree.apply_edit(hunk.start, hunk.start + len(hunk.old), hunk.new)
    assert tree.text == after
    changes = call_changes(tree, hunk)
    if changes is None:
        return None
    return Proposal("call-arguments", tuple(changes), "").apply(after)


CALLS = "log(a, b)\nlog(c, d)\nlog(e)\nwarn(a, b)\nlog(x, y)\n"


def test_an_added_argument_is_added_at_calls_with_as_many_arguments() -> None:
    after = CALLS.replace("log(a, b)", "log(a, b, level=2)", 1)
    assert repeated(CALLS, after) == (
        "log(a, b, level=2)\nlog(c, d, level=2)\nlog(e)\nwarn(a, b)\nlog(x, y, level=2)\n"
    )


def test_an_argument_added_first_is_added_first() -> None:
    assert repeated("f(a, b)\nf(c, d)\n", "f(n, a, b)\nf(c, d)\n") == "f(n, a, b)\nf(n, c, d)\n"


def test_an_argument_added_to_an_empty_call() -> None:
    assert repeated("f()\nf()\ng()\n", "f(1)\nf()\ng()\n") == "f(1)\nf(1)\ng()\n"


def test_an_added_argument_a_call_has_already_is_not_added_twice() -> None:
    before = "f(x)\nf(1)\nf(y)\n"
    assert repeated(before, "f(x, 1)\nf(1)\nf(y)\n") == "f(x, 1)\nf(1)\nf(y, 1)\n"


def test_a_removed_last_argument_is_removed() -> None:
    after = CALLS.replace("log(a, b)", "log(a)", 1)
    assert repeated(CALLS, after) == "log(a)\nlog(c)\nlog(e)\nwarn(a, b)\nlog(x)\n"


def test_a_removed_first_argument_is_removed() -> None:
    after = CALLS.replace("log(a, b)", "log(b)", 1)
    assert repeated(CALLS, after) == "log(b)\nlog(d)\nlog(e)\nwarn(a, b)\nlog(y)\n"


def test_a_removed_only_argument_is_removed() -> None:
    assert repeated("f(a)\nf(b)\n", "f()\nf(b)\n") == "f()\nf()\n"


def test_a_replaced_argument_is_replaced_where_it_was_the_same() -> None:
    before = "f(a, 1)\nf(b, 1)\nf(c, 2)\nf(1)\n"
    assert repeated(before, "f(a, 10)\nf(b, 1)\nf(c, 2)\nf(1)\n") == (
        "f(a, 10)\nf(b, 10)\nf(c, 2)\nf(1)\n"
    )


def test_a_renamed_keyword_is_renamed_wherever_it_is_passed() -> None:
    before = "f(x, key=1)\nf(y, key=2)\nf(z)\nf(key=3, w=4, v=5)\ng(key=6)\n"
    after = "f(x, name=1)\nf(y, key=2)\nf(z)\nf(key=3, w=4, v=5)\ng(key=6)\n"
    assert repeated(before, after) == (
        "f(x, name=1)\nf(y, name=2)\nf(z)\nf(name=3, w=4, v=5)\ng(key=6)\n"
    )


def test_calls_with_another_argument_count_are_left_alone() -> None:
    assert repeated("f(a, b)\nf(a, b, c)\nf(d)\n", "f(a, b, 1)\nf(a, b, c)\nf(d)\n") is None


def test_another_callee_is_left_alone() -> None:
    before = "self.f(a)\nself.f(b)\nf(c)\nother.f(d)\n"
    after = "self.f(a, 1)\nself.f(b)\nf(c)\nother.f(d)\n"
    assert repeated(before, after) == "self.f(a, 1)\nself.f(b, 1)\nf(c)\nother.f(d)\n"


def test_a_nested_bracketed_argument_is_one_argument() -> None:
    assert repeated("f(x)\nf(y)\n", "f(x, (1, 2))\nf(y)\n") == "f(x, (1, 2))\nf(y, (1, 2))\n"


def test_an_argument_list_with_a_syntax_error_gives_none() -> None:
    before = "f(a, b)\nf(c, b)\n"
    assert repeated(before, "f(a, b + 1)\nf(c, b)\n") == "f(a, b + 1)\nf(c, b + 1)\n"
    assert repeated(before, "f(a, b +)\nf(c, b)\n") is None
    assert repeated(before, "f(a, b c)\nf(c, b)\n") is None


def test_a_trailing_comma_is_no_change() -> None:
    assert repeated("f(a, b)\nf(c, d)\n", "f(a, b, )\nf(c, d)\n") is None


def test_an_edit_outside_any_argument_list_gives_none() -> None:
    assert repeated("x = 1\nf(a)\nf(b)\n", "x = 2\nf(a)\nf(b)\n") is None


def test_a_change_of_two_arguments_at_once_gives_none() -> None:
    assert repeated("f(a, b)\nf(a, b)\n", "f(c, d)\nf(a, b)\n") is None


def test_no_other_call_gives_none() -> None:
    assert repeated("f(a)\ng(b)\n", "f(a, 1)\ng(b)\n") is None


def test_javascript_and_java_calls() -> None:
    assert repeated("log(a, b);\nlog(c, d);\n", "log(a, b, 1);\nlog(c, d);\n", "javascript") == (
        "log(a, b, 1);\nlog(c, d, 1);\n"
    )
    before = "class A { void m() { log(a, b); log(c, d); } }\n"
    after = "class A { void m() { log(a); log(c, d); } }\n"
    assert repeated(before, after, "java") == "class A { void m() { log(a); log(c); } }\n"


def test_a_language_without_calls_gives_none() -> None:
    tree = SyntaxTree("plaintext", "f(a)\nf(b)\n")
    assert call_changes(tree, Hunk(3, "", ", 1", 0.0)) is None


def test_split_arguments_keeps_brackets_and_strings_whole() -> None:
    inner = "a, f(b, c), [1, 2], {'k': (3, 4)}, 'x, y', \"q\\\"w, e\""
    assert split_arguments(inner) == [
        "a",
        "f(b, c)",
        "[1, 2]",
        "{'k': (3, 4)}",
        "'x, y'",
        '"q\\"w, e"',
    ]
    assert split_arguments(" a , ") == ["a"]
    assert split_arguments("") == []
    assert split_arguments("`a, b`, c") == ["`a, b`", "c"]


def test_split_arguments_refuses_unbalanced_text() -> None:
    assert split_arguments("a, (b") is None
    assert split_arguments("a)") is None
    assert split_arguments("'abc") is None
    assert split_arguments("a], [b") is None


def test_a_renamed_arrow_function_parameter_is_no_keyword_rename() -> None:
    before = "items.map(x => 0);\nitems.map(x => x.id);\nitems.map(x => 0);\n"
    after = "items.map(y => 0);\nitems.map(x => x.id);\nitems.map(x => 0);\n"
    assert repeated(before, after, "javascript") == (
        "items.map(y => 0);\nitems.map(x => x.id);\nitems.map(y => 0);\n"
    )


def test_a_comparison_is_no_keyword() -> None:
    before = "f(a == 1)\nf(a == 2)\nf(a == 1)\n"
    assert repeated(before, "f(b == 1)\nf(a == 2)\nf(a == 1)\n") == (
        "f(b == 1)\nf(a == 2)\nf(b == 1)\n"
    )


def test_offsets_after_non_ascii_text_are_code_points() -> None:
    assert repeated("f('é', a)\nf('😀', b)\n", "f('é', a, 1)\nf('😀', b)\n") == (
        "f('é', a, 1)\nf('😀', b, 1)\n"
    )
