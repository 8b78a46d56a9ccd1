/**
 * `keyway demo`: a week in a built-in building at full fidelity (`src/demo/`, ARCHITECTURE.md
 * §7), with no set-up: phones unlock over the virtual radio, guests type daily codes, and the
 * week has a power outage, a battery swap, a door left ajar, a revocation and a brute-force
 * attempt. It prints a summary and writes the event log (JSON lines) and the summary JSON into a
 * directory. The same seed writes the same log, byte for byte.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../../core/errors.js';
import { formatDemoSummary, summarizeDemo } from '../../demo/summary.js';
import { DEFAULT_DEMO_DAYS, MAX_DEMO_DAYS, runWeek } from '../../demo/week.js';
import { parseInteger, parseOptions } from '../args.js';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';
import { createProgress } from '../progress.js';

const OPTIONS = {
  seed: { type: 'string' },
  days: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const DEFAULT_SEED = 1;
const MAX_SEED = 2 ** 32 - 1;
const HOUR_MS = 3_600_000;

const HELP = `Usage: keyway demo [--seed N] [--days N] [--out DIR] [--json]

Simulates a week in a built-in building, with no set-up: a front door (an R, fail-secure, with a
door sensor, request-to-exit and a keypad) and a hub; 20 unit doors (M); a gym (C), a roof deck
and a bike room (C2); 40 residents whose phones hold mobile keys; guests on daily codes; a
vendor whose key holds on weekday mornings. Every phone unlock runs at full fidelity: a scan, a
connection, the Noise handshake and CBOR requests over the virtual radio, with passive sync.
The week brings a power outage at the front door, a battery swap, the door left ajar, a
resident who moves out (revoked) and a brute-force attempt at the keypad.

It prints a summary (unlocks by method, refusals by reason, door notifications, battery levels,
sync lag per lock, the incidents) and writes into DIR:
  events.jsonl    every lock event, one JSON object a line
  summary.json    the summary
The same seed and days write the same events.jsonl, byte for byte. A progress bar is drawn on
stderr when it is a terminal.

Options:
  --seed N      the seed of the week, 0..${MAX_SEED} (default ${DEFAULT_SEED})
  --days N      simulated days, 1..${MAX_DEMO_DAYS} (default ${DEFAULT_DEMO_DAYS}; incidents fall on days 2..6)
  --out DIR     where to write (default keyway-demo-<seed> in the current directory)
  --json        print the summary JSON on stdout instead of the text
  -h, --help    show this help

Exit codes: 0 ok, 2 bad input (one line on stderr), 3 run-time failure (e.g. DIR not writable).

Examples:
  keyway demo
  keyway demo --seed 7 --out /tmp/week-7
  keyway demo --days 2 --json | jq .summary.unlocks
  keyway demo --seed 7 && keyway demo --seed 7 --out again && cmp keyway-demo-7/events.jsonl again/events.jsonl`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'a simulated week in a built-in building: phones, guests, faults, a summary',
  help: HELP,
  async run(args, context) {
    const values = parseOptions(args, OPTIONS);
    const seed = inRange('--seed', values.seed, DEFAULT_SEED, 0, MAX_SEED);
    const days = inRange('--days', values.days, DEFAULT_DEMO_DAYS, 1, MAX_DEMO_DAYS);
    if (values.out === '') throw new InputError('--out', 'is empty: give a directory');
    const out = values.out ?? `keyway-demo-${seed}`;
    await assertDirectoryOrAbsent(out);

    const began = context.now();
    const progress = createProgress(context.stderr, 'demo: simulated hours', context.now);
    let run;
    try {
      run = await runWeek({
        seed,
        days,
        onProgress: (done, total) => progress.update(Math.floor(done / HOUR_MS), total / HOUR_MS),
      });
    } finally {
      progress.finish();
    }
    const wallMs = context.now() - began;
    const summary = summarizeDemo(run);

    await mkdir(out, { recursive: true });
    const eventsPath = join(out, 'events.jsonl');
    const summaryPath = join(out, 'summary.json');
    await writeFile(eventsPath, run.building.world.toJsonLines());
    const json = `${JSON.stringify(summary, null, 2)}\n`;
    await writeFile(summaryPath, json);

    if (values.json === true) {
      context.stdout.write(json);
      return EXIT.ok;
    }
    const lines = [
      ...formatDemoSummary(summary),
      '',
      `Wrote ${eventsPath} (${summary.summary.events.total} events) and ${summaryPath}`,
      `Wall time ${(wallMs / 1000).toFixed(1)} s for ${days} simulated day(s), ` +
        `${summary.phones.unlocks} phone unlocks over the virtual radio`,
      '',
    ];
    context.stdout.write(lines.join('\n'));
    return EXIT.ok;
  },
};

function inRange(
  flag: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const value = parseInteger(flag, text);
  if (value < min || value > max)
    throw new InputError(flag, `must be ${min}..${max}, got ${value}`);
  return value;
}

/** `--out` may name a new or an existing directory, not a file. */
async function assertDirectoryOrAbsent(path: string): Promise<void> {
  try {
    if (!(await stat(path)).isDirectory()) {
      throw new InputError('--out', `${JSON.stringify(path)} exists and is not a directory`);
    }
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
  }
}
