// `keyway` as a user runs it: the package's bin, through npx, from the project folder.
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt } from './cli-process.js';

beforeAll(ensureBuilt);

describe('the keyway bin', () => {
  it('runs through npx, as the README shows', () => {
    const run = spawnSync('npx', ['keyway', '--version'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.stderr).not.toMatch(/Permission denied/);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
