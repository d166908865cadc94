// The status bar menu and its two long-running actions: retraining the acceptance predictor
// from this user's telemetry, and exporting that telemetry.
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

import { runCommand } from './cli';
import type { Ghostwright } from './extension';
import { describeCommand, withSubcommand } from './serverCommand';

interface MenuItem extends vscode.QuickPickItem {
  readonly command: string;
}

export async function showMenu(ghostwright: Ghostwright): Promise<void> {
  const enabled = ghostwright.enabled;
  const items: MenuItem[] = [
    {
      label: enabled ? '$(circle-slash) Turn inline suggestions off' : '$(sparkle) Turn inline suggestions on',
      description: 'ghostwright.enable',
      command: 'ghostwright.toggle',
    },
    { label: '$(output) Show log', description: 'server and client messages', command: 'ghostwright.showLog' },
    {
      label: '$(mortar-board) Train the acceptance predictor',
      description: 'ghostwright train --from-telemetry',
      command: 'ghostwright.trainPredictor',
    },
    {
      label: '$(export) Export telemetry…',
      description: 'ghostwright export --format jsonl',
      command: 'ghostwright.exportTelemetry',
    },
    { label: '$(debug-restart) Restart server', command: 'ghostwright.restartServer' },
    { label: '$(gear) Settings', command: 'workbench.action.openSettings' },
  ];
  const choice = await vscode.window.showQuickPick(items, { title: 'Ghostwright', placeHolder: 'What to do' });
  if (choice === undefined) {
    return;
  }
  if (choice.command === 'workbench.action.openSettings') {
    await vscode.commands.executeCommand(choice.command, '@ext:ghostwright.ghostwright');
  } else {
    await vscode.commands.executeCommand(choice.command);
  }
}

/** Run `ghostwright <subcommand>` with a cancellable progress notification; output to the log. */
async function runWithProgress(
  ghostwright: Ghostwright,
  title: string,
  subcommand: string[],
): Promise<{ ok: boolean; summary: string } | undefined> {
  const command = ghostwright.ghostwrightCommand();
  if (command === undefined) {
    return undefined;
  }
  const line = withSubcommand(command, ...subcommand);
  ghostwright.log.info(`running ${describeCommand(line.command, line.args)}`);
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (_progress, token) => {
      const abort = new AbortController();
      const cancelled = token.onCancellationRequested(() => abort.abort());
      try {
        const result = await runCommand(line.command, line.args, {
          cwd: ghostwright.workingDirectory(),
          signal: abort.signal,
          onLine: (text) => ghostwright.log.info(`[${subcommand[0]}] ${text}`),
        });
        if (result.startError !== undefined) {
          return { ok: false, summary: result.startError };
        }
        ghostwright.log.info(`${subcommand[0]} exited with code ${String(result.exitCode)}`);
        if (result.exitCode === 0) {
          const report = result.stdout.map((text) => text.trim()).filter((text) => text !== '');
          return { ok: true, summary: report.join('; ') };
        }
        const lastLine = [...result.tail].reverse().find((text) => text.trim() !== '') ?? '';
        return { ok: false, summary: lastLine.trim() };
      } finally {
        cancelled.dispose();
      }
    },
  );
}

export async function trainPredictor(ghostwright: Ghostwright): Promise<void> {
  const result = await runWithProgress(ghostwright, 'Ghostwright: training the acceptance predictor from telemetry', [
    'train',
    '--from-telemetry',
  ]);
  if (result === undefined) {
    return;
  }
  if (!result.ok) {
    const choice = await vscode.window.showErrorMessage(
      `Ghostwright: training did not finish: ${result.summary || 'see the log'}`,
      'Show Log',
    );
    if (choice === 'Show Log') {
      ghostwright.log.show();
    }
    return;
  }
  // The server loads the predictor when it starts.
  const choice = await vscode.window.showInformationMessage(
    `Ghostwright: ${result.summary || 'training finished'}. Restart the server to use a new predictor.`,
    'Restart Server',
    'Show Log',
  );
  if (choice === 'Restart Server') {
    await ghostwright.restart();
  } else if (choice === 'Show Log') {
    ghostwright.log.show();
  }
}

export async function exportTelemetry(ghostwright: Ghostwright): Promise<void> {
  const folder = ghostwright.workingDirectory() ?? os.homedir();
  const target = await vscode.window.showSaveDialog({
    title: 'Export Ghostwright telemetry (JSON Lines)',
    defaultUri: vscode.Uri.file(path.join(folder, 'ghostwright-telemetry.jsonl')),
    filters: { 'JSON Lines': ['jsonl'] },
    saveLabel: 'Export',
  });
  if (target === undefined) {
    return;
  }
  const result = await runWithProgress(ghostwright, 'Ghostwright: exporting telemetry', [
    'export',
    '--format',
    'jsonl',
    '--out',
    target.fsPath,
  ]);
  if (result === undefined) {
    return;
  }
  if (!result.ok) {
    const choice = await vscode.window.showErrorMessage(`Ghostwright: export failed: ${result.summary || 'see the log'}`, 'Show Log');
    if (choice === 'Show Log') {
      ghostwright.log.show();
    }
    return;
  }
  const choice = await vscode.window.showInformationMessage(`Ghostwright: ${result.summary || `telemetry exported to ${target.fsPath}`}`, 'Open');
  if (choice === 'Open') {
    await vscode.commands.executeCommand('vscode.open', target);
  }
}
