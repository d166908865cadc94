"""The Ghostwright language server: each handler fetches, calls the domain layer, converts."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path
from typing import Any, ClassVar

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer

from ghostwright import __version__
from ghostwright.completion.feedback import (
    Feedback,
    explain_decision,
    project_accept_rate,
    project_id,
)
from ghostwright.completion.pipeline import CompletionRequest, Suggestion
from ghostwright.completion.service import CompletionService
from ghostwright.documents import DocumentNotFoundError, Documents, PositionError
from ghostwright.engine.manager import ModelManager, ModelState
from ghostwright.errors import TelemetryError
from ghostwright.lsp.convert import lsp_completion_list, lsp_inline_completion_list, word_start
from ghostwright.lsp.protocol import GhostwrightProtocol
from ghostwright.predictor.decide import Judge
from ghostwright.predictor.model import AcceptancePredictor, PredictorError
from ghostwright.settings import ResolvedSettings, editor_section, resolve_settings
from ghostwright.telemetry.store import TelemetryEvent, TelemetryStore, default_database_path

log = logging.getLogger(__name__)


def _discard(event: TelemetryEvent) -> None:
    """Where events go when telemetry is off."""


ACCEPT_COMMAND = "ghostwright.accept"
PARTIAL_ACCEPT_NOTIFICATION = "ghostwright/partialAccept"
DISMISS_NOTIFICATION = "ghostwright/dismiss"
OUTCOME_TICK_S = 2.0
"""How often decision timeouts and survival checks are looked at."""
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
        self.telemetry: TelemetryStore | None = None
        self.feedback = Feedback(_discard, self._document_text, project=project_id(None))
        self.predictor: AcceptancePredictor | None = None

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
        engine = self.models.engine
        if state is ModelState.READY and engine is not None:
            self.feedback.model_name = Path(str(getattr(engine, "path", ""))).name
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
        self.configure_judge()
        logging.getLogger("ghostwright").setLevel(self.resolved.settings.log_level)
        for warning in self.resolved.warnings:
            log.warning("%s", warning)
            self.show(f"Ghostwright settings: {warning}", types.MessageType.Warning)

    def start_model(self) -> None:
        self.models.load(self.resolved.settings)

    # -- the predictor and the feedback loop -------------------------------------------------
    def start_feedback(self, root_uri: str | None) -> None:
        """Open the telemetry store, load the acceptance predictor, start the outcome clock.

        Neither failure stops the server: without a store nothing is recorded, without a
        predictor every suggestion is shown (both are logged and shown to the user once).
        """
        settings = self.resolved.settings
        project = project_id(root_uri)
        rate = None
        if settings.telemetry:
            try:
                self.telemetry = TelemetryStore(
                    default_database_path(),
                    store_code=settings.telemetry_code,
                    retention_days=settings.telemetry_retention_days,
                )
                rate = project_accept_rate(self.telemetry, project)
            except TelemetryError as exc:
                log.error("telemetry is off for this session: %s", exc)
                self.show(f"Ghostwright: {exc}", types.MessageType.Warning)
        record = self.telemetry.record if self.telemetry is not None else _discard
        self.feedback = Feedback(
            record, self._document_text, project=project, project_accept_rate=rate
        )
        self.completions.on_hidden = self.feedback.hidden
        try:
            self.predictor = AcceptancePredictor.load()
        except PredictorError as exc:
            log.error("%s", exc)
            self.show(f"Ghostwright: {exc}", types.MessageType.Error)
        self.configure_judge()
        if self.loop is not None:
            self.loop.call_later(OUTCOME_TICK_S, self._tick)

    def configure_judge(self) -> None:
        if self.predictor is None:
            self.completions.judge = None
            return
        self.completions.judge = Judge(
            self.predictor, self.feedback.history, self.resolved.settings.predictor_threshold
        )

    def _tick(self) -> None:
        self.feedback.tracker.tick()
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_later(OUTCOME_TICK_S, self._tick)

    def _document_text(self, uri: str) -> str | None:
        return self.documents.get(uri).text if uri in self.documents else None

    def stop_feedback(self) -> None:
        self.feedback.tracker.close()
        if self.telemetry is not None:
            self.telemetry.close()

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
        self.feedback.tracker.cursor_at(request.uri, request.offset)
        suggestions = await self.completions.complete(request, invoked=invoked)
        for suggestion in suggestions[:1]:
            self.feedback.shown(request, suggestion, suggestion.decision)
            if suggestion.decision is not None and log.isEnabledFor(logging.DEBUG):
                log.debug("%s", explain_decision(self.predictor, suggestion.decision))
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
    ls.start_feedback(params.root_uri)


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
        document, edits = ls.documents.change(params)
    except DocumentNotFoundError as exc:
        log.warning("didChange ignored: %s", exc)
        return
    for edit in edits:
        ls.feedback.tracker.document_changed(document.uri, edit.start, edit.removed, edit.inserted)
    ls.completions.document_changed(document)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def on_did_close(ls: GhostwrightServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.completions.document_closed(params.text_document.uri)
    ls.feedback.tracker.document_closed(params.text_document.uri)
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
    """The editor accepted a suggestion: its argument is `{id, score}`."""
    suggestion_id = _suggestion_id(arguments[0] if arguments else None, ACCEPT_COMMAND)
    known = ls.feedback.tracker.accept(suggestion_id)
    log.info("accepted suggestion %s%s", suggestion_id, "" if known else " (not pending)")


@server.feature(PARTIAL_ACCEPT_NOTIFICATION)
def on_partial_accept(ls: GhostwrightServer, params: Any) -> None:
    """`{id, acceptedChars}`: the editor accepted the first characters (a word, a line)."""
    suggestion_id = _suggestion_id(params, PARTIAL_ACCEPT_NOTIFICATION)
    chars = _field(params, "acceptedChars")
    if not isinstance(chars, int) or isinstance(chars, bool) or chars < 0:
        log.warning("%s ignored: acceptedChars must be a count", PARTIAL_ACCEPT_NOTIFICATION)
        return
    ls.feedback.tracker.partial_accept(suggestion_id, chars)


@server.feature(DISMISS_NOTIFICATION)
def on_dismiss(ls: GhostwrightServer, params: Any) -> None:
    """`{id}`: the person dismissed the suggestion (Escape)."""
    ls.feedback.tracker.dismiss(_suggestion_id(params, DISMISS_NOTIFICATION))


def _field(params: Any, name: str) -> Any:
    if isinstance(params, dict):
        return params.get(name)
    return getattr(params, name, None)


def _suggestion_id(params: Any, method: str) -> str:
    suggestion_id = _field(params, "id")
    if not isinstance(suggestion_id, str) or not suggestion_id:
        raise JsonRpcInvalidParams(f"{method} needs {{id: string}}")
    return suggestion_id


@server.feature(types.SHUTDOWN)
def on_shutdown(ls: GhostwrightServer, params: None) -> None:
    ls.stop_feedback()
    ls.models.shutdown()
