/**
 * `keyway run <scenario.yaml|.json>`: runs a scenario (docs/SCENARIOS.md) deterministically by
 * seed, writes its event log (JSON lines) and a summary JSON into a directory, and prints a
 * report. Exit 0 when every expectation is met, 1 when one is not (with `expected … / happened
 * …`), 2 for a scenario or option that cannot run (one line naming the exact path).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { InputError } from '../../core/errors.js';
import { judge } from '../../scenario/expectations.js';
import { parseScenario } from '../../scenario/format.js';
import { ScenarioError } from '../../scenario/reader.js';
import { reportText, summarize } from '../../scenario/report.js';
import { runScenario } from '../../scenario/runner.js';
import type { RunOptions } from '../../scenario/runner.js';
import { FIDELITIES } from '../../scenario/scenario.js';
import type { Fidelity, Scenario } from '../../scenario/scenario.js';
import { parseTime } from '../../scenario/time.js';
import { parseOptions, UsageError } from '../args.js';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';

const OPTIONS = {
  seed: { type: 'string' },
  until: { type: 'string' },
  fidelity: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const EXTENSIONS = ['.yaml', '.yml', '.json'];

const HELP = `Usage: keyway run <scenario.yaml|.json> [--seed N] [--until TIME] [--fidelity full|model]
                  [--out DIR] [--json]

Runs a scenario: a building (doors and their locks), people (keys, phones, codes), a timeline
of actions and faults, and expectations on events, states and outcomes (docs/SCENARIOS.md).
The same scenario and seed give the same event log, byte for byte.

Writes into the output directory:
  events.jsonl   every lock event, one JSON object per line ({"t":…,"lock":…,"type":…})
  summary.json   the outcome of each step and expectation, event counts

Options:
  --seed N                 the run's seed (default: the scenario's "seed", else 1)
  --until TIME             run until then: an offset from the start (30d, +2h), "day 3 09:00",
                           or a date and time (default: the scenario's "until", else an hour
                           after the last time it names)
  --fidelity full|model    full (default): phones unlock over the virtual radio with the real
                           protocol; model: phones present their credentials directly to the
                           same authorization code (no radio, no cryptography per unlock)
  --out DIR                where to write (created if needed; default: a new directory under
                           the system's temporary directory, named in the report)
  --json                   print the summary JSON instead of the report
  -h, --help               show this help

Exit codes: 0 every expectation met, 1 an expectation failed (the report shows expected and
happened), 2 bad input (the scenario's exact path and line, or the option), 3 run-time failure.

Examples:
  keyway run examples/r-fail-secure-outage.yaml
  keyway run examples/door-held-open.yaml --seed 7 --out runs/held-open
  keyway run examples/guest-window-dst.yaml --fidelity model --json
  keyway run examples/c2-dead-battery-qi.yaml --until 30d`;

export const runCommand: Command = {
  name: 'run',
  summary: 'run a scenario file with expectations (event log and summary in a directory)',
  help: HELP,
  async run(args, context) {
    const [file, rest] = splitPositional(args);
    const values = parseOptions(rest, OPTIONS);
    const scenario = readScenario(file);
    const options = runOptions(values, scenario);
    let run;
    try {
      run = await runScenario(scenario, options);
    } catch (error) {
      throw error instanceof ScenarioError ? error.located(file) : error;
    }
    const results = judge(run);
    const summary = summarize(run, results, basename(file));
    const dir = outputDirectory(values.out, file);
    const files = { log: join(dir, 'events.jsonl'), summary: join(dir, 'summary.json') };
    writeFileSync(files.log, run.log);
    writeFileSync(files.summary, `${JSON.stringify(summary, null, 2)}\n`);
    context.stdout.write(
      values.json === true
        ? `${JSON.stringify({ ...summary, out: files }, null, 2)}\n`
        : reportText(run, results, file, files),
    );
    return summary.passed ? EXIT.ok : EXIT.expectationFailed;
  },
};

/** The one scenario file among the arguments, and the options around it. */
function splitPositional(args: readonly string[]): [string, string[]] {
  const positionals: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith('-')) {
      rest.push(arg);
      const name = arg.replace(/^--?/, '');
      const spec = (OPTIONS as Record<string, { type: string } | undefined>)[name];
      // A string option's value is the next argument, even one that looks like a file.
      if (spec?.type === 'string' && !arg.includes('=') && i + 1 < args.length) {
        rest.push(args[++i]!);
      }
    } else {
      positionals.push(arg);
    }
  }
  if (positionals.length === 0) throw new UsageError('scenario', 'missing scenario file');
  if (positionals.length > 1) {
    throw new UsageError(JSON.stringify(positionals[1]), 'one scenario file per run');
  }
  return [positionals[0]!, rest];
}

function readScenario(file: string): Scenario {
  if (!EXTENSIONS.includes(extname(file).toLowerCase())) {
    throw new InputError(file, `expected a .yaml, .yml or .json scenario file`);
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') throw new InputError(file, 'no such file');
    if (code === 'EISDIR') throw new InputError(file, 'is a directory, not a scenario file');
    throw error;
  }
  return parseScenario(text, file);
}

function runOptions(
  values: { seed?: string; until?: string; fidelity?: string },
  scenario: Scenario,
): RunOptions {
  let until: number | undefined;
  if (values.until !== undefined) {
    const parsed = parseTime(values.until, scenario.start, scenario.timeZone);
    if (!parsed.ok) throw new InputError('--until', parsed.problem);
    if (parsed.value < scenario.start) throw new InputError('--until', 'is before the start');
    until = parsed.value;
  }
  let fidelity: Fidelity | undefined;
  if (values.fidelity !== undefined) {
    fidelity = FIDELITIES.find((f) => f === values.fidelity);
    if (fidelity === undefined) {
      throw new InputError('--fidelity', `${JSON.stringify(values.fidelity)} is not full or model`);
    }
  }
  if (values.seed === '') throw new InputError('--seed', 'is empty');
  return {
    ...(values.seed === undefined ? {} : { seed: values.seed }),
    ...(fidelity === undefined ? {} : { fidelity }),
    ...(until === undefined ? {} : { until }),
  };
}

function outputDirectory(out: string | undefined, file: string): string {
  if (out !== undefined) {
    mkdirSync(out, { recursive: true });
    return out;
  }
  const name = basename(file, extname(file)).replace(/[^A-Za-z0-9._-]/g, '_');
  return mkdtempSync(join(tmpdir(), `keyway-run-${name}-`));
}
