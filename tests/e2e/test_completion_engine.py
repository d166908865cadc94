"""End to end: the completion engine's mechanisms, through the real server and default model.

KV reuse across keystrokes, typing-through without the model, joining a running generation,
multi-line at an empty block, trimming what duplicates the code below, manual invocation with
several candidates, and a suggestion in every supported language.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from ghostwright.events import AnswerEvent, GenerationEvent, ParseCheckEvent, WarmUpEvent
from ghostwright.syntax import SyntaxTree
from tests.conftest import EXAMPLES, SERVER_COMMAND, next_event, server_env, traced_events
from tests.e2e.test_server import (
    edit_at,
    inline_completion,
    open_document,
    wait_for_state,
    watch_status,
)

HOME = Path(tempfile.mkdtemp(prefix="ghostwright-engine-"))
GENEROUS_BUDGET = {"ghostwright": {"timeBudgetMs": 10000}}


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=server_env(HOME)),
)
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    statuses = watch_status(lsp_client)
    # A generous time budget: these tests are about planning and stopping, not the clock.
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            initialization_options=GENEROUS_BUDGET,
        )
    )
    assert (await wait_for_state(statuses, "ready", "failed"))["state"] == "ready"
    yield
    await lsp_client.shutdown_session()


async def answer_event(suggestion_id: str) -> AnswerEvent:
    """The server's typed record of the answer with this suggestion."""
    return await next_event(HOME, AnswerEvent, where=lambda event: event.id == suggestion_id)


def events_so_far() -> int:
    return len(traced_events(HOME))


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def suggestion_id(item: types.InlineCompletionItem) -> str:
    assert item.command is not None and item.command.arguments
    return str(item.command.arguments[0]["id"])


async def test_consecutive_keystrokes_reuse_the_kv_cache(client: LanguageClient) -> None:
    uri = "file:///tmp/ghostwright-engine/kv.py"
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    cut = text.index("    return min(") + len("    return min(")
    open_document(client, uri, text[:cut] + "\n")
    line, column = text[:cut].count("\n"), len("    return min(")
    first = await inline_completion(client, uri, line, column)
    assert first
    # The person types a character the suggestion does not start with: a new model run.
    edit_at(client, uri, 2, line, column, "[")
    second = await inline_completion(client, uri, line, column + 1)
    assert second
    logged = await answer_event(suggestion_id(second[0]))
    assert logged.source == "model"
    assert logged.reused_tokens > 0.9 * logged.prompt_tokens


async def test_typing_through_answers_without_the_model(client: LanguageClient) -> None:
    uri = "file:///tmp/ghostwright-engine/through.py"
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    cut = text.index("    return sum(") + len("    return sum(")
    open_document(client, uri, "# through\n" + text[:cut] + "\n")
    line, column = text[:cut].count("\n") + 1, len("    return sum(")
    shown = await inline_completion(client, uri, line, column)
    assert shown and isinstance(shown[0].insert_text, str) and len(shown[0].insert_text) > 3
    suggestion = shown[0].insert_text
    typed = suggestion[:3]
    edit_at(client, uri, 2, line, column, typed)
    rest = await inline_completion(client, uri, line, column + len(typed))
    assert rest and rest[0].insert_text == suggestion[len(typed) :]
    logged = await answer_event(suggestion_id(rest[0]))
    assert logged.source == "cache"
    assert logged.model_ms == 0.0
    assert logged.prompt_tokens == 0


async def test_a_cancelled_request_still_fills_the_cache(client: LanguageClient) -> None:
    """The editor cancels a request when the person types on; the generation goes on (the
    typing agrees with it) and the next request is answered without the model."""
    uri = "file:///tmp/ghostwright-engine/carry.py"
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    cut = text.index("    return sum(") + len("    return sum(")
    open_document(client, uri, "# carry\n" + text[:cut] + "\n")
    line, column = text[:cut].count("\n") + 1, len("    return sum(")
    params = types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=column),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic
        ),
    )
    seen = events_so_far()
    pending = asyncio.ensure_future(
        client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id="carry-1"
        )
    )
    await _sleep(0.3)  # the model is generating
    client.cancel_request(types.CancelParams(id="carry-1"))
    with contextlib.suppress(Exception):
        await pending
    # The generation finishes in the background, into the cache.
    await next_event(HOME, GenerationEvent, after=seen, where=lambda event: event.uri == uri)
    items = await inline_completion(client, uri, line, column)
    assert items
    logged = await answer_event(suggestion_id(items[0]))
    assert logged.source in ("cache", "in-flight") and logged.model_ms == 0.0


async def test_accepting_a_suggestion_is_answered_by_its_speculation(
    client: LanguageClient,
) -> None:
    """While the person reads a suggestion the server computes the next one as if it were
    accepted: the request after the accept runs no model of its own."""
    uri = "file:///tmp/ghostwright-engine/speculate.py"
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    cut = text.index("    for item in items:") + len("    for item in items:")
    open_document(client, uri, "# speculate\n" + text[:cut] + text[text.index("\n\n\n", cut) :])
    line, column = text[:cut].count("\n") + 1, len("    for item in items:")
    # Two lines at a time, every suggestion shown: the next line is left to speculate about.
    two_lines = {"ghostwright": {**GENEROUS_BUDGET["ghostwright"], "maxLines": 2}}
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"ghostwright": {**two_lines["ghostwright"], "predictorThreshold": 0.0}}
        )
    )
    try:
        await _sleep(0.2)
        seen = events_so_far()
        shown = await inline_completion(client, uri, line, column)
        assert shown and isinstance(shown[0].insert_text, str)
        suggestion, shown_id = shown[0].insert_text, suggestion_id(shown[0])
        # The person reads it while the speculation computes what follows it.
        await next_event(
            HOME,
            GenerationEvent,
            after=seen,
            where=lambda event: event.uri == uri and event.id != shown_id,
        )
        edit_at(client, uri, 2, line, column, suggestion)  # and accepts it
        *above, last = suggestion.split("\n")
        end_line, end_column = line + len(above), len(last) + (0 if above else column)
        after = await inline_completion(client, uri, end_line, end_column)
        assert after
        logged = await answer_event(suggestion_id(after[0]))
        assert logged.source in ("cache", "in-flight") and logged.model_ms == 0.0
    finally:
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=GENEROUS_BUDGET)
        )


async def test_multi_line_suggestion_at_an_empty_block(client: LanguageClient) -> None:
    uri = "file:///tmp/ghostwright-engine/block.py"
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    cut = text.index("    item = find_item(items, name)")
    open_document(client, uri, text[:cut] + "    \n\n\ndef cheapest(items):\n    pass\n")
    line = text[:cut].count("\n")
    items = await inline_completion(client, uri, line, 4)
    assert items and isinstance(items[0].insert_text, str)
    lines = items[0].insert_text.split("\n")
    assert len(lines) >= 2, items[0].insert_text
    # Nothing past the end of the block: no line indented less than the body.
    assert all(not line.strip() or line.startswith("    ") for line in lines[1:])


async def test_a_request_joining_a_multi_line_generation_gets_its_first_lines_first(
    client: LanguageClient,
) -> None:
    """A second request at the cursor while the model writes a multi-line suggestion is
    answered with the lines complete so far, before the generation ends; the first request
    gets the whole suggestion, which goes on from those lines."""
    uri = "file:///tmp/ghostwright-engine/join.py"
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    cut = text.index("    item = find_item(items, name)")
    open_document(
        client, uri, "# join\n" + text[:cut] + "    \n\n\ndef cheapest(items):\n    pass\n"
    )
    line = text[:cut].count("\n") + 1
    answered: dict[str, float] = {}

    async def ask(name: str) -> list[types.InlineCompletionItem]:
        items = await inline_completion(client, uri, line, 4)
        answered[name] = asyncio.get_running_loop().time()
        return items

    first = asyncio.ensure_future(ask("first"))
    await _sleep(0.05)  # the first request is being generated
    joined = await ask("joined")
    whole = await first
    assert whole and joined
    assert answered["joined"] < answered["first"]
    logged = await answer_event(suggestion_id(joined[0]))
    assert logged.source == "in-flight"
    assert isinstance(whole[0].insert_text, str) and isinstance(joined[0].insert_text, str)
    lines, everything = joined[0].insert_text, whole[0].insert_text
    assert everything.startswith(lines + "\n"), (lines, everything)


async def test_time_budget_ends_the_suggestion_at_a_line_break(client: LanguageClient) -> None:
    """With a 10 ms budget, generation stops at the first line break: one line only.

    The budget is checked at line breaks only (as llama.cpp's `t_max_predict_ms`), so the test
    needs a prompt after which the model ends its line: the document alone, without the context
    from the documents earlier tests opened (with it, the 135M model wrote one 362-character line
    that the parse check dropped)."""
    uri = "file:///tmp/ghostwright-engine/budget.py"
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    cut = text.index("    item = find_item(items, name)")
    open_document(client, uri, text[:cut] + "    \n\n\ndef cheapest(items):\n    pass\n")
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"ghostwright": {"timeBudgetMs": 10, "contextTokens": 0}}
        )
    )
    try:
        items = await inline_completion(client, uri, text[:cut].count("\n"), 4)
        assert items and isinstance(items[0].insert_text, str)
        assert "\n" not in items[0].insert_text
    finally:
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=GENEROUS_BUDGET)
        )


async def test_suggestion_stops_before_duplicating_the_code_below(client: LanguageClient) -> None:
    uri = "file:///tmp/ghostwright-engine/suffix.py"
    prefix = "numbers = [\n    1,\n    2,\n    3,\n    4,\n"
    open_document(client, uri, prefix + "\n    6,\n    7,\n]\n")
    items = await inline_completion(client, uri, 5, 0)
    assert items
    assert items[0].insert_text == "    5,"  # the model runs on into "6,", which is cut


async def test_suggestions_that_run_past_the_statement_are_cut_to_what_parses(
    client: LanguageClient,
) -> None:
    """Mid-line in real code the model runs on past the statement (a docstring's closing
    quotes, then more code; a `def` header with no body). What is shown is cut there, and
    inserting it never leaves the file parsing worse than it did."""
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    seen = events_so_far()
    shown = 0
    for row in (12, 27, 34, 39):  # 0-based rows of real statements, cut in the middle
        start = sum(len(line) for line in lines[:row])
        column = len(lines[row].rstrip()) // 2
        document = text[: start + column] + "\n" + text[start + len(lines[row]) :]
        uri = f"file:///tmp/ghostwright-engine/structure-{row}.py"
        open_document(client, uri, document)
        items = await inline_completion(client, uri, row, column)
        if not items:
            continue
        shown += 1
        suggestion = items[0].insert_text
        assert isinstance(suggestion, str)
        tree = SyntaxTree("python", document)
        assert tree.errors_with_insertion(start + column, suggestion) <= tree.error_count()
    assert shown >= 2
    assert await next_event(HOME, ParseCheckEvent, after=seen)


async def test_suggestions_below_the_predictor_threshold_are_hidden_unless_invoked(
    client: LanguageClient,
) -> None:
    uri = "file:///tmp/ghostwright-engine/gate.py"
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    cut = text.index("    return min(") + len("    return min(")
    open_document(client, uri, "# gate\n" + text[:cut] + "\n")
    line, column = text[:cut].count("\n") + 1, len("    return min(")
    assert await inline_completion(client, uri, line, column)
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"ghostwright": {"predictorThreshold": 1.0}})
    )
    try:
        await _sleep(0.2)
        edit_at(client, uri, 2, line, column, "i")
        assert await inline_completion(client, uri, line, column + 1) == []
        invoked = await invoke_completion(client, uri, line, column + 1)
        assert invoked
    finally:
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=GENEROUS_BUDGET)
        )


async def invoke_completion(
    client: LanguageClient, uri: str, line: int, character: int
) -> list[types.InlineCompletionItem]:
    """Ask as a person does by hand (`InlineCompletionTriggerKind.Invoked`)."""
    result = await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Invoked
            ),
        )
    )
    assert isinstance(result, types.InlineCompletionList)
    return list(result.items)


async def warmed_up(uri: str) -> None:
    """Until the server's warm-up has put the document's prompt in the KV cache."""
    await next_event(HOME, WarmUpEvent, where=lambda event: event.uri == uri and not event.stopped)


async def test_manual_invocation_offers_distinct_ranked_candidates(client: LanguageClient) -> None:
    """Asked in a document whose prompt is warm (in the KV cache), the first candidate comes
    within `timeBudgetMs`, which leaves time for alternatives."""
    uri = "file:///tmp/ghostwright-engine/invoked.py"
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    cut = text.index("    return min(") + len("    return min(")
    open_document(client, uri, "# invoked\n" + text[:cut] + "\n")
    await warmed_up(uri)
    items = await invoke_completion(client, uri, text[:cut].count("\n") + 1, 15)
    texts = [item.insert_text for item in items]
    assert 2 <= len(texts) <= 3
    assert len(set(texts)) == len(texts)
    scores = [item.command.arguments[0]["score"] for item in items]  # type: ignore[union-attr,index]
    assert scores == sorted(scores, reverse=True)


LANGUAGES = {
    "python": ('def add(a, b):\n    """Return the sum of a and b."""\n    return ', "\n"),
    "javascript": ("// Add two numbers.\nfunction add(a, b) {\n  return ", "\n}\n"),
    "typescript": (
        "// Add two numbers.\nfunction add(a: number, b: number): number {\n  return ",
        "\n}\n",
    ),
    "typescriptreact": (
        "// Add two numbers.\nfunction add(a: number, b: number): number {\n  return ",
        "\n}\n",
    ),
    "go": (
        "package main\n\n// Add returns the sum of a and b.\n"
        "func Add(a int, b int) int {\n\treturn ",
        "\n}\n",
    ),
    "rust": ("/// Returns the sum of a and b.\nfn add(a: i32, b: i32) -> i32 {\n    ", "\n}\n"),
    "java": (
        "public class MathUtil {\n    /** Returns the sum of a and b. */\n"
        "    public static int add(int a, int b) {\n        return ",
        "\n    }\n}\n",
    ),
    "c": (
        "#include <stdio.h>\n\n/* Return the sum of a and b. */\n"
        "int add(int a, int b) {\n    return ",
        "\n}\n",
    ),
    "cpp": (
        "#include <vector>\n\n// Return the sum of a and b.\nint add(int a, int b) {\n    return ",
        "\n}\n",
    ),
    "plaintext": ("Shopping list for the week:\n- apples\n- bread\n- ", "\n"),
}


@pytest.mark.parametrize("language", sorted(LANGUAGES))
async def test_every_supported_language_gets_a_suggestion(
    client: LanguageClient, language: str
) -> None:
    prefix, suffix = LANGUAGES[language]
    uri = f"file:///tmp/ghostwright-engine/lang-{language}"
    open_document(client, uri, prefix + suffix, language=language)
    line = prefix.count("\n")
    column = len(prefix.rsplit("\n", 1)[-1])
    items = await inline_completion(client, uri, line, column)
    assert items and isinstance(items[0].insert_text, str) and items[0].insert_text.strip()
