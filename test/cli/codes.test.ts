import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { deriveDoorKey } from '../../protocol/doorcode/reference.js';
import { ensureBuilt, ROOT, runCli, startCli } from './cli-process.js';

const PROPERTY_KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const DOOR_KEY = 'a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf';
const RANGE = ['--from', '2026-02-27', '--days', '3', '--slots', '5'];

beforeAll(ensureBuilt);

function lines(output: Buffer): string[] {
  const text = output.toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

/** A bad-input run: exit 2, nothing on stdout, one line on stderr and no stack trace. */
function expectBadInput(args: readonly string[], mentions: string): string {
  const result = runCli(args);
  expect(result.status).toBe(2);
  expect(result.stdout.length).toBe(0);
  expect(result.stderr.endsWith('\n')).toBe(true);
  const stderrLines = result.stderr.slice(0, -1).split('\n');
  expect(stderrLines).toHaveLength(1);
  expect(result.stderr).toMatch(/^keyway( codes)?: /);
  expect(result.stderr).toContain(mentions);
  expect(result.stderr).not.toMatch(/\n\s+at |Error:/);
  expect(result.stderr).not.toContain(PROPERTY_KEY.slice(0, 16));
  expect(result.stderr).not.toContain(DOOR_KEY.slice(0, 16));
  return result.stderr;
}

describe('keyway codes', () => {
  it('writes JSON lines, one per code, in order, with a null door for a door key', () => {
    const result = runCli(['codes', '--door-key', DOOR_KEY, ...RANGE]);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    const records = lines(result.stdout).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records).toHaveLength(15);
    records.forEach((record, i) => {
      expect(Object.keys(record)).toEqual(['door', 'day', 'slot', 'code']);
      expect(record['door']).toBeNull();
      expect(record['day']).toBe(['20260227', '20260228', '20260301'][Math.floor(i / 5)]);
      expect(record['slot']).toBe(i % 5);
      expect(record['code']).toMatch(/^\d{7}$/);
    });
  });

  it('writes CSV with a header and the door id', () => {
    const args = ['codes', '--property-key', PROPERTY_KEY, '--door', 'lobby', ...RANGE];
    const result = runCli([...args, '--format', 'csv', '--digits', '9']);
    expect(result.status).toBe(0);
    const [header, ...rows] = lines(result.stdout);
    expect(header).toBe('door,day,slot,code');
    expect(rows).toHaveLength(15);
    for (const row of rows) expect(row).toMatch(/^lobby,2026\d{4},[0-4],\d{9}$/);
  });

  it('gives the same bytes with --workers 0, 1 and 2, for a job of many chunks', () => {
    for (const format of ['jsonl', 'csv']) {
      const args = ['codes', '--door-key', DOOR_KEY, '--from', '2026-01-01', '--days', '40'];
      const run = (workers: string) =>
        runCli([...args, '--slots', '2048', '--format', format, '--workers', workers]);
      const [zero, one, two] = ['0', '1', '2'].map(run);
      expect(zero?.status).toBe(0);
      // More than one chunk of about 1 MiB, so the pool reorders several.
      expect(zero?.stdout.length).toBeGreaterThan(3 << 19);
      expect(one?.stdout.equals(zero?.stdout ?? Buffer.alloc(0))).toBe(true);
      expect(two?.status).toBe(0);
      expect(two?.stderr).toBe('');
      expect(two?.stdout.equals(zero?.stdout ?? Buffer.alloc(0))).toBe(true);
    }
  });

  it('derives from --property-key and --door the codes of the derived door key', () => {
    const doorKey = deriveDoorKey(Buffer.from(PROPERTY_KEY, 'hex'), 'unit-4b');
    const csv = (door: string[]) => runCli(['codes', ...door, ...RANGE, '--format', 'csv']);
    const fromProperty = csv(['--property-key', PROPERTY_KEY, '--door', 'unit-4b']);
    const fromDoor = csv(['--door-key', Buffer.from(doorKey).toString('hex')]);
    expect(fromProperty.status).toBe(0);
    expect(fromDoor.status).toBe(0);
    const withoutDoor = (output: Buffer) => lines(output).map((row) => row.replace(/^[^,]*,/, ''));
    expect(withoutDoor(fromProperty.stdout)).toEqual(withoutDoor(fromDoor.stdout));
    expect(lines(fromProperty.stdout)[1]).toMatch(/^unit-4b,/);
  });

  it.each([
    [
      ['codes', '--door-key', DOOR_KEY, '--from', '2026-02-30', '--days', '1', '--slots', '1'],
      '--from: "2026-02-30" is not a date (expected YYYY-MM-DD)',
    ],
    [
      ['codes', '--door-key', DOOR_KEY, '--from', '2026-2-1', '--days', '1', '--slots', '1'],
      '--from',
    ],
    [
      ['codes', '--door-key', DOOR_KEY, '--from', '9999-12-30', '--days', '3', '--slots', '1'],
      '--days',
    ],
    [['codes', '--door-key', 'xyz', ...RANGE], '--door-key: is not hex'],
    [['codes', '--door-key', DOOR_KEY.slice(2), ...RANGE], '--door-key: must be 64 hex digits'],
    [['codes', '--property-key', `${PROPERTY_KEY}00`, '--door', 'a', ...RANGE], '--property-key'],
    [
      ['codes', '--door-key', DOOR_KEY, '--from', '2026-01-01', '--days', '0', '--slots', '1'],
      '--days',
    ],
    [
      ['codes', '--door-key', DOOR_KEY, '--from', '2026-01-01', '--days', '99999', '--slots', '1'],
      '--days',
    ],
    [
      ['codes', '--door-key', DOOR_KEY, '--from', '2026-01-01', '--days', 'ten', '--slots', '1'],
      '--days',
    ],
    [
      ['codes', '--door-key', DOOR_KEY, '--from', '2026-01-01', '--days', '1', '--slots', '0'],
      '--slots',
    ],
    [
      ['codes', '--door-key', DOOR_KEY, '--from', '2026-01-01', '--days', '1', '--slots', '65537'],
      '--slots',
    ],
    [['codes', '--door-key', DOOR_KEY, ...RANGE, '--digits', '0'], '--digits'],
    [['codes', '--door-key', DOOR_KEY, ...RANGE, '--digits', '10'], '--digits'],
    [['codes', '--door-key', DOOR_KEY, ...RANGE, '--key-version', '65536'], '--key-version'],
    [['codes', '--door-key', DOOR_KEY, ...RANGE, '--key-version=-1'], '--key-version'],
    [['codes', '--door-key', DOOR_KEY, ...RANGE, '--workers', '257'], '--workers'],
    [['codes', '--door-key', DOOR_KEY, ...RANGE, '--format', 'xml'], '--format'],
    [['codes', '--door-key', DOOR_KEY, ...RANGE, '--json'], '--json'],
    [['codes', '--door-key', DOOR_KEY, ...RANGE, '--colour'], '--colour: unknown option'],
    [['codes', '--door-key', DOOR_KEY, ...RANGE, 'extra'], 'unexpected argument'],
    [['codes', '--door-key', DOOR_KEY, ...RANGE, '--days', '2'], '--days: given more than once'],
    [['codes', '--door-key', DOOR_KEY, '--from'], '--from: missing value'],
    [['codes', ...RANGE], '--door-key: is required'],
    [['codes', '--door-key', DOOR_KEY, '--days', '1', '--slots', '1'], '--from: is required'],
    [
      ['codes', '--door-key', DOOR_KEY, '--from', '2026-01-01', '--slots', '1'],
      '--days: is required',
    ],
    [
      ['codes', '--door-key', DOOR_KEY, '--from', '2026-01-01', '--days', '1'],
      '--slots: is required',
    ],
    [['codes', '--door-key', DOOR_KEY, '--property-key', PROPERTY_KEY, ...RANGE], 'conflicts'],
    [['codes', '--door-key', DOOR_KEY, '--door', 'lobby', ...RANGE], '--door'],
    [['codes', '--property-key', PROPERTY_KEY, ...RANGE], '--door: is required'],
    [['codes', '--door', 'lobby', ...RANGE], '--property-key: is required'],
    [['unlock-everything'], 'unknown command'],
    [[], 'missing command'],
  ])('bad input %j exits 2 with one line', (args, mentions) => {
    expectBadInput(args, mentions);
  });

  it('stops quietly when the reader closes stdout early (| head)', async () => {
    for (const workers of ['2', '0']) {
      const child = startCli([
        'codes',
        '--door-key',
        DOOR_KEY,
        '--from',
        '2026-01-01',
        '--days',
        '3650',
        '--slots',
        '256',
        '--workers',
        workers,
      ]);
      let stderr = '';
      child.stderr.on('data', (data: Buffer) => (stderr += data.toString('utf8')));
      await once(child.stdout, 'data');
      child.stdout.destroy();
      const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
      expect(signal).toBeNull();
      expect(code).toBe(0);
      expect(stderr).toBe('');
    }
  });
});

describe('keyway help and version', () => {
  it.each([
    [['--help']],
    [['-h']],
    [['help']],
    [['codes', '--help']],
    [['codes', '-h']],
    [['demo', '--help']],
    [['help', 'codes']],
  ])('%j prints help with examples and exits 0', (args) => {
    const result = runCli(args);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    const text = result.stdout.toString('utf8');
    expect(text).toContain('Usage: keyway');
    expect(text).toContain('Examples:');
  });

  it('the codes help documents exit codes and --json', () => {
    const text = runCli(['codes', '--help']).stdout.toString('utf8');
    expect(text).toContain('Exit codes: 0 ok, 2 bad input');
    expect(text).toContain('--json does not apply');
  });

  it('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string };
    const result = runCli(['--version']);
    expect(result.status).toBe(0);
    expect(result.stdout.toString('utf8')).toBe(`${pkg.version}\n`);
  });
});
