// The status bar item's text and tooltip, from the server's state and the session's numbers.
// Plain logic: extension.ts puts the result on a StatusBarItem.

/** The server's life as the extension sees it; `loading`, `ready`, `failed` come from `ghostwright/status`. */
export type ServerState = 'idle' | 'starting' | 'loading' | 'ready' | 'failed' | 'stopped';

export interface StatusInput {
  readonly state: ServerState;
  /** The `detail` of the last `ghostwright/status`: the model path, or why it failed. */
  readonly detail?: string;
  readonly enabled: boolean;
  readonly lastLatencyMs?: number;
  readonly shown: number;
  readonly accepted: number;
}

export interface StatusView {
  /** With codicons, e.g. `$(sparkle) SmolLM2-135M-Instruct.Q4_1 · 230 ms · 1/3`. */
  readonly text: string;
  /** Markdown. */
  readonly tooltip: string;
  /** Shown with the error background. */
  readonly error: boolean;
}

/** The model's file name without `.gguf`, from a path in either separator style. */
export function modelName(detail: string | undefined): string | undefined {
  if (detail === undefined || detail.trim() === '') {
    return undefined;
  }
  const base = detail.trim().split(/[\\/]/).pop() ?? detail;
  return base.replace(/\.gguf$/i, '');
}

/** Inline code in Markdown, for paths (which may hold `_` and `*`). */
function code(text: string): string {
  return '`' + text.replace(/`/g, "'") + '`';
}

export function formatLatency(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export function formatRate(accepted: number, shown: number): string {
  if (shown === 0) {
    return 'none shown yet';
  }
  return `${accepted}/${shown} accepted (${Math.round((100 * Math.min(accepted, shown)) / shown)}%)`;
}

export function statusView(input: StatusInput): StatusView {
  const model = modelName(input.detail);
  const numbers: string[] = [];
  if (input.lastLatencyMs !== undefined) {
    numbers.push(formatLatency(input.lastLatencyMs));
  }
  if (input.shown > 0) {
    numbers.push(`${input.accepted}/${input.shown}`);
  }
  const lines = ['**Ghostwright**', ''];
  const click = 'Click for the menu: toggle, log, train, export.';
  switch (input.state) {
    case 'idle':
      return {
        text: '$(sparkle) Ghostwright',
        tooltip: [...lines, 'The server starts with the first file in one of `ghostwright.languages`.', '', click].join('\n'),
        error: false,
      };
    case 'starting':
      return { text: '$(loading~spin) Ghostwright', tooltip: [...lines, 'Starting the server…', '', click].join('\n'), error: false };
    case 'loading':
      return {
        text: '$(loading~spin) Ghostwright: loading model',
        tooltip: [...lines, `Loading the model: ${code(input.detail ?? 'default')}`, '', click].join('\n'),
        error: false,
      };
    case 'failed':
      return {
        text: '$(error) Ghostwright',
        tooltip: [...lines, `Not working: ${input.detail ?? 'the server failed'}`, '', click].join('\n'),
        error: true,
      };
    case 'stopped':
      return {
        text: '$(debug-disconnect) Ghostwright',
        tooltip: [...lines, `The server is not running${input.detail ? `: ${input.detail}` : ''}.`, '', click].join('\n'),
        error: true,
      };
    case 'ready': {
      const icon = input.enabled ? '$(sparkle)' : '$(circle-slash)';
      const label = input.enabled ? (model ?? 'Ghostwright') : 'Ghostwright off';
      const details = [
        `Model: ${input.detail ? code(input.detail) : 'unknown'}`,
        `Last latency: ${input.lastLatencyMs === undefined ? 'none yet' : formatLatency(input.lastLatencyMs)} (request to answer)`,
        `This session: ${formatRate(input.accepted, input.shown)}`,
        `Inline suggestions: ${input.enabled ? 'on' : 'off'}`,
      ];
      const text = input.enabled && numbers.length > 0 ? `${icon} ${label} · ${numbers.join(' · ')}` : `${icon} ${label}`;
      return { text, tooltip: [...lines, ...details.map((line) => `- ${line}`), '', click].join('\n'), error: false };
    }
  }
}
