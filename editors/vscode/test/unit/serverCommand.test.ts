import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  describeCommand,
  discoverCommand,
  type Environment,
  expandPath,
  notFoundMessage,
  parseCommandSetting,
  resolveProgram,
  venvProgram,
  withSubcommand,
} from '../../src/serverCommand';

function environment(executables: string[], overrides: Partial<Environment> = {}): Environment {
  const files = new Set(executables);
  return {
    platform: 'linux',
    pathVariable: '/usr/local/bin:/usr/bin',
    homeDir: '/home/ada',
    isExecutable: (file) => files.has(file),
    ...overrides,
  };
}

describe('discoverCommand', () => {
  it('prefers the setting, as a path string', () => {
    const command = discoverCommand(
      { setting: '/opt/gw/bin/ghostwright', workspaceFolders: ['/work/app'], workspaceTrusted: true },
      environment(['/work/app/.venv/bin/ghostwright']),
    );
    assert.deepEqual(command, { command: '/opt/gw/bin/ghostwright', args: [], source: 'setting' });
  });

  it('takes an array setting as program and leading arguments', () => {
    const command = discoverCommand(
      { setting: ['python3', '-m', 'ghostwright'], workspaceFolders: [], workspaceTrusted: true },
      environment([]),
    );
    assert.deepEqual(command, { command: 'python3', args: ['-m', 'ghostwright'], source: 'setting' });
    assert.deepEqual(withSubcommand(command, 'serve'), { command: 'python3', args: ['-m', 'ghostwright', 'serve'] });
  });

  it('expands ${workspaceFolder} and ~ in the setting', () => {
    const command = discoverCommand(
      { setting: ['${workspaceFolder}/.venv/bin/ghostwright', '--flag=~/x'], workspaceFolders: ['/work/app'], workspaceTrusted: true },
      environment([]),
    );
    assert.equal(command.command, '/work/app/.venv/bin/ghostwright');
    assert.deepEqual(command.args, ['--flag=~/x']);
    assert.equal(parseCommandSetting('~/gw/ghostwright', undefined, '/home/ada')?.command, '/home/ada/gw/ghostwright');
  });

  it('ignores an empty setting', () => {
    for (const setting of ['', '   ', [], null, undefined, ['']]) {
      assert.equal(parseCommandSetting(setting, '/w', '/h'), undefined, JSON.stringify(setting));
    }
  });

  it('finds the workspace .venv of any folder when the workspace is trusted', () => {
    const env = environment(['/work/two/.venv/bin/ghostwright']);
    const command = discoverCommand({ setting: null, workspaceFolders: ['/work/one', '/work/two'], workspaceTrusted: true }, env);
    assert.deepEqual(command, { command: '/work/two/.venv/bin/ghostwright', args: [], source: 'workspace' });
  });

  it('never runs a workspace program in an untrusted workspace', () => {
    const env = environment(['/work/app/.venv/bin/ghostwright']);
    const command = discoverCommand({ setting: undefined, workspaceFolders: ['/work/app'], workspaceTrusted: false }, env);
    assert.deepEqual(command, { command: 'ghostwright', args: [], source: 'path' });
  });

  it('uses Scripts\\ghostwright.exe on Windows', () => {
    assert.equal(venvProgram('C:\\work\\app\\.venv', 'win32'), 'C:\\work\\app\\.venv\\Scripts\\ghostwright.exe');
    assert.equal(venvProgram('/work/app/.venv', 'linux'), '/work/app/.venv/bin/ghostwright');
  });

  it('falls back to ghostwright on PATH', () => {
    const command = discoverCommand({ setting: null, workspaceFolders: ['/work/app'], workspaceTrusted: true }, environment([]));
    assert.equal(command.source, 'path');
    assert.equal(command.command, 'ghostwright');
  });
});

describe('resolveProgram', () => {
  it('searches PATH in order', () => {
    const env = environment(['/usr/bin/ghostwright', '/usr/local/bin/other']);
    assert.equal(resolveProgram('ghostwright', env), '/usr/bin/ghostwright');
    assert.equal(resolveProgram('missing', env), undefined);
  });

  it('checks a path as it is', () => {
    const env = environment(['/opt/ghostwright']);
    assert.equal(resolveProgram('/opt/ghostwright', env), '/opt/ghostwright');
    assert.equal(resolveProgram('./ghostwright', env), undefined);
  });

  it('tries .exe on Windows', () => {
    const env = environment(['C:\\Python\\Scripts\\ghostwright.exe'], { platform: 'win32', pathVariable: 'C:\\Windows;C:\\Python\\Scripts' });
    assert.equal(resolveProgram('ghostwright', env), 'C:\\Python\\Scripts\\ghostwright.exe');
  });

  it('copes with an unset PATH', () => {
    assert.equal(resolveProgram('ghostwright', environment(['/usr/bin/ghostwright'], { pathVariable: undefined })), undefined);
  });
});

describe('messages', () => {
  it('say what to do when nothing is found', () => {
    const message = notFoundMessage({ command: 'ghostwright', args: [], source: 'path' });
    assert.match(message, /ghostwright\.server\.command/);
    assert.match(message, /make setup|pip install/);
  });

  it('name the setting when the setting is wrong', () => {
    const message = notFoundMessage({ command: '/nope/ghostwright', args: [], source: 'setting' });
    assert.match(message, /\/nope\/ghostwright/);
    assert.match(message, /ghostwright\.server\.command/);
  });

  it('quote words with spaces', () => {
    assert.equal(describeCommand('/My Tools/ghostwright', ['serve']), '"/My Tools/ghostwright" serve');
    assert.equal(expandPath('${workspaceFolder}/x', undefined, '/h'), '${workspaceFolder}/x');
  });
});

describe('parseCommandSetting', () => {
  it('treats anything but a string or an array of strings as unset', () => {
    assert.equal(parseCommandSetting(42, '/w', '/h'), undefined);
    assert.equal(parseCommandSetting({ command: 'x' }, '/w', '/h'), undefined);
    assert.deepEqual(parseCommandSetting(['gw', 7, 'x'], '/w', '/h'), { command: 'gw', args: ['x'] });
  });
});
