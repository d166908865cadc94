import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { documentSelector, explicitValue, serverPayload, servesAny, serverSettings } from '../../src/settings';

describe('serverSettings', () => {
  it('sends nothing when nothing was set, so the server keeps its own layers', () => {
    assert.deepEqual(serverPayload({}), { ghostwright: {} });
  });

  it('maps the client settings to the server names', () => {
    assert.deepEqual(serverSettings({ enable: false, model: ' /m/q.gguf ', predictorThreshold: 0.25, telemetry: false, nextEdits: false }), {
      enabled: false,
      model: '/m/q.gguf',
      predictorThreshold: 0.25,
      telemetry: false,
      nextEdits: false,
    });
  });

  it('passes a threshold of 0 (show everything)', () => {
    assert.deepEqual(serverSettings({ predictorThreshold: 0 }), { predictorThreshold: 0 });
  });

  it('leaves out unset values and values of the wrong type', () => {
    assert.deepEqual(serverSettings({ model: '', predictorThreshold: null, telemetry: 'yes', enable: 1, nextEdits: 'off' }), {});
    assert.deepEqual(serverSettings({ predictorThreshold: Number.NaN }), {});
  });

  it('never sends client-only settings (the server warns about unknown keys)', () => {
    const sent = serverSettings({ languages: ['python'], enable: true });
    assert.deepEqual(Object.keys(sent), ['enabled']);
  });
});

describe('explicitValue', () => {
  it('takes the most specific scope', () => {
    assert.equal(explicitValue({ globalValue: 1, workspaceValue: 2, workspaceFolderValue: 3 }), 3);
    assert.equal(explicitValue({ globalValue: 1, workspaceValue: 2 }), 2);
    assert.equal(explicitValue({ globalValue: 1 }), 1);
    assert.equal(explicitValue({}), undefined);
    assert.equal(explicitValue(undefined), undefined);
  });

  it('ignores workspace values of restricted settings in an untrusted workspace', () => {
    assert.equal(explicitValue({ globalValue: '/a', workspaceValue: '/evil' }, false), '/a');
    assert.equal(explicitValue({ workspaceValue: '/evil' }, false), undefined);
  });
});

describe('documentSelector', () => {
  it('covers files and untitled buffers of each language once', () => {
    assert.deepEqual(documentSelector(['python', 'go', 'python', '']), [
      { scheme: 'file', language: 'python' },
      { scheme: 'untitled', language: 'python' },
      { scheme: 'file', language: 'go' },
      { scheme: 'untitled', language: 'go' },
    ]);
  });
});

describe('servesAny', () => {
  const file = (languageId: string, scheme = 'file') => ({ languageId, uri: { scheme } });

  it('is true once a file of a served language is open', () => {
    assert.equal(servesAny(['python', 'go'], [file('markdown'), file('go')]), true);
  });

  it('ignores other languages and other schemes (output, git)', () => {
    assert.equal(servesAny(['python'], [file('markdown'), file('python', 'output'), file('python', 'git')]), false);
    assert.equal(servesAny(['python'], [file('python', 'untitled')]), true);
    assert.equal(servesAny([], [file('python')]), false);
  });
});
