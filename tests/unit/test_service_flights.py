"""Unit tests for joining a running generation, with a fake engine the test paces line by line.

The service runs as in the server (event loop, model thread); only the model is fake: it writes
one character per token and stops after each line break until the test lets it go on, so what a
request sees of a generation still running is exact.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from lsprotocol import types

from ghostwright.completion.feedback import Feedback
from ghostwright.completion.pipeline import CompletionRequest, Suggestion
from ghostwright.completion.service import CompletionService
from ghostwright.documents import Documents
from ghostwright.engine.base import Generation, StopCondition
from ghostwright.engine.manager import ModelManager
from ghostwright.events import Event, JoinedEmptyEvent
from ghostwright.predictor.decide import Decision, Judge
from ghostwright.settings import Settings
from ghostwright.telemetry.store import TelemetryStore

BEFORE = "def area(r):\n    result = "
AFTER = "\n\nprint(area(2))\n"
GENERATED = "3.14 * r * r\n    print(result)\n    return result\n"
WAIT_S = 5.0


class CharEngine:
    """A fake model whose tokens are the text's characters, with no FIM tokens."""

    fim = None
    n_ctx = 4096

    def prompt_bos(self) -> int | None:
        return None

    def tokenize(self, text: str) -> list[int]:
        return [ord(char) for char in text]

    def cached_tokens(self, prompt: Sequence[int]) -> int:
        return 0

    def prompt_seconds(self, tokens: int) -> float | None:
        return None

    @staticmethod
    def generation(prompt: Sequence[int], text: str, stop: str) -> Generation:
        """What the model returns: one token per character, each of probability 0.9."""
        return Generation(
            text=text,
            token_logprobs=(math.log(0.9),) * len(text),
            token_entropies=(0.1,) * len(text),
            prompt_tokens=len(prompt),
            reused_tokens=0,
            evaluated_tokens=len(prompt),
            model_ms=1.0,
            stop_reason=stop,
            generated_tokens=len(text),
        )


class PacedEngine(CharEngine):
    """Writes `GENERATED` a character at a time and, after each line break, waits for `go`."""

    def __init__(self) -> None:
        self.go = threading.Semaphore(0)
        self.lines_written = threading.Semaphore(0)
        self.finished = threading.Event()

    def generate(
        self,
        prompt: Sequence[int],
        *,
        cancelled: threading.Event,
        on_text: Callable[[str, Sequence[float], Sequence[float]], None] | None = None,
        should_stop: StopCondition,
        **_: Any,
    ) -> Generation:
        logprobs: list[float] = []
        text, stop = "", "eos"
        for char in GENERATED:
            if cancelled.is_set():
                stop = "cancelled"
                break
            text += char
            logprobs.append(math.log(0.9))
            if on_text is not None:
                on_text(text, logprobs, [0.1] * len(logprobs))
            if should_stop(text):
                stop = "stop_condition"
                break
            if char == "\n":
                self.lines_written.release()
                assert self.go.acquire(timeout=WAIT_S), "the test never let the model go on"
        self.finished.set()
        return self.generation(prompt, text, stop)


class FakeModels:
    """What the service needs of a `ModelManager`: the engine and a model thread."""

    def __init__(self, engine: Any) -> None:
        self.completion_engine = engine
        self.engine = None
        """No local llama.cpp model: nothing to warm up."""

    async def run(self, work: Callable[[], Any]) -> Any:
        return await asyncio.to_thread(work)


class HideEverything:
    """A judge whose gate lets every request through and whose filter hides every suggestion."""

    def cursor(self, *_: Any) -> None:
        return None

    def gate(self, _: Any) -> Decision:
        return Decision("gate", 1.0, 0.5, {})

    def judge(self, *_: Any) -> Decision:
        return Decision("filter", 0.0, 0.5, {})


def request(typed: str) -> CompletionRequest:
    return CompletionRequest(
        uri="file:///area.py",
        version=1 + len(typed),
        language_id="python",
        text=BEFORE + typed + AFTER,
        offset=len(BEFORE) + len(typed),
    )


def service_with(engine: PacedEngine) -> CompletionService:
    models = cast(ModelManager, FakeModels(engine))
    return CompletionService(models, Settings(max_lines=4), Documents())


async def wait_for_line(engine: PacedEngine) -> None:
    assert await asyncio.to_thread(engine.lines_written.acquire, timeout=WAIT_S)


async def start_and_type_on(service: CompletionService, engine: PacedEngine) -> None:
    """The first request starts the model; the editor cancels it when the person types on
    (the generation carries on, since the typing agrees with it)."""
    first = asyncio.ensure_future(service.complete(request("")))
    await wait_for_line(engine)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first


async def loop_idle() -> None:
    """Run every callback the event loop has ready, and those they make ready, many times
    over: while the engine waits for `go`, nothing else can happen, so a request that has
    not answered by then is waiting (no wall-clock guess)."""
    for _ in range(100):
        await asyncio.sleep(0)


async def finish(engine: PacedEngine) -> None:
    for _ in range(GENERATED.count("\n")):
        engine.go.release()
    assert await asyncio.to_thread(engine.finished.wait, WAIT_S)


async def test_a_request_joining_a_running_generation_gets_its_complete_lines_at_once() -> None:
    engine = PacedEngine()
    service = service_with(engine)
    await start_and_type_on(service, engine)

    # The person typed "3.1"; the model has written its first line and waits.
    found = await asyncio.wait_for(service.complete(request("3.1")), WAIT_S)
    assert not engine.finished.is_set()
    assert [s.text for s in found] == ["4 * r * r"]
    assert found[0].source == "in-flight" and found[0].model_ms == 0.0
    assert service.stats.joined_in_flight == 1 and service.stats.model_runs == 1

    # The rest goes on into the cache: the next request after more typing has every line.
    await finish(engine)
    await service.settled()  # the carried-on generation stores its suggestion
    rest = await service.complete(request("3.14"))
    assert [s.text for s in rest] == [" * r * r\n    print(result)\n    return result"]
    assert rest[0].source == "cache" and service.stats.model_runs == 1


async def test_a_request_that_typed_all_complete_lines_waits_for_the_next_one() -> None:
    engine = PacedEngine()
    service = service_with(engine)
    await start_and_type_on(service, engine)

    typed = "3.14 * r * r"  # all the model's complete lines so far
    joining = asyncio.ensure_future(service.complete(request(typed)))
    await loop_idle()
    assert not joining.done()
    engine.go.release()  # the model writes its second line
    found: list[Suggestion] = await asyncio.wait_for(joining, WAIT_S)
    assert [s.text for s in found] == ["\n    print(result)"]
    assert not engine.finished.is_set()
    await finish(engine)


async def test_a_request_joining_a_generation_that_finishes_gets_the_whole_suggestion() -> None:
    engine = PacedEngine()
    service = service_with(engine)
    await start_and_type_on(service, engine)

    typed = "3.14 * r * r\n    print(result)\n    return re"  # past every complete line
    joining = asyncio.ensure_future(service.complete(request(typed)))
    await loop_idle()
    assert not joining.done()
    await finish(engine)
    found = await asyncio.wait_for(joining, WAIT_S)
    assert [s.text for s in found] == ["sult"]
    assert found[0].source == "in-flight"


async def test_a_request_joining_a_generation_the_predictor_hides_gets_nothing() -> None:
    """A joiner is answered as the generation's own request would be: not with a suggestion
    the predictor hides, and without running the model again for the same text (which an
    event says, for `ghostwright bench` to count)."""
    engine = PacedEngine()
    service = service_with(engine)
    events: list[Event] = []
    service.events.subscribe(events.append)
    await start_and_type_on(service, engine)
    service.judge = cast(Judge, HideEverything())

    joining = asyncio.ensure_future(service.complete(request("3.1")))
    await loop_idle()
    assert not joining.done()  # the lines so far are hidden: it waits for the whole
    await finish(engine)
    assert await asyncio.wait_for(joining, WAIT_S) == []
    assert service.stats.joined_in_flight == 1 and service.stats.model_runs == 1
    assert sum(isinstance(event, JoinedEmptyEvent) for event in events) == 1


# -- what a suggestion carries for the log ------------------------------------------------------

SECRET_FILE = 'DATABASE = "db.internal"\npassword = "hunter2-correct-horse"\n'


class CopyingEngine(CharEngine):
    """Answers at once with the password of another open file, its name left behind."""

    def generate(self, prompt: Sequence[int], **_: Any) -> Generation:
        return self.generation(prompt, '"hunter2-correct-horse"\n', "eos")


async def test_a_suggestion_carries_the_context_from_other_files_its_prompt_held(
    tmp_path: Path,
) -> None:
    """Text from another file reaches the model through the context chunks, not the request:
    the suggestion carries them (a cached remainder too), so the log can tell that the bare
    value it holds is a secret, and the store redacts it."""
    documents = Documents()
    service = CompletionService(
        cast(ModelManager, FakeModels(CopyingEngine())), Settings(), documents
    )
    for uri, text, version in (
        ("file:///settings.py", SECRET_FILE, 1),
        ("file:///area.py", BEFORE + AFTER, 1),
    ):
        item = types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)
        service.document_opened(documents.open(item))

    [found] = await service.complete(request(""))
    assert found.text == '"hunter2-correct-horse"' and found.source == "model"
    assert any("hunter2-correct-horse" in chunk.text for chunk in found.context)
    assert "hunter2" not in request("").text  # the request alone never saw it

    store = TelemetryStore(tmp_path / "telemetry.sqlite3", store_code=True)
    feedback = Feedback(store.record, lambda _: None, project="p")
    try:
        feedback.shown(request(""), found, None)
        # typed through: the cached remainder still knows where its text came from
        typed = '"hunter2'
        documents.get("file:///area.py").version = 1 + len(typed)
        [rest] = await service.complete(request(typed))
        assert rest.source == "cache" and rest.context == found.context
        assert store.flush()
        [shown] = store.events(kinds=("shown",))
    finally:
        store.close()
    assert shown.data["text"] == '"[REDACTED]"'
    for path in tmp_path.glob("telemetry.sqlite3*"):
        assert b"hunter2" not in path.read_bytes()
