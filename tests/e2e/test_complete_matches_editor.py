"""`ghostwright complete` prints what the editor gets: the same cursor in the same file, asked
of the real server over LSP and of the command, gives the same suggestion (or the same nothing)
with the real default model and the real acceptance predictor (its shipped threshold, not the
tests' usual 0). Both are fresh sessions with an empty telemetry database, and a generous time
budget, so that the clock does not decide where a suggestion ends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lsprotocol import types

from ghostwright.engine.models import ModelSpec
from tests.conftest import EXAMPLES, run_ghostwright, server_env
from tests.e2e.test_server import lsp_session, open_document, wait_for_state

INVENTORY = (EXAMPLES / "inventory.py").read_text(encoding="utf-8")
BUDGET = {"GHOSTWRIGHT_TIME_BUDGET_MS": "10000"}
CURSORS = [
    # (a line cut after this text, as a person stops typing there)
    "    return min(",
    "    return sum(",
    "    for item in items:",
]


def settings(model: str | None) -> dict[str, str]:
    """The environment's settings both sides share: the budget, and the model if not the default."""
    return {**BUDGET, **({"GHOSTWRIGHT_MODEL": model} if model else {})}


def environment(home: Path, model: str | None = None) -> dict[str, str]:
    """The command's environment: the server's (`lsp_session` with the shipped threshold)."""
    env = server_env(home, **settings(model))
    del env["GHOSTWRIGHT_PREDICTOR_THRESHOLD"]
    return env


async def editor_texts(
    home: Path,
    path: Path,
    line: int,
    character: int,
    trigger: types.InlineCompletionTriggerKind,
    model: str | None = None,
) -> list[str]:
    """What a fresh editor session is offered at the cursor (0-based), best first."""
    async with lsp_session(
        settings(model), home=home, root=path.parent, shipped_threshold=True
    ) as session:
        client = session.client
        assert (await wait_for_state(session.statuses, "ready", "failed"))["state"] == "ready"
        # Asked at once after opening, as the command is: no warm-up before the request.
        open_document(client, path.as_uri(), path.read_text(encoding="utf-8"))
        result = await client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
                position=types.Position(line=line, character=character),
                context=types.InlineCompletionContext(trigger_kind=trigger),
            )
        )
    assert isinstance(result, types.InlineCompletionList)
    return [str(item.insert_text) for item in result.items]


def command_answer(
    home: Path, path: Path, line: int, column: int, *flags: str, model: str | None = None
) -> dict[str, object]:
    """`ghostwright complete --json` at the same cursor (1-based), in a fresh process."""
    result = run_ghostwright(
        None,
        "complete",
        str(path),
        "--line",
        str(line),
        "--column",
        str(column),
        "--root",
        str(path.parent),
        "--json",
        *flags,
        env=environment(home, model),
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def cut_at(tmp_path: Path, marker: str) -> tuple[Path, int, int]:
    """The shipped example cut after `marker` (the rest of its line gone), as a file; the
    cursor's 0-based line and character."""
    start = INVENTORY.index(marker)
    end = INVENTORY.index("\n", start)
    path = tmp_path / "project" / "inventory.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(INVENTORY[: start + len(marker)] + INVENTORY[end:], encoding="utf-8")
    return path, INVENTORY[:start].count("\n"), len(marker)


@pytest.mark.parametrize("marker", CURSORS)
async def test_complete_prints_what_the_editor_shows_while_typing(
    marker: str, tmp_path: Path
) -> None:
    path, line, character = cut_at(tmp_path, marker)
    shown = await editor_texts(
        tmp_path / "editor", path, line, character, types.InlineCompletionTriggerKind.Automatic
    )
    answer = command_answer(tmp_path / "command", path, line + 1, character + 1)
    assert answer["text"] == (shown[0] if shown else ""), (answer, shown)
    assert answer["candidates"] == shown[:1]


async def test_complete_invoked_offers_what_the_editor_offers_when_asked(tmp_path: Path) -> None:
    path, line, character = cut_at(tmp_path, "    return min(")
    offered = await editor_texts(
        tmp_path / "editor", path, line, character, types.InlineCompletionTriggerKind.Invoked
    )
    answer = command_answer(tmp_path / "command", path, line + 1, character + 1, "--invoked")
    assert offered, "an invoked request is never hidden"
    assert answer["candidates"] == offered


async def test_complete_prints_what_the_editor_shows_with_a_fill_in_the_middle_model(
    tmp_path: Path, code_model: ModelSpec
) -> None:
    """The same with Qwen2.5-Coder: a FIM prompt (the code below the cursor in it), judged by
    the Qwen family's predictor, on both sides."""
    path, line, character = cut_at(tmp_path, "    return min(")
    model = str(code_model.cached_path)
    shown = await editor_texts(
        tmp_path / "editor",
        path,
        line,
        character,
        types.InlineCompletionTriggerKind.Automatic,
        model,
    )
    answer = command_answer(tmp_path / "command", path, line + 1, character + 1, model=model)
    assert answer["text"] == (shown[0] if shown else ""), (answer, shown)
    if shown:
        assert answer["mode"] == "fim"
