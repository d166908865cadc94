// A next-edit proposal from the server (`ghostwright/nextEdit`) and how it is drawn: the text
// its edits delete, the text they insert, and a hint on the cursor's line when the edits lie
// elsewhere. Plain logic: nextEditController.ts puts the result on VS Code decorations.

export interface Position {
  readonly line: number;
  readonly character: number;
}

export interface Range {
  readonly start: Position;
  readonly end: Position;
}

export interface TextEdit {
  readonly range: Range;
  readonly newText: string;
}

/** The server's answer to `ghostwright/nextEdit` (the fields the client uses). */
export interface NextEditProposal {
  /** For the outcome messages (`ghostwright.nextEdit.accepted`, `ghostwright/nextEditDismissed`). */
  readonly id: string;
  readonly uri: string;
  /** The document version the edits apply to. */
  readonly version: number;
  /** Short human text, e.g. `rename result -> total (1 more place)`. */
  readonly label: string;
  /** Non-overlapping, in document order. */
  readonly edits: readonly TextEdit[];
  /** Where the jump key moves the cursor: the start of the first edit. */
  readonly jump: Position;
}

/** What to draw for a proposal. */
export interface NextEditDecorations {
  /** Text the edits delete (struck through). */
  readonly deleted: readonly Range[];
  /** Text the edits insert, shown after `at` (the end of the text they replace). */
  readonly inserted: readonly { readonly at: Position; readonly text: string }[];
  /** Shown at the end of the cursor's line when no edit touches that line. */
  readonly hint: { readonly line: number; readonly text: string } | undefined;
}

/** The key bound to `ghostwright.nextEdit.jump` in package.json, for the hint. */
export const JUMP_KEY_LABEL = 'Alt+N';

function isPosition(value: unknown): value is Position {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const { line, character } = value as { line?: unknown; character?: unknown };
  return Number.isInteger(line) && Number.isInteger(character) && (line as number) >= 0 && (character as number) >= 0;
}

function isRange(value: unknown): value is Range {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const { start, end } = value as { start?: unknown; end?: unknown };
  return isPosition(start) && isPosition(end) && compare(start, end) <= 0;
}

function isTextEdit(value: unknown): value is TextEdit {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const { range, newText } = value as { range?: unknown; newText?: unknown };
  return isRange(range) && typeof newText === 'string';
}

/** Negative, zero or positive as `a` is before, at or after `b`. */
export function compare(a: Position, b: Position): number {
  return a.line === b.line ? a.character - b.character : a.line - b.line;
}

/** The proposal in a `ghostwright/nextEdit` result; undefined for `null` or anything malformed. */
export function parseProposal(result: unknown): NextEditProposal | undefined {
  if (typeof result !== 'object' || result === null) {
    return undefined;
  }
  const { id, uri, version, label, edits, jump } = result as Record<string, unknown>;
  if (typeof id !== 'string' || id === '' || typeof uri !== 'string' || !Number.isInteger(version)) {
    return undefined;
  }
  if (!Array.isArray(edits) || edits.length === 0 || !edits.every(isTextEdit)) {
    return undefined;
  }
  const ordered = edits.every((edit, index) => index === 0 || compare(edits[index - 1].range.end, edit.range.start) <= 0);
  if (!ordered) {
    return undefined;
  }
  return {
    id,
    uri,
    version: version as number,
    label: typeof label === 'string' ? label : '',
    edits,
    jump: isPosition(jump) ? jump : edits[0].range.start,
  };
}

/** Inserted text on one line: decorations cannot draw a line break, so it is shown as `⏎`. */
export function shownText(text: string): string {
  return text.replace(/\r\n|\r|\n/g, '⏎');
}

/** Whether `line` lies within one of the proposal's edits. */
function touchesLine(proposal: NextEditProposal, line: number): boolean {
  return proposal.edits.some((edit) => edit.range.start.line <= line && line <= edit.range.end.line);
}

export function decorationsFor(proposal: NextEditProposal, cursorLine: number): NextEditDecorations {
  const deleted = proposal.edits.filter((edit) => compare(edit.range.start, edit.range.end) < 0).map((edit) => edit.range);
  const inserted = proposal.edits.filter((edit) => edit.newText !== '').map((edit) => ({ at: edit.range.end, text: shownText(edit.newText) }));
  const what = proposal.label === '' ? 'next edit' : proposal.label;
  const hint = touchesLine(proposal, cursorLine)
    ? undefined
    : { line: cursorLine, text: `${what} · line ${proposal.jump.line + 1} · ${JUMP_KEY_LABEL} to jump` };
  return { deleted, inserted, hint };
}

/**
 * Whether the cursor is at the proposal, where the jump key applies it instead of jumping: at
 * the jump position or within the edit there (its ends included; the first edit when the jump
 * position lies in none).
 */
export function atProposal(proposal: NextEditProposal, cursor: Position): boolean {
  const within = (range: Range, position: Position) => compare(range.start, position) <= 0 && compare(position, range.end) <= 0;
  const target = proposal.edits.find((edit) => within(edit.range, proposal.jump)) ?? proposal.edits[0];
  return compare(cursor, proposal.jump) === 0 || within(target.range, cursor);
}

/**
 * Whether a document change is exactly the proposal's edits (in any order): the proposal was
 * applied some other way (the server's code action), so clearing it is no dismissal.
 */
export function appliesProposal(proposal: NextEditProposal, changes: readonly { readonly range: Range; readonly text: string }[]): boolean {
  const same = (a: Range, b: Range) => compare(a.start, b.start) === 0 && compare(a.end, b.end) === 0;
  return (
    changes.length === proposal.edits.length &&
    proposal.edits.every((edit) => changes.some((change) => same(change.range, edit.range) && change.text === edit.newText))
  );
}
