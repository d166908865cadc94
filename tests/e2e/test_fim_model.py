"""End to end with a real fill-in-the-middle code model: Qwen2.5-Coder-0.5B through the server.

What a FIM model makes possible, checked on what the model really writes: completing where code
follows the cursor on its line (without writing that code again), filling a gap in the middle
of a function without running into the code below, the warm-up of a newly opened document
that leaves the first request little to evaluate, and the cold window of a request that finds
nothing in the KV cache. The model's exact words may differ between
CPUs (greedy decoding over slightly different floating point), so the checks are on what the
pipeline guarantees, not on the words.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from ghostwright.completion.postprocess import bracket_balance
from ghostwright.engine.models import default_model as default_model_spec
from ghostwright.engine.models import find_model, is_fetched
from ghostwright.events import AnswerEvent, GenerationEvent, WarmUpEvent
from ghostwright.predictor.model import shipped_directory
from tests.conftest import SERVER_COMMAND, next_event, server_env, traced_events
from tests.e2e.test_server import open_document, wait_for_state, watch_status

MODEL = find_model("qwen2.5-coder-0.5b")
FAMILY = MODEL.family
HOME = Path(tempfile.mkdtemp(prefix="ghostwright-fim-model-"))
WAIT_S = 120.0
SESSION: dict[str, Any] = {}
"""The module's session: its status queue, and the first `ready` status."""


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(
        server_command=SERVER_COMMAND,
        server_env=server_env(HOME, GHOSTWRIGHT_MODEL=str(MODEL.cached_path)),
    ),
)
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    if not is_fetched(MODEL):
        pytest.fail(f"{MODEL.name} is not fetched: run `make fim-model` (make test does)")
    statuses = watch_status(lsp_client)
    await lsp_client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities())
    )
    ready = await wait_for_state(statuses, "ready", "failed")
    assert ready["state"] == "ready", ready
    SESSION.update(statuses=statuses, ready=ready)
    yield
    await lsp_client.shutdown_session()


async def invoked(
    client: LanguageClient, uri: str, line: int, character: int
) -> list[types.InlineCompletionItem]:
    result = await asyncio.wait_for(
        client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=character),
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Invoked
                ),
            )
        ),
        WAIT_S,
    )
    assert isinstance(result, types.InlineCompletionList)
    return list(result.items)


def text_of(item: types.InlineCompletionItem) -> str:
    assert isinstance(item.insert_text, str)
    return item.insert_text


C_LOOP = "\r\n".join(
    [
        "int sum(int *a, int n) {",
        "    int s = 0;",
        "    for () {",
        "        s += a[i];",
        "    }",
        "    return s;",
        "}",
        "",
    ]
)


async def test_a_condition_is_filled_where_code_follows_the_cursor(client: LanguageClient) -> None:
    """`for (|) {` in a CRLF file: a prefix-only model is not asked there; a FIM model fills
    the header and stops before `) {`, which it would otherwise write again."""
    uri = "file:///fim/sum.c"
    open_document(client, uri, C_LOOP, "c")
    items = await invoked(client, uri, 2, len("    for ("))
    assert items, "a FIM model completes where code follows the cursor"
    fill = text_of(items[0])
    assert fill.strip() and "\n" not in fill
    line = "    for (" + fill + ") {"
    assert bracket_balance(line) == 1, line  # only the block's `{` stays open
    assert not re.sub(r"\s", "", fill).endswith(("){", ")")), f"the rest was echoed: {line!r}"


PY_GAP = "\n".join(
    [
        "def mean(values):",
        '    """The arithmetic mean of a non-empty list of numbers."""',
        "    total = 0",
        "    ",
        "    return total / len(values)",
        "",
        "",
        "print(mean([1, 2, 3]))",
        "",
    ]
)


async def test_a_gap_in_a_function_is_filled_without_running_into_the_code_below(
    client: LanguageClient,
) -> None:
    uri = "file:///fim/mean.py"
    open_document(client, uri, PY_GAP)
    items = await invoked(client, uri, 3, 4)
    assert items
    lines = text_of(items[0]).split("\n")
    assert lines[0].strip(), "the gap's first line"
    below = {"    return total / len(values)", "print(mean([1, 2, 3]))"}
    assert not below & {line.rstrip() for line in lines}, lines
    assert all(line.strip() for line in lines), f"no blank line inside the block: {lines}"


async def test_a_warm_up_leaves_the_first_request_little_to_evaluate(
    client: LanguageClient,
) -> None:
    """Opened, not yet asked: the server evaluates the document's prompt while the person reads
    it; the first request then evaluates only what differs (its suffix and the cursor)."""
    uri = "file:///fim/warm.py"
    source = "".join(f"def f{i}(x):\n    return x * {i} + {i * i}\n\n\n" for i in range(12))
    open_document(client, uri, source + "def g(x):\n    return ")
    warmed = await warm_up_of(uri)
    assert warmed.prompt_tokens > 100  # all of it, before any request
    seen = len(traced_events(HOME))
    await invoked(client, uri, source.count("\n") + 1, len("    return "))
    generation = await next_event(HOME, GenerationEvent, after=seen)
    assert generation.reused_tokens >= warmed.prompt_tokens - 2, generation
    assert generation.prompt_tokens - generation.reused_tokens <= 8, generation


async def test_a_cold_request_is_answered_from_the_cold_window_then_the_full_one_is_warmed(
    client: LanguageClient,
) -> None:
    """Asked right after opening a long document (nothing of it in the KV cache), the server
    answers from the cold window (`coldPromptTokens`, 768) instead of evaluating its full one
    (1,024 + 256 tokens); while the person reads, it warms the full window at that cursor, and
    the next request there is answered from the full window, little left to evaluate."""
    uri = "file:///fim/cold.py"
    source = "".join(
        f"def scale_{i}(values, factor={i}):\n    return [v * factor + {i} for v in values]\n\n\n"
        for i in range(60)
    )
    open_document(client, uri, source + "def total(values):\n    return ")
    line, character = source.count("\n") + 1, len("    return ")
    seen = len(traced_events(HOME))
    first = await invoked(client, uri, line, character)
    answer = await next_event(HOME, AnswerEvent, after=seen)
    generation = await next_event(HOME, GenerationEvent, after=seen)
    assert first and answer.window == "cold", (answer, generation)
    assert generation.prompt_tokens <= 768 + 8, generation
    warmed = await warm_up_of(uri, after=seen)
    assert warmed.prompt_tokens > 1000, warmed  # the full window
    seen = len(traced_events(HOME))
    assert await invoked(client, uri, line, character)
    answer = await next_event(HOME, AnswerEvent, after=seen)
    generation = await next_event(HOME, GenerationEvent, after=seen)
    assert answer.window == "full", answer
    assert generation.prompt_tokens > 1000, generation
    assert generation.prompt_tokens - generation.reused_tokens <= 8, generation


async def test_the_models_family_picks_its_predictor(client: LanguageClient) -> None:
    """Qwen2.5-Coder's confidences are not SmolLM2's: its suggestions are judged by the
    predictor trained with it, and a switch of model in the settings switches the predictor."""
    qwen = shipped_directory(FAMILY)
    assert qwen != shipped_directory(), "the Qwen family has no shipped predictor"
    assert SESSION["ready"]["predictor"] == str(qwen)
    statuses: asyncio.Queue[dict[str, Any]] = SESSION["statuses"]
    default_model = str(default_model_spec().cached_path)
    for settings, expected in (({"model": default_model}, shipped_directory()), ({}, qwen)):
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"ghostwright": settings})
        )
        ready = await wait_for_state(statuses, "ready", "failed")
        assert ready["state"] == "ready", ready
        assert ready["predictor"] == str(expected), (settings, ready)


async def warm_up_of(uri: str, after: int = 0) -> WarmUpEvent:
    """The first warm-up of the document that ran to its end, after the first `after` events."""
    return await next_event(
        HOME,
        WarmUpEvent,
        after=after,
        where=lambda event: event.uri == uri and not event.stopped,
        timeout_s=WAIT_S,
    )
