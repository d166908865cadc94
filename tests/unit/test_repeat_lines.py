"""Unit tests for ghostwright.edits.repeat: a small change of one line repeated on the sibling
lines of the same shape."""

from __future__ import annotations

from tests.hunks import hunk_between

from ghostwright.edits.proposal import Proposal
from ghostwright.edits.repeat import MAX_PLACES, repeat_changes


def repeated(before: str, after: str) -> str | None:
    changes = repeat_changes(after, hunk_between(before, after))
    return None if changes is None else Proposal("repeat", tuple(changes), "").apply(after)


CHAIN = "    if a:\n        raise X\n    elif b:\n        raise Y\n    elif c:\n        raise Z\n"


def test_a_change_at_the_start_of_a_line_repeats_at_the_same_indentation() -> None:
    assert repeated(CHAIN, CHAIN.replace("    elif b", "    if b")) == CHAIN.replace("elif", "if")


def test_an_insertion_at_the_end_of_a_line_repeats_where_the_line_ends_alike() -> None:
    source = "import a  # noqa\nimport b  # noqa\nimport c\n"
    assert repeated(source, source.replace("a  # noqa", "a  # noqa: F401")) == (
        "import a  # noqa: F401\nimport b  # noqa: F401\nimport c\n"
    )


def test_whole_tokens_only_and_same_indentation_only() -> None:
    source = "        f(timeout=5)\n        g(timeout=50)\n    h(timeout=5)\n        k(timeout=5)\n"
    changed = source.replace("f(timeout=5)", "f(timeout=30)")
    # `50` is another number; the line indented less has another shape.
    assert repeated(source, changed) == changed.replace("k(timeout=5)", "k(timeout=30)")


def test_a_changed_name_is_not_a_pattern() -> None:
    source = "        self.x = x\n        self.x += 1\n"
    assert repeated(source, source.replace("self.x = x", "self._x = x")) is None
    tail = "    return result\n    log(result)\n"
    assert repeated(tail, tail.replace("return result", "return results")) is None


def test_no_anchor_too_large_or_everywhere_is_not_repeated() -> None:
    source = "x = [first]\ny = [first]\n"
    assert repeated(source, source.replace("x = [first]", "x = [first, 2]")) == (
        "x = [first, 2]\ny = [first, 2]\n"
    )
    ones = "x = [1]\ny = [1]\n"
    assert repeated(ones, ones.replace("x = [1]", "x = [1, 2]")) is None  # `1` and `]`: too little
    loose = "x = (1)\n"
    assert repeated(loose + "y = 2\n", "(x = (1)\n" + "y = 2\n") is None  # nothing to the left
    many = "".join(f"v{i} = f(a)\n" for i in range(MAX_PLACES + 3))
    assert repeated(many, many.replace("v0 = f(a)", "v0 = f(b)", 1)) is None
    long = "a = 'x'\nb = 'x'\n"
    assert repeated(long, long.replace("'x'", "'" + "y" * 50 + "'", 1)) is None
