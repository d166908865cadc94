// Ghostwright for VS Code: starts the Ghostwright language server and shows its inline
// completions and next edits. The logic stays in the server; this file wires VS Code to the
// language client, the next-edit controller, the status bar and the menu.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { DidChangeConfigurationNotification, type LanguageClient, State } from 'vscode-languageclient/node';

import { createClient, DISMISS_NOTIFICATION, STATUS_NOTIFICATION } from './client';
import { showMenu, trainPredictor, exportTelemetry } from './menu';
import { NextEditController } from './nextEditController';
import {
  discoverCommand,
  describeCommand,
  type GhostwrightCommand,
  notFoundMessage,
  processEnvironment,
  resolveProgram,
  withSubcommand,
} from './serverCommand';
import { ServerStderr } from './serverLog';
import { SuggestionSession } from './session';
import {
  type ClientSettings,
  type ExplicitSettings,
  explicitValue,
  LIVE_SETTINGS,
  RESTART_SETTINGS,
  serverPayload,
  servesAny,
} from './settings';
import { type ServerState, statusView } from './status';

const SECTION = 'ghostwright';
const SERVER_KEYS = ['enable', 'model', 'predictorThreshold', 'telemetry', 'nextEdits'] as const;
/** Settings the workspace may not set in Restricted Mode (package.json `restrictedConfigurations`). */
const RESTRICTED_KEYS = new Set(['model', 'server.command']);

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, process.platform === 'win32' ? fs.constants.F_OK : fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function workspaceFolderPaths(): string[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((folder) => folder.uri.scheme === 'file').map((folder) => folder.uri.fsPath);
}

/** The value the person set for `ghostwright.<key>`, honouring Restricted Mode. */
function explicitSetting(key: string): unknown {
  const inspected = vscode.workspace.getConfiguration(SECTION).inspect(key);
  return explicitValue(inspected, vscode.workspace.isTrusted || !RESTRICTED_KEYS.has(key));
}

function explicitSettings(): ExplicitSettings {
  const result: ExplicitSettings = {};
  for (const key of SERVER_KEYS) {
    const value = explicitSetting(key);
    if (value !== undefined) {
      result[key] = value;
    }
  }
  return result;
}

export class Ghostwright implements vscode.Disposable {
  readonly log = vscode.window.createOutputChannel('Ghostwright', { log: true });
  readonly session = new SuggestionSession();
  private readonly stderr = new ServerStderr();
  private client: LanguageClient | undefined;
  /** True while startNow runs: it reports its own failure. */
  private startingNow = false;
  private state: ServerState = 'idle';
  /** Waits for the first document the server would serve, while the server is not needed yet. */
  private waitingForDocument: vscode.Disposable | undefined;
  private detail: string | undefined;
  private readonly statusItem = vscode.window.createStatusBarItem('ghostwright.status', vscode.StatusBarAlignment.Right, 100);
  private readonly nextEdits = new NextEditController({
    log: this.log,
    client: () => this.client,
    enabled: () => this.settings().nextEdits,
    serves: (document) => servesAny(this.settings().languages, [document]),
  });
  private readonly disposables: vscode.Disposable[] = [];
  /** Serializes start/stop/restart so that settings changes in a burst do not overlap. */
  private lifecycle: Promise<void> = Promise.resolve();

  constructor() {
    this.statusItem.name = 'Ghostwright';
    this.statusItem.command = 'ghostwright.showMenu';
    this.render();
    this.statusItem.show();
    this.disposables.push(
      this.log,
      this.statusItem,
      this.nextEdits,
      vscode.commands.registerCommand('ghostwright.showMenu', () => showMenu(this)),
      vscode.commands.registerCommand('ghostwright.toggle', () => this.toggle()),
      vscode.commands.registerCommand('ghostwright.showLog', () => this.log.show()),
      vscode.commands.registerCommand('ghostwright.trainPredictor', () => trainPredictor(this)),
      vscode.commands.registerCommand('ghostwright.exportTelemetry', () => exportTelemetry(this)),
      vscode.commands.registerCommand('ghostwright.restartServer', () => this.restart()),
      vscode.commands.registerCommand('ghostwright.dismiss', () => this.dismiss()),
      vscode.workspace.onDidChangeConfiguration((event) => this.configurationChanged(event)),
      vscode.workspace.onDidGrantWorkspaceTrust(() => (this.state === 'idle' ? undefined : this.restart())),
    );
  }

  get enabled(): boolean {
    return this.settings().enable;
  }

  settings(): ClientSettings {
    const config = vscode.workspace.getConfiguration(SECTION);
    return {
      enable: config.get<boolean>('enable', true),
      languages: config.get<string[]>('languages', []),
      model: config.get<string>('model', ''),
      predictorThreshold: config.get<number | null>('predictorThreshold', null),
      telemetry: config.get<boolean>('telemetry', true),
      nextEdits: config.get<boolean>('nextEdits', true),
    };
  }

  /** The ghostwright program to run, checked; undefined (and the user told) when it is missing. */
  ghostwrightCommand(): GhostwrightCommand | undefined {
    const env = processEnvironment(isExecutable);
    const command = discoverCommand(
      {
        setting: explicitSetting('server.command'),
        workspaceFolders: workspaceFolderPaths(),
        workspaceTrusted: vscode.workspace.isTrusted,
      },
      env,
    );
    if (resolveProgram(command.command, env) === undefined) {
      const message = notFoundMessage(command);
      this.log.error(message);
      void this.offerFixes(message);
      return undefined;
    }
    return command;
  }

  /** The folder commands run in: the first workspace folder. */
  workingDirectory(): string | undefined {
    return workspaceFolderPaths()[0];
  }

  start(): Promise<void> {
    return this.serialized(() => this.startNow());
  }

  /**
   * Start the server now if an open document is one it serves, else when the first one opens:
   * a window with no such file loads no model.
   */
  startWhenNeeded(): void {
    this.waitingForDocument?.dispose();
    this.waitingForDocument = undefined;
    if (servesAny(this.settings().languages, vscode.workspace.textDocuments)) {
      void this.start();
      return;
    }
    this.waitingForDocument = vscode.workspace.onDidOpenTextDocument((document) => {
      if (servesAny(this.settings().languages, [document])) {
        this.waitingForDocument?.dispose();
        this.waitingForDocument = undefined;
        void this.start();
      }
    });
  }

  restart(): Promise<void> {
    return this.serialized(async () => {
      await this.stopNow();
      await this.startNow();
    });
  }

  stop(): Promise<void> {
    return this.serialized(() => this.stopNow());
  }

  dispose(): void {
    this.waitingForDocument?.dispose();
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }

  /** Tell the person what went wrong and offer the ways out; never silent. */
  async offerFixes(message: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(message, 'Open Settings', 'Show Log', 'Restart Server');
    if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'ghostwright.server.command');
    } else if (choice === 'Show Log') {
      this.log.show();
    } else if (choice === 'Restart Server') {
      await this.restart();
    }
  }

  private serialized(step: () => Promise<void>): Promise<void> {
    this.lifecycle = this.lifecycle.then(step, step);
    return this.lifecycle;
  }

  private async startNow(): Promise<void> {
    this.waitingForDocument?.dispose();
    this.waitingForDocument = undefined;
    const command = this.ghostwrightCommand();
    if (command === undefined) {
      this.setState('stopped', 'the ghostwright command was not found');
      return;
    }
    const serve = withSubcommand(command, 'serve');
    const commandLine = describeCommand(serve.command, serve.args);
    this.log.info(`starting ${commandLine} (${command.source})`);
    const client = createClient(command, this.settings().languages, this.workingDirectory(), {
      log: this.log,
      session: this.session,
      stderr: this.stderr,
      enabled: () => this.enabled,
      initializationOptions: () => serverPayload(explicitSettings()),
      changed: () => this.render(),
      gaveUp: (detail) => void this.reportFailure(commandLine, `stopped and will not be restarted (${detail})`, undefined),
    });
    this.client = client;
    client.onDidChangeState((event) => {
      if (this.client !== client) {
        return;
      }
      if (event.newState === State.Starting) {
        this.setState('starting', undefined);
      } else if (event.newState === State.StartFailed && !this.startingNow) {
        void this.reportFailure(commandLine, 'stopped and could not be restarted', undefined);
      } else if (event.newState === State.Stopped && this.state !== 'stopped') {
        this.setState('stopped', undefined);
      }
    });
    client.onNotification(STATUS_NOTIFICATION, (params: { state?: unknown; detail?: unknown }) => {
      const state = params.state === 'loading' || params.state === 'ready' || params.state === 'failed' ? params.state : undefined;
      if (state !== undefined) {
        this.setState(state, typeof params.detail === 'string' ? params.detail : undefined);
      }
    });
    this.setState('starting', undefined);
    this.startingNow = true;
    try {
      await client.start();
    } catch (error) {
      await this.reportFailure(commandLine, 'did not start', error instanceof Error ? error.message : String(error));
    } finally {
      this.startingNow = false;
    }
  }

  /**
   * The server is gone: say so with what it last wrote on stderr (a traceback's last line, an
   * argument error) when there is one, in the log, the status bar and a notification.
   */
  private async reportFailure(commandLine: string, what: string, fallback: string | undefined): Promise<void> {
    await this.stderr.settled(3000);
    const reason = this.stderr.lastError ?? fallback ?? 'it gave no reason';
    this.log.error(`the server ${what}: ${reason}`);
    this.setState('stopped', reason);
    void this.offerFixes(
      `Ghostwright: the server (${commandLine}) ${what}: ${reason}. ` +
        'The log has the details; `ghostwright doctor` checks the installation, `ghostwright.server.command` sets the program.',
    );
  }

  private async stopNow(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined && client.needsStop()) {
      try {
        await client.stop(5000);
      } catch (error) {
        this.log.warn(`stopping the server: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    this.setState('stopped', undefined);
  }

  private configurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration(SECTION)) {
      return;
    }
    if (this.state === 'idle') {
      this.render();
      this.startWhenNeeded();
      return;
    }
    if (RESTART_SETTINGS.some((key) => event.affectsConfiguration(key))) {
      void this.restart();
      return;
    }
    if (LIVE_SETTINGS.some((key) => event.affectsConfiguration(key))) {
      if (!this.settings().nextEdits) {
        this.nextEdits.disable();
      }
      this.render();
      const client = this.client;
      if (client?.isRunning()) {
        client
          .sendNotification(DidChangeConfigurationNotification.type, { settings: serverPayload(explicitSettings()) })
          .catch((error: unknown) => this.log.error(`didChangeConfiguration: ${String(error)}`));
      }
    }
  }

  private async toggle(): Promise<void> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const inspected = config.inspect<boolean>('enable');
    const target =
      inspected?.workspaceFolderValue !== undefined
        ? vscode.ConfigurationTarget.WorkspaceFolder
        : inspected?.workspaceValue !== undefined
          ? vscode.ConfigurationTarget.Workspace
          : vscode.ConfigurationTarget.Global;
    await config.update('enable', !this.enabled, target);
    if (!this.enabled) {
      await vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
    }
  }

  /** Escape on ghost text: tell the server which suggestion was dismissed, then hide it. */
  private async dismiss(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const id = editor === undefined ? undefined : this.session.takeOnScreen(editor.document.uri.toString());
    const client = this.client;
    if (id !== undefined && client?.isRunning()) {
      this.log.info(`suggestion ${id} dismissed`);
      client.sendNotification(DISMISS_NOTIFICATION, { id }).catch((error: unknown) => this.log.error(`dismiss: ${String(error)}`));
    }
    await vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
  }

  private setState(state: ServerState, detail: string | undefined): void {
    this.state = state;
    this.detail = detail;
    this.render();
  }

  private render(): void {
    const view = statusView({
      state: this.state,
      detail: this.detail,
      enabled: this.enabled,
      lastLatencyMs: this.session.lastLatencyMs,
      shown: this.session.shown,
      accepted: this.session.accepted,
    });
    this.statusItem.text = view.text;
    this.statusItem.tooltip = new vscode.MarkdownString(view.tooltip);
    this.statusItem.backgroundColor = view.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }
}

let ghostwright: Ghostwright | undefined;

export function activate(context: vscode.ExtensionContext): void {
  ghostwright = new Ghostwright();
  context.subscriptions.push(ghostwright);
  ghostwright.startWhenNeeded();
}

export async function deactivate(): Promise<void> {
  await ghostwright?.stop();
  ghostwright = undefined;
}
