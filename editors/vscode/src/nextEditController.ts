// Next edits in VS Code: after a change settles, ask the server for an edit elsewhere in the
// document (`ghostwright/nextEdit`), draw it with decorations, and let the person jump to it,
// apply it or dismiss it. VS Code's stable API has no inline edits away from the cursor (an
// InlineCompletionItem's range must lie on the cursor's line; `isInlineEdit`, `showRange` and
// `displayLocation` are proposed API), hence decorations, a context key and commands.
import * as vscode from 'vscode';
import { ExecuteCommandRequest, type LanguageClient } from 'vscode-languageclient/node';

import {
  appliesProposal,
  atProposal,
  decorationsFor,
  JUMP_KEY_LABEL,
  type NextEditProposal,
  parseProposal,
  type Position,
  type Range,
} from './nextEdit';

export const NEXT_EDIT_REQUEST = 'ghostwright/nextEdit';
export const NEXT_EDIT_DISMISSED_NOTIFICATION = 'ghostwright/nextEditDismissed';
export const NEXT_EDIT_ACCEPTED_COMMAND = 'ghostwright.nextEdit.accepted';
/** True while a proposal is drawn in the active editor (package.json `when` clauses). */
const VISIBLE_CONTEXT = 'ghostwright.nextEditVisible';
/** Quiet time after a change before asking; the server then waits its own `nextEditSettleMs`. */
const DEBOUNCE_MS = 150;

export interface NextEditHooks {
  readonly log: vscode.LogOutputChannel;
  /** The language client, when there is one. */
  readonly client: () => LanguageClient | undefined;
  /** Whether next edits are on (`ghostwright.nextEdits`). */
  readonly enabled: () => boolean;
  /** Whether the server is handed this document (`ghostwright.languages`). */
  readonly serves: (document: vscode.TextDocument) => boolean;
}

interface Shown {
  readonly editor: vscode.TextEditor;
  readonly proposal: NextEditProposal;
}

function toRange(range: Range): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

function toPosition(position: Position): vscode.Position {
  return new vscode.Position(position.line, position.character);
}

export class NextEditController implements vscode.Disposable {
  private shown: Shown | undefined;
  /** The debounce timer of the last change. */
  private timer: NodeJS.Timeout | undefined;
  /** The request in flight; a newer change cancels it. */
  private pending: vscode.CancellationTokenSource | undefined;
  private readonly deleted = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('ghostwright.nextEdit.deletedBackground'),
    textDecoration: 'line-through',
  });
  private readonly inserted = vscode.window.createTextEditorDecorationType({
    after: { backgroundColor: new vscode.ThemeColor('ghostwright.nextEdit.insertedBackground') },
  });
  private readonly hint = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor('ghostwright.nextEdit.hintForeground'), margin: '0 0 0 2em', fontStyle: 'italic' },
  });
  private readonly disposables: vscode.Disposable[];

  constructor(private readonly hooks: NextEditHooks) {
    this.disposables = [
      this.deleted,
      this.inserted,
      this.hint,
      vscode.commands.registerCommand('ghostwright.nextEdit.jump', () => this.jump()),
      vscode.commands.registerCommand('ghostwright.nextEdit.apply', () => this.apply()),
      vscode.commands.registerCommand('ghostwright.nextEdit.dismiss', () => this.clear(true)),
      vscode.workspace.onDidChangeTextDocument((event) => this.documentChanged(event)),
      vscode.window.onDidChangeActiveTextEditor(() => this.activeEditorChanged()),
      vscode.window.onDidChangeTextEditorSelection((event) => {
        if (event.textEditor === this.shown?.editor) {
          this.draw(this.shown);
        }
      }),
      vscode.workspace.onDidCloseTextDocument((document) => {
        if (this.shown?.editor.document === document) {
          this.clear(true);
        }
      }),
    ];
  }

  /** Turned off: forget what is shown and asked. */
  disable(): void {
    this.cancelPending();
    this.clear(true);
  }

  dispose(): void {
    this.cancelPending();
    this.clear(false);
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }

  private documentChanged(event: vscode.TextDocumentChangeEvent): void {
    if (event.contentChanges.length === 0) {
      return;
    }
    const shown = this.shown;
    if (shown !== undefined && shown.editor.document === event.document) {
      this.clear(!appliesProposal(shown.proposal, event.contentChanges));
    }
    const editor = vscode.window.activeTextEditor;
    if (editor?.document !== event.document) {
      return;
    }
    this.cancelPending();
    if (this.hooks.enabled() && this.hooks.serves(event.document)) {
      this.timer = setTimeout(() => void this.request(editor), DEBOUNCE_MS);
    }
  }

  private activeEditorChanged(): void {
    this.cancelPending();
    if (this.shown !== undefined && this.shown.editor !== vscode.window.activeTextEditor) {
      this.clear(true);
    }
  }

  private cancelPending(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending?.cancel();
    this.pending?.dispose();
    this.pending = undefined;
  }

  /** Ask for a next edit at the editor's cursor; show the answer unless the document moved on. */
  private async request(editor: vscode.TextEditor): Promise<void> {
    const client = this.hooks.client();
    if (!client?.isRunning()) {
      return;
    }
    const document = editor.document;
    const uri = client.code2ProtocolConverter.asUri(document.uri);
    const cursor = editor.selection.active;
    const pending = new vscode.CancellationTokenSource();
    this.pending = pending;
    let answer: unknown;
    try {
      answer = await client.sendRequest(
        NEXT_EDIT_REQUEST,
        {
          // The version asked about: the server answers null once a newer change has come.
          textDocument: { uri, version: document.version },
          position: { line: cursor.line, character: cursor.character },
        },
        pending.token,
      );
    } catch (error) {
      if (!pending.token.isCancellationRequested) {
        this.hooks.log.warn(`${NEXT_EDIT_REQUEST}: ${error instanceof Error ? error.message : String(error)}`);
      }
    } finally {
      if (this.pending === pending) {
        this.pending = undefined;
      }
    }
    // A newer change cancelled the request: its answer, if any, is for an older text.
    const proposal = pending.token.isCancellationRequested ? undefined : parseProposal(answer);
    pending.dispose();
    if (proposal === undefined) {
      return;
    }
    if (proposal.uri !== uri || proposal.version !== document.version || vscode.window.activeTextEditor !== editor) {
      this.hooks.log.debug(`next edit ${proposal.id} dropped: the document or editor changed`);
      return;
    }
    this.shown = { editor, proposal };
    this.draw(this.shown);
    void vscode.commands.executeCommand('setContext', VISIBLE_CONTEXT, true);
    this.hooks.log.info(`next edit ${proposal.id} shown: ${proposal.label}`);
  }

  private draw({ editor, proposal }: Shown): void {
    const decorations = decorationsFor(proposal, editor.selection.active.line);
    const hover = new vscode.MarkdownString(
      `**Ghostwright next edit**: ${proposal.label}\n\n${JUMP_KEY_LABEL} jumps to it, ${JUMP_KEY_LABEL} there applies it, Escape dismisses it.`,
    );
    editor.setDecorations(
      this.deleted,
      decorations.deleted.map((range) => ({ range: toRange(range), hoverMessage: hover })),
    );
    editor.setDecorations(
      this.inserted,
      decorations.inserted.map(({ at, text }) => ({
        range: new vscode.Range(toPosition(at), toPosition(at)),
        hoverMessage: hover,
        renderOptions: { after: { contentText: text } },
      })),
    );
    const hint = decorations.hint;
    const end = hint === undefined ? undefined : editor.document.lineAt(hint.line).range.end;
    editor.setDecorations(
      this.hint,
      hint === undefined || end === undefined ? [] : [{ range: new vscode.Range(end, end), renderOptions: { after: { contentText: hint.text } } }],
    );
  }

  /** Stop drawing the proposal; `dismissed`: tell the server the person did not take it. */
  private clear(dismissed: boolean): void {
    const shown = this.shown;
    if (shown === undefined) {
      return;
    }
    this.shown = undefined;
    for (const type of [this.deleted, this.inserted, this.hint]) {
      shown.editor.setDecorations(type, []);
    }
    void vscode.commands.executeCommand('setContext', VISIBLE_CONTEXT, false);
    const client = this.hooks.client();
    if (dismissed && client?.isRunning()) {
      this.hooks.log.info(`next edit ${shown.proposal.id} dismissed`);
      client
        .sendNotification(NEXT_EDIT_DISMISSED_NOTIFICATION, { id: shown.proposal.id })
        .catch((error: unknown) => this.hooks.log.error(`${NEXT_EDIT_DISMISSED_NOTIFICATION}: ${String(error)}`));
    }
  }

  /** The jump key: move the cursor to the proposal, or apply it when the cursor is there. */
  private async jump(): Promise<void> {
    const shown = this.shown;
    const editor = vscode.window.activeTextEditor;
    if (shown === undefined || editor !== shown.editor) {
      return;
    }
    if (atProposal(shown.proposal, editor.selection.active)) {
      await this.apply();
      return;
    }
    const target = toPosition(shown.proposal.jump);
    editor.selection = new vscode.Selection(target, target);
    editor.revealRange(new vscode.Range(target, target), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  }

  /** Apply the proposal's edits, then tell the server (`ghostwright.nextEdit.accepted`). */
  private async apply(): Promise<void> {
    const shown = this.shown;
    if (shown === undefined || shown.editor.document.version !== shown.proposal.version) {
      return;
    }
    const { editor, proposal } = shown;
    this.clear(false);
    const edit = new vscode.WorkspaceEdit();
    edit.set(
      editor.document.uri,
      proposal.edits.map((textEdit) => vscode.TextEdit.replace(toRange(textEdit.range), textEdit.newText)),
    );
    if (!(await vscode.workspace.applyEdit(edit))) {
      this.hooks.log.warn(`next edit ${proposal.id}: VS Code did not apply the edits`);
      return;
    }
    this.hooks.log.info(`next edit ${proposal.id} applied`);
    const client = this.hooks.client();
    if (client?.isRunning()) {
      client
        .sendRequest(ExecuteCommandRequest.type, { command: NEXT_EDIT_ACCEPTED_COMMAND, arguments: [{ id: proposal.id }] })
        .catch((error: unknown) => this.hooks.log.error(`${NEXT_EDIT_ACCEPTED_COMMAND}: ${String(error)}`));
    }
  }
}
