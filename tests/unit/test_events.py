"""Typed events: the records the server emits, their log lines, and the JSON Lines trace that
other programs (the bench, the tests) read instead of the log."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

from ghostwright.events import (
    AnswerEvent,
    Event,
    Events,
    GenerationEvent,
    JoinedEmptyEvent,
    ParseCheckEvent,
    RepairEvent,
    TraceFile,
    WarmUpEvent,
    from_json,
    log_event,
    read_trace,
    to_json,
)

ANSWER = AnswerEvent(
    id="9f2c",
    uri="file:///a.py",
    chars=38,
    prompt_tokens=659,
    reused_tokens=512,
    shifted_tokens=0,
    model_ms=46.5,
    total_ms=52.0,
    waited_ms=3.0,
    source="model",
    mode="prefix",
    window="full",
)
EVERY_KIND: list[Event] = [
    ANSWER,
    GenerationEvent("9f2c", "file:///a.py", 1004, 1003, 41, 212.4, "time_budget"),
    JoinedEmptyEvent("9f2c", "file:///a.py"),
    WarmUpEvent("file:///a.py", 300, 280, 950.0, stopped=False),
    ParseCheckEvent("file:///a.py", 40, 12),
    RepairEvent("file:///a.py", "invalid syntax", "model", "", 812.0, 3, 1),
]


@pytest.mark.parametrize("event", EVERY_KIND, ids=lambda event: event.kind)
def test_every_event_survives_its_trace_line(event: Event) -> None:
    line = json.loads(json.dumps(to_json(event)))
    assert line["event"] == event.kind and isinstance(line["time"], float)
    assert from_json(line) == event


def test_a_line_of_an_unknown_kind_or_with_extra_fields_is_read_as_far_as_it_goes() -> None:
    assert from_json({"event": "from-the-future", "id": "x"}) is None
    line = {**to_json(ANSWER), "added_later": 1}
    assert from_json(line) == ANSWER


def test_the_trace_file_holds_every_event_in_order_and_skips_what_it_cannot_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "deeper" / "events.jsonl"
    trace = TraceFile(path)
    for event in EVERY_KIND:
        trace(event)
    # Written and flushed line by line: a reader sees them before the file is closed.
    assert list(read_trace(path)) == EVERY_KIND
    trace.close()
    trace(ANSWER)  # after close: dropped, not raised
    with path.open("a", encoding="utf-8") as stream:
        stream.write("not json\n[1, 2]\n")
    assert list(read_trace(path)) == EVERY_KIND
    assert list(read_trace(tmp_path / "absent.jsonl")) == []


def test_the_trace_file_keeps_lines_whole_under_concurrent_writers(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    trace = TraceFile(path)
    threads = [
        threading.Thread(target=lambda: [trace(ANSWER) for _ in range(200)]) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    trace.close()
    assert list(read_trace(path)) == [ANSWER] * 800


def test_subscribers_get_each_event_and_a_failing_one_fails_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = Events()
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("listener bug")

    events.subscribe(broken)
    events.subscribe(seen.append)
    with caplog.at_level(logging.ERROR, logger="ghostwright.events"):
        events.emit(ANSWER)
    assert seen == [ANSWER]
    assert "an event subscriber failed on answer" in caplog.text
    events.unsubscribe(seen.append)
    events.emit(ANSWER)
    assert seen == [ANSWER]


def test_the_log_line_says_what_the_record_holds(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="ghostwright.events"):
        for event in EVERY_KIND:
            log_event(event)
    lines = [record.getMessage() for record in caplog.records]
    assert lines[0] == (
        "suggestion 9f2c: 38 chars, 659 prompt tokens (512 reused, 0 shifted), model 46.5 ms, "
        "total 52.0 ms, waited 3.0 ms, source model, mode prefix, window full"
    )
    assert lines[1] == (
        "generation 9f2c: 1004 prompt tokens (1003 reused), 41 tokens generated, "
        "model 212.4 ms, stop time_budget"
    )
    assert lines[2] == "request joined generation 9f2c: nothing to show"
    assert lines[3].startswith("warm-up of file:///a.py: 300 prompt tokens in the KV cache")
    assert lines[4] == "parse check: cut a suggestion of 40 chars to 12"
    assert lines[5] == "repair of 'invalid syntax': model in 812 ms (3 candidates, 1 model runs)"
