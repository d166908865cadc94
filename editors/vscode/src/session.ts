// What this window has seen of Ghostwright's suggestions: the last latency, how many were
// shown and accepted, and which one is on screen (for the dismiss notification). Plain logic
// fed by the language client's middleware; the status bar reads it.

/** What the extension reads from an inline completion item the server sent. */
export interface AnsweredItem {
  /** The suggestion id from the accept command's `{id, score}` argument. */
  readonly id: string;
  /** The text shown after the cursor. */
  readonly text: string;
}

export interface CursorPosition {
  readonly line: number;
  readonly character: number;
}

interface OnScreen {
  readonly uri: string;
  readonly position: CursorPosition;
  readonly id: string;
  readonly text: string;
}

/** The `{id, score}` argument of a `ghostwright.accept` command, or undefined. */
export function acceptArgument(args: readonly unknown[] | undefined): { id: string; score?: number } | undefined {
  const first = args?.[0];
  if (typeof first !== 'object' || first === null) {
    return undefined;
  }
  const { id, score } = first as { id?: unknown; score?: unknown };
  if (typeof id !== 'string' || id === '') {
    return undefined;
  }
  return typeof score === 'number' ? { id, score } : { id };
}

export class SuggestionSession {
  /** Milliseconds from request to answer of the last answer that carried a suggestion. */
  lastLatencyMs: number | undefined;
  /** Distinct suggestions shown (the rest of a suggestion being typed through is not new). */
  shown = 0;
  /** Suggestions accepted with the accept command (Tab). */
  accepted = 0;
  private onScreen: OnScreen | undefined;
  private readonly acceptedIds = new Set<string>();

  /**
   * An answer to an inline completion request at `position` that took `latencyMs`.
   *
   * The first item is taken as the one on screen (VS Code shows the first of an automatic
   * answer). When it is what remains of the suggestion already on screen after the person
   * typed its first characters (the server answers those from its cache under a new id), it is
   * the same suggestion and not counted again.
   */
  answered(uri: string, position: CursorPosition, items: readonly AnsweredItem[], latencyMs: number): void {
    const first = items[0];
    if (first === undefined) {
      this.onScreen = undefined;
      return;
    }
    this.lastLatencyMs = latencyMs;
    if (!this.continues(uri, position, first.text)) {
      this.shown += 1;
    }
    this.onScreen = { uri, position, id: first.id, text: first.text };
  }

  /** The accept command ran for suggestion `id`. */
  acceptedSuggestion(id: string): void {
    if (!this.acceptedIds.has(id)) {
      this.acceptedIds.add(id);
      this.accepted += 1;
    }
    this.onScreen = undefined;
  }

  /** The id of the suggestion on screen in document `uri`, forgotten: it is being dismissed. */
  takeOnScreen(uri: string): string | undefined {
    if (this.onScreen?.uri !== uri) {
      return undefined;
    }
    const { id } = this.onScreen;
    this.onScreen = undefined;
    return id;
  }

  /** Accepted over shown in this session, 0..1; undefined before anything was shown. */
  get acceptanceRate(): number | undefined {
    return this.shown > 0 ? Math.min(1, this.accepted / this.shown) : undefined;
  }

  private continues(uri: string, position: CursorPosition, text: string): boolean {
    const previous = this.onScreen;
    if (previous === undefined || previous.uri !== uri || previous.position.line !== position.line) {
      return false;
    }
    const typed = position.character - previous.position.character;
    return typed > 0 && typed < previous.text.length && previous.text.slice(typed) === text;
  }
}
