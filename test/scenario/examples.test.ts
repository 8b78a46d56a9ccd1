// Every scenario in examples/ runs through `keyway run` (the command, in process) and meets its
// expectations at both fidelities; the one in examples/failing/ fails with its diff and exit 1;
// the same scenario and seed give the same event log, byte for byte.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/commands/run.js';
import type { CommandContext } from '../../src/cli/command.js';
import { parseScenario } from '../../src/scenario/format.js';
import { runScenario } from '../../src/scenario/runner.js';
import { InputError } from '../../src/core/errors.js';

const EXAMPLES = new URL('../../examples/', import.meta.url);
const scenarios = readdirSync(EXAMPLES)
  .filter((name) => name.endsWith('.yaml'))
  .sort();
const scratch = mkdtempSync(join(tmpdir(), 'keyway-scenario-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `keyway run ...args` in process, its output captured. */
async function keywayRun(args: readonly string[]): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  const stream = (append: (text: string) => void) =>
    ({
      write: (text: string) => {
        append(text);
        return true;
      },
    }) as unknown as NodeJS.WriteStream;
  const context: CommandContext = {
    stdout: stream((text) => (stdout += text)),
    stderr: stream((text) => (stderr += text)),
    now: () => 0,
  };
  const code = await runCommand.run(args, context);
  return { code, stdout, stderr };
}

const example = (name: string): string => new URL(name, EXAMPLES).pathname;

describe('examples/', () => {
  it('has a scenario for each documented behaviour', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(13);
  });

  describe.each(['full', 'model'])('at %s fidelity', (fidelity) => {
    it.each(scenarios)('%s meets every expectation', async (name) => {
      const out = join(scratch, `${name}-${fidelity}`);
      const ran = await keywayRun([example(name), '--fidelity', fidelity, '--out', out]);
      expect(ran.stdout).toMatch(/\nPASS: \d+ expectations? met\n/);
      expect(ran.stdout).not.toContain('FAIL');
      expect(ran.code).toBe(0);
      const log = readFileSync(join(out, 'events.jsonl'), 'utf8');
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
        passed: boolean;
        events: { total: number };
      };
      expect(summary.passed).toBe(true);
      expect(log.split('\n').length - 1).toBe(summary.events.total);
    });
  });

  it('failing/door-ajar-wrong-count.yaml fails with expected/happened and exit 1', async () => {
    const out = join(scratch, 'failing');
    const ran = await keywayRun([example('failing/door-ajar-wrong-count.yaml'), '--out', out]);
    expect(ran.code).toBe(1);
    expect(ran.stdout).toContain(
      [
        '  ok    [0] DOOR_AJAR at lobby: 1',
        '  FAIL  [1] DOOR_AJAR at lobby (wrong on purpose)',
        '          expected 2',
        '          happened 1',
        '            +2m31s lobby DOOR_AJAR openMs=90000',
        '',
        'FAIL: 1 of 2 expectations not met',
      ].join('\n'),
    );
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      passed: boolean;
      expectations: { failed: number };
    };
    expect(summary).toMatchObject({ passed: false, expectations: { failed: 1 } });
  });

  it('--json prints the summary, with the step outcomes', async () => {
    const ran = await keywayRun([
      example('r-fail-secure-outage.yaml'),
      '--json',
      '--out',
      join(scratch, 'json'),
    ]);
    expect(ran.code).toBe(0);
    const summary = JSON.parse(ran.stdout) as {
      passed: boolean;
      steps: { id?: string; outcome: string; reason?: string }[];
    };
    expect(summary.passed).toBe(true);
    expect(summary.steps.find((s) => s.id === 'daily-before-sync')).toMatchObject({
      outcome: 'refused',
      reason: 'CLOCK_INVALID',
    });
  });
});

describe('determinism (ARCHITECTURE.md §2)', () => {
  const text = readFileSync(example('revocation.yaml'), 'utf8');

  it.each(['full', 'model'] as const)(
    'same seed twice at %s fidelity: identical log bytes',
    async (fidelity) => {
      const scenario = parseScenario(text, 'revocation.yaml');
      const first = await runScenario(scenario, { seed: '42', fidelity });
      const second = await runScenario(scenario, { seed: '42', fidelity });
      expect(first.log.length).toBeGreaterThan(1000);
      expect(second.log).toBe(first.log);
    },
  );

  it('another seed draws other ids and keys: another log', async () => {
    const scenario = parseScenario(text, 'revocation.yaml');
    const a = await runScenario(scenario, { seed: '1' });
    const b = await runScenario(scenario, { seed: '2' });
    expect(b.log).not.toBe(a.log);
    // ... while what happened is the same.
    expect(b.outcomes.map((o) => o.outcome)).toEqual(a.outcomes.map((o) => o.outcome));
  });

  it('--seed on the command line gives the same bytes as the library', async () => {
    const out = join(scratch, 'seeded');
    await keywayRun([example('revocation.yaml'), '--seed', '42', '--out', out]);
    const run = await runScenario(parseScenario(text, 'revocation.yaml'), { seed: '42' });
    expect(readFileSync(join(out, 'events.jsonl'), 'utf8')).toBe(run.log);
  });
});

describe('keyway run: bad input is one InputError (exit 2 in main.ts)', () => {
  it.each([
    [[], 'scenario: missing scenario file'],
    [['a.yaml', 'b.yaml'], '"b.yaml": one scenario file per run'],
    [['examples/none.yaml'], 'examples/none.yaml: no such file'],
    [['examples/README.md'], 'examples/README.md: expected a .yaml, .yml or .json scenario file'],
    [
      [example('door-breached.yaml'), '--fidelity', 'fast'],
      '--fidelity: "fast" is not full or model',
    ],
    [
      [example('door-breached.yaml'), '--until', 'tomorrow'],
      '--until: "tomorrow" is not a time (like +2h, day 3 09:00, 2026-03-08T09:00, 2026-03-08T14:00:00Z)',
    ],
    [[example('door-breached.yaml'), '--colour'], '--colour: unknown option'],
  ])('%j', async (args, message) => {
    await expect(keywayRun(args)).rejects.toBeInstanceOf(InputError);
    await expect(keywayRun(args)).rejects.toThrow(message);
  });
});
