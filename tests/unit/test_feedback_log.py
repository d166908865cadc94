"""The log step: decisions recorded with their features, outcomes under the right ids."""

from __future__ import annotations

from dataclasses import replace

from ghostwright.completion.feedback import Feedback, project_id, seen_by_model
from ghostwright.completion.pipeline import CompletionRequest, Suggestion
from ghostwright.predictor.decide import Decision
from ghostwright.prompt import ContextChunk
from ghostwright.telemetry.redact import redact_secrets, secrets_in
from ghostwright.telemetry.store import TelemetryEvent

URI = "file:///p/a.py"
TEXT = "def f(x):\n    return \n"
REQUEST = CompletionRequest(URI, 3, "python", TEXT, TEXT.index("return ") + len("return "))


def suggestion(suggestion_id: str, text: str) -> Suggestion:
    return Suggestion(
        id=suggestion_id,
        text=text,
        confidence=0.7,
        mode="prefix",
        source="model",
        prompt_tokens=10,
        reused_tokens=5,
        evaluated_tokens=5,
        model_ms=12.0,
        total_ms=15.0,
        stop_reason="eos",
    )


def make(now: list[float]) -> tuple[Feedback, list[TelemetryEvent]]:
    events: list[TelemetryEvent] = []
    feedback = Feedback(
        events.append, lambda uri: TEXT if uri == URI else None, project="p1", clock=lambda: now[0]
    )
    feedback.model_name = "m.gguf"
    return feedback, events


def test_a_shown_suggestion_is_logged_with_its_decision_and_labelled_later() -> None:
    now = [100.0]
    feedback, events = make(now)
    decision = Decision("filter", 0.8, 0.3, {"mean_logprob": -0.2})
    feedback.shown(REQUEST, suggestion("s1", "x + 1"), decision)
    assert [e.kind for e in events] == ["shown"]
    data = events[0].data
    assert data["stage"] == "filter" and data["score"] == 0.8 and data["threshold"] == 0.3
    assert data["features"] == {"mean_logprob": -0.2}
    assert data["model"] == "m.gguf" and data["project"] == "p1" and data["chars"] == 5
    assert data["text"] == "x + 1"  # the store drops code text without consent
    now[0] = 101.0
    assert feedback.tracker.accept("s1")
    assert [e.kind for e in events] == ["shown", "accepted"]
    assert events[1].suggestion_id == "s1" and events[1].time == 101.0
    history = feedback.history()
    assert history.labels == (1,) and history.session_accept_rate == 1.0
    now[0] = 103.0
    assert feedback.history().seconds_since_last_decision == 2.0


def test_a_remainder_shown_after_typing_is_not_logged_twice() -> None:
    now = [100.0]
    feedback, events = make(now)
    feedback.shown(REQUEST, suggestion("s1", "x + 1"), Decision("filter", 0.8, 0.3, {}))
    feedback.tracker.document_changed(URI, REQUEST.offset, 0, "x")
    typed = CompletionRequest(URI, 4, "python", TEXT, REQUEST.offset + 1)
    feedback.shown(typed, suggestion("s2", " + 1"), None)
    assert [e.kind for e in events] == ["shown"]
    feedback.tracker.accept("s2")
    assert [(e.kind, e.suggestion_id) for e in events] == [("shown", "s1"), ("accepted", "s1")]


def test_hidden_decisions_are_logged_with_their_features() -> None:
    now = [100.0]
    feedback, events = make(now)
    feedback.hidden(REQUEST, Decision("gate", 0.01, 0.05, {"log_doc_length": 3.0}), None)
    feedback.hidden(REQUEST, Decision("filter", 0.1, 0.3, {}), suggestion("s9", "zzz"))
    assert [e.kind for e in events] == ["hidden", "hidden"]
    assert events[0].data["stage"] == "gate" and events[0].suggestion_id.startswith("gate-")
    assert events[1].suggestion_id == "s9" and events[1].data["score"] == 0.1


def test_project_ids_are_stable_pseudonyms() -> None:
    assert project_id("file:///home/me/code") == project_id("file:///home/me/code")
    assert project_id("file:///home/me/code") != project_id("file:///home/me/other")
    assert "me" not in project_id("file:///home/me/code")


def test_what_the_model_saw_covers_the_whole_document_and_the_context() -> None:
    """A secret far above the cursor (a prompt window of many tokens reaches it) and one in
    another file's context chunk both count as seen, so a bare copy of either is redacted."""
    far = 'API_TOKEN = "sk-live-0123456789abcdefghij"\n' + "x = 1\n" * 20_000
    text = far + "def f():\n    return \n"
    request = CompletionRequest(URI, 1, "python", text, len(text) - 1)
    chunk = ContextChunk("b.py", 'password = "hunter2-correct-horse"\n', file="b.py")
    found = replace(suggestion("s1", '"sk-live-0123456789abcdefghij"'), context=(chunk,))
    seen = seen_by_model(request, found)
    assert secrets_in(seen) >= {"sk-live-0123456789abcdefghij", "hunter2-correct-horse"}
    assert redact_secrets(found.text, secrets_in(seen)) == '"[REDACTED]"'
