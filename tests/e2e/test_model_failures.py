"""A missing or corrupt model is reported to the user and the server keeps serving."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from tests.e2e.test_server import (
    FUNCTION_START,
    document_state,
    inline_completion,
    lsp_session,
    open_document,
    sha256,
    wait_for_state,
)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "does not exist"),
        (b"", "empty"),
        (b"definitely not a model\n" * 10, "not a GGUF file"),
        (b"GGUF\x03\x00\x00\x00" + b"\x00" * 8, "truncated"),
    ],
    ids=["missing", "empty", "not-gguf", "truncated"],
)
async def test_bad_model_is_reported_and_server_keeps_serving(
    tmp_path: Path, content: bytes | None, reason: str
) -> None:
    model = tmp_path / "broken.gguf"
    if content is not None:
        model.write_bytes(content)
    async with lsp_session(options={"ghostwright": {"model": str(model)}}) as session:
        client = session.client
        status = await wait_for_state(session.statuses, "ready", "failed")
        assert status["state"] == "failed"
        assert reason in status["detail"] and str(model) in status["detail"]
        errors = [m for m in client.messages if m.type == types.MessageType.Error]
        assert errors and reason in errors[0].message
        # Still serving: documents sync, completion answers (empty) instead of failing.
        uri = "file:///tmp/ghostwright-failures/a.py"
        open_document(client, uri, FUNCTION_START)
        assert await inline_completion(client, uri, 2, len("    return ")) == []
        assert (await document_state(client, uri))["sha256"] == sha256(FUNCTION_START)


async def test_model_reloads_after_a_settings_change(
    tmp_path: Path, default_model_path: Path
) -> None:
    """Fix the model path through workspace/didChangeConfiguration: no restart needed."""
    options = {"ghostwright": {"model": str(tmp_path / "missing.gguf")}}
    async with lsp_session(options=options) as session:
        client, statuses = session.client, session.statuses
        status = await wait_for_state(statuses, "ready", "failed")
        assert status["state"] == "failed"
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(
                settings={"ghostwright": {"model": str(default_model_path)}}
            )
        )
        status = await wait_for_state(statuses, "ready", "failed")
        assert status["state"] == "ready"
        uri = "file:///tmp/ghostwright-failures/b.py"
        open_document(client, uri, FUNCTION_START)
        assert await inline_completion(client, uri, 2, len("    return "))


async def test_invalid_setting_is_reported_and_defaults_apply(default_model_path: Path) -> None:
    async with lsp_session(options={"maxTokens": "lots", "noSuchSetting": 1}) as session:
        status = await wait_for_state(session.statuses, "ready", "failed")
        assert status["state"] == "ready"
        warnings = session.shown(types.MessageType.Warning)
        assert any("maxTokens" in w and "invalid" in w for w in warnings), warnings
        assert any("noSuchSetting" in w for w in warnings), warnings
