// Bundles the extension (dist/extension.js, what the .vsix ships) and, with --tests, the unit
// and end-to-end tests (out/test/**.js, run by `node --test` and node). Type checking is tsc's
// job (`npm run typecheck`); esbuild only strips types.
import * as esbuild from 'esbuild';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const production = process.argv.includes('--production');
const tests = process.argv.includes('--tests');

await esbuild.build({
  entryPoints: ['src/extension.ts'],
  outfile: 'dist/extension.js',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['vscode'],
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
});

if (tests) {
  const unit = readdirSync('test/unit')
    .filter((name) => name.endsWith('.test.ts'))
    .map((name) => join('test/unit', name));
  await esbuild.build({
    entryPoints: [...unit, 'test/e2e/run.ts'],
    outdir: 'out/test',
    outbase: 'test',
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    external: ['vscode', 'playwright-core'],
    sourcemap: 'inline',
    logLevel: 'warning',
  });
}
