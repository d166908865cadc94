"""Unit tests for speculation: after answering, the model computes the next suggestion as if
the person accepted this one (llama.vim).

The service runs as in the server (event loop, model thread, open documents); only the model
is fake: it answers from a table keyed by the end of its prompt, and can be held mid-generation
so that what a change does to a running speculation is exact.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any, cast

import pytest
from lsprotocol import types
from tests.unit.test_service_flights import CharEngine, FakeModels, HideEverything

from ghostwright.completion.pipeline import CompletionPipeline, CompletionRequest
from ghostwright.completion.service import CompletionService
from ghostwright.documents import Documents
from ghostwright.engine.base import Generation, StopCondition
from ghostwright.engine.manager import ModelManager
from ghostwright.predictor.decide import Judge
from ghostwright.settings import Settings

URI = "file:///area.py"
BEFORE = "def area(r):\n    result = "
AFTER = "\n\nprint(area(2))\n"
FIRST = "3.14 * r * r"
"""What the model writes at the end of BEFORE."""
NEXT = "\n    return result"
"""What it writes after FIRST: the speculation's text."""
WAIT_S = 5.0


class TableEngine(CharEngine):
    """Answers by the end of the prompt; `hold` makes it wait for `go` after each token."""

    def __init__(self, hold: bool = False, after_first: str = NEXT) -> None:
        self.after_first = after_first
        self.prompts: list[str] = []
        self.called = threading.Semaphore(0)
        self.hold = hold
        self.go = threading.Event()
        self.stopped: list[str] = []

    def generate(
        self,
        prompt: Sequence[int],
        *,
        cancelled: threading.Event,
        on_text: Callable[[str, Sequence[float], Sequence[float]], None] | None = None,
        should_stop: StopCondition,
        **_: Any,
    ) -> Generation:
        before = "".join(chr(token) for token in prompt)
        self.prompts.append(before)
        self.called.release()
        answer = self.after_first if before.endswith(FIRST) else ""
        answer = FIRST if before.endswith("= ") else answer
        text, stop = "", "eos"
        for char in answer:
            if cancelled.is_set():
                stop = "cancelled"
                break
            text += char
            if on_text is not None:
                on_text(text, [math.log(0.9)] * len(text), [0.1] * len(text))
            if should_stop(text):
                stop = "stop_condition"
                break
            if self.hold:
                self.go.wait(WAIT_S)
        self.stopped.append(stop)
        return self.generation(prompt, text, stop)


class Editor:
    """One open document, edited the way the LSP layer tells the service about edits."""

    def __init__(self, engine: TableEngine, settings: Settings) -> None:
        self.documents = Documents()
        self.service = CompletionService(
            cast(ModelManager, FakeModels(engine)), settings, self.documents
        )
        self.text = BEFORE + AFTER
        self.version = 1
        document = self.documents.open(
            types.TextDocumentItem(uri=URI, language_id="python", version=1, text=self.text)
        )
        self.service.document_opened(document)

    def type(self, typed: str) -> None:
        """Insert `typed` at the cursor (the end of what was typed so far)."""
        cursor = len(self.text) - len(AFTER)
        self.text = self.text[:cursor] + typed + self.text[cursor:]
        self.version += 1
        document, _ = self.documents.change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=self.version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=self.text)],
            )
        )
        self.service.document_changed(document)

    def request(self) -> CompletionRequest:
        return CompletionRequest(
            URI, self.version, "python", self.text, len(self.text) - len(AFTER)
        )


async def model_called(engine: TableEngine, times: int) -> None:
    for _ in range(times):
        assert await asyncio.to_thread(engine.called.acquire, timeout=WAIT_S)


async def speculating(engine: TableEngine) -> Editor:
    """An editor whose request was answered, with the speculation after it held mid-way."""
    editor = Editor(engine, Settings())
    engine.go.set()
    await editor.service.complete(editor.request())
    engine.go.clear()
    await model_called(engine, 2)
    return editor


async def stops(engine: TableEngine, count: int) -> None:
    """Wait until the model has stopped `count` generations."""
    for _ in range(int(WAIT_S / 0.01)):
        if len(engine.stopped) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the model stopped {len(engine.stopped)} generations, not {count}")


async def test_an_answer_starts_the_next_suggestion_and_accepting_it_needs_no_wait() -> None:
    engine = TableEngine()
    editor = Editor(engine, Settings())
    found = await editor.service.complete(editor.request())
    assert [s.text for s in found] == [FIRST]
    await model_called(engine, 2)  # the answer, then the speculation
    assert engine.prompts[1].endswith(BEFORE + FIRST)
    assert editor.service.stats.speculations == 1
    await editor.service.settled()  # the speculation's result is in the cache
    assert engine.stopped == ["eos", "eos"]

    editor.type(FIRST)  # the person accepts, after reading for a while
    after = await asyncio.wait_for(editor.service.complete(editor.request()), WAIT_S)
    assert [(s.text, s.source) for s in after] == [(NEXT, "cache")]
    assert editor.service.stats.model_runs == 2


async def test_typing_into_the_suggestion_keeps_the_speculation_going() -> None:
    engine = TableEngine(hold=True)
    editor = await speculating(engine)
    editor.type(FIRST[:4])  # typed through, not accepted: still on the way
    typed_through = await editor.service.complete(editor.request())
    assert [(s.text, s.source) for s in typed_through] == [(FIRST[4:], "cache")]
    editor.type(FIRST[4:])  # and on to its end, while the speculation still runs
    engine.go.set()
    after = await asyncio.wait_for(editor.service.complete(editor.request()), WAIT_S)
    assert [(s.text, s.source) for s in after] == [(NEXT, "in-flight")]
    assert engine.stopped == ["eos", "eos"]


async def test_a_key_that_leaves_the_suggestion_cancels_the_speculation() -> None:
    engine = TableEngine(hold=True)
    editor = await speculating(engine)
    editor.type("2")  # not what the suggestion starts with
    engine.go.set()
    await stops(engine, 2)
    assert engine.stopped == ["eos", "cancelled"]


async def test_a_request_elsewhere_comes_before_a_speculation() -> None:
    """A request the editor made in another document cancels the speculation."""
    engine = TableEngine(hold=True)
    editor = await speculating(engine)
    other = CompletionRequest("file:///other.py", 1, "python", BEFORE, len(BEFORE))
    asking = asyncio.ensure_future(editor.service.complete(other))
    await model_called(engine, 1)
    engine.go.set()
    assert [s.text for s in await asyncio.wait_for(asking, WAIT_S)] == [FIRST]
    await stops(engine, 3)
    assert sorted(engine.stopped) == ["cancelled", "eos", "eos"]


async def test_no_speculation_when_turned_off() -> None:
    engine = TableEngine()
    editor = Editor(engine, Settings(speculate=False))
    assert await editor.service.complete(editor.request())
    await editor.service.settled()
    assert len(engine.prompts) == 1
    assert editor.service.stats.speculations == 0


async def test_what_the_predictor_hides_of_a_speculation_is_not_reported() -> None:
    """Only requests the editor made are logged as hidden: a speculation was never asked."""
    engine = TableEngine()
    editor = Editor(engine, Settings())
    hidden: list[str] = []
    editor.service.on_hidden = lambda request, decision, suggestion: hidden.append(request.prefix)
    # The first answer is shown (no predictor yet); the predictor hides the speculation's.
    assert await editor.service.complete(editor.request())
    editor.service.judge = cast(Judge, HideEverything())
    await model_called(engine, 2)
    await editor.service.settled()  # the speculation's result is judged
    assert len(engine.stopped) == 2
    assert editor.service.stats.speculations == 1
    assert hidden == []
    assert editor.service.cache.lookup(BEFORE + FIRST, AFTER) is None
    # A request the editor made is reported when hidden.
    other = CompletionRequest("file:///other.py", 1, "python", BEFORE + "\n", len(BEFORE))
    assert await editor.service.complete(other) == []
    assert hidden == [BEFORE]


async def test_typing_through_does_not_start_the_same_speculation_again() -> None:
    """A speculation that found nothing leaves nothing in the cache; each typed-through answer
    after it would otherwise start it again."""
    engine = TableEngine(after_first="")
    editor = Editor(engine, Settings())
    await editor.service.complete(editor.request())
    await stops(engine, 2)
    for typed in FIRST[:5]:
        editor.type(typed)
        found = await editor.service.complete(editor.request())
        assert found and found[0].source == "cache"
        await editor.service.settled()
    assert editor.service.stats.speculations == 1
    assert len(engine.prompts) == 2


def speculation(before: str, suggestion: str) -> CompletionRequest:
    return CompletionRequest(
        URI, None, "python", before + suggestion, len(before + suggestion), origin=len(before)
    )


@pytest.mark.parametrize(
    ("suggestion", "runs"),
    [
        ("cc", 1),  # the window still starts where the origin's did
        ("cccccccc", 0),  # 18 characters: the window would start at "bbbb"
    ],
)
def test_a_speculation_that_would_move_the_window_does_not_run(suggestion: str, runs: int) -> None:
    """The next request at the origin must find its window in the KV cache."""
    engine = TableEngine()
    pipeline = CompletionPipeline(Settings(prefix_tokens=16))  # one token per character here
    request = speculation("aaaa\nbbbb\ncc", suggestion)
    pipeline.candidates(engine, request, threading.Event(), count=1)
    assert len(engine.prompts) == runs
