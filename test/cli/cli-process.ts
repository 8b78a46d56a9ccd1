/** Runs the built CLI (`dist/src/cli/main.js`) as a subprocess, building it first if missing. */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

/** `npm test` builds before vitest; a bare `vitest run` may not have. */
export function ensureBuilt(): void {
  if (existsSync(CLI)) return;
  // tsc emits even when another module has type errors; what matters is the CLI being there.
  spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'ignore' });
  if (!existsSync(CLI)) throw new Error(`building ${CLI} failed`);
}

export interface CliResult {
  readonly status: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Runs `keyway ...args` to completion with stdout and stderr piped. */
export function runCli(args: readonly string[]): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    maxBuffer: 1 << 28,
    env: { ...process.env, KEYWAY_DEBUG: '' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString('utf8') };
}

/** Starts `keyway ...args` without waiting for it. */
export function startCli(args: readonly string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [CLI, ...args], { cwd: ROOT });
}
