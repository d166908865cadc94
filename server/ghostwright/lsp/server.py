"""The Ghostwright language server: each handler fetches, calls the domain layer, converts."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.io_ import StdoutWriter, run_async
from pygls.lsp.server import LanguageServer

from ghostwright import __version__
from ghostwright.completion.feedback import (
    Feedback,
    explain_decision,
    project_accept_rate,
    project_id,
)
from ghostwright.completion.outcomes import OutcomeIntervals
from ghostwright.completion.pipeline import CompletionRequest, Suggestion
from ghostwright.completion.service import CompletionService
from ghostwright.documents import Document, DocumentNotFoundError, Documents, PositionError
from ghostwright.edits.service import NextEditService
from ghostwright.engine.fim import configured_family
from ghostwright.engine.manager import ModelManager, ModelState
from ghostwright.errors import TelemetryError
from ghostwright.events import AnswerEvent, Events, TraceFile, log_event
from ghostwright.hashing import sha256_text
from ghostwright.lsp.convert import (
    lsp_completion_list,
    lsp_diagnostic,
    lsp_inline_completion_list,
    lsp_next_edit,
    lsp_repair_data,
    lsp_workspace_edit,
    repair_request_of,
    word_start,
)
from ghostwright.lsp.protocol import GhostwrightProtocol
from ghostwright.lsp.stdio import PipeReader, watchable
from ghostwright.predictor.decide import Judge
from ghostwright.predictor.model import AcceptancePredictor, PredictorError, load_predictor
from ghostwright.repair.diagnostics import Problem
from ghostwright.repair.pipeline import enclosing_unit
from ghostwright.repair.service import FixProblem, RepairService, RepairUnit, Snapshot
from ghostwright.settings import ResolvedSettings, editor_section, resolve_settings
from ghostwright.telemetry.store import TelemetryEvent, TelemetryStore, default_database_path

log = logging.getLogger(__name__)


def _discard(event: TelemetryEvent) -> None:
    """Where events go when telemetry is off."""


ACCEPT_COMMAND = "ghostwright.accept"
PARTIAL_ACCEPT_NOTIFICATION = "ghostwright/partialAccept"
DISMISS_NOTIFICATION = "ghostwright/dismiss"
REPAIR_COMMAND = "ghostwright.repair"
"""For clients that cannot resolve code actions: computes the fix and applies it."""
STATUS_NOTIFICATION = "ghostwright/status"
DOCUMENT_STATE_REQUEST = "ghostwright/documentState"
NEXT_EDIT_REQUEST = "ghostwright/nextEdit"
NEXT_EDIT_ACCEPTED_COMMAND = "ghostwright.nextEdit.accepted"
NEXT_EDIT_DISMISSED_NOTIFICATION = "ghostwright/nextEditDismissed"


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
        self.events = Events()
        """What the server did, as typed records: to the log, and to the `eventsFile` trace."""
        self.events.subscribe(log_event)
        self._trace: TraceFile | None = None
        self.completions = CompletionService(
            self.models, self.resolved.settings, self.documents, self.events
        )
        self._editor_options: dict[str, Any] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        """The event loop serving the client, known once the client has initialized."""
        self.telemetry: TelemetryStore | None = None
        self.feedback = Feedback(_discard, self._document_text, project=project_id(None))
        self.predictor: AcceptancePredictor | None = None
        self._predictor_for: tuple[str | None, str | None, str | None] | None = None
        """The (predictorModel, predictorSha256, model family) the predictor was loaded for."""
        self.repairs = RepairService(
            self.models, self.documents, self.publish_problems, self.events
        )
        self.next_edits = NextEditService(
            self.documents,
            self.models,
            self.resolved.settings,
            self.events,
            _discard,
            claim_model=self.completions.stop_warm_up,
        )
        self._reported_failures: set[str] = set()
        self.resolves_edits = False
        """Whether the client resolves code actions' edits lazily (`codeAction/resolve`)."""

    # -- the connection ---------------------------------------------------------------------
    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve the editor over stdio until it exits, reading stdin on the event loop where
        it is a pipe or socket (`ghostwright.lsp.stdio`), through pygls's reader elsewhere."""
        source = stdin or sys.stdin.buffer
        if not watchable(source):
            super().start_io(stdin, stdout)
            return
        # `shutdown` (and the editor's `exit`) stops the message loop through this event.
        self._stop_event = stop = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))

        async def serve() -> None:
            reader = await PipeReader.connect(source)
            await run_async(stop, reader, self.protocol, log, self.report_server_error)

        try:
            asyncio.run(serve())
        except BrokenPipeError:
            log.error("the editor's connection is lost; shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()  # type: ignore[no-untyped-call]

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
        if state in (ModelState.READY, ModelState.DEGRADED):
            self.feedback.model_name = self.models.model_name
        if state is ModelState.FAILED:
            self.show(f"Ghostwright: {detail}", types.MessageType.Error)
        elif state is ModelState.DEGRADED:  # an inference server's outage, reported once
            self.show(f"Ghostwright: {detail}", types.MessageType.Warning)
        status: dict[str, Any] = {"state": state.value, "detail": detail}
        if state in (ModelState.READY, ModelState.DEGRADED) and self.predictor is not None:
            # Which acceptance predictor judges this model's suggestions (its family's own, the
            # default, a personal or a team model): a directory with a model card.
            status["predictor"] = str(self.predictor.directory)
        self.protocol.notify(STATUS_NOTIFICATION, status)

    def report_generation_failure(self, error: Exception) -> None:
        """Log every failure of the model; tell the person once per kind of failure (not once
        per keystroke). The request is answered empty and the next one tries again."""
        log.error("generation failed: %s", error, exc_info=error)
        message = f"{type(error).__name__}: {error}"
        if message not in self._reported_failures:
            self._reported_failures.add(message)
            self.show(
                f"Ghostwright: the model failed while generating ({message}); suggestions "
                "continue with the next request, details are in the log.",
                types.MessageType.Error,
            )

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Log out-of-band failures instead of popping a message per failure (pygls' default)."""
        log.error("server error (%s): %s", getattr(source, "__name__", source), error)

    # -- settings and model ---------------------------------------------------------------
    def apply_settings(self, editor_options: Any) -> None:
        self._editor_options = dict(editor_section(editor_options))
        self.resolved = resolve_settings(editor=self._editor_options)
        self.completions.configure(self.resolved.settings)
        self.next_edits.settings = self.resolved.settings
        self.configure_judge()
        self.trace_events_to(self.resolved.settings.events_file)
        logging.getLogger("ghostwright").setLevel(self.resolved.settings.log_level)
        for warning in self.resolved.warnings:
            log.warning("%s", warning)
            self.show(f"Ghostwright settings: {warning}", types.MessageType.Warning)

    def trace_events_to(self, path: str | None) -> None:
        """Append the events to the JSON Lines file `path` (the `eventsFile` setting), from now
        on; None stops tracing."""
        current = self._trace
        if current is not None and path is not None and current.path == Path(path):
            return
        if current is not None:
            self.events.unsubscribe(current)
            current.close()
            self._trace = None
        if path is None:
            return
        try:
            trace = TraceFile(Path(path))
        except OSError as exc:
            log.error("no event trace: cannot open %s (%s)", path, exc)
            self.show(
                f"Ghostwright: eventsFile {path} cannot be written: {exc}",
                types.MessageType.Warning,
            )
            return
        self._trace = trace
        self.events.subscribe(trace)

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
        self.next_edits.record = record
        self.feedback = Feedback(
            record,
            self._document_text,
            project=project,
            project_accept_rate=rate,
            intervals=OutcomeIntervals.from_environ(),
        )
        self.completions.on_hidden = self.feedback.hidden
        self.load_predictor()
        if self.loop is not None:
            self.loop.call_later(self.feedback.tracker.intervals.tick_s, self._tick)

    def load_predictor(self) -> None:
        """Load the acceptance predictor the settings call for: `predictorModel`, else the one
        for the configured model's family (`predictor.model.shipped_directory`)."""
        settings = self.resolved.settings
        family = configured_family(settings)
        self._predictor_for = (settings.predictor_model, settings.predictor_sha256, family)
        try:
            loaded = load_predictor(
                settings.predictor_model, settings.predictor_sha256, family=family
            )
            self.predictor = loaded.predictor
            if loaded.refused is not None:
                log.error("%s", loaded.refused)
                self.show(f"Ghostwright: {loaded.refused}", types.MessageType.Error)
        except PredictorError as exc:
            log.error("%s", exc)
            self.show(f"Ghostwright: {exc}", types.MessageType.Error)
        self.configure_judge()

    def reload_predictor_if_changed(self) -> None:
        """After a settings change: load another predictor when the model's family or the
        predictor settings changed (a model of another family has other confidences)."""
        settings = self.resolved.settings
        wanted = (settings.predictor_model, settings.predictor_sha256)
        if self._predictor_for is None:
            return  # not initialized yet: `start_feedback` loads it
        if (
            wanted != self._predictor_for[:2]
            or configured_family(settings) != self._predictor_for[2]
        ):
            self.load_predictor()

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
            self.loop.call_later(self.feedback.tracker.intervals.tick_s, self._tick)

    def _document_text(self, uri: str) -> str | None:
        return self.documents.get(uri).text if uri in self.documents else None

    def stop_feedback(self) -> None:
        self.feedback.tracker.close()
        if self.telemetry is not None:
            self.telemetry.close()

    # -- repair ---------------------------------------------------------------------------
    def publish_problems(self, uri: str, version: int | None, problems: list[Problem]) -> None:
        diagnostics = []
        if version is not None and uri in self.documents:
            document = self.documents.get(uri)
            diagnostics = [lsp_diagnostic(document, problem) for problem in problems]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

    def snapshot(self, uri: str) -> tuple[Document, Snapshot]:
        try:
            document = self.documents.get(uri)
        except DocumentNotFoundError as exc:
            raise JsonRpcInvalidParams(str(exc)) from exc
        return document, Snapshot.of(document)

    async def resolve_repair(self, action: types.CodeAction) -> types.CodeAction:
        """Compute the verified fix a code action stands for and attach it as its edit; with
        none, tell the person and change nothing."""
        uri = action.data.get("uri") if isinstance(action.data, dict) else None
        if not isinstance(uri, str):
            raise JsonRpcInvalidParams("this code action is not one of Ghostwright's")
        document, snapshot = self.snapshot(uri)
        try:
            request = repair_request_of(document, action.data)
        except ValueError as exc:
            raise JsonRpcInvalidParams(str(exc)) from exc
        outcome = await self.repairs.resolve(snapshot, request)
        if outcome.changes:
            action.edit = lsp_workspace_edit(document, snapshot.version, outcome.changes)
        elif outcome.notice is not None:
            level = types.MessageType.Warning if outcome.warning else types.MessageType.Info
            self.show(outcome.notice, level)
        return action

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
        try:
            suggestions = await self.completions.complete(request, invoked=invoked)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # llama.cpp failing mid-generation must not fail the editor
            self.report_generation_failure(exc)
            return []
        for suggestion in suggestions[:1]:
            self.feedback.shown(request, suggestion, suggestion.decision)
            if suggestion.decision is not None and log.isEnabledFor(logging.DEBUG):
                log.debug("%s", explain_decision(self.predictor, suggestion.decision))
            self.events.emit(
                AnswerEvent(
                    id=suggestion.id,
                    uri=request.uri,
                    chars=len(suggestion.text),
                    prompt_tokens=suggestion.prompt_tokens,
                    reused_tokens=suggestion.reused_tokens,
                    shifted_tokens=suggestion.shifted_tokens,
                    model_ms=suggestion.model_ms,
                    total_ms=suggestion.total_ms,
                    waited_ms=suggestion.waited_ms,
                    source=suggestion.source,
                    mode=suggestion.mode,
                    window=suggestion.window,
                )
            )
        return suggestions


server = GhostwrightServer()


@server.feature(types.INITIALIZE)
def on_initialize(ls: GhostwrightServer, params: types.InitializeParams) -> None:
    ls.loop = asyncio.get_running_loop()
    ls.resolves_edits = _client_resolves_edits(params.capabilities)
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
    ls.reload_predictor_if_changed()
    ls.models.load(ls.resolved.settings)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def on_did_open(ls: GhostwrightServer, params: types.DidOpenTextDocumentParams) -> None:
    document = ls.documents.open(params.text_document)
    ls.completions.document_opened(document)
    ls.repairs.document_changed(document)


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
    ls.repairs.document_changed(document)
    ls.next_edits.document_changed(document.uri, edits)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def on_did_close(ls: GhostwrightServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.completions.document_closed(params.text_document.uri)
    ls.repairs.document_closed(params.text_document.uri)
    ls.next_edits.document_closed(params.text_document.uri)
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


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.RefactorRewrite],
        resolve_provider=True,
    ),
)
def on_code_action(ls: GhostwrightServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """Offer a fix per diagnostic (ours or another server's) and a unit repair on a selection.
    Nothing is computed here: the model runs when an action is resolved or executed."""
    document, snapshot = ls.snapshot(params.text_document.uri)
    actions = []
    for diagnostic in params.context.diagnostics:
        start, end = (
            document.offset_at(diagnostic.range.start),
            document.offset_at(diagnostic.range.end),
        )
        fix = FixProblem(document.version, start, end, diagnostic.message, diagnostic.source)
        title = f"Fix with Ghostwright: {diagnostic.message}"
        data = lsp_repair_data(document, fix)
        actions.append(_repair_action(ls, title, types.CodeActionKind.QuickFix, data, [diagnostic]))
    selection = params.range
    if selection.start != selection.end and document.tree.has_tree:
        start = document.offset_at(selection.start)
        unit = enclosing_unit(snapshot.language_id, snapshot.text, Problem(start, start, "", ""))
        data = lsp_repair_data(document, RepairUnit(document.version, unit.start, unit.end))
        title = "Repair this function with Ghostwright"
        actions.append(_repair_action(ls, title, types.CodeActionKind.RefactorRewrite, data, None))
    shown = ls.next_edits.propose_now(document, document.offset_at(params.range.start))
    if shown is not None:
        title = f"Apply next edit: {shown.proposal.label}"
        actions.append(
            types.CodeAction(
                title=title,
                kind=types.CodeActionKind.RefactorRewrite,
                edit=lsp_workspace_edit(document, shown.version, shown.proposal.changes),
                command=types.Command(
                    title=title, command=NEXT_EDIT_ACCEPTED_COMMAND, arguments=[{"id": shown.id}]
                ),
            )
        )
    return actions


def _repair_action(
    ls: GhostwrightServer,
    title: str,
    kind: types.CodeActionKind,
    data: dict[str, Any],
    diagnostics: list[types.Diagnostic] | None,
) -> types.CodeAction:
    """An action resolved lazily, or one running `ghostwright.repair` for clients that cannot
    resolve."""
    command = None
    if not ls.resolves_edits:
        command = types.Command(title=title, command=REPAIR_COMMAND, arguments=[data])
    return types.CodeAction(
        title=title, kind=kind, diagnostics=diagnostics, data=data, command=command
    )


@server.feature(types.CODE_ACTION_RESOLVE)
async def on_code_action_resolve(
    ls: GhostwrightServer, action: types.CodeAction
) -> types.CodeAction:
    return await ls.resolve_repair(action)


@server.command(REPAIR_COMMAND)
async def on_repair_command(ls: GhostwrightServer, *arguments: Any) -> None:
    """The fix for clients without `codeAction/resolve`: compute it, then ask to apply it."""
    data = arguments[0] if arguments else None
    action = types.CodeAction(title="Ghostwright repair", data=data)
    resolved = await ls.resolve_repair(action)
    if resolved.edit is not None:
        await ls.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=resolved.edit, label="Ghostwright repair")
        )


def _client_resolves_edits(capabilities: types.ClientCapabilities) -> bool:
    code_action = capabilities.text_document.code_action if capabilities.text_document else None
    support = code_action.resolve_support if code_action else None
    return support is not None and "edit" in support.properties


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
    digest = sha256_text(document.text)
    return {
        "uri": uri,
        "version": document.version,
        "lines": document.line_count,
        "length": len(document.text),
        "sha256": digest,
    }


@server.feature(NEXT_EDIT_REQUEST)
async def on_next_edit(ls: GhostwrightServer, params: Any) -> dict[str, Any] | None:
    """`{textDocument: {uri, version?}, position}`: the edit to propose after the latest
    change, once the document is quiet (README, "Next edits"); null without one or when a
    newer change came first."""
    document_id = _field(params, "textDocument")
    uri = _field(document_id, "uri")
    version = _field(document_id, "version")
    position = _field(params, "position")
    line, character = _field(position, "line"), _field(position, "character")
    if not isinstance(uri, str) or not isinstance(line, int) or not isinstance(character, int):
        raise JsonRpcInvalidParams(
            f"{NEXT_EDIT_REQUEST} needs {{textDocument: {{uri}}, position: {{line, character}}}}"
        )
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise JsonRpcInvalidParams(f"{NEXT_EDIT_REQUEST}: textDocument.version must be a number")
    request = ls.request_at(uri, types.Position(line=line, character=character))
    shown = await ls.next_edits.propose(uri, request.offset, version)
    if shown is None or uri not in ls.documents:
        return None
    document = ls.documents.get(uri)
    if document.version != shown.version:
        return None
    return lsp_next_edit(document, shown)


@server.command(NEXT_EDIT_ACCEPTED_COMMAND)
def on_next_edit_accepted(ls: GhostwrightServer, *arguments: Any) -> None:
    """The editor applied a next edit: its argument is `{id}`."""
    proposal_id = _suggestion_id(arguments[0] if arguments else None, NEXT_EDIT_ACCEPTED_COMMAND)
    known = ls.next_edits.accepted(proposal_id)
    log.info("accepted next edit %s%s", proposal_id, "" if known else " (not current)")


@server.feature(NEXT_EDIT_DISMISSED_NOTIFICATION)
def on_next_edit_dismissed(ls: GhostwrightServer, params: Any) -> None:
    """`{id}`: the person dismissed the next edit."""
    ls.next_edits.dismissed(_suggestion_id(params, NEXT_EDIT_DISMISSED_NOTIFICATION))


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
