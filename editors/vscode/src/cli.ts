// Runs a one-off `ghostwright` subcommand (train, export) as a child process and streams its
// output to the log. No VS Code here; the menu reports the result.
import { spawn } from 'node:child_process';

export interface RunResult {
  /** The exit code; null when the process was killed or could not start. */
  readonly exitCode: number | null;
  /** The last lines of stdout and stderr together, for the message to the user. */
  readonly tail: string[];
  /** The last lines of stdout alone: what the command reports (its log goes to stderr). */
  readonly stdout: string[];
  /** Set when the program could not be started at all (not found, not executable). */
  readonly startError?: string;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Each output line as it comes. */
  readonly onLine?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** How many last lines to keep in `tail`. */
  readonly keepLines?: number;
}

export function runCommand(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const keep = options.keepLines ?? 20;
  const tail: string[] = [];
  const stdout: string[] = [];
  const keepLast = (lines: string[], line: string): void => {
    lines.push(line);
    if (lines.length > keep) {
      lines.shift();
    }
  };
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
    });
    let settled = false;
    const finish = (result: RunResult): void => {
      if (!settled) {
        settled = true;
        resolve(result);
      }
    };
    for (const [stream, isStdout] of [
      [child.stdout, true],
      [child.stderr, false],
    ] as const) {
      const remember = (line: string): void => {
        options.onLine?.(line);
        keepLast(tail, line);
        if (isStdout) {
          keepLast(stdout, line);
        }
      };
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        pending += chunk;
        const lines = pending.split(/\r?\n/);
        pending = lines.pop() ?? '';
        lines.forEach(remember);
      });
      stream.on('end', () => {
        if (pending !== '') {
          remember(pending);
          pending = '';
        }
      });
    }
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.name === 'AbortError') {
        finish({ exitCode: null, tail, stdout, startError: 'cancelled' });
      } else {
        finish({ exitCode: null, tail, stdout, startError: error.message });
      }
    });
    child.on('close', (code) => finish({ exitCode: code, tail, stdout }));
  });
}
