"""The feedback loop end to end: the real server and model, its telemetry database read back.

Each suggestion's `shown` event must carry the feature vector and the score it was decided on;
accepts (the command), partial accepts and dismissals (the notifications), typing over it,
and survival of accepted text must all end up as events; a secret in the document, or in
another open file that the model copies from, never reaches the database.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from ghostwright.completion.outcomes import OUTCOME_INTERVALS_ENV
from ghostwright.telemetry.store import TelemetryEvent, TelemetryStore
from tests.conftest import EXAMPLES, SERVER_COMMAND, server_env
from tests.e2e.test_server import (
    edit_at,
    inline_completion,
    open_document,
    wait_for_state,
    watch_status,
)

HOME = Path(tempfile.mkdtemp(prefix="ghostwright-feedback-"))
DATABASE = HOME / "data" / "ghostwright" / "telemetry.sqlite3"
SECRET = "AKIAIOSFODNN7EXAMPLE"
SURVIVAL_CHECK_S = 1.0
"""The one survival check of `quick_client`'s server (the real ones come after 30 s and 120 s)."""


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=SERVER_COMMAND,
        server_env=server_env(HOME, GHOSTWRIGHT_TELEMETRY_CODE="true"),
    ),
)
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    await start(lsp_client)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=SERVER_COMMAND,
        server_env=server_env(
            HOME,
            GHOSTWRIGHT_TELEMETRY_CODE="true",
            **{OUTCOME_INTERVALS_ENV: json.dumps({"survival_checks_s": [SURVIVAL_CHECK_S]})},
        ),
    ),
)
async def quick_client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    """A server whose survival check comes after a second, for the test that waits for it."""
    await start(lsp_client)
    yield
    await lsp_client.shutdown_session()


async def start(lsp_client: LanguageClient) -> None:
    """Initialize the session and wait for the model."""
    statuses = watch_status(lsp_client)
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            root_uri="file:///tmp/ghostwright-feedback",
            initialization_options={"ghostwright": {"timeBudgetMs": 10000}},
        )
    )
    assert (await wait_for_state(statuses, "ready", "failed"))["state"] == "ready"


async def wait_for_events(
    suggestion_id: str, done: Callable[[list[TelemetryEvent]], bool], timeout: float = 10.0
) -> list[TelemetryEvent]:
    """The events of one suggestion once `done` says they are all there (the store writes in
    the background)."""
    deadline = time.monotonic() + timeout
    while True:
        store = TelemetryStore(DATABASE)
        try:
            found = [e for e in store.events() if e.suggestion_id == suggestion_id]
        finally:
            store.close()
        if done(found) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


def kinds(events: list[TelemetryEvent]) -> list[str]:
    return [event.kind for event in events]


async def suggest_in(client: LanguageClient, name: str) -> tuple[str, int, int, str, str]:
    """Open a fresh copy of the example at a place with a confident suggestion; return
    (uri, line, column, suggestion id, suggestion text)."""
    uri = f"file:///tmp/ghostwright-feedback/{name}.py"
    text = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
    cut = text.index("    return sum(") + len("    return sum(")
    open_document(client, uri, f"# {name}\n" + text[:cut] + "\n")
    line, column = text[:cut].count("\n") + 1, len("    return sum(")
    items = await inline_completion(client, uri, line, column)
    assert items and isinstance(items[0].insert_text, str)
    command = items[0].command
    assert command is not None and command.arguments
    return uri, line, column, str(command.arguments[0]["id"]), items[0].insert_text


async def test_accept_command_records_the_decision_and_the_accept(client: LanguageClient) -> None:
    _, _, _, suggestion_id, _ = await suggest_in(client, "accept")
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="ghostwright.accept", arguments=[{"id": suggestion_id}])
    )
    events = await wait_for_events(suggestion_id, lambda found: len(found) >= 2)
    assert kinds(events) == ["shown", "accepted"]
    shown = events[0].data
    assert shown["stage"] == "filter" and 0.0 <= shown["score"] <= 1.0
    assert len(shown["features"]) > 20 and "mean_logprob" in "".join(shown["features"])
    assert shown["language"] == "python" and shown["latency_ms"] > 0
    assert events[1].data["how"] == "command"


async def test_typing_over_a_suggestion_records_a_reject(client: LanguageClient) -> None:
    uri, line, column, suggestion_id, text = await suggest_in(client, "typed_over")
    other = "@" if not text.startswith("@") else "#"
    edit_at(client, uri, 2, line, column, other)
    events = await wait_for_events(suggestion_id, lambda found: len(found) >= 2)
    assert kinds(events) == ["shown", "rejected"]
    assert events[1].data["reason"] == "typed_over"


async def test_partial_accept_and_dismiss_notifications(client: LanguageClient) -> None:
    _, _, _, first, _ = await suggest_in(client, "partial")
    client.protocol.notify("ghostwright/partialAccept", {"id": first, "acceptedChars": 3})
    events = await wait_for_events(first, lambda found: len(found) >= 2)
    assert kinds(events) == ["shown", "accepted_partial"]
    assert events[1].data["chars"] == 3
    _, _, _, second, _ = await suggest_in(client, "dismiss")
    client.protocol.notify("ghostwright/dismiss", {"id": second})
    events = await wait_for_events(second, lambda found: len(found) >= 2)
    assert kinds(events) == ["shown", "rejected"] and events[1].data["reason"] == "dismissed"


async def test_accepted_text_is_checked_for_survival(quick_client: LanguageClient) -> None:
    """Typing the whole suggestion in (no command) is an accept; at the survival check it is
    still there."""
    uri, line, column, suggestion_id, text = await suggest_in(quick_client, "survival")
    edit_at(quick_client, uri, 2, line, column, text)
    events = await wait_for_events(suggestion_id, lambda found: len(found) >= 3)
    assert kinds(events) == ["shown", "accepted", "survived"]
    assert events[1].data["how"] == "inserted"
    assert events[2].data == {
        "after_s": SURVIVAL_CHECK_S,
        "similarity": 1.0,
        "project": events[2].data["project"],
    }


SECRET_DOCUMENTS = (
    f'AWS_ACCESS_KEY_ID = "{SECRET}"\nAWS_ACCESS_KEY_ID_BACKUP = "',
    f'API_KEY = "{SECRET}"\nBACKUP_API_KEY = "',
    f'PRIMARY = "{SECRET}"\nSECONDARY = "{SECRET}"\nTERTIARY = "',
)
"""Documents whose next string the model may fill with the key above. Whether a 135M model
copies 20 characters exactly depends on the CPU's arithmetic (one machine's build writes
"AKIAIOSFODN7EXAMPLE" after "API_KEY"), so the test takes the first that it copies."""


async def first_copy(
    client: LanguageClient, documents: tuple[str, ...], secret: str, name: str
) -> tuple[str, str]:
    """Open each document (its last line ends inside a string) and ask at its end, until the
    model's suggestion holds `secret`; (suggestion id, text) of that one."""
    written: list[str] = []
    for number, document in enumerate(documents):
        uri = f"file:///tmp/ghostwright-feedback/{name}{number}.py"
        open_document(client, uri, document + '"\n')
        last_line = document.split("\n")[-1]
        items = await inline_completion(client, uri, document.count("\n"), len(last_line))
        assert items and isinstance(items[0].insert_text, str)
        written.append(items[0].insert_text)
        if secret in items[0].insert_text:
            command = items[0].command
            assert command is not None and command.arguments
            return str(command.arguments[0]["id"]), items[0].insert_text
    raise AssertionError(f"the model copied {secret} in no document: {written}")


async def test_a_secret_in_the_document_never_reaches_the_database(client: LanguageClient) -> None:
    # the model copies the key from a line above
    suggestion_id, _ = await first_copy(client, SECRET_DOCUMENTS, SECRET, "secret")
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="ghostwright.accept", arguments=[{"id": suggestion_id}])
    )
    events = await wait_for_events(suggestion_id, lambda found: len(found) >= 2)
    assert kinds(events) == ["shown", "accepted"]
    assert "text" in events[0].data  # code text kept (consent given), but redacted
    for path in DATABASE.parent.glob("telemetry.sqlite3*"):
        assert SECRET.encode() not in path.read_bytes()


PASSWORD = "hunter2-correct-horse"
SETTINGS = (
    f'DATABASE_HOST = "db.internal"\nDATABASE_USER = "admin"\nDATABASE_PASSWORD = "{PASSWORD}"\n'
)
CONNECTING_DOCUMENTS = (
    'import psycopg\n\ndb = psycopg.connect(host="db.internal", user="admin", password="',
    'cnx = mysql.connector.connect(user="admin", host="db.internal", password="',
    'client = Client(host="db.internal", username="admin", password="',
)
"""Documents whose next string the model may fill with the password of another open file: it
reaches the prompt only as a context chunk (the recently opened file), and the suggestion holds
it bare, without the name that marks it as a password."""


async def test_a_password_copied_from_another_open_file_never_reaches_the_database(
    client: LanguageClient,
) -> None:
    open_document(client, "file:///tmp/ghostwright-feedback/settings.py", SETTINGS)
    suggestion_id, text = await first_copy(client, CONNECTING_DOCUMENTS, PASSWORD, "connect")
    [shown] = await wait_for_events(suggestion_id, lambda found: len(found) >= 1)
    # code text kept (consent given), the password in it redacted
    assert shown.data["text"] == text.replace(PASSWORD, "[REDACTED]")
    for path in DATABASE.parent.glob("telemetry.sqlite3*"):
        assert PASSWORD.encode() not in path.read_bytes()
