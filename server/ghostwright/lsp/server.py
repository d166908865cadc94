"""The Ghostwright language server: each handler fetches, calls the domain layer, converts."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any, ClassVar

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from ghostwright import __version__
from ghostwright.completion.pipeline import CompletionRequest, Suggestion
from ghostwright.completion.service import CompletionService
from ghostwright.documents import DocumentNotFoundError, Documents, PositionError
from ghostwright.engine.manager import ModelManager, ModelState
from ghostwright.lsp.convert import lsp_completion_list, lsp_inline_completion_list, word_start
from ghostwright.lsp.protocol import GhostwrightProtocol
from ghostwright.settings import ResolvedSettings, editor_section, resolve_settings

log = logging.getLogger(__name__)

ACCEPT_COMMAND = "ghostwright.accept"
STATUS_NOTIFICATION = "ghostwright/status"
DOCUMENT_STATE_REQUEST = "ghostwright/documentState"


class LspLogHandler(logging.Handler):
    """Mirrors Ghostwright's log records to the client's log (window/logMessage)."""

    _LEVELS: ClassVar[dict[int, types.MessageType]] = {
        logging.ERROR: types.MessageType.Error,
        logging.WARNING: types.MessageType.Warning,
        logging.INFO: types.MessageType.Info,
    }

    def __init__(self, server: GhostwrightServer) -> None:
        super().__init__(level=logging.INFO)
        self._server = server

    def emit(self, record: logging.LogRecord) -> None:
        loop = self._server.loop
        if loop is None or loop.is_closed():
            return
        kind = self._LEVELS.get(record.levelno, types.MessageType.Log)
        params = types.LogMessageParams(type=kind, message=self.format(record))
        loop.call_soon_threadsafe(self._server.window_log_message, params)


class GhostwrightServer(LanguageServer):
    """Server state: settings, open documents, the model, and in-flight completions."""

    def __init__(self) -> None:
        super().__init__(
            "ghostwright",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=GhostwrightProtocol,
        )
        self.resolved: ResolvedSettings = resolve_settings()
        self.documents = Documents()
        self.models = ModelManager(on_change=self.model_changed_threadsafe)
        self.completions = CompletionService(self.models, self.resolved.settings, self.documents)
        self._editor_options: dict[str, Any] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        """The event loop serving the client, known once the client has initialized."""

    # -- messages to the user -------------------------------------------------------------
    def show(self, message: str, kind: types.MessageType) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def model_changed_threadsafe(self, state: ModelState, detail: str) -> None:
        """Tell the client about a model state change, from any thread (via the event loop).

        Sends the `ghostwright/status` notification ({state, detail}) that editors show in a
        status line, and shows failures as an error message.
        """
        if self.loop is None or self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self._send_status, state, detail)

    def _send_status(self, state: ModelState, detail: str) -> None:
        if state is ModelState.FAILED:
            self.show(f"Ghostwright: {detail}", types.MessageType.Error)
        self.protocol.notify(STATUS_NOTIFICATION, {"state": state.value, "detail": detail})

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Log out-of-band failures instead of popping a message per failure (pygls' default)."""
        log.error("server error (%s): %s", getattr(source, "__name__", source), error)

    # -- settings and model ---------------------------------------------------------------
    def apply_settings(self, editor_options: Any) -> None:
        self._editor_options = dict(editor_section(editor_options))
        self.resolved = resolve_settings(editor=self._editor_options)
        self.completions.configure(self.resolved.settings)
        logging.getLogger("ghostwright").setLevel(self.resolved.settings.log_level)
        for warning in self.resolved.warnings:
            log.warning("%s", warning)
            self.show(f"Ghostwright settings: {warning}", types.MessageType.Warning)

    def start_model(self) -> None:
        self.models.load(self.resolved.settings)

    # -- completion -----------------------------------------------------------------------
    def request_at(self, uri: str, position: types.Position) -> CompletionRequest:
        """Snapshot the document at a position, or raise InvalidParams saying what is wrong."""
        try:
            document = self.documents.get(uri)
            offset = document.offset_at(position, strict=True)
        except (DocumentNotFoundError, PositionError) as exc:
            raise JsonRpcInvalidParams(str(exc)) from exc
        return CompletionRequest(uri, document.version, document.language_id, document.text, offset)

    async def suggest(
        self, request: CompletionRequest, *, invoked: bool = False
    ) -> list[Suggestion]:
        """Suggestions at the request's cursor through the completion service, logged."""
        if not self.resolved.settings.enabled:
            return []
        suggestions = await self.completions.complete(request, invoked=invoked)
        for suggestion in suggestions[:1]:
            log.info(
                "suggestion %s: %d chars, %d prompt tokens (%d reused, %d shifted), model %.1f ms, "
                "total %.1f ms, waited %.1f ms, source %s, mode %s",
                suggestion.id,
                len(suggestion.text),
                suggestion.prompt_tokens,
                suggestion.reused_tokens,
                suggestion.shifted_tokens,
                suggestion.model_ms,
                suggestion.total_ms,
                suggestion.waited_ms,
                suggestion.source,
                suggestion.mode,
            )
        return suggestions


server = GhostwrightServer()


@server.feature(types.INITIALIZE)
def on_initialize(ls: GhostwrightServer, params: types.InitializeParams) -> None:
    ls.loop = asyncio.get_running_loop()
    encoding = ls.workspace.position_encoding or types.PositionEncodingKind.Utf16
    ls.documents.encoding = str(getattr(encoding, "value", encoding))
    ls.apply_settings(params.initialization_options)


@server.feature(types.INITIALIZED)
def on_initialized(ls: GhostwrightServer, params: types.InitializedParams) -> None:
    ls.start_model()


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
def on_did_change_configuration(
    ls: GhostwrightServer, params: types.DidChangeConfigurationParams
) -> None:
    ls.apply_settings(params.settings)
    ls.models.load(ls.resolved.settings)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def on_did_open(ls: GhostwrightServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.completions.document_opened(ls.documents.open(params.text_document))


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def on_did_change(ls: GhostwrightServer, params: types.DidChangeTextDocumentParams) -> None:
    try:
        document, _ = ls.documents.change(params)
    except DocumentNotFoundError as exc:
        log.warning("didChange ignored: %s", exc)
        return
    ls.completions.document_changed(document)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def on_did_close(ls: GhostwrightServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.completions.document_closed(params.text_document.uri)
    ls.documents.close(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def on_inline_completion(
    ls: GhostwrightServer, params: types.InlineCompletionParams
) -> types.InlineCompletionList:
    request = ls.request_at(params.text_document.uri, params.position)
    invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
    suggestions = await ls.suggest(request, invoked=invoked)
    return lsp_inline_completion_list(suggestions, params.position, ACCEPT_COMMAND)


@server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(resolve_provider=False))
async def on_completion(
    ls: GhostwrightServer, params: types.CompletionParams
) -> types.CompletionList:
    request = ls.request_at(params.text_document.uri, params.position)
    start = ls.documents.get(request.uri).position_at(word_start(request.text, request.offset))
    replace = types.Range(start=start, end=params.position)
    suggestions = await ls.suggest(request)
    return lsp_completion_list(suggestions[:1], request, replace, ACCEPT_COMMAND)


@server.feature(DOCUMENT_STATE_REQUEST)
def on_document_state(ls: GhostwrightServer, params: Any) -> dict[str, Any]:
    """What the server holds for a document, so a client can detect that it is out of sync."""
    uri = getattr(params, "uri", None)
    if not isinstance(uri, str):
        raise JsonRpcInvalidParams(f"{DOCUMENT_STATE_REQUEST} needs params {{uri: string}}")
    try:
        document = ls.documents.get(uri)
    except DocumentNotFoundError as exc:
        raise JsonRpcInvalidParams(str(exc)) from exc
    digest = hashlib.sha256(document.text.encode("utf-8", "surrogatepass")).hexdigest()
    return {
        "uri": uri,
        "version": document.version,
        "lines": document.line_count,
        "length": len(document.text),
        "sha256": digest,
    }


@server.command(ACCEPT_COMMAND)
def on_accept(ls: GhostwrightServer, *arguments: Any) -> None:
    details = arguments[0] if arguments and isinstance(arguments[0], dict) else {}
    log.info("accepted suggestion %s", details.get("id", "?"))


@server.feature(types.SHUTDOWN)
def on_shutdown(ls: GhostwrightServer, params: None) -> None:
    ls.models.shutdown()
