"""Prompt lookup drafts: what a rewriting model is guessed to copy next."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ghostwright.engine.base import lookup_draft


def test_the_draft_continues_the_latest_earlier_occurrence_of_the_last_tokens() -> None:
    history = [1, 2, 3, 4, 5, 9, 2, 3, 7, 8, 6, 2, 3]
    # (2, 3) occurs twice before the end; the later occurrence was followed by 7, 8.
    assert lookup_draft(history, 3, ngram=2) == [7, 8, 6]


def test_a_longer_run_wins_over_a_later_shorter_one() -> None:
    history = [5, 1, 2, 3, 40, 41, 0, 2, 3, 50, 1, 2, 3]
    assert lookup_draft(history, 2, ngram=3) == [40, 41]
    assert lookup_draft(history, 2, ngram=2) == [50, 1]


def test_a_single_token_is_looked_up_when_no_longer_run_occurs() -> None:
    assert lookup_draft([7, 8, 9, 1, 2, 8], 4) == [9, 1, 2, 8]


def test_no_draft_when_the_last_token_never_occurred_or_no_room() -> None:
    assert lookup_draft([1, 2, 3, 4], 5) == []
    assert lookup_draft([1, 2, 1], 0) == []
    assert lookup_draft([], 3) == [] and lookup_draft([1], 3) == []


@given(st.lists(st.integers(0, 4), max_size=40), st.integers(0, 12), st.integers(1, 4))
def test_a_draft_is_a_bounded_run_that_follows_a_copy_of_the_tail(
    history: list[int], limit: int, ngram: int
) -> None:
    draft = lookup_draft(history, limit, ngram)
    assert len(draft) <= limit
    if not draft:
        return
    # Some earlier place holds the tail's last token(s) followed by the draft.
    assert any(
        history[start : start + len(draft)] == draft
        and start >= 1
        and history[start - 1] == history[-1]
        for start in range(1, len(history))
    )
