// The extension's settings and the part of them the server reads. Plain logic: the unit tests
// give it objects, extension.ts gives it VS Code's configuration.

/** The `ghostwright.*` settings the extension declares (package.json `contributes.configuration`). */
export interface ClientSettings {
  readonly enable: boolean;
  readonly languages: readonly string[];
  readonly model: string;
  readonly predictorThreshold: number | null;
  readonly telemetry: boolean;
  readonly nextEdits: boolean;
}

/**
 * The settings the person set somewhere (user, workspace or folder settings), by key; keys they
 * left at the default are absent. Only these go to the server, so that the server's lower
 * layers (environment variables, `ghostwright.toml`) still apply to everything else.
 */
export type ExplicitSettings = Partial<Record<keyof ClientSettings, unknown>>;

/** What the server reads (its camelCase setting names); server/ghostwright/settings.py. */
export interface ServerSettings {
  enabled?: boolean;
  model?: string;
  predictorThreshold?: number;
  telemetry?: boolean;
  nextEdits?: boolean;
}

/**
 * The server's part of the explicit settings, in the server's names.
 *
 * Client-only settings (languages, server command, trace) are left out: the server warns about
 * keys it does not know. Unset values (an empty model path, a null threshold) are left out too,
 * so that they fall through to the server's own layers instead of overriding them. Values of
 * the wrong type are dropped here; range checks are the server's (it reports them).
 */
export function serverSettings(explicit: ExplicitSettings): ServerSettings {
  const result: ServerSettings = {};
  if (typeof explicit.enable === 'boolean') {
    result.enabled = explicit.enable;
  }
  if (typeof explicit.model === 'string' && explicit.model.trim() !== '') {
    result.model = explicit.model.trim();
  }
  if (typeof explicit.predictorThreshold === 'number' && Number.isFinite(explicit.predictorThreshold)) {
    result.predictorThreshold = explicit.predictorThreshold;
  }
  if (typeof explicit.telemetry === 'boolean') {
    result.telemetry = explicit.telemetry;
  }
  if (typeof explicit.nextEdits === 'boolean') {
    result.nextEdits = explicit.nextEdits;
  }
  return result;
}

/** initializationOptions and didChangeConfiguration settings: `{ghostwright: {...}}`. */
export function serverPayload(explicit: ExplicitSettings): { ghostwright: ServerSettings } {
  return { ghostwright: serverSettings(explicit) };
}

/** Documents the client syncs and completes in: files and untitled buffers of these languages. */
export function documentSelector(languages: readonly string[]): { scheme: string; language: string }[] {
  const unique = [...new Set(languages.filter((language) => typeof language === 'string' && language !== ''))];
  return unique.flatMap((language) => [
    { scheme: 'file', language },
    { scheme: 'untitled', language },
  ]);
}

/** Whether any of these documents is one the server would serve (the server starts then). */
export function servesAny(languages: readonly string[], documents: readonly { languageId: string; uri: { scheme: string } }[]): boolean {
  const selector = documentSelector(languages);
  return documents.some((document) =>
    selector.some((filter) => filter.language === document.languageId && filter.scheme === document.uri.scheme),
  );
}

/**
 * Settings whose change needs a new server process: the command itself, the documents it
 * serves, and telemetry consent (the server opens its database only when it starts, so a
 * withdrawn consent takes effect at once only with a restart).
 */
export const RESTART_SETTINGS = ['ghostwright.server.command', 'ghostwright.languages', 'ghostwright.telemetry'] as const;

/** Settings the running server takes through didChangeConfiguration. */
export const LIVE_SETTINGS = ['ghostwright.enable', 'ghostwright.model', 'ghostwright.predictorThreshold', 'ghostwright.nextEdits'] as const;

/**
 * The value set at the most specific scope of a `WorkspaceConfiguration.inspect` result;
 * without `useWorkspace` (a restricted setting in an untrusted workspace) the user's only.
 */
export function explicitValue(
  inspected: { globalValue?: unknown; workspaceValue?: unknown; workspaceFolderValue?: unknown } | undefined,
  useWorkspace = true,
): unknown {
  if (!inspected) {
    return undefined;
  }
  if (!useWorkspace) {
    return inspected.globalValue;
  }
  return inspected.workspaceFolderValue ?? inspected.workspaceValue ?? inspected.globalValue;
}
