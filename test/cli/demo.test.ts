// `keyway demo` in-process: a week in the built-in building, written to a directory; the same
// seed writes the same log byte for byte; each incident shows in the summary; bad flags are
// input errors naming the flag (the dispatcher turns those into exit 2, see codes.test.ts).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCommand } from '../../src/cli/commands/demo.js';
import type { CommandContext } from '../../src/cli/command.js';
import { InputError } from '../../src/core/errors.js';
import type { DemoSummary } from '../../src/demo/summary.js';
import { ensureBuilt, runCli } from './cli-process.js';

interface Captured {
  readonly context: CommandContext;
  readonly stdout: () => string;
  readonly stderr: () => string;
}

/** A context whose streams are not terminals and keep what is written to them. */
function capture(): Captured {
  let out = '';
  let err = '';
  const stream = (append: (text: string) => void) =>
    ({
      isTTY: false,
      write: (chunk: string | Uint8Array) => {
        append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return true;
      },
    }) as unknown as NodeJS.WriteStream;
  return {
    context: {
      stdout: stream((text) => (out += text)),
      stderr: stream((text) => (err += text)),
      now: () => Date.now(),
    },
    stdout: () => out,
    stderr: () => err,
  };
}

let scratch: string;
beforeAll(ensureBuilt);
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'keyway-demo-test-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function demo(args: readonly string[]): Promise<Captured & { readonly code: number }> {
  const captured = capture();
  const code = await demoCommand.run(args, captured.context);
  return { ...captured, code };
}

describe('keyway demo', () => {
  it('runs the week; --seed 7 twice writes byte-identical logs; the summary tells every incident', async () => {
    const first = join(scratch, 'first');
    const second = join(scratch, 'second');
    const run = await demo(['--seed', '7', '--out', first]);
    const again = await demo(['--seed', '7', '--out', second]);
    expect(run.code).toBe(0);
    expect(again.code).toBe(0);
    expect(run.stderr()).toBe(''); // no progress bar when stderr is not a terminal

    const log = await readFile(join(first, 'events.jsonl'));
    expect(log.equals(await readFile(join(second, 'events.jsonl')))).toBe(true);
    const json = await readFile(join(first, 'summary.json'), 'utf8');
    expect(await readFile(join(second, 'summary.json'), 'utf8')).toBe(json);

    const lines = log.toString('utf8').trimEnd().split('\n');
    const demoSummary = JSON.parse(json) as DemoSummary;
    const { summary, phones, building } = demoSummary;
    expect(demoSummary).toMatchObject({ seed: 7, days: 7 });
    expect(lines).toHaveLength(summary.events.total);
    expect(
      lines.every((line) => typeof (JSON.parse(line) as { type?: unknown }).type === 'string'),
    ).toBe(true);

    expect(building.doors.filter((d) => d.model === 'M')).toHaveLength(20);
    expect(building.residents).toBe(40);
    // The hub served its doors over the radio, and brought them newer bundles.
    expect(building.hub.serves).toEqual(['front', 'gym', 'roof', 'bike-room']);
    expect(building.hub.pushes).toBeGreaterThan(0);
    // Phones unlock over the radio and nearly all get in; the ones refused are the incidents'.
    expect(phones.unlocks).toBeGreaterThan(300);
    expect(phones.failed).toEqual({
      'Denied REVOKED': 1,
      LockNotFound: 1,
      OutOfSchedule: 1,
    });
    expect(summary.unlocks.byMethod['BLE']).toBe(phones.succeeded);
    expect(summary.unlocks.byMethod['PASSCODE']).toBeGreaterThan(0);
    expect(summary.unlocks.byMethod['REX']).toBeGreaterThan(0);
    // Outage: a guest's code fails closed; brute force: five wrong codes, then the lockout.
    expect(summary.refusals.byReason).toMatchObject({
      CLOCK_INVALID: 1,
      INCORRECT: 5,
      LOCKED_OUT: 1,
      REVOKED: 1,
      OUTSIDE_SCHEDULE: 1,
    });
    expect(summary.notifications.byType).toMatchObject({
      DOOR_AJAR: 1,
      DOOR_STILL_AJAR: 1,
      DOOR_SECURE: 1,
    });
    expect(demoSummary.outbox).toBe(summary.notifications.total);
    expect(summary.batteries).toHaveLength(23);
    expect(summary.syncLag.map((s) => s.lock)).toEqual(building.doors.map((d) => d.id));
    expect(demoSummary.incidents.map((i) => i.id)).toEqual([
      'power-outage',
      'battery-swap',
      'door-ajar',
      'revocation',
      'brute-force',
    ]);

    const text = run.stdout();
    for (const heading of [
      'Unlocks (',
      'Refusals at the locks (',
      'Door notifications (',
      'Battery levels (',
      'Sync lag per lock',
      'Incidents:',
    ]) {
      expect(text).toContain(heading);
    }
    expect(text).toMatch(/time anchor at Tue 14:\d\d/);
    expect(text).toMatch(/Denied REVOKED/);
    expect(text).toContain(`Wrote ${join(first, 'events.jsonl')}`);
    expect(text).toMatch(/Wall time \d+\.\d s for 7 simulated day/);
  });

  it('--json prints the summary it writes; another seed makes another week', async () => {
    const out = join(scratch, 'json');
    const run = await demo(['--seed', '8', '--days', '1', '--out', out, '--json']);
    expect(run.code).toBe(0);
    expect(run.stdout()).toBe(await readFile(join(out, 'summary.json'), 'utf8'));
    const summary = JSON.parse(run.stdout()) as DemoSummary;
    expect(summary).toMatchObject({ seed: 8, days: 1, incidents: [] });

    const other = join(scratch, 'seed-7-one-day');
    await demo(['--seed', '7', '--days', '1', '--out', other]);
    const a = await readFile(join(out, 'events.jsonl'), 'utf8');
    const b = await readFile(join(other, 'events.jsonl'), 'utf8');
    expect(a).not.toBe(b);
  });

  it.each([
    [['--days', '0'], '--days: must be 1..31, got 0'],
    [['--days', '32'], '--days: must be 1..31, got 32'],
    [['--days', 'week'], '--days: "week" is not a whole number'],
    [['--seed=-1'], '--seed: must be 0..4294967295, got -1'],
    [['--out', ''], '--out: is empty: give a directory'],
    [['--fast'], '--fast: unknown option'],
  ])('%j is an input error: %s', async (args, message) => {
    const captured = capture();
    const error: unknown = await demoCommand.run(args, captured.context).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(message);
    expect(captured.stdout()).toBe('');
  });

  it('--out naming a file is an input error, and nothing is written', async () => {
    const file = join(scratch, 'a-file');
    await writeFile(file, 'not a directory');
    const error: unknown = await demoCommand
      .run(['--days', '1', '--out', file], capture().context)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/^--out: ".*a-file" exists and is not a directory$/);
    expect(await readFile(file, 'utf8')).toBe('not a directory');
  });

  it('--help has examples', () => {
    expect(demoCommand.help).toMatch(/Examples:\n {2}keyway demo\n/);
    expect(demoCommand.help).toContain('--seed N');
  });

  it('through the built CLI, a bad flag exits 2 with one line on stderr', () => {
    const result = runCli(['demo', '--days', '0']);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('keyway demo: --days: must be 1..31, got 0\n');
    expect(result.stdout.length).toBe(0);
  });
});
