import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ServerStderr, stderrLevel } from '../../src/serverLog';

describe('stderrLevel', () => {
  it('keeps copies of log records (already shown through window/logMessage) at debug', () => {
    assert.equal(stderrLevel('2026-11-23 16:44:28,562 INFO ghostwright.engine.manager: loading model /m.gguf'), 'debug');
    assert.equal(stderrLevel('2026-11-23 16:44:28,562 WARNING ghostwright.settings: editor: x is invalid'), 'debug');
  });

  it('shows everything else as an error', () => {
    assert.equal(stderrLevel('ghostwright: error: unrecognized arguments: --stdio'), 'error');
    assert.equal(stderrLevel('Traceback (most recent call last):'), 'error');
    assert.equal(stderrLevel('  File "/x/server.py", line 3, in <module>'), 'error');
  });
});

describe('ServerStderr', () => {
  it('keeps the last line that is not a log record', () => {
    const stderr = new ServerStderr();
    stderr.opened();
    assert.equal(stderr.line('Traceback (most recent call last):'), 'error');
    assert.equal(stderr.line('ModuleNotFoundError: No module named llama_cpp'), 'error');
    assert.equal(stderr.line('2026-11-23 16:44:28,562 INFO ghostwright.lsp.server: shutting down'), 'debug');
    assert.equal(stderr.lastError, 'ModuleNotFoundError: No module named llama_cpp');
  });

  it('forgets the lines of an earlier process', () => {
    const stderr = new ServerStderr();
    stderr.opened();
    stderr.line('boom');
    stderr.closed();
    stderr.opened();
    assert.equal(stderr.lastError, undefined);
  });

  it('settles when the stream closes, or at the timeout', async () => {
    const stderr = new ServerStderr();
    await stderr.settled(10_000);
    stderr.opened();
    const settled = stderr.settled(10_000);
    stderr.closed();
    await settled;
    stderr.opened();
    const started = Date.now();
    await stderr.settled(50);
    assert.ok(Date.now() - started >= 40);
  });
});
