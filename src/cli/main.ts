#!/usr/bin/env node
/**
 * The `keyway` command line: `keyway <command> [options]`. Each command lives in its own module
 * under `commands/`; this file dispatches, prints help and the version, and turns errors into
 * one line on stderr and an exit code.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../core/errors.js';
import { UsageError, wantsHelp } from './args.js';
import { EXIT } from './command.js';
import type { Command, CommandContext } from './command.js';
import { benchCommand } from './commands/bench.js';
import { bleCommand } from './commands/ble.js';
import { codesCommand } from './commands/codes.js';
import { demoCommand } from './commands/demo.js';
import { runCommand } from './commands/run.js';
import { isReaderGone } from './output.js';

const COMMANDS: readonly Command[] = [
  codesCommand,
  demoCommand,
  runCommand,
  benchCommand,
  bleCommand,
];

function programHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 3;
  return `keyway ${version()}: simulator of Latch-style smart locks

Usage: keyway <command> [options]
       keyway <command> --help

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(width)}${command.summary}`).join('\n')}

Options:
  -h, --help    show this help
  --version     print the version

Exit codes:
  0  ok
  1  an expectation failed (scenario runs)
  2  bad input: unknown command or option, missing or invalid value (one line on stderr)
  3  run-time failure (a worker crashed, an I/O error); KEYWAY_DEBUG=1 prints the stack

Examples:
  keyway demo
  keyway demo --seed 7 --days 7 --out week-7
  keyway codes --door-key "$DOOR_KEY" --from 2026-03-01 --days 30 --slots 256 > march.jsonl
  keyway run examples/r-fail-secure-outage.yaml --seed 7
  keyway bench --only codes,protocol --seconds 1
  keyway ble selftest --mtu 23 --capture selftest.btsnoop
  keyway codes --help
`;
}

/** The package version, from the package.json above this file (in src/ or dist/src/). */
function version(): string {
  for (let dir = new URL('.', import.meta.url); dir.pathname !== '/'; dir = new URL('..', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'keyway' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not here: look one folder up.
    }
  }
  return 'unknown';
}

async function main(args: readonly string[], context: CommandContext): Promise<number> {
  const [name, ...rest] = args;
  const write = (text: string) => context.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  const known = COMMANDS.map((candidate) => candidate.name).join(', ');
  if (name === undefined) {
    return fail(
      context,
      'keyway',
      `missing command (commands: ${known}; see keyway --help)`,
      EXIT.badInput,
    );
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic =
      name === 'help' ? COMMANDS.find((command) => command.name === rest[0]) : undefined;
    write(topic?.help ?? programHelp());
    return EXIT.ok;
  }
  if (name === '--version') {
    write(version());
    return EXIT.ok;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command === undefined) {
    return fail(
      context,
      'keyway',
      `unknown command ${JSON.stringify(name)} (commands: ${known}; see keyway --help)`,
      EXIT.badInput,
    );
  }
  if (wantsHelp(rest)) {
    write(command.help);
    return EXIT.ok;
  }
  const prefix = `keyway ${command.name}`;
  try {
    return await command.run(rest, context);
  } catch (error) {
    if (error instanceof UsageError) {
      return fail(context, prefix, `${error.message} (see ${prefix} --help)`, EXIT.badInput);
    }
    if (error instanceof InputError) return fail(context, prefix, error.message, EXIT.badInput);
    if (
      process.env['KEYWAY_DEBUG'] === '1' &&
      error instanceof Error &&
      error.stack !== undefined
    ) {
      return fail(context, prefix, error.stack, EXIT.failure);
    }
    return fail(
      context,
      prefix,
      error instanceof Error ? error.message : String(error),
      EXIT.failure,
    );
  }
}

function fail(context: CommandContext, prefix: string, message: string, code: number): number {
  context.stderr.write(`${prefix}: ${message}\n`);
  return code;
}

// A reader that closes stdout early (`| head`) is not an error; anything else is.
process.stdout.on('error', (error: Error) => {
  if (isReaderGone(error)) return;
  process.stderr.write(`keyway: cannot write to stdout: ${error.message}\n`);
  process.exitCode = EXIT.failure;
});

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  now: () => Date.now(),
});
