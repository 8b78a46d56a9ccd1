// `keyway bench`: the headline figures read from results JSON (fixtures in the shapes the bench
// scripts write), the table, and the command on a scratch package whose bench scripts are tiny
// stand-ins that write results, so the child processes, BENCH_SECONDS and --latest are exercised
// in well under a second.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchTable, createBenchCommand, headlineFigures } from '../../src/cli/commands/bench.js';
import type { CommandContext } from '../../src/cli/command.js';
import { InputError } from '../../src/core/errors.js';
import { ensureBuilt, runCli } from './cli-process.js';

const CODES = {
  bench: 'codes',
  node: 'v20.20.2',
  cpu: 'Test CPU',
  cores: 2,
  seconds: 2,
  results: { kernel: 5461306.03, createHmac: 303579.87, cliAllCores: 3973409.77 },
  ratios: { kernelOverCreateHmac: 17.99, kernelOverOpenssl: 1.1875 },
};
const FIRMWARE = {
  bench: 'firmware',
  results: { holdScheduler: 10954257.6 },
  firmware: { stepsPerSecond: 119420.5 },
  fleet: { lock: 1333.3, baseline: 73.1 },
};

const BUILDING = {
  bench: 'building',
  days: 365,
  year: { cpuSeconds: 12.345, wallSeconds: 13.1 },
  firmware: { eventsPerCpuSecond: 281234.5 },
  ratios: { yearOverBareScheduler: 41.27 },
};

describe('headline figures', () => {
  it('picks the known figures of each bench, with their §8 targets', () => {
    expect(headlineFigures('codes', CODES)).toEqual([
      {
        bench: 'codes',
        figure: 'daily codes, fast kernel, one core',
        value: 5461306.03,
        unit: '/s',
        target: '>= 3 M/s',
      },
      {
        bench: 'codes',
        figure: 'fast kernel over node createHmac',
        value: 17.99,
        unit: 'x',
        target: '>= 15x',
      },
      {
        bench: 'codes',
        figure: 'fast kernel over openssl SHA-256',
        value: 1.1875,
        unit: 'x',
        target: '>= 0.85x',
      },
      { bench: 'codes', figure: 'keyway codes, all cores', value: 3973409.77, unit: '/s' },
    ]);
  });

  it('leaves out figures a results file does not hold', () => {
    expect(headlineFigures('firmware', { fleet: { lock: 1333.3 } }).map((f) => f.figure)).toEqual([
      'heap per idle lock (100k locks)',
    ]);
  });

  it('shows every number under `results` of a bench it does not know', () => {
    const figures = headlineFigures('radio', {
      bench: 'radio',
      seconds: 1,
      results: { scans: 1200, cores: 2, note: 'x' },
    });
    expect(figures).toEqual([{ bench: 'radio', figure: 'scans', value: 1200, unit: '' }]);
  });

  it('reads the building year in seconds against its §8 target', () => {
    const figures = headlineFigures('building', BUILDING);
    expect(figures.map((f) => [f.value, f.unit, f.target])).toEqual([
      [12.345, 's', '<= 10 s'],
      [281234.5, '/s', undefined],
      [41.27, 'x', undefined],
    ]);
    expect(benchTable(figures)).toMatch(/model fidelity \(CPU\) {3,}12\.35 s {3}<= 10 s$/m);
  });

  it('lays the table out in columns: rates, ratios and bytes as people read them', () => {
    const table = benchTable([
      ...headlineFigures('codes', CODES),
      ...headlineFigures('firmware', FIRMWARE),
    ]);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^bench {3,}figure {3,}value {3}target$/);
    expect(table).toMatch(
      /^codes {3,}daily codes, fast kernel, one core {3,}5\.46M\/s {3}>= 3 M\/s$/m,
    );
    expect(table).toMatch(/fast kernel over node createHmac {3,}17\.99x {3}>= 15x$/m);
    expect(table).toMatch(/heap per idle lock \(100k locks\) {3,}1\.30 KiB {3}<= 2 KiB$/m);
    expect(table).toMatch(/firmware steps in a World {3,}119\.42K\/s$/m);
    // Values are right-aligned under their heading: each ends where `value` ends.
    const end = lines[0]!.indexOf('value') + 'value'.length;
    for (const line of lines.slice(1)) {
      expect(line[end - 1]).toMatch(/\S/);
      expect(line.slice(end, end + 3)).toMatch(/^( {3})?$/);
    }
  });
});

function capture(): { context: CommandContext; stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  const stream = (append: (text: string) => void) =>
    ({
      isTTY: false,
      write: (chunk: string) => {
        append(chunk);
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

/** A bench script that writes `results` (with BENCH_SECONDS as `seconds`) as the real ones do. */
function standIn(name: string, results: object): string {
  return `import { mkdirSync, writeFileSync } from 'node:fs';
const dir = new URL('../../bench/results/', import.meta.url);
mkdirSync(dir, { recursive: true });
const seconds = Number(process.env.BENCH_SECONDS ?? 2);
const file = new URL('${name}-' + new Date().toISOString().replaceAll(':', '-') + '.json', dir);
writeFileSync(file, JSON.stringify({ ...${JSON.stringify(results)}, seconds }));
console.log('${name} done');
`;
}

describe('keyway bench on a scratch package', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'keyway-bench-test-'));
    await mkdir(join(root, 'dist', 'bench'), { recursive: true });
    await writeFile(join(root, 'dist', 'bench', 'codes.js'), standIn('codes', CODES));
    await writeFile(join(root, 'dist', 'bench', 'firmware.js'), standIn('firmware', FIRMWARE));
    await writeFile(
      join(root, 'dist', 'bench', 'protocol.js'),
      "console.error('no crypto here');\nprocess.exit(1);\n",
    );
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('runs the chosen benches with BENCH_SECONDS and tables what they wrote', async () => {
    const { context, stdout, stderr } = capture();
    const code = await createBenchCommand(root).run(
      ['--only', 'codes,firmware', '--seconds', '1', '--json'],
      context,
    );
    expect(code).toBe(0);
    expect(stderr()).toBe('keyway bench: running codes...\nkeyway bench: running firmware...\n');
    const { benches } = JSON.parse(stdout()) as {
      benches: { bench: string; file: string; cpu: string; figures: { value: number }[] }[];
    };
    expect(benches.map((b) => b.bench)).toEqual(['codes', 'firmware']);
    expect(benches[0]?.file).toMatch(/^bench\/results\/codes-.*\.json$/);
    expect(benches[0]?.figures[0]?.value).toBe(CODES.results.kernel);
    expect(benches[1]?.figures.map((f) => f.value)).toEqual([10954257.6, 119420.5, 1333.3]);
  });

  it('--latest runs nothing and reads the newest results; the text names the files', async () => {
    const { context, stdout, stderr } = capture();
    expect(await createBenchCommand(root).run(['--latest'], context)).toBe(0);
    expect(stderr()).toBe('');
    expect(stdout()).toMatch(/^bench {3,}figure/);
    expect(stdout()).toMatch(
      /^codes: bench\/results\/codes-.*\.json \(node v20\.20\.2, Test CPU\)$/m,
    );
    expect(stdout()).not.toContain('protocol');
  });

  it('a bench that fails is a run-time failure with its last words', async () => {
    const error: unknown = await createBenchCommand(root)
      .run(['--only', 'protocol'], capture().context)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/protocol\.js exited with 1: no crypto here$/);
  });

  it('a missing script is a failure that says to build', async () => {
    const error: unknown = await createBenchCommand(root)
      .run(['--only', 'unlock'], capture().context)
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe('dist/bench/unlock.js is missing: run npm run build');
  });

  it.each([
    [
      ['--only', 'codes,speed'],
      '--only: unknown bench "speed" (benches: codes, protocol, firmware, unlock, ble, building)',
    ],
    [['--seconds', '0'], '--seconds: must be 1..600, got 0'],
    [['--seconds', 'two'], '--seconds: "two" is not a whole number'],
    [['--latest', '--seconds', '1'], '--seconds: does not go with --latest, which runs nothing'],
    [['--fast'], '--fast: unknown option'],
  ])('%j is an input error: %s', async (args, message) => {
    const error: unknown = await createBenchCommand(root)
      .run(args, capture().context)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(message);
  });

  it('--help has examples', () => {
    expect(createBenchCommand(root).help).toMatch(/Examples:\n {2}keyway bench\n/);
  });

  it('through the built CLI, a bad flag exits 2 with one line on stderr', () => {
    ensureBuilt();
    const result = runCli(['bench', '--only', 'speed']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^keyway bench: --only: unknown bench "speed" [^\n]+\n$/);
  });
});
