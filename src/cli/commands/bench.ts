/**
 * `keyway bench`: runs the benchmark scripts (`bench/*.ts`, built to `dist/bench/`) one after
 * another as child processes, so each measures in a fresh process, then reads the results JSON
 * each wrote under `bench/results/` and prints one table of their headline figures beside the
 * targets of ARCHITECTURE.md §8. With `--latest` it only reads the newest results already there.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../core/errors.js';
import { parseInteger, parseOptions } from '../args.js';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';

/** The benches, in the order they run; `unlock`, `ble` and `building` run when they have been built. */
export const BENCHES = ['codes', 'protocol', 'firmware', 'unlock', 'ble', 'building'] as const;
export type BenchName = (typeof BENCHES)[number];
const OPTIONAL: ReadonlySet<BenchName> = new Set(['unlock', 'ble', 'building']);

const OPTIONS = {
  only: { type: 'string' },
  seconds: { type: 'string' },
  latest: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

const MAX_SECONDS = 600;

/** The package root: the nearest folder above this file (in src/ or dist/src/) with keyway's package.json. */
function packageRoot(): string {
  for (let dir = new URL('.', import.meta.url); dir.pathname !== '/'; dir = new URL('..', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as {
        name?: unknown;
      };
      if (pkg.name === 'keyway') return fileURLToPath(dir);
    } catch {
      // Not here: look one folder up.
    }
  }
  throw new Error('keyway bench: cannot find the keyway package root');
}

const HELP = `Usage: keyway bench [--only LIST] [--seconds N] [--latest] [--json]

Runs the benchmark scripts one after another, each in its own process (${BENCHES.join(', ')};
unlock, ble and building when they have been built), then prints one table of their headline figures beside the
targets of ARCHITECTURE.md §8. Each script writes its full results to bench/results/<name>-<time>.json;
the table is read from those files. Build first (npm run build): the scripts run from dist/bench/.

Options:
  --only LIST    a comma-separated subset, e.g. codes,firmware
  --seconds N    measuring time per case, 1..${MAX_SECONDS} (sets BENCH_SECONDS; default: each
                 script's own)
  --latest       run nothing: the table of the newest results already in bench/results/
  --json         the table as JSON on stdout
  -h, --help     show this help

Exit codes: 0 ok, 2 bad input (one line on stderr), 3 a bench failed or wrote no results.

Examples:
  keyway bench
  keyway bench --only codes,protocol --seconds 1
  keyway bench --latest --json`;

/** One headline figure of a bench. */
export interface BenchFigure {
  readonly bench: string;
  readonly figure: string;
  readonly value: number;
  /** How `value` reads: `/s` rates, `x` ratios, `B` bytes, `ms` and `s` durations. */
  readonly unit: '/s' | 'x' | 'B' | 'ms' | 's' | '';
  /** The §8 target, in words, when there is one. */
  readonly target?: string;
}

type Json = Readonly<Record<string, unknown>>;

function numberAt(results: Json, path: readonly string[]): number | undefined {
  let value: unknown = results;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Json)[key];
  }
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

type FigureSpec = readonly [
  path: readonly string[],
  figure: string,
  unit: BenchFigure['unit'],
  target?: string,
];

/** The headline figures of the known benches, where their results JSON holds them. */
const HEADLINES: Readonly<Record<string, readonly FigureSpec[]>> = {
  codes: [
    [['results', 'kernel'], 'daily codes, fast kernel, one core', '/s', '>= 3 M/s'],
    [['ratios', 'kernelOverCreateHmac'], 'fast kernel over node createHmac', 'x', '>= 15x'],
    [['ratios', 'kernelOverOpenssl'], 'fast kernel over openssl SHA-256', 'x', '>= 0.85x'],
    [['results', 'cliAllCores'], 'keyway codes, all cores', '/s'],
  ],
  protocol: [
    [['handshakes', 'node', 'handshakes'], 'Noise XK handshakes (node crypto)', '/s'],
    [['handshakes', 'node', 'floorRatio'], 'handshake over its crypto floor', 'x', '>= 0.8x'],
    [['frames', 'mtu247-256B', 'messages'], '256-byte messages framed at MTU 247', '/s'],
    [['messages', 'decoded'], 'CBOR messages decoded and validated', '/s'],
  ],
  unlock: [
    [['protocolUnlocks'], 'full-fidelity unlocks, one core', '/s', '>= 2,000/s'],
    [['protocolOverFloor'], 'unlocks over their crypto floor', 'x', '>= 0.70x'],
    [['engineUnlocks'], 'phone-engine unlocks on the virtual radio', '/s'],
  ],
  ble: [
    [
      ['results', 'defaults (ATT_MTU 256, LE buffers 251 × 8)', 'total', 'p50'],
      'unlock over the virtual HCI pair, p50 (wall clock)',
      'ms',
    ],
    [
      ['results', 'defaults (ATT_MTU 256, LE buffers 251 × 8)', 'total', 'p95'],
      'unlock over the virtual HCI pair, p95 (wall clock)',
      'ms',
    ],
  ],
  firmware: [
    [['results', 'holdScheduler'], 'scheduler, 100k pending timers', '/s', '>= 5 M/s'],
    [['firmware', 'stepsPerSecond'], 'firmware steps in a World', '/s'],
    [['fleet', 'lock'], 'heap per idle lock (100k locks)', 'B', '<= 2 KiB'],
  ],
  building: [
    [['year', 'cpuSeconds'], 'year of a 300-door building, model fidelity (CPU)', 's', '<= 10 s'],
    [['firmware', 'eventsPerCpuSecond'], 'building events logged per CPU-second', '/s'],
    [['ratios', 'yearOverBareScheduler'], 'building year over bare scheduler events', 'x'],
  ],
};

/** Numbers a bench records about its run, not measurements. */
const METADATA = new Set(['cores', 'seconds', 'slots', 'digits', 'burst', 'hold', 'holdSmall']);

/**
 * The headline figures of one bench's results JSON: the known ones where present, else (a bench
 * this table does not know yet) every number under `results`, or at the top level.
 */
export function headlineFigures(bench: string, results: Json): BenchFigure[] {
  const known = HEADLINES[bench];
  if (known !== undefined) {
    return known.flatMap(([path, figure, unit, target]) => {
      const value = numberAt(results, path);
      if (value === undefined) return [];
      return [{ bench, figure, value, unit, ...(target === undefined ? {} : { target }) }];
    });
  }
  const source = results['results'];
  const numbers = typeof source === 'object' && source !== null ? (source as Json) : results;
  return Object.entries(numbers).flatMap(([figure, value]) =>
    typeof value === 'number' && Number.isFinite(value) && !METADATA.has(figure)
      ? [{ bench, figure, value, unit: '' as const }]
      : [],
  );
}

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 2 });

function formatValue(figure: BenchFigure): string {
  switch (figure.unit) {
    case '/s':
      return `${compact.format(figure.value)}/s`;
    case 'x':
      return `${figure.value.toFixed(2)}x`;
    case 'ms':
      return `${Math.round(figure.value)} ms`;
    case 's':
      return `${figure.value.toFixed(2)} s`;
    case 'B':
      return figure.value >= 1024
        ? `${(figure.value / 1024).toFixed(2)} KiB`
        : `${Math.round(figure.value)} B`;
    case '':
      return compact.format(figure.value);
  }
}

/** The table as text: bench, figure, value, target. */
export function benchTable(figures: readonly BenchFigure[]): string {
  const rows = [
    ['bench', 'figure', 'value', 'target'],
    ...figures.map((f) => [f.bench, f.figure, formatValue(f), f.target ?? '']),
  ];
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, c) => (c === 2 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c] ?? 0)))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * The command for the package at `packageAt` (scripts in its `dist/bench/`, results in its
 * `bench/results/`); by default the package this file belongs to.
 */
export function createBenchCommand(packageAt?: string): Command {
  return {
    name: 'bench',
    summary: 'run the benchmarks and print one table of their headline figures',
    help: HELP,
    async run(args, context) {
      const values = parseOptions(args, OPTIONS);
      const selected = selectBenches(values.only);
      let seconds: number | undefined;
      if (values.seconds !== undefined) {
        seconds = parseInteger('--seconds', values.seconds);
        if (seconds < 1 || seconds > MAX_SECONDS) {
          throw new InputError('--seconds', `must be 1..${MAX_SECONDS}, got ${seconds}`);
        }
        if (values.latest === true) {
          throw new InputError('--seconds', 'does not go with --latest, which runs nothing');
        }
      }
      const root = packageAt ?? packageRoot();
      const resultsDir = join(root, 'bench', 'results');
      const files: { readonly bench: BenchName; readonly file: string }[] = [];
      for (const bench of selected) {
        const script = join(root, 'dist', 'bench', `${bench}.js`);
        if (values.latest !== true) {
          if (!existsSync(script)) {
            if (OPTIONAL.has(bench) && values.only === undefined) continue;
            throw new Error(`dist/bench/${bench}.js is missing: run npm run build`);
          }
          const started = Date.now();
          context.stderr.write(`keyway bench: running ${bench}...\n`);
          await runScript(root, script, seconds);
          const file = await newestResult(resultsDir, bench);
          if (file === undefined || (await stat(file)).mtimeMs < started - 1_000) {
            throw new Error(`${bench} wrote no results under bench/results/`);
          }
          files.push({ bench, file });
        } else {
          const file = await newestResult(resultsDir, bench);
          if (file !== undefined) files.push({ bench, file });
          else if (values.only !== undefined) {
            throw new InputError(bench, 'has no results under bench/results/: run it first');
          }
        }
      }
      const benches = await Promise.all(
        files.map(async ({ bench, file }) => {
          const results = JSON.parse(await readFile(file, 'utf8')) as Json;
          return {
            bench,
            file: `bench/results/${file.slice(resultsDir.length + 1)}`,
            node: results['node'],
            cpu: results['cpu'],
            figures: headlineFigures(bench, results),
          };
        }),
      );
      if (values.json === true) {
        context.stdout.write(`${JSON.stringify({ benches }, null, 2)}\n`);
        return EXIT.ok;
      }
      const lines = [
        benchTable(benches.flatMap((b) => b.figures)),
        '',
        ...benches.map((b) => `${b.bench}: ${b.file} (node ${String(b.node)}, ${String(b.cpu)})`),
        '',
      ];
      context.stdout.write(lines.join('\n'));
      return EXIT.ok;
    },
  };
}

export const benchCommand: Command = createBenchCommand();

function selectBenches(only: string | undefined): readonly BenchName[] {
  if (only === undefined) return BENCHES;
  const names = only.split(',').map((name) => name.trim());
  const chosen: BenchName[] = [];
  for (const name of names) {
    const bench = BENCHES.find((candidate) => candidate === name);
    if (bench === undefined) {
      throw new InputError(
        '--only',
        `unknown bench ${JSON.stringify(name)} (benches: ${BENCHES.join(', ')})`,
      );
    }
    if (!chosen.includes(bench)) chosen.push(bench);
  }
  return chosen;
}

/** Runs one bench script to completion; its own report is dropped, its stderr explains a failure. */
function runScript(root: string, script: string, seconds: number | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: seconds === undefined ? process.env : { ...process.env, BENCH_SECONDS: String(seconds) },
    });
    let errors = '';
    child.stdout.resume();
    child.stderr.on('data', (chunk: Buffer) => {
      errors = (errors + chunk.toString('utf8')).slice(-2_000);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else {
        const last = errors.trim().split('\n').at(-1) ?? '';
        reject(new Error(`${script} exited with ${code}${last === '' ? '' : `: ${last}`}`));
      }
    });
  });
}

/** The newest `bench/results/<bench>-<time>.json` (ISO times sort as text). */
async function newestResult(dir: string, bench: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  const prefix = `${bench}-`;
  const newest = names
    .filter((name) => name.startsWith(prefix) && name.endsWith('.json'))
    .sort()
    .at(-1);
  return newest === undefined ? undefined : join(dir, newest);
}
