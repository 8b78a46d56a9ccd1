/**
 * Argument parsing shared by the commands: `node:util` parseArgs in strict mode, with each of
 * its errors (and every value error) turned into an `InputError` that prints as one line.
 */
import { parseArgs } from 'node:util';
import { InputError } from '../core/errors.js';

/** A misuse of the command line itself (unknown or repeated option, missing option). */
export class UsageError extends InputError {
  override name = 'UsageError';
}

type OptionSpec = Readonly<Record<string, { readonly type: 'string' | 'boolean' }>>;

/** The values parseArgs gives for `spec`: strings or booleans, absent when not given. */
export type OptionValues<Spec extends OptionSpec> = {
  [Name in keyof Spec]?: Spec[Name]['type'] extends 'string' ? string : boolean;
};

/**
 * Parses `args` against `spec` (long options only; no positionals). Refuses unknown options,
 * missing values and options given twice.
 */
export function parseOptions<Spec extends OptionSpec>(
  args: readonly string[],
  spec: Spec,
): OptionValues<Spec> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options: spec, strict: true, tokens: true });
  } catch (error) {
    throw usageError(error);
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option') continue;
    if (seen.has(token.name)) throw new UsageError(token.rawName, 'given more than once');
    seen.add(token.name);
  }
  return parsed.values as OptionValues<Spec>;
}

/** True when `args` ask for help (`--help` or `-h` before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** The value of a required option. */
export function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new UsageError(flag, 'is required');
  return value;
}

/** A whole number in decimal; the range is checked by whoever uses it. */
export function parseInteger(flag: string, text: string): number {
  if (!/^-?\d{1,15}$/.test(text)) {
    throw new InputError(flag, `${JSON.stringify(text)} is not a whole number`);
  }
  return Number(text);
}

/** A key of exactly `bytes` bytes in hex. The text is never echoed: it is key material. */
export function parseHexKey(flag: string, text: string, bytes: number): Uint8Array {
  if (!/^[0-9a-fA-F]*$/.test(text)) throw new InputError(flag, 'is not hex (expected 0-9, a-f)');
  if (text.length !== 2 * bytes) {
    throw new InputError(
      flag,
      `must be ${2 * bytes} hex digits (${bytes} bytes), got ${text.length} digits`,
    );
  }
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/** Maps parseArgs errors, whose messages span lines and vary by Node version, to one line. */
function usageError(error: unknown): InputError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const quoted = /'([^']*)'/.exec(message)?.[1]?.replace(/ <value>$/, '') ?? '';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(quoted, 'unknown option');
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /does not take an argument/.test(message)
        ? new UsageError(quoted, 'takes no value')
        : new UsageError(
            quoted,
            `missing value; for a value starting with "-", write ${quoted}=VALUE`,
          );
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(
        JSON.stringify(quoted),
        'unexpected argument: this command takes options only',
      );
    default:
      return new UsageError('arguments', message.split('\n')[0] ?? message);
  }
}
