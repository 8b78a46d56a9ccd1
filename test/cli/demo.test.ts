import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from './cli-process.js';

beforeAll(ensureBuilt);

describe('keyway demo', () => {
  it('shows a day of codes and a lock-side check, reproducibly with --date', () => {
    const first = runCli(['demo', '--date', '2026-03-08']);
    expect(first.status).toBe(0);
    expect(first.stderr).toBe('');
    const text = first.stdout.toString('utf8');
    expect(runCli(['demo', '--date', '2026-03-08']).stdout.toString('utf8')).toBe(text);
    expect(text).toContain('2026-03-08 (day label 20260308)');
    expect(text).toMatch(/accepted \(DAILY, slot 0 of 20260308\)/);
    expect(text).toMatch(/rejected \(INCORRECT\)/);
    expect(text.split('\n').length).toBeLessThan(30);

    // The lobby row matches `keyway codes` for the same property key, door and day.
    const lobby = /^ {2}lobby +((?:\d{7} +)*\d{7})$/m.exec(text)?.[1]?.split(/ +/);
    const command = /keyway codes (--property-key [^\n]+)\\\n\s+([^\n]+)/.exec(text);
    const args = `${command?.[1] ?? ''} ${command?.[2] ?? ''}`.trim().split(/\s+/);
    const codes = runCli(['codes', ...args]);
    expect(codes.status).toBe(0);
    const rows = codes.stdout.toString('utf8').trim().split('\n').slice(1);
    expect(rows.map((row) => row.split(',')[3])).toEqual(lobby);
  });

  it('runs without --date (today in the demo time zone)', () => {
    const result = runCli(['demo']);
    expect(result.status).toBe(0);
    expect(result.stdout.toString('utf8')).toMatch(/accepted \(DAILY, slot 0 of \d{8}\)/);
  });

  it.each([['2026-13-01'], ['9999-12-30'], ['yesterday']])(
    '--date %s exits 2 with one line',
    (date) => {
      const result = runCli(['demo', '--date', date]);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/^keyway demo: --date: [^\n]+\n$/);
    },
  );
});
