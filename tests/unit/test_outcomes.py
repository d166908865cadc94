"""The outcome tracker: every shown suggestion ends with a label, reported or inferred."""

from __future__ import annotations

import logging

import pytest

from ghostwright.completion.outcomes import (
    OUTCOME_INTERVALS_ENV,
    REAL_INTERVALS,
    Outcome,
    OutcomeIntervals,
    OutcomeTracker,
)

URI = "file:///a.py"


class Harness:
    """A tracker with a controllable clock and one document whose text the test edits."""

    def __init__(self, text: str = "x = \n", intervals: OutcomeIntervals = REAL_INTERVALS) -> None:
        self.now = 1000.0
        self.text = text
        self.events: list[Outcome] = []
        self.tracker = OutcomeTracker(
            self.events.append,
            lambda uri: self.text if uri == URI else None,
            lambda: self.now,
            intervals,
        )

    def edit(self, start: int, removed: int, inserted: str, uri: str = URI) -> None:
        self.text = self.text[:start] + inserted + self.text[start + removed :]
        self.tracker.document_changed(uri, start, removed, inserted)

    def kinds(self) -> list[tuple[str, str]]:
        return [(event.kind, event.suggestion_id) for event in self.events]


def test_accept_command_labels_the_suggestion_accepted() -> None:
    h = Harness()
    h.tracker.shown("s1", URI, 4, "42")
    assert h.tracker.accept("s1")
    assert h.kinds() == [("accepted", "s1")]
    assert h.events[0].data["how"] == "command"
    assert not h.tracker.accept("s1")  # decided once
    assert list(h.tracker.history.labels) == [1]


def test_inserting_the_whole_suggestion_is_an_accept_without_the_command() -> None:
    h = Harness()
    h.tracker.shown("s1", URI, 4, "compute(a, b)")
    h.edit(4, 0, "compute(a, b)")
    assert h.kinds() == [("accepted", "s1")]
    assert h.events[0].data["how"] == "inserted"


def test_typing_through_to_the_end_is_an_accept() -> None:
    h = Harness()
    h.tracker.shown("s1", URI, 4, "ab")
    h.edit(4, 0, "a")
    assert h.events == []
    h.edit(5, 0, "b")
    assert h.kinds() == [("accepted", "s1")]
    assert h.events[0].data["how"] == "typed"


def test_typing_something_else_is_typed_over() -> None:
    h = Harness()
    h.tracker.shown("s1", URI, 4, "abc")
    h.edit(4, 0, "a")
    h.edit(5, 0, "x")
    assert h.kinds() == [("rejected", "s1")]
    assert h.events[0].data == {"reason": "typed_over", "matched_chars": 1}
    assert list(h.tracker.history.labels) == [0]


def test_partial_accept_and_dismiss_from_the_client() -> None:
    h = Harness()
    h.tracker.shown("s1", URI, 4, "first\nsecond")
    assert h.tracker.partial_accept("s1", 5)
    assert h.events[-1].kind == "accepted_partial"
    assert h.events[-1].data["chars"] == 5 and h.events[-1].data["of_chars"] == 12
    h.tracker.shown("s2", URI, 4, "zzz")
    assert h.tracker.dismiss("s2")
    assert h.events[-1].kind == "rejected" and h.events[-1].data["reason"] == "dismissed"
    assert not h.tracker.dismiss("unknown")


def test_a_request_elsewhere_rejects_the_suggestion_left_behind() -> None:
    h = Harness()
    h.tracker.shown("s1", URI, 4, "42")
    h.tracker.cursor_at(URI, 4)  # same place: still pending
    assert h.events == []
    h.tracker.cursor_at("file:///b.py", 0)
    assert h.kinds() == [("rejected", "s1")]
    assert h.events[0].data["reason"] == "moved_away"


def test_a_cache_answer_for_the_rest_is_labelled_as_the_first_suggestion() -> None:
    h = Harness()
    assert h.tracker.shown("s1", URI, 4, "abcd") is None
    h.edit(4, 0, "a")
    assert h.tracker.shown("s2", URI, 5, "bcd") == "s1"
    h.edit(5, 0, "b")
    assert h.tracker.shown("s3", URI, 6, "cd") == "s1"
    assert h.events == []
    assert not h.tracker.accept("s2")  # no longer on screen
    assert h.tracker.accept("s3")
    assert h.kinds() == [("accepted", "s1")]


def test_a_partial_accept_of_a_remainder_counts_what_was_typed() -> None:
    h = Harness()
    h.tracker.shown("s1", URI, 4, "abcdef")
    h.edit(4, 0, "ab")
    h.tracker.shown("s2", URI, 6, "cdef")
    assert h.tracker.partial_accept("s2", 2)
    assert h.kinds() == [("accepted_partial", "s1")]
    assert h.events[0].data["chars"] == 4


def test_an_undecided_suggestion_times_out_as_a_reject() -> None:
    h = Harness()
    h.tracker.shown("s1", URI, 4, "42")
    h.now += REAL_INTERVALS.decision_timeout_s - 1
    h.tracker.tick()
    assert h.events == []
    h.now += 2
    h.tracker.tick()
    assert h.kinds() == [("rejected", "s1")]
    assert h.events[0].data["reason"] == "timeout"


def test_edits_before_the_suggestion_move_it() -> None:
    h = Harness("\nx = \n")
    h.tracker.shown("s1", URI, 5, "42")
    h.edit(0, 0, "# note\n")
    h.edit(12, 0, "42")
    assert h.kinds() == [("accepted", "s1")]


def test_survival_is_checked_at_30_and_120_seconds() -> None:
    h = Harness()
    h.tracker.shown("s1", URI, 4, "compute(a, b)")
    h.edit(4, 0, "compute(a, b)")
    h.edit(0, 0, "# moved down\n")  # an edit above moves the accepted text
    h.now += REAL_INTERVALS.survival_checks_s[0] + 1
    h.tracker.tick()
    first = h.events[-1]
    assert first.kind == "survived" and first.data == {"after_s": 30.0, "similarity": 1.0}
    start = h.text.index("compute")
    h.edit(start, len("compute(a, b)"), "other()")
    h.now += REAL_INTERVALS.survival_checks_s[1]
    h.tracker.tick()
    second = h.events[-1]
    assert second.kind == "survived" and second.data["after_s"] == 120.0
    assert second.data["similarity"] < 0.7
    h.now += 1000
    h.tracker.tick()
    assert len([e for e in h.events if e.kind == "survived"]) == 2


def test_history_counts_decisions_and_typing_gaps() -> None:
    h = Harness()
    assert h.tracker.history.accept_rate is None
    for index, label in enumerate([1, 0, 1]):
        h.tracker.shown(f"s{index}", URI, 4, "z")
        if label:
            h.tracker.accept(f"s{index}")
        else:
            h.tracker.dismiss(f"s{index}")
    assert list(h.tracker.history.labels) == [1, 0, 1]
    assert h.tracker.history.accept_rate == 2 / 3
    for _ in range(4):
        h.now += 0.15
        h.edit(0, 0, "y")
    assert h.tracker.typing_gap_ms is not None
    assert abs(h.tracker.typing_gap_ms - 150.0) < 1.0


def test_the_intervals_are_injected() -> None:
    h = Harness(intervals=OutcomeIntervals(decision_timeout_s=2.0, survival_checks_s=(1.0,)))
    assert h.tracker.intervals.tick_s == 0.1
    h.tracker.shown("s1", URI, 4, "42")
    h.now += 2.0
    h.tracker.tick()
    assert h.kinds() == [("rejected", "s1")]
    h.tracker.shown("s2", URI, 4, "42")
    h.edit(4, 0, "42")
    h.now += 1.0
    h.tracker.tick()
    assert h.events[-1].kind == "survived" and h.events[-1].data["after_s"] == 1.0
    h.now += 1000
    h.tracker.tick()
    assert len(h.events) == 3  # one check only


def test_the_real_intervals_are_the_documented_ones() -> None:
    """README and docs/telemetry.md: no decision within 20 s, survival at 30 s and 120 s."""
    assert REAL_INTERVALS.decision_timeout_s == 20.0
    assert REAL_INTERVALS.survival_checks_s == (30.0, 120.0)
    assert REAL_INTERVALS.tick_s == 2.0


def test_intervals_from_the_environment() -> None:
    assert OutcomeIntervals.from_environ({}) is REAL_INTERVALS
    short = OutcomeIntervals.from_environ({OUTCOME_INTERVALS_ENV: '{"survival_checks_s": [1]}'})
    assert short == OutcomeIntervals(20.0, (1.0,))
    both = '{"decision_timeout_s": 0.5, "survival_checks_s": [1, 2.5]}'
    assert OutcomeIntervals.from_environ({OUTCOME_INTERVALS_ENV: both}) == OutcomeIntervals(
        0.5, (1.0, 2.5)
    )


@pytest.mark.parametrize(
    "raw",
    [
        "[1]",
        "{",
        '{"survival_checks": [1]}',
        '{"survival_checks_s": 1}',
        '{"survival_checks_s": [2, 1]}',
        '{"decision_timeout_s": 0}',
        '{"decision_timeout_s": "soon"}',
    ],
)
def test_invalid_intervals_from_the_environment_keep_the_real_ones(
    raw: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert OutcomeIntervals.from_environ({OUTCOME_INTERVALS_ENV: raw}) is REAL_INTERVALS
    assert OUTCOME_INTERVALS_ENV in caplog.text
