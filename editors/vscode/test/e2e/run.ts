// End-to-end test in real VS Code: code-server with the packaged extension, driven by headless
// Chromium through playwright-core, with the real Ghostwright server and default model.
//
// In one session: open a Python file from the explorer and wait for the model in the status bar;
// type where the model has something to say and wait for the ghost text (screenshot); dismiss it
// with Escape (the server records a "dismissed" rejection); type again, accept with Tab, save,
// and check the file on disk, the status bar (latency, accepted/shown), the server's log line
// for the accept command and the "accepted" row in its telemetry database; next edits: rename a
// variable at its definition in another file, wait for the proposal drawn at its other use and
// dismiss it with Escape, rename it again, jump to the new proposal and apply it with Alt+N
// (the server records both outcomes); export the telemetry
// from the status bar menu; turn suggestions off from the menu; point the server command at a
// missing program and check that the notification says so, with its buttons.
//
// Environment (editor.mk sets them; defaults are relative to editors/vscode):
//   CODE_SERVER   code-server's entry script (run with this Node, which must be Node 24)
//   VSIX          the packaged extension
//   GHOSTWRIGHT   the ghostwright program (the repository's .venv/bin/ghostwright)
//   CHROMIUM      the browser (/usr/bin/chromium)
//   ARTIFACTS     where screenshots, logs and result.json go
//   KEEP_TMP=1    keep the temporary directories (they are kept anyway after a failure)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { chromium, type Browser, type Page } from 'playwright-core';

const EXTENSION_DIR = path.resolve(__dirname, '..', '..', '..');
const REPO = path.resolve(EXTENSION_DIR, '..', '..');
const TOOLS = path.join(EXTENSION_DIR, '.editor-tools');

function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(EXTENSION_DIR, 'package.json'), 'utf8')) as { version: string }).version;
}

const config = {
  codeServer: process.env.CODE_SERVER ?? path.join(TOOLS, 'code-server-4.139.1', 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
  vsix: process.env.VSIX ?? path.join(EXTENSION_DIR, `ghostwright-${packageVersion()}.vsix`),
  ghostwright: process.env.GHOSTWRIGHT ?? path.join(REPO, '.venv', 'bin', 'ghostwright'),
  chromium: process.env.CHROMIUM ?? '/usr/bin/chromium',
  artifacts: process.env.ARTIFACTS ?? path.join(TOOLS, 'artifacts'),
  keepTmp: process.env.KEEP_TMP === '1',
};

/**
 * The file the test types in: the repository's example up to the body of `total_value`, where the
 * default model (SmolLM2-135M) completes `return sum(` with the generator expression. VS Code
 * closes the bracket as it is typed, so the line stays valid Python while the ghost text shows.
 */
const SAMPLE = fs
  .readFileSync(path.join(REPO, 'examples', 'inventory.py'), 'utf8')
  .split('\n')
  .slice(0, 14)
  .concat('    return sum')
  .join('\n');
const TYPED = '(';
/** The line as typed, up to the cursor. */
const TYPED_LINE = `    return sum${TYPED}`;

/** PROTOCOL.md's next-edit scenario: renaming `result` on line 2 implies line 3's rename. */
const AREA = 'def area(width, height):\n    result = width * height\n    return result\n';

const started = Date.now();
function step(message: string): void {
  console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}`);
}

/** Thrown by a probe to stop waiting at once: what it waits for cannot happen any more. */
class Hopeless extends Error {}

/** Poll `probe` until it returns a value other than undefined, or fail after `timeoutMs`. */
async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) {
        return value;
      }
    } catch (error) {
      if (error instanceof Hopeless) {
        throw error;
      }
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function filesUnder(directory: string): string[] {
  if (!fs.existsSync(directory)) {
    return [];
  }
  return fs.readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** The extension's output channel (server and client messages), as VS Code writes it to disk. */
function extensionLog(userDataDir: string): string {
  return filesUnder(path.join(userDataDir, 'logs'))
    .filter((file) => path.basename(file) === 'Ghostwright.log')
    .map((file) => fs.readFileSync(file, 'utf8'))
    .join('\n');
}

interface TelemetryRow {
  kind: string;
  suggestion_id: string;
  data: string;
}

function telemetryRows(database: string): TelemetryRow[] {
  if (!fs.existsSync(database)) {
    return [];
  }
  const db = new DatabaseSync(database);
  try {
    return db.prepare('SELECT kind, suggestion_id, data FROM events ORDER BY time').all() as unknown as TelemetryRow[];
  } finally {
    db.close();
  }
}

/** What the next-edit decorations draw in the editor's lines. */
interface NextEditDrawing {
  /** Texts of the `after` decorations (CSS `::after` content): inserted text, the hint. */
  readonly after: string[];
  /** Text struck through (the text the edits delete). */
  readonly struck: string[];
}

/** The little of the browser's DOM that the page functions below use (the tests compile without the DOM library). */
interface PageElement {
  readonly textContent: string | null;
  readonly childElementCount: number;
  readonly style: { readonly top: string };
  querySelectorAll(selectors: string): Iterable<PageElement>;
}
interface PageWindow {
  getComputedStyle(element: PageElement, pseudoElement?: string): { readonly content: string; readonly textDecorationLine: string };
}

async function nextEditDrawing(page: Page): Promise<NextEditDrawing> {
  return page.locator('.editor-instance .monaco-editor .view-lines').first().evaluate((lines: unknown): NextEditDrawing => {
    const window = globalThis as unknown as PageWindow;
    const after: string[] = [];
    const struck: string[] = [];
    for (const span of (lines as PageElement).querySelectorAll('span')) {
      const content = window.getComputedStyle(span, '::after').content;
      if (content.startsWith('"') && content !== '""') {
        after.push((JSON.parse(content) as string).replace(/\u00a0/g, ' '));
      }
      if (span.childElementCount === 0 && window.getComputedStyle(span).textDecorationLine.includes('line-through')) {
        struck.push(span.textContent ?? '');
      }
    }
    return { after, struck };
  });
}

/** The editor's lines, in order (by their position: Monaco does not keep them in DOM order). */
async function editorLines(page: Page): Promise<string[]> {
  return page.locator('.editor-instance .monaco-editor .view-lines').first().evaluate((lines: unknown): string[] =>
    Array.from((lines as PageElement).querySelectorAll('.view-line'))
      .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))
      .map((line) => (line.textContent ?? '').replace(/\u00a0/g, ' ')),
  );
}

async function statusBarText(page: Page): Promise<string> {
  const item = page.locator('.statusbar-item', { hasText: /Ghostwright|SmolLM2/ }).first();
  return ((await item.textContent({ timeout: 5000 })) ?? '').trim();
}

async function main(): Promise<void> {
  for (const [name, file] of Object.entries({ codeServer: config.codeServer, vsix: config.vsix, ghostwright: config.ghostwright, chromium: config.chromium })) {
    if (!fs.existsSync(file)) {
      throw new Error(`${name} not found at ${file} (run the test through \`make vscode-test\`)`);
    }
  }
  fs.rmSync(config.artifacts, { recursive: true, force: true });
  fs.mkdirSync(config.artifacts, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ghostwright-vscode-e2e-'));
  const dirs = {
    workspace: path.join(tmp, 'workspace'),
    userData: path.join(tmp, 'user-data'),
    extensions: path.join(tmp, 'extensions'),
    xdgData: path.join(tmp, 'xdg-data'),
    xdgConfig: path.join(tmp, 'xdg-config'),
  };
  Object.values(dirs).forEach((dir) => fs.mkdirSync(dir, { recursive: true }));
  const samplePath = path.join(dirs.workspace, 'sample.py');
  fs.writeFileSync(samplePath, SAMPLE);
  const areaPath = path.join(dirs.workspace, 'area.py');
  fs.writeFileSync(areaPath, AREA);
  fs.mkdirSync(path.join(dirs.userData, 'User'), { recursive: true });
  const settingsFile = path.join(dirs.userData, 'User', 'settings.json');
  const settings: Record<string, unknown> = {
    'security.workspace.trust.enabled': false,
    'workbench.startupEditor': 'none',
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'chat.disableAIFeatures': true,
    'workbench.tips.enabled': false,
    'extensions.ignoreRecommendations': true,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    // Tab must reach the inline suggestion, not a completion list.
    'editor.quickSuggestions': { other: 'off', comments: 'off', strings: 'off' },
    'editor.suggestOnTriggerCharacters': false,
    'editor.wordBasedSuggestions': 'off',
    'editor.inlineSuggest.enabled': true,
    'ghostwright.server.command': config.ghostwright,
  };
  fs.writeFileSync(settingsFile, JSON.stringify(settings, null, 2));
  const database = path.join(dirs.xdgData, 'ghostwright', 'telemetry.sqlite3');
  // The server gets isolated data and config dirs, and shows every suggestion.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
    XDG_DATA_HOME: dirs.xdgData,
    XDG_CONFIG_HOME: dirs.xdgConfig,
    GHOSTWRIGHT_PREDICTOR_THRESHOLD: '0',
  };

  let codeServer: ChildProcess | undefined;
  let browser: Browser | undefined;
  let page: Page | undefined;
  const codeServerLog = path.join(config.artifacts, 'code-server.log');
  let ok = false;
  try {
    step(`installing ${path.basename(config.vsix)}`);
    const install = spawnSync(
      process.execPath,
      [config.codeServer, '--install-extension', config.vsix, '--extensions-dir', dirs.extensions, '--user-data-dir', dirs.userData],
      { env, encoding: 'utf8', timeout: 120_000 },
    );
    if (install.status !== 0 || !/successfully installed/i.test(install.stdout + install.stderr)) {
      throw new Error(`installing the extension failed (${install.status}):\n${install.stdout}\n${install.stderr}`);
    }

    const port = await freePort();
    const logFd = fs.openSync(codeServerLog, 'w');
    step(`starting code-server on 127.0.0.1:${port}`);
    codeServer = spawn(
      process.execPath,
      [
        config.codeServer,
        '--auth', 'none',
        '--bind-addr', `127.0.0.1:${port}`,
        '--disable-telemetry',
        '--disable-update-check',
        '--user-data-dir', dirs.userData,
        '--extensions-dir', dirs.extensions,
        dirs.workspace,
      ],
      { env, cwd: dirs.workspace, detached: true, stdio: ['ignore', logFd, logFd] },
    );
    fs.closeSync(logFd);
    const exited = new Promise<never>((_, reject) => {
      codeServer?.on('exit', (code, signal) => reject(new Error(`code-server exited early (${code ?? signal})`)));
    });
    exited.catch(() => undefined);
    const base = `http://127.0.0.1:${port}`;
    await Promise.race([
      exited,
      waitFor('code-server to answer /healthz', 60_000, async () => ((await fetch(`${base}/healthz`)).ok ? true : undefined)),
    ]);

    step('opening the workspace in Chromium');
    browser = await chromium.launch({
      executablePath: config.chromium,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 600 } });
    page = await context.newPage();
    const consoleLines: string[] = [];
    page.on('console', (message) => consoleLines.push(`[${message.type()}] ${message.text()}`));
    page.on('pageerror', (error) => consoleLines.push(`[pageerror] ${error.message}`));
    process.on('exit', () => fs.writeFileSync(path.join(config.artifacts, 'browser-console.log'), consoleLines.join('\n')));
    await page.goto(`${base}/?folder=${encodeURIComponent(dirs.workspace)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });

    step('opening sample.py from the explorer');
    const explorerItem = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'sample.py' });
    await explorerItem.click({ timeout: 60_000 });
    const editor = page.locator('.editor-instance .monaco-editor').first();
    await editor.locator('.view-lines', { hasText: 'def total_value' }).waitFor({ timeout: 60_000 });

    step('waiting for the server and model (status bar)');
    const ready = await waitFor('the status bar to show the model', 120_000, async () => {
      if (/will not be restarted|the server did not start|was not found/.test(extensionLog(dirs.userData))) {
        throw new Hopeless('the Ghostwright server keeps exiting (see its output channel below)');
      }
      const text = await statusBarText(page!);
      return /SmolLM2/.test(text) ? text : undefined;
    });
    step(`status bar: ${ready}`);

    step(`typing ${JSON.stringify(TYPED)} at the end of ${JSON.stringify(TYPED_LINE)}`);
    await editor.locator('.view-lines').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type(TYPED, { delay: 120 });

    const ghost = editor.locator('.ghost-text-decoration');
    // The first line of the suggestion (Monaco may split it over several spans), once it has
    // stopped changing: a newer answer may still replace the one first shown.
    const settledGhostText = async (): Promise<string> => {
      await ghost.first().waitFor({ state: 'visible', timeout: 60_000 });
      let previous: string | undefined;
      const text = await waitFor('the ghost text to settle', 30_000, async () => {
        const now = (await ghost.allTextContents()).join('').replace(/\u00a0/g, ' ');
        const settled = now === previous ? now : undefined;
        previous = now;
        return settled;
      });
      if (text.trim() === '') {
        const html = await editor.locator('.view-lines').innerHTML();
        throw new Error(`the ghost text is empty; the editor's lines:\n${html}`);
      }
      return text;
    };
    const firstShown = await settledGhostText();
    step(`ghost text: ${JSON.stringify(firstShown)}`);
    const shownStatus = await waitFor('the status bar to show a latency', 10_000, async () => {
      const text = await statusBarText(page!);
      return /\d+(\.\d)? m?s · 0\/\d+$/.test(text) ? text : undefined;
    });
    step(`status bar: ${shownStatus}`);
    await page.screenshot({ path: path.join(config.artifacts, 'ghost-text.png') });

    step('dismissing it with Escape');
    await page.keyboard.press('Escape');
    await ghost.first().waitFor({ state: 'hidden', timeout: 10_000 });
    const dismissedId = await waitFor('the client to report the dismissal', 10_000, () =>
      /suggestion (\S+) dismissed/.exec(extensionLog(dirs.userData))?.[1],
    );
    const dismissed = await waitFor(`the server to record ${dismissedId} as dismissed`, 30_000, () =>
      telemetryRows(database).find(
        (row) => row.kind === 'rejected' && (JSON.parse(row.data) as { reason?: string }).reason === 'dismissed',
      ),
    );
    step(`telemetry: ${dismissed.kind} ${dismissed.suggestion_id} ${dismissed.data}`);

    step(`deleting ${JSON.stringify(TYPED)} and typing it again`);
    await page.keyboard.press('Backspace');
    await page.keyboard.type(TYPED, { delay: 120 });
    const suggested = await settledGhostText();
    step(`ghost text: ${JSON.stringify(suggested)}`);

    step('accepting with Tab and saving');
    await page.keyboard.press('Tab');
    const expectedLine = `${TYPED_LINE}${suggested}`;
    await waitFor('the accepted text in the editor', 10_000, async () => {
      const text = ((await editor.locator('.view-lines').textContent()) ?? '').replace(/\u00a0/g, ' ');
      return text.includes(expectedLine.trim()) ? true : undefined;
    });
    await page.keyboard.press('Control+S');
    const saved = await waitFor('the saved file to contain the suggestion', 15_000, () => {
      const text = fs.readFileSync(samplePath, 'utf8');
      return text.includes(expectedLine) ? text : undefined;
    });
    const lastLine = saved.split('\n').find((line) => line.startsWith(expectedLine));
    step(`saved: ${JSON.stringify(lastLine)}`);

    const acceptedStatus = await waitFor('the status bar to count the accept', 10_000, async () => {
      const text = await statusBarText(page!);
      return / 1\/\d+$/.test(text) ? text : undefined;
    });
    step(`status bar: ${acceptedStatus}`);

    step('checking that the server recorded the accept');
    const acceptLine = await waitFor('the client to log the accept command', 15_000, () =>
      /accept command for suggestion (\S+) sent/.exec(extensionLog(dirs.userData)) ?? undefined,
    );
    const suggestionId = acceptLine[1];
    const serverLine = await waitFor(`the server's log line for accepting ${suggestionId}`, 15_000, () =>
      new RegExp(`accepted suggestion ${suggestionId}\\b.*`).exec(extensionLog(dirs.userData))?.[0],
    );
    step(`server log: ${serverLine}`);
    const accepted = await waitFor(`an accepted row in ${database}`, 30_000, () => {
      const rows = telemetryRows(database).filter((row) => row.kind === 'accepted');
      return rows.length > 0 ? rows : undefined;
    });
    step(`telemetry: ${accepted.map((row) => `${row.kind} ${row.suggestion_id} ${row.data}`).join('; ')}`);

    step('next edits: opening area.py and renaming result to product on line 2');
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'area.py' }).click({ timeout: 10_000 });
    await editor.locator('.view-lines', { hasText: 'def area' }).waitFor({ timeout: 30_000 });
    /** Select the variable defined on line 2 (from its first character to the end of the word) and type `name`. */
    const renameOnLine2 = async (name: string): Promise<void> => {
      await editor.locator('.view-lines').click();
      await page!.keyboard.press('Control+Home');
      await page!.keyboard.press('ArrowDown');
      await page!.keyboard.press('Home');
      await page!.keyboard.press('Control+Shift+ArrowRight');
      await page!.keyboard.type(name, { delay: 120 });
    };
    /** The proposal drawn: `from` struck through on line 3, `to` shown after it, the hint on line 2; and its id. */
    const proposalDrawn = async (from: string, to: string): Promise<{ id: string; drawing: NextEditDrawing }> => {
      const drawing = await waitFor(`the next edit renaming ${from} to ${to} on line 3`, 30_000, async () => {
        const drawn = await nextEditDrawing(page!);
        const hint = drawn.after.some((text) => text.includes(from) && text.includes(to) && text.includes('line 3 · Alt+N'));
        return drawn.struck.join('') === from && drawn.after.includes(to) && hint ? drawn : undefined;
      });
      const id = await waitFor(`the client to log the next edit to ${to} shown`, 10_000, () =>
        new RegExp(`next edit (\\S+) shown: .*${to}`).exec(extensionLog(dirs.userData))?.[1],
      );
      step(`next edit ${id} drawn: strikes ${JSON.stringify(drawing.struck)}, shows ${JSON.stringify(drawing.after)}`);
      return { id, drawing };
    };
    const nothingDrawn = async (): Promise<true | undefined> => {
      const drawing = await nextEditDrawing(page!);
      return drawing.after.length === 0 && drawing.struck.length === 0 ? true : undefined;
    };
    await renameOnLine2('product');
    const dismissedEdit = await proposalDrawn('result', 'product');

    step('Escape: dismissing it');
    if ((await editor.locator('.ghost-text-decoration').count()) > 0) {
      throw new Error('ghost text is showing beside the next edit: Escape would dismiss the ghost text first');
    }
    await page.keyboard.press('Escape');
    await waitFor('the proposal to be gone', 10_000, nothingDrawn);
    const afterDismiss = await editorLines(page);
    if (afterDismiss[1] !== '    product = width * height' || afterDismiss[2] !== '    return result') {
      throw new Error(`dismissing should leave line 3 as it was: ${JSON.stringify(afterDismiss)}`);
    }
    const dismissedRow = await waitFor(`the server to record next edit ${dismissedEdit.id} as dismissed`, 15_000, () =>
      telemetryRows(database).find(
        (row) =>
          row.kind === 'next_edit_rejected' &&
          row.suggestion_id === dismissedEdit.id &&
          (JSON.parse(row.data) as { how?: string }).how === 'dismissed',
      ),
    );
    step(`telemetry: ${dismissedRow.kind} ${dismissedRow.suggestion_id} ${dismissedRow.data}`);

    step('next edits: renaming product to total on line 2');
    await renameOnLine2('total');
    const appliedEdit = await proposalDrawn('result', 'total');
    await page.screenshot({ path: path.join(config.artifacts, 'next-edit.png') });

    step('Alt+N: jumping to the next edit');
    await page.keyboard.press('Alt+n');
    const cursorStatus = await waitFor('the cursor on line 3 at `result`', 10_000, async () => {
      const text = ((await page!.locator('.statusbar-item', { hasText: /^Ln \d+, Col \d+/ }).first().textContent()) ?? '').trim();
      return text === 'Ln 3, Col 12' ? text : undefined;
    });
    step(`status bar: ${cursorStatus}`);
    const afterJump = await editorLines(page);
    if (afterJump[2] !== '    return result' || (await nextEditDrawing(page)).struck.join('') !== 'result') {
      throw new Error(`jumping changed the text or hid the proposal: ${JSON.stringify(afterJump)}`);
    }

    step('Alt+N again: applying it');
    await page.keyboard.press('Alt+n');
    const applied = await waitFor('line 3 to read `return total` and the proposal to be gone', 10_000, async () => {
      const lines = await editorLines(page!);
      return lines[2] === '    return total' && (await nothingDrawn()) ? lines : undefined;
    });
    step(`editor: ${JSON.stringify(applied.slice(0, 3))}`);
    const nextEditServerLine = await waitFor(`the server's log line for accepting next edit ${appliedEdit.id}`, 15_000, () =>
      new RegExp(`accepted next edit ${appliedEdit.id}\\b.*`).exec(extensionLog(dirs.userData))?.[0],
    );
    step(`server log: ${nextEditServerLine}`);
    if (nextEditServerLine.includes('not current')) {
      throw new Error(`the server did not hold the applied next edit: ${nextEditServerLine}`);
    }
    const acceptedRow = await waitFor(`the server to record next edit ${appliedEdit.id} as accepted`, 15_000, () =>
      telemetryRows(database).find((row) => row.kind === 'next_edit_accepted' && row.suggestion_id === appliedEdit.id),
    );
    step(`telemetry: ${acceptedRow.kind} ${acceptedRow.suggestion_id} ${acceptedRow.data}`);
    await page.keyboard.press('Control+S');
    await waitFor('area.py saved with the rename applied', 15_000, () =>
      fs.readFileSync(areaPath, 'utf8') === AREA.replaceAll('result', 'total') ? true : undefined,
    );

    // The status bar menu: export the telemetry through the CLI, then turn suggestions off.
    // The save dialog proposes ghostwright-telemetry.jsonl in the workspace; Enter takes it.
    const exported = path.join(dirs.workspace, 'ghostwright-telemetry.jsonl');
    step(`menu: exporting telemetry to ${exported}`);
    const menu = page.locator('.quick-input-widget');
    await page.locator('.statusbar-item', { hasText: /SmolLM2/ }).first().click();
    await menu.locator('.quick-input-list-row', { hasText: 'Export telemetry' }).click({ timeout: 10_000 });
    const pathBox = menu.locator('input.input');
    await waitFor('the save dialog to propose the export path', 10_000, async () =>
      (await pathBox.inputValue()).endsWith('ghostwright-telemetry.jsonl') ? true : undefined,
    );
    await pathBox.press('Enter');
    const exportToast = page.locator('.notification-toast', { hasText: exported });
    await exportToast.waitFor({ state: 'visible', timeout: 60_000 });
    const exportMessage = ((await exportToast.locator('.notification-list-item-message').textContent()) ?? '').trim();
    step(`notification: ${exportMessage}`);
    const exportedLines = fs.readFileSync(exported, 'utf8').split('\n').filter((line) => line.trim() !== '');
    if (!exportedLines.some((line) => (JSON.parse(line) as { kind?: string }).kind === 'accepted')) {
      throw new Error(`the export has no accepted event:\n${exportedLines.join('\n')}`);
    }
    await exportToast.locator('.codicon-notifications-clear').click().catch(() => undefined);

    step('menu: turning inline suggestions off');
    await page.locator('.statusbar-item', { hasText: /SmolLM2/ }).first().click();
    await menu.locator('.quick-input-list-row', { hasText: 'Turn inline suggestions off' }).click({ timeout: 10_000 });
    const offStatus = await waitFor('the status bar to say off', 10_000, async () => {
      const text = await statusBarText(page!);
      return /Ghostwright off/.test(text) ? text : undefined;
    });
    step(`status bar: ${offStatus}`);

    // Never silent: a server command that does not exist is reported with the way out.
    // (In the workspace's settings: VS Code watches those files for changes.)
    step('setting ghostwright.server.command to a program that does not exist');
    const missing = path.join(tmp, 'missing', 'ghostwright');
    fs.mkdirSync(path.join(dirs.workspace, '.vscode'));
    fs.writeFileSync(path.join(dirs.workspace, '.vscode', 'settings.json'), JSON.stringify({ 'ghostwright.server.command': missing }));
    const toast = page.locator('.notification-toast', { hasText: missing });
    await toast.waitFor({ state: 'visible', timeout: 30_000 });
    const notification = ((await toast.locator('.notification-list-item-message').textContent()) ?? '').trim();
    step(`notification: ${notification}`);
    for (const button of ['Open Settings', 'Show Log']) {
      if ((await toast.getByRole('button', { name: button }).count()) === 0) {
        throw new Error(`the notification has no "${button}" button`);
      }
    }
    await page.screenshot({ path: path.join(config.artifacts, 'server-not-found.png') });

    fs.writeFileSync(
      path.join(config.artifacts, 'result.json'),
      JSON.stringify(
        {
          firstShown,
          dismissed,
          suggested,
          savedLine: lastLine,
          statusBar: { ready, shownStatus, acceptedStatus, offStatus },
          serverLine,
          accepted,
          nextEdit: {
            dismissed: { ...dismissedEdit, lines: afterDismiss.slice(0, 3), telemetry: dismissedRow },
            applied: { ...appliedEdit, cursorStatus, lines: applied.slice(0, 3), serverLine: nextEditServerLine, telemetry: acceptedRow },
          },
          exportMessage,
          notification,
        },
        null,
        2,
      ),
    );
    ok = true;
    step('passed');
  } finally {
    if (!ok && page !== undefined) {
      await page.screenshot({ path: path.join(config.artifacts, 'failure.png') }).catch(() => undefined);
    }
    await browser?.close().catch(() => undefined);
    if (codeServer?.pid !== undefined && codeServer.exitCode === null) {
      const pid = codeServer.pid;
      const gone = new Promise((resolve) => codeServer?.once('exit', resolve));
      process.kill(-pid, 'SIGTERM');
      const timer = setTimeout(() => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 10_000);
      await gone;
      clearTimeout(timer);
    }
    if (fs.existsSync(path.join(dirs.userData, 'logs'))) {
      fs.cpSync(path.join(dirs.userData, 'logs'), path.join(config.artifacts, 'vscode-logs'), { recursive: true, force: true });
    }
    if (!ok) {
      console.error(`\n--- code-server log (${codeServerLog}) ---\n${tailOf(fs.existsSync(codeServerLog) ? fs.readFileSync(codeServerLog, 'utf8') : '', 40)}`);
      console.error(`\n--- Ghostwright output channel ---\n${tailOf(extensionLog(dirs.userData), 60)}`);
      const exthost = filesUnder(path.join(dirs.userData, 'logs')).filter((file) => path.basename(file) === 'exthost.log');
      for (const file of exthost) {
        console.error(`\n--- ${file} ---\n${tailOf(fs.readFileSync(file, 'utf8'), 30)}`);
      }
      console.error(`\nartifacts (screenshots, VS Code logs, browser console): ${config.artifacts}\ntemporary files kept: ${tmp}`);
    } else if (!config.keepTmp) {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
}

function tailOf(text: string, lines: number): string {
  return text.split('\n').slice(-lines).join('\n');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`\nFAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
