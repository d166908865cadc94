"""Unit tests for the completion service's plain parts: the typing rhythm and a flight's view of
later edits. Times are explicit `now` values; nothing sleeps."""

from __future__ import annotations

import pytest

from ghostwright.completion import service
from ghostwright.completion.pipeline import CompletionRequest
from ghostwright.completion.service import TypingRhythm, _Flight

# --- TypingRhythm -------------------------------------------------------------------------------


def rhythm_at(*times: float) -> TypingRhythm:
    rhythm = TypingRhythm()
    for now in times:
        rhythm.keystroke(now)
    return rhythm


def test_no_wait_before_any_keystroke() -> None:
    assert TypingRhythm().wait(10.0) == 0.0


@pytest.mark.parametrize("times", [(0.0,), (0.0, 0.1), (0.0, 0.1, 0.2)])
def test_no_wait_before_three_gaps(times: tuple[float, ...]) -> None:
    assert rhythm_at(*times).wait(times[-1]) == 0.0


def test_waits_the_median_gap_right_after_a_keystroke() -> None:
    rhythm = rhythm_at(0.0, 0.1, 0.2, 0.3)
    assert rhythm.wait(0.3) == pytest.approx(0.1)


def test_waits_the_median_gap_minus_the_time_since_the_last_keystroke() -> None:
    # Gaps 0.05, 0.20, 0.10: the median is 0.10, not the mean (0.1167).
    rhythm = rhythm_at(1.0, 1.05, 1.25, 1.35)
    assert rhythm.wait(1.35) == pytest.approx(0.10)
    assert rhythm.wait(1.38) == pytest.approx(0.07)
    assert rhythm.wait(1.44) == pytest.approx(0.01)


def test_no_wait_once_the_pause_is_longer_than_a_gap() -> None:
    rhythm = rhythm_at(0.0, 0.1, 0.2, 0.3)
    assert rhythm.wait(0.4) == pytest.approx(0.0, abs=1e-9)
    assert rhythm.wait(0.45) == 0.0
    assert rhythm.wait(5.0) == 0.0


def test_the_wait_never_exceeds_the_cap() -> None:
    cap = service._MAX_DEBOUNCE_S
    gap = min(1.0, service._MAX_GAP_S * 0.9)
    assert gap > cap
    rhythm = rhythm_at(*(i * gap for i in range(5)))
    last = 4 * gap
    assert rhythm.wait(last) == pytest.approx(cap)
    assert rhythm.wait(last + 0.05) == pytest.approx(cap - 0.05)


def test_long_pauses_are_not_gaps() -> None:
    pause = service._MAX_GAP_S + 0.5
    # Three keystrokes after pauses only: no gap counted, so no rhythm yet.
    rhythm = rhythm_at(0.0, pause, 2 * pause, 3 * pause)
    assert rhythm.wait(3 * pause) == 0.0


def test_long_pauses_do_not_skew_the_median() -> None:
    pause = service._MAX_GAP_S + 0.5
    # Gaps (pause), 0.1, (pause), 0.1, (pause), 0.1, (pause): counted, the pauses would make the
    # median reach the cap; not counted, it stays 0.1.
    times = [0.0]
    for _ in range(3):
        times.append(times[-1] + pause)
        times.append(times[-1] + 0.1)
    times.append(times[-1] + pause)
    rhythm = rhythm_at(*times)
    assert rhythm.wait(times[-1]) == pytest.approx(0.1)


def test_the_keystroke_after_a_pause_still_starts_the_next_gap() -> None:
    pause = service._MAX_GAP_S + 0.5
    rhythm = rhythm_at(0.0, 0.2, 0.4, 0.4 + pause, 0.5 + pause)
    # Gaps 0.2, 0.2 and 0.1 (from the keystroke that ended the pause): median 0.2.
    assert rhythm.wait(0.5 + pause) == pytest.approx(0.2)


def test_recent_gaps_replace_old_ones() -> None:
    # 20 fast gaps, then 16 slow ones: over all 36 the median would be the fast gap.
    fast = [i * 0.05 for i in range(21)]
    slow = [fast[-1] + (i + 1) * 0.2 for i in range(16)]
    rhythm = rhythm_at(*fast, *slow)
    assert rhythm.wait(slow[-1]) == pytest.approx(0.2)


# --- _Flight ------------------------------------------------------------------------------------

BEFORE = "def area(r):\n    return "
AFTER = "\n\nprint(area(2))\n"


def flight(partial: str = "") -> _Flight:
    request = CompletionRequest(
        uri="file:///area.py",
        version=3,
        language_id="python",
        text=BEFORE + AFTER,
        offset=len(BEFORE),
    )
    return _Flight(request, partial=partial)


@pytest.mark.parametrize("typed", ["", "3", "3.14", "3.14 * r * r", "x\n    y"])
def test_text_typed_at_the_cursor_is_recognised(typed: str) -> None:
    assert flight().typed_since(BEFORE + typed + AFTER) == typed


@pytest.mark.parametrize(
    "text",
    [
        "def area(radius):\n    return " + AFTER,  # edit in the prefix
        BEFORE + "\n\nprint(area(3))\n",  # edit in the suffix
        BEFORE + "3" + "\nprint(area(2))\n",  # typed, and a line deleted below
        "# header\n" + BEFORE + AFTER,  # inserted at the top
        BEFORE[:-1] + AFTER,  # deleted before the cursor
        BEFORE + AFTER[1:],  # deleted after the cursor
        "",
    ],
)
def test_an_edit_elsewhere_is_not_typing(text: str) -> None:
    assert flight().typed_since(text) is None


def test_typing_that_repeats_the_suffix_start_is_still_typing() -> None:
    assert flight().typed_since(BEFORE + "\n" + AFTER) == "\n"


@pytest.mark.parametrize(
    ("partial", "typed"),
    [
        ("3.14 * r * r", "3"),  # typed is a prefix of what was generated
        ("3.14 * r * r", "3.14 * r * r"),
        ("3.14", "3.14 * r"),  # the person typed past what was generated so far
        ("", "3.14"),  # nothing generated yet
        ("3.14 * r * r", ""),  # nothing typed yet
    ],
)
def test_agreement(partial: str, typed: str) -> None:
    assert flight(partial).agrees_with(typed)


@pytest.mark.parametrize(
    ("partial", "typed"),
    [
        ("3.14 * r * r", "4"),
        ("3.14 * r * r", "3.15"),
        ("3.14", "3.2 * r"),
        ("3.14 * r * r", "3.14 * x"),
    ],
)
def test_disagreement(partial: str, typed: str) -> None:
    assert not flight(partial).agrees_with(typed)


def test_typed_since_then_agrees_with() -> None:
    f = flight(partial="3.14 * r * r")
    typed = f.typed_since(BEFORE + "3.1" + AFTER)
    assert typed == "3.1"
    assert f.agrees_with(typed)
    diverged = f.typed_since(BEFORE + "2" + AFTER)
    assert diverged == "2"
    assert not f.agrees_with(diverged)
