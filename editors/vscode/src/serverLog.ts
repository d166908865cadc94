// Where the server's stderr lines go in the output channel. The server writes its log records
// both to stderr and to the client (window/logMessage), which the output channel already shows
// at their level; the stderr copies of those records would repeat each line as an "error".
// Anything else on stderr (a traceback, an argparse error before the protocol is up) is what
// the person needs to see when the server does not start, so it stays an error.

/** A record in the server's logging format: `2026-11-23 16:44:28,562 INFO name: message`. */
const LOG_RECORD = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) /;

export type ChannelLevel = 'debug' | 'error';

export function stderrLevel(line: string): ChannelLevel {
  return LOG_RECORD.test(line) ? 'debug' : 'error';
}

/**
 * What the server process said on stderr that was not a log record, kept for the message when it
 * stops: a Python traceback ends with the line that says what went wrong.
 */
export class ServerStderr {
  private lines: string[] = [];
  private openStreams = 0;
  private waiters: (() => void)[] = [];

  /** A server process started: its stderr is open, earlier processes' lines are forgotten. */
  opened(): void {
    this.openStreams += 1;
    this.lines = [];
  }

  /** One stderr line; returns the output channel level it belongs at. */
  line(text: string): ChannelLevel {
    const level = stderrLevel(text);
    if (level === 'error' && text.trim() !== '') {
      this.lines.push(text.trim());
      if (this.lines.length > 20) {
        this.lines.shift();
      }
    }
    return level;
  }

  /** A server process's stderr ended (the process exited). */
  closed(): void {
    this.openStreams = Math.max(0, this.openStreams - 1);
    if (this.openStreams === 0) {
      this.waiters.splice(0).forEach((resolve) => resolve());
    }
  }

  /** The last line the server wrote before it stopped, if any. */
  get lastError(): string | undefined {
    return this.lines.at(-1);
  }

  /** Resolves once every server stderr stream has ended, or after `timeoutMs`. */
  settled(timeoutMs: number): Promise<void> {
    if (this.openStreams === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
