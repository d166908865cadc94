"""Unit tests for ghostwright.edits.service: settling, superseding, showing and outcomes.

The documents, history, sources and verification are real; the clock is the test's, and the
model is a `ModelManager` that was never loaded (no engine: deterministic proposals only).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import asdict, replace
from typing import Any

import pytest
from lsprotocol import types

from ghostwright.documents import Document, Documents
from ghostwright.edits.judge import NextEditPredictor
from ghostwright.edits.proposal import Proposal
from ghostwright.edits.service import NextEdit, NextEditService, jump_target
from ghostwright.engine.manager import ModelManager
from ghostwright.events import Event, Events, NextEditEvent
from ghostwright.repair.verify import TextChange
from ghostwright.settings import Settings
from ghostwright.telemetry.store import TelemetryEvent

URI = "file:///tmp/area.py"
TEXT = "def area(result):\n    scaled = result * 2\n    return result + scaled\n"
RENAMED = "def area(total):\n    scaled = total * 2\n    return total + scaled\n"
SETTLE_MS = 20


class Clock:
    """The service's clock: it moves only when the test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Editor:
    """One open document, the service watching it, and what the service reported."""

    def __init__(self, models: ModelManager, **settings: Any) -> None:
        self.clock = Clock()
        self.documents = Documents()
        self.document: Document = self.documents.open(
            types.TextDocumentItem(uri=URI, language_id="python", version=1, text=TEXT)
        )
        self.events: list[Event] = []
        events = Events()
        events.subscribe(self.events.append)
        self.telemetry: list[TelemetryEvent] = []
        chosen = replace(Settings(), **{"next_edit_settle_ms": SETTLE_MS, **settings})
        self.service = NextEditService(
            self.documents, models, chosen, events, self.telemetry.append, self.clock
        )
        self.service.predictor = None  # every verified proposal is shown unless a test says

    def change(self, start: int, end: int, text: str) -> None:
        document = self.document
        change = types.TextDocumentContentChangePartial(
            range=types.Range(start=document.position_at(start), end=document.position_at(end)),
            text=text,
        )
        _, edits = self.documents.change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=URI, version=document.version + 1
                ),
                content_changes=[change],
            )
        )
        self.service.document_changed(URI, edits)

    def rename_parameter(self) -> None:
        """Type `total` over the parameter `result`, letter by letter."""
        self.change(9, 15, "")
        for index, char in enumerate("total"):
            self.change(9 + index, 9 + index, char)

    @property
    def answers(self) -> list[NextEditEvent]:
        return [event for event in self.events if isinstance(event, NextEditEvent)]

    def telemetry_kinds(self) -> list[tuple[str, str, object]]:
        return [(e.kind, e.suggestion_id, e.data.get("how")) for e in self.telemetry]


@pytest.fixture
def models() -> Iterator[ModelManager]:
    manager = ModelManager()
    assert manager.engine is None
    yield manager
    manager.shutdown()


async def settled(editor: Editor, cursor: int, quiet_for: float = 1.0) -> NextEdit | None:
    """Ask for a next edit, let the request start waiting, then let the document be quiet."""
    request = asyncio.create_task(editor.service.propose(URI, cursor))
    await asyncio.sleep(0)  # the request is now waiting for the document to settle
    assert not request.done()
    editor.clock.now += quiet_for
    return await request


async def test_the_rename_is_proposed_once_the_document_is_quiet(models: ModelManager) -> None:
    editor = Editor(models)
    editor.rename_parameter()
    cursor = 14
    shown = await settled(editor, cursor, quiet_for=0.5)
    assert shown is not None
    assert shown.proposal.source == "rename"
    assert shown.proposal.label == "rename result → total (2 more places)"
    assert shown.proposal.apply(editor.document.text) == RENAMED
    first_use = editor.document.text.index("result")
    assert shown.jump == first_use
    assert (shown.uri, shown.version, shown.score) == (URI, editor.document.version, None)
    (answer,) = editor.answers
    assert (answer.id, answer.outcome, answer.source, answer.places) == (
        shown.id,
        "shown",
        "rename",
        2,
    )
    assert answer.settle_ms == 500.0
    (event,) = editor.telemetry
    assert (event.kind, event.suggestion_id) == ("next_edit_shown", shown.id)
    assert event.data == {
        "source": "rename",
        "score": None,
        "threshold": 0.0,
        "features": asdict(shown.features),
    }
    assert editor.service.current(editor.document) == shown


async def test_a_change_during_the_settle_wait_supersedes_the_request(
    models: ModelManager,
) -> None:
    editor = Editor(models)
    editor.rename_parameter()
    request = asyncio.create_task(editor.service.propose(URI, 14))
    await asyncio.sleep(0)
    assert not request.done()
    editor.change(0, 0, "#")
    assert await request is None
    (answer,) = editor.answers
    assert (answer.outcome, answer.id, answer.source) == ("superseded", None, None)
    assert editor.telemetry == []
    assert editor.service.current(editor.document) is None


async def test_a_request_for_an_older_version_is_superseded_at_once(models: ModelManager) -> None:
    editor = Editor(models)
    editor.rename_parameter()
    assert await editor.service.propose(URI, 14, version=editor.document.version - 1) is None
    assert [answer.outcome for answer in editor.answers] == ["superseded"]


async def test_the_shown_proposal_is_current_only_for_its_version(models: ModelManager) -> None:
    editor = Editor(models)
    editor.rename_parameter()
    shown = await settled(editor, 14)
    assert editor.service.current(editor.document) == shown
    editor.change(len(editor.document.text), len(editor.document.text), "\n")
    assert editor.service.current(editor.document) is None


async def test_accepting_and_dismissing_record_their_outcomes(models: ModelManager) -> None:
    editor = Editor(models)
    editor.rename_parameter()
    shown = await settled(editor, 14)
    assert shown is not None
    assert editor.service.accepted(shown.id)
    assert not editor.service.accepted(shown.id)
    assert not editor.service.dismissed("unknown-id")
    assert editor.telemetry_kinds() == [
        ("next_edit_shown", shown.id, None),
        ("next_edit_accepted", shown.id, "applied"),
    ]
    assert editor.service.current(editor.document) is None

    # The editor applies it, last edit first; then the person renames the parameter again.
    for change in reversed(shown.proposal.changes):
        editor.change(change.start, change.end, change.text)
    assert editor.document.text == RENAMED
    editor.change(9, 14, "amount")
    again = await settled(editor, 14)
    assert again is not None
    assert again.proposal.apply(editor.document.text) == RENAMED.replace("total", "amount")
    assert editor.service.dismissed(again.id)
    assert editor.telemetry_kinds()[2:] == [
        ("next_edit_shown", again.id, None),
        ("next_edit_rejected", again.id, "dismissed"),
    ]


async def test_a_new_proposal_records_the_one_it_replaces_as_ignored(
    models: ModelManager,
) -> None:
    editor = Editor(models)
    editor.rename_parameter()
    first = await settled(editor, 14)
    assert first is not None
    editor.change(9, 14, "amount")
    second = await settled(editor, 14)
    assert second is not None
    assert second.id != first.id
    assert editor.telemetry_kinds() == [
        ("next_edit_shown", first.id, None),
        ("next_edit_rejected", first.id, "ignored"),
        ("next_edit_shown", second.id, None),
    ]


async def test_closing_the_document_rejects_its_proposal(models: ModelManager) -> None:
    editor = Editor(models)
    editor.rename_parameter()
    shown = await settled(editor, 14)
    assert shown is not None
    editor.documents.close(URI)
    editor.service.document_closed(URI)
    assert editor.telemetry_kinds()[-1] == ("next_edit_rejected", shown.id, "closed")
    assert editor.service.history.hunks(URI) == []
    assert await editor.service.propose(URI, 0) is None


async def test_a_threshold_above_the_predictors_score_hides_the_proposal(
    models: ModelManager,
) -> None:
    editor = Editor(models, next_edit_threshold=0.9)
    editor.service.predictor = NextEditPredictor({}, bias=0.0, threshold=0.1)
    assert editor.service.threshold == 0.9
    editor.rename_parameter()
    assert await settled(editor, 14) is None
    (answer,) = editor.answers
    assert (answer.outcome, answer.id, answer.source, answer.score) == (
        "hidden",
        None,
        "rename",
        0.5,
    )
    (event,) = editor.telemetry
    assert event.kind == "next_edit_hidden"
    assert (event.data["score"], event.data["threshold"]) == (0.5, 0.9)
    assert editor.service.current(editor.document) is None
    assert editor.service.propose_now(editor.document, 14) is None


async def test_the_predictors_own_threshold_applies_without_a_setting(
    models: ModelManager,
) -> None:
    editor = Editor(models)
    editor.service.predictor = NextEditPredictor({}, bias=0.0, threshold=0.4)
    assert editor.service.threshold == 0.4
    editor.rename_parameter()
    shown = await settled(editor, 14)
    assert shown is not None
    assert shown.score == 0.5
    assert editor.telemetry[0].data["threshold"] == 0.4


async def test_next_edits_off_proposes_nothing(models: ModelManager) -> None:
    editor = Editor(models, next_edits=False)
    editor.rename_parameter()
    assert await editor.service.propose(URI, 14) is None
    assert editor.service.propose_now(editor.document, 14) is None
    assert editor.answers == []
    assert editor.telemetry == []


async def test_sources_without_rename_give_no_rename(models: ModelManager) -> None:
    editor = Editor(models, next_edit_sources="call-arguments,repair,model")
    assert editor.service.sources == ("call-arguments", "repair", "model")
    editor.rename_parameter()
    assert await settled(editor, 14) is None
    (answer,) = editor.answers
    assert (answer.outcome, answer.source, answer.refused) == ("none", None, ())
    assert editor.service.propose_now(editor.document, 14) is None


async def test_an_unchanged_document_gets_no_proposal(models: ModelManager) -> None:
    editor = Editor(models)
    assert await editor.service.propose(URI, 0) is None
    assert await editor.service.propose("file:///not/open.py", 0) is None
    assert editor.service.propose_now(editor.document, 0) is None
    assert editor.telemetry == []


def test_propose_now_answers_at_once_for_a_code_action(models: ModelManager) -> None:
    editor = Editor(models, next_edit_settle_ms=60_000)
    editor.rename_parameter()
    shown = editor.service.propose_now(editor.document, 14)
    assert shown is not None
    assert shown.proposal.apply(editor.document.text) == RENAMED
    assert editor.service.current(editor.document) == shown
    assert editor.service.propose_now(editor.document, 14) is shown
    assert editor.telemetry_kinds() == [("next_edit_shown", shown.id, None)]


def test_jump_target_is_the_first_edit_after_the_cursor() -> None:
    proposal = Proposal(
        "rename", (TextChange(5, 6, "a"), TextChange(20, 21, "b"), TextChange(40, 41, "c")), ""
    )
    assert jump_target(proposal, 0) == 5
    assert jump_target(proposal, 6) == 20
    assert jump_target(proposal, 20) == 20
    assert jump_target(proposal, 41) == 5
