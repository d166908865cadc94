// Which `ghostwright` program to run: the setting, else the workspace's virtual environment,
// else PATH. Plain logic over an injected file check, so the unit tests need no VS Code.
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * The value of `ghostwright.server.command`: a path, or a program and its leading arguments.
 * Typed `unknown` because settings files may hold anything; anything else counts as unset.
 */
export type CommandSetting = unknown;

export interface GhostwrightCommand {
  /** The program to spawn. */
  readonly command: string;
  /** Arguments before the subcommand (`serve`, `train`, `export`). */
  readonly args: readonly string[];
  /** Where it came from, for messages: the setting, a workspace `.venv`, or PATH. */
  readonly source: 'setting' | 'workspace' | 'path';
}

export interface Environment {
  readonly platform: NodeJS.Platform;
  /** The PATH variable of the process that will spawn the server. */
  readonly pathVariable: string | undefined;
  readonly homeDir: string;
  /** True when `file` exists and may be executed (on Windows: exists). */
  readonly isExecutable: (file: string) => boolean;
}

export interface DiscoveryInput {
  readonly setting: CommandSetting;
  /** Workspace folder paths, first is the primary one. */
  readonly workspaceFolders: readonly string[];
  /** Only a trusted workspace's own `.venv` may be run. */
  readonly workspaceTrusted: boolean;
}

/** The ghostwright program inside a virtual environment at `venv`. */
export function venvProgram(venv: string, platform: NodeJS.Platform): string {
  return platform === 'win32'
    ? path.win32.join(venv, 'Scripts', 'ghostwright.exe')
    : path.posix.join(venv, 'bin', 'ghostwright');
}

/** `${workspaceFolder}` and a leading `~` expanded, as VS Code users expect of path settings. */
export function expandPath(value: string, workspaceFolder: string | undefined, homeDir: string): string {
  let expanded = value;
  if (workspaceFolder !== undefined) {
    expanded = expanded.split('${workspaceFolder}').join(workspaceFolder);
  }
  if (expanded === '~' || expanded.startsWith('~/') || expanded.startsWith('~\\')) {
    expanded = homeDir + expanded.slice(1);
  }
  return expanded;
}

/** The setting as program + arguments, or undefined when it is unset or empty. */
export function parseCommandSetting(
  setting: CommandSetting,
  workspaceFolder: string | undefined,
  homeDir: string,
): { command: string; args: string[] } | undefined {
  const parts: readonly unknown[] = typeof setting === 'string' ? [setting] : Array.isArray(setting) ? (setting as unknown[]) : [];
  const words = parts
    .filter((part): part is string => typeof part === 'string')
    .map((part) => expandPath(part.trim(), workspaceFolder, homeDir));
  if (words.length === 0 || words[0] === '') {
    return undefined;
  }
  return { command: words[0], args: words.slice(1) };
}

/** Decide which ghostwright to run. Never fails: the last resort is `ghostwright` on PATH. */
export function discoverCommand(input: DiscoveryInput, env: Environment): GhostwrightCommand {
  const primary = input.workspaceFolders[0];
  const fromSetting = parseCommandSetting(input.setting, primary, env.homeDir);
  if (fromSetting) {
    return { ...fromSetting, source: 'setting' };
  }
  if (input.workspaceTrusted) {
    for (const folder of input.workspaceFolders) {
      const program = venvProgram(path.join(folder, '.venv'), env.platform);
      if (env.isExecutable(program)) {
        return { command: program, args: [], source: 'workspace' };
      }
    }
  }
  return { command: 'ghostwright', args: [], source: 'path' };
}

/** The full path `command` resolves to, or undefined when it cannot be found. */
export function resolveProgram(command: string, env: Environment): string | undefined {
  const hasDirectory = command.includes('/') || (env.platform === 'win32' && command.includes('\\'));
  if (hasDirectory) {
    return env.isExecutable(command) ? command : undefined;
  }
  const pathApi = env.platform === 'win32' ? path.win32 : path.posix;
  const separator = env.platform === 'win32' ? ';' : ':';
  const extensions = env.platform === 'win32' && !/\.[a-z0-9]+$/i.test(command) ? ['.exe', '.cmd', '.bat', ''] : [''];
  for (const directory of (env.pathVariable ?? '').split(separator)) {
    if (directory === '') {
      continue;
    }
    for (const extension of extensions) {
      const candidate = pathApi.join(directory, command + extension);
      if (env.isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/** The command line with a subcommand appended (`serve`, `train --from-telemetry`, ...). */
export function withSubcommand(ghostwright: GhostwrightCommand, ...subcommand: string[]): { command: string; args: string[] } {
  return { command: ghostwright.command, args: [...ghostwright.args, ...subcommand] };
}

/** A command line for messages, quoted where a word has spaces. */
export function describeCommand(command: string, args: readonly string[]): string {
  return [command, ...args].map((word) => (/\s/.test(word) || word === '' ? JSON.stringify(word) : word)).join(' ');
}

/** What to tell the user when the program cannot be found: where we looked and what to do. */
export function notFoundMessage(ghostwright: GhostwrightCommand): string {
  const shown = describeCommand(ghostwright.command, ghostwright.args);
  const fix =
    'Install Ghostwright (in its repository `make setup` creates `.venv/bin/ghostwright`; ' +
    'or `pip install` it so that `ghostwright` is on PATH), or set `ghostwright.server.command` to its path.';
  switch (ghostwright.source) {
    case 'setting':
      return `Ghostwright: the server command \`${shown}\` from the setting \`ghostwright.server.command\` was not found or is not executable. Fix the setting, or clear it to use the workspace's .venv or PATH.`;
    case 'workspace':
      return `Ghostwright: \`${shown}\` is not executable. ${fix}`;
    case 'path':
      return `Ghostwright: the \`ghostwright\` command was not found (no workspace .venv/bin/ghostwright, nothing on PATH). ${fix}`;
  }
}

/** The real environment of this process. */
export function processEnvironment(isExecutable: (file: string) => boolean): Environment {
  return {
    platform: process.platform,
    pathVariable: process.env.PATH ?? process.env.Path,
    homeDir: os.homedir(),
    isExecutable,
  };
}
