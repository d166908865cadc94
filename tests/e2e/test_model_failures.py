"""A missing or corrupt model is reported to the user and the server keeps serving."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import SERVER_COMMAND, server_env
from tests.e2e.test_server import (
    FUNCTION_START,
    document_state,
    inline_completion,
    open_document,
    sha256,
    wait_for_state,
    watch_status,
)

HOME = Path(tempfile.mkdtemp(prefix="ghostwright-failures-"))


async def start_with_model(model: str) -> tuple[LanguageClient, object]:
    config = ClientServerConfig(server_command=SERVER_COMMAND, server_env=server_env(HOME))
    client = await config.start()
    assert isinstance(client, LanguageClient)
    statuses = watch_status(client)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            initialization_options={"ghostwright": {"model": model}},
        )
    )
    return client, statuses


async def stop(client: LanguageClient) -> None:
    await client.shutdown_session()
    await client.stop()


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
    client, statuses = await start_with_model(str(model))
    try:
        status = await wait_for_state(statuses, "ready", "failed")  # type: ignore[arg-type]
        assert status["state"] == "failed"
        assert reason in status["detail"] and str(model) in status["detail"]
        errors = [m for m in client.messages if m.type == types.MessageType.Error]
        assert errors and reason in errors[0].message
        # Still serving: documents sync, completion answers (empty) instead of failing.
        uri = "file:///tmp/ghostwright-failures/a.py"
        open_document(client, uri, FUNCTION_START)
        assert await inline_completion(client, uri, 2, len("    return ")) == []
        assert (await document_state(client, uri))["sha256"] == sha256(FUNCTION_START)
    finally:
        await stop(client)


async def test_model_reloads_after_a_settings_change(
    tmp_path: Path, default_model_path: Path
) -> None:
    """Fix the model path through workspace/didChangeConfiguration: no restart needed."""
    client, statuses = await start_with_model(str(tmp_path / "missing.gguf"))
    try:
        status = await wait_for_state(statuses, "ready", "failed")  # type: ignore[arg-type]
        assert status["state"] == "failed"
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(
                settings={"ghostwright": {"model": str(default_model_path)}}
            )
        )
        status = await wait_for_state(statuses, "ready", "failed")  # type: ignore[arg-type]
        assert status["state"] == "ready"
        uri = "file:///tmp/ghostwright-failures/b.py"
        open_document(client, uri, FUNCTION_START)
        assert await inline_completion(client, uri, 2, len("    return "))
    finally:
        await stop(client)


async def test_invalid_setting_is_reported_and_defaults_apply(default_model_path: Path) -> None:
    config = ClientServerConfig(server_command=SERVER_COMMAND, server_env=server_env(HOME))
    client = await config.start()
    assert isinstance(client, LanguageClient)
    statuses = watch_status(client)
    try:
        await client.initialize_session(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                initialization_options={"maxTokens": "lots", "noSuchSetting": 1},
            )
        )
        status = await wait_for_state(statuses, "ready", "failed")
        assert status["state"] == "ready"
        warnings = [m.message for m in client.messages if m.type == types.MessageType.Warning]
        assert any("maxTokens" in w and "invalid" in w for w in warnings), warnings
        assert any("noSuchSetting" in w for w in warnings), warnings
    finally:
        await stop(client)
