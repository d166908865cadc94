// The language client: starts `ghostwright serve` over stdio, syncs documents, and shows the
// server's inline completions as VS Code ghost text. The middleware only observes (latency,
// shown, accepted) and keeps the server's classic completion items out of VS Code's list.
import * as readline from 'node:readline';
import type * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  type LanguageClientOptions,
  RevealOutputChannelOn,
  type ServerOptions,
  State,
} from 'vscode-languageclient/node';

import { type GhostwrightCommand, withSubcommand } from './serverCommand';
import type { ServerStderr } from './serverLog';
import { type AnsweredItem, acceptArgument, type SuggestionSession } from './session';
import { documentSelector, type ServerSettings } from './settings';

export const ACCEPT_COMMAND = 'ghostwright.accept';
export const STATUS_NOTIFICATION = 'ghostwright/status';
export const DISMISS_NOTIFICATION = 'ghostwright/dismiss';

/** Restarts allowed within `RESTART_WINDOW_MS` before the client gives up on a crashing server. */
const MAX_RESTARTS = 4;
const RESTART_WINDOW_MS = 3 * 60 * 1000;

export interface ClientHooks {
  readonly log: vscode.LogOutputChannel;
  readonly session: SuggestionSession;
  /** The server's stderr, for the message when it stops. */
  readonly stderr: ServerStderr;
  /** Whether inline suggestions are on (`ghostwright.enable`); off asks the server nothing. */
  readonly enabled: () => boolean;
  /** initializationOptions, read when the server starts. */
  readonly initializationOptions: () => { ghostwright: ServerSettings };
  /** The session's numbers changed. */
  readonly changed: () => void;
  /** The server keeps crashing and will not be restarted: `detail` says how it ended. */
  readonly gaveUp: (detail: string) => void;
}

/**
 * A LanguageClient whose own error notifications stay in the log: the extension tells the person
 * what went wrong itself, with the server's last words and the ways out (extension.ts), and the
 * client's generic messages ("couldn't create connection to server") would only repeat it.
 */
class GhostwrightLanguageClient extends LanguageClient {
  override error(message: string, data?: unknown): void {
    super.error(message, data, false);
  }
}

/** The suggestion id and text of an item, read from its accept command. */
function answeredItem(item: vscode.InlineCompletionItem): AnsweredItem | undefined {
  const argument = acceptArgument(item.command?.arguments);
  if (argument === undefined) {
    return undefined;
  }
  const text = typeof item.insertText === 'string' ? item.insertText : item.insertText.value;
  return { id: argument.id, text };
}

export function createClient(
  ghostwright: GhostwrightCommand,
  languages: readonly string[],
  cwd: string | undefined,
  hooks: ClientHooks,
): LanguageClient {
  const serve = withSubcommand(ghostwright, 'serve');
  // No `transport`: with TransportKind.stdio the client would append `--stdio`, which
  // `ghostwright serve` does not take; stdio is what it speaks by default.
  const serverOptions: ServerOptions = { command: serve.command, args: serve.args, options: { cwd } };
  const restarts: number[] = [];
  /** A server that never finished initializing is not restarted: extension.ts reports why. */
  let initialized = false;
  const clientOptions: LanguageClientOptions = {
    documentSelector: documentSelector(languages),
    outputChannel: hooks.log,
    traceOutputChannel: hooks.log,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    stdioOptions: {
      stdout: (input, channel) => {
        readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', (line) => channel.info(line));
      },
      stderr: (input, channel) => {
        hooks.stderr.opened();
        readline
          .createInterface({ input, crlfDelay: Infinity, terminal: false })
          .on('line', (line) => channel[hooks.stderr.line(line)](line))
          .on('close', () => hooks.stderr.closed());
      },
    },
    initializationOptions: hooks.initializationOptions,
    initializationFailedHandler: () => false,
    errorHandler: {
      error: () => ({ action: initialized ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true }),
      closed: () => {
        if (!initialized) {
          return { action: CloseAction.DoNotRestart, handled: true };
        }
        const now = Date.now();
        restarts.push(now);
        while (restarts.length > 0 && now - restarts[0] > RESTART_WINDOW_MS) {
          restarts.shift();
        }
        if (restarts.length <= MAX_RESTARTS) {
          hooks.log.warn(`the server exited; restarting it (${restarts.length} of ${MAX_RESTARTS} in 3 minutes)`);
          return { action: CloseAction.Restart, handled: true };
        }
        hooks.gaveUp(`it exited ${restarts.length} times in 3 minutes`);
        return { action: CloseAction.DoNotRestart, handled: true };
      },
    },
    middleware: {
      provideInlineCompletionItems: async (document, position, context, token, next) => {
        if (!hooks.enabled()) {
          return null;
        }
        const started = performance.now();
        const result = await next(document, position, context, token);
        if (token.isCancellationRequested) {
          return result;
        }
        const items = Array.isArray(result) ? result : (result?.items ?? []);
        const answered = items.map(answeredItem).filter((item): item is AnsweredItem => item !== undefined);
        hooks.session.answered(document.uri.toString(), position, answered, performance.now() - started);
        hooks.changed();
        return result;
      },
      // The ghost text already shows the server's suggestion; its classic completion item (for
      // clients without inline completion) would repeat it and start a second generation that
      // the server lets supersede the inline one.
      provideCompletionItem: () => undefined,
      executeCommand: (command, args, next) => {
        if (command === ACCEPT_COMMAND) {
          const argument = acceptArgument(args);
          if (argument !== undefined) {
            hooks.session.acceptedSuggestion(argument.id);
            hooks.log.info(`accept command for suggestion ${argument.id} sent to the server`);
            hooks.changed();
          }
        }
        return next(command, args) as unknown;
      },
    },
  };
  const client = new GhostwrightLanguageClient('ghostwright', 'Ghostwright', serverOptions, clientOptions);
  client.onDidChangeState((event) => {
    if (event.newState === State.Running) {
      initialized = true;
    }
  });
  return client;
}
