import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { runCommand } from '../../src/cli';

describe('runCommand', () => {
  it('streams lines and reports stdout apart from stderr', async () => {
    const lines: string[] = [];
    const result = await runCommand(
      process.execPath,
      ['-e', 'console.log("wrote 3 events to /tmp/x.jsonl"); console.error("INFO log line"); process.stdout.write("last")'],
      { onLine: (line) => lines.push(line) },
    );
    assert.equal(result.exitCode, 0);
    assert.deepEqual(result.stdout, ['wrote 3 events to /tmp/x.jsonl', 'last']);
    assert.deepEqual([...lines].sort(), ['INFO log line', 'last', 'wrote 3 events to /tmp/x.jsonl']);
  });

  it('reports the exit code of a failure', async () => {
    const result = await runCommand(process.execPath, ['-e', 'console.error("error: no telemetry"); process.exit(2)']);
    assert.equal(result.exitCode, 2);
    assert.deepEqual(result.tail, ['error: no telemetry']);
  });

  it('reports a program that does not exist instead of throwing', async () => {
    const result = await runCommand('/nonexistent/ghostwright', ['train']);
    assert.equal(result.exitCode, null);
    assert.match(result.startError ?? '', /ENOENT/);
  });

  it('stops when cancelled', async () => {
    const abort = new AbortController();
    const running = runCommand(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { signal: abort.signal });
    abort.abort();
    const result = await running;
    assert.equal(result.exitCode, null);
  });
});
