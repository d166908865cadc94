"""Domain results -> LSP types. Functions are named `lsp_*` after what they build."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lsprotocol import types

from ghostwright.completion.pipeline import CompletionRequest, Suggestion
from ghostwright.documents import Document
from ghostwright.edits.service import NextEdit
from ghostwright.repair.diagnostics import SOURCE as DIAGNOSTIC_SOURCE
from ghostwright.repair.diagnostics import Problem
from ghostwright.repair.service import FixProblem, RepairRequest, RepairUnit
from ghostwright.repair.verify import TextChange


def lsp_accept_command(suggestion: Suggestion, command: str) -> types.Command:
    """The command an editor runs when the user accepts; it tells the server which one."""
    return types.Command(
        title="Accept Ghostwright suggestion",
        command=command,
        arguments=[{"id": suggestion.id, "score": suggestion.score}],
    )


def lsp_inline_completion_list(
    suggestions: list[Suggestion], position: types.Position, command: str
) -> types.InlineCompletionList:
    """One item per suggestion, best first, each inserted at the cursor."""
    items = [
        types.InlineCompletionItem(
            insert_text=suggestion.text,
            range=types.Range(start=position, end=position),
            command=lsp_accept_command(suggestion, command),
        )
        for suggestion in suggestions
    ]
    return types.InlineCompletionList(items=items)


def word_start(text: str, offset: int) -> int:
    """Offset where the identifier ending at `offset` begins: what a client filters items by."""
    index = offset
    while (
        index > 0 and offset - index < 200 and (text[index - 1].isalnum() or text[index - 1] == "_")
    ):
        index -= 1
    return index


def lsp_completion_list(
    suggestions: list[Suggestion],
    request: CompletionRequest,
    replace: types.Range,
    command: str,
) -> types.CompletionList:
    """A classic completion item carrying the suggestion, for clients without inline support.

    The item replaces the word being typed (`replace`, from `word_start` to the cursor) with
    word + suggestion, so that the client's own filtering by the word prefix keeps it.
    """
    if not suggestions:
        return types.CompletionList(is_incomplete=True, items=[])
    suggestion = suggestions[0]
    word = request.text[word_start(request.text, request.offset) : request.offset]
    new_text = word + suggestion.text
    label = new_text.split("\n", 1)[0].strip() or new_text.strip()
    item = types.CompletionItem(
        label=label,
        kind=types.CompletionItemKind.Text,
        detail="Ghostwright",
        documentation=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value=f"```\n{new_text}\n```"
        ),
        filter_text=new_text,
        text_edit=types.TextEdit(range=replace, new_text=new_text),
        command=lsp_accept_command(suggestion, command),
    )
    return types.CompletionList(is_incomplete=True, items=[item])


# --- repair ------------------------------------------------------------------------------


def lsp_range(document: Document, start: int, end: int) -> types.Range:
    return types.Range(start=document.position_at(start), end=document.position_at(end))


def lsp_diagnostic(document: Document, problem: Problem) -> types.Diagnostic:
    """A problem as a diagnostic. An empty range (a missing token) is widened to the character
    before it, so that editors have something to underline."""
    start, end = problem.start, problem.end
    if start == end and start > 0 and document.text[start - 1] not in "\r\n":
        start -= 1
    return types.Diagnostic(
        range=lsp_range(document, start, end),
        message=problem.message,
        severity=types.DiagnosticSeverity(int(problem.severity)),
        source=DIAGNOSTIC_SOURCE,
        code=problem.code,
        tags=[types.DiagnosticTag.Unnecessary] if problem.unnecessary else None,
    )


def lsp_text_edits(document: Document, changes: Sequence[TextChange]) -> list[types.TextEdit]:
    return [
        types.TextEdit(range=lsp_range(document, change.start, change.end), new_text=change.text)
        for change in changes
    ]


def lsp_workspace_edit(
    document: Document, version: int, changes: Sequence[TextChange]
) -> types.WorkspaceEdit:
    """The edits, for the document at `version` only: a client whose document has changed
    since refuses them instead of applying them to the wrong text."""
    return types.WorkspaceEdit(
        document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri=document.uri, version=version
                ),
                edits=list(lsp_text_edits(document, changes)),
            )
        ]
    )


def lsp_next_edit(document: Document, shown: NextEdit) -> dict[str, Any]:
    """A next edit as `ghostwright/nextEdit` answers it (README, "Next edits")."""
    proposal = shown.proposal
    return {
        "id": shown.id,
        "uri": shown.uri,
        "version": shown.version,
        "source": proposal.source,
        "label": proposal.label,
        "edits": [
            {"range": _range_json(edit.range), "newText": edit.new_text}
            for edit in lsp_text_edits(document, proposal.changes)
        ],
        "jump": _position_json(document.position_at(shown.jump)),
        "range": _range_json(lsp_range(document, proposal.start, proposal.end)),
        "score": shown.score,
    }


def lsp_repair_data(document: Document, request: RepairRequest) -> dict[str, Any]:
    """A repair request as a code action's `data` (what the client sends back to resolve it,
    or as the `ghostwright.repair` command's argument): ranges as LSP positions."""
    where = _range_json(lsp_range(document, request.start, request.end))
    data: dict[str, Any] = {"uri": document.uri, "version": request.version}
    if isinstance(request, RepairUnit):
        data["unit"] = where
    else:
        data["target"] = {"range": where, "message": request.message, "source": request.source}
    return data


def repair_request_of(document: Document, data: Any) -> RepairRequest:
    """The repair request a code action's `data` holds, for `document` (whose uri it names).
    Raises ValueError saying what is wrong with data that Ghostwright did not make."""
    if not isinstance(data, dict) or not isinstance(data.get("version"), int):
        raise ValueError("this code action is not one of Ghostwright's")
    version = data["version"]
    if "unit" in data:
        start, end = _offsets(document, data["unit"])
        return RepairUnit(version, start, end)
    target = data.get("target")
    if not isinstance(target, dict):
        raise ValueError(f"code action data without a target or unit: {data!r}")
    start, end = _offsets(document, target.get("range"))
    source = target.get("source")
    return FixProblem(
        version,
        start,
        end,
        str(target.get("message", "")),
        source if isinstance(source, str) else None,
    )


def _position_json(position: types.Position) -> dict[str, int]:
    return {"line": position.line, "character": position.character}


def _range_json(range_: types.Range) -> dict[str, Any]:
    return {"start": _position_json(range_.start), "end": _position_json(range_.end)}


def _offsets(document: Document, data: Any) -> tuple[int, int]:
    """Offsets of a `{start, end}` range as sent back in an action's data."""
    try:
        start = types.Position(**data["start"])
        end = types.Position(**data["end"])
    except (KeyError, TypeError) as exc:
        raise ValueError(f"bad range in code action data: {data!r}") from exc
    return document.offset_at(start), document.offset_at(end)
