/** `keyway codes`: bulk daily doorcodes of one door (§5), as JSON lines or CSV on stdout. */
import { DOORCODE_KEY_BYTES } from '../../../protocol/doorcode/reference.js';
import { bulkCodes, CODES_FORMATS, MAX_DAYS, MAX_WORKERS } from '../../core/bulk-codes.js';
import type {
  BulkCodesOptions,
  CodesField,
  CodesFormat,
  DoorSelector,
} from '../../core/bulk-codes.js';
import { InputError } from '../../core/errors.js';
import { parseHexKey, parseInteger, parseOptions, required, UsageError } from '../args.js';
import type { OptionValues } from '../args.js';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';
import { writeChunks } from '../output.js';
import { createProgress } from '../progress.js';

const OPTIONS = {
  'door-key': { type: 'string' },
  'property-key': { type: 'string' },
  door: { type: 'string' },
  from: { type: 'string' },
  days: { type: 'string' },
  slots: { type: 'string' },
  digits: { type: 'string' },
  'key-version': { type: 'string' },
  workers: { type: 'string' },
  format: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** The flag behind each library option, to report its errors in the user's terms. */
const FLAGS: Record<CodesField, string> = {
  doorKey: '--door-key',
  propertyKey: '--property-key',
  doorId: '--door',
  from: '--from',
  days: '--days',
  slots: '--slots',
  digits: '--digits',
  keyVersion: '--key-version',
  workers: '--workers',
  format: '--format',
  onProgress: 'progress',
};

const HELP = `Usage: keyway codes (--door-key HEX | --property-key HEX --door ID)
                    --from YYYY-MM-DD --days N --slots S [options]

Derives the daily doorcodes (ARCHITECTURE.md §5) of one door for N days from a date, slots
0..S-1 each, and writes them to stdout in order (day, then slot). The output is the same byte
for byte whatever the number of workers. A progress bar is drawn on stderr when it is a terminal.

Door (one of):
  --door-key HEX        K_door, 64 hex digits; the door column is then null (JSON) or empty (CSV)
  --property-key HEX    K_property, 64 hex digits, with --door: K_door is derived by HKDF
  --door ID             the door id (with --property-key), printed in the door column

Range:
  --from YYYY-MM-DD     first day (the property's local date)
  --days N              number of days, 1..${MAX_DAYS}
  --slots S             slots per day, 1..65536

Options:
  --digits L            code length, 1..9 (default 7)
  --key-version V       0..65535 (default 1)
  --workers N           worker threads, 0..${MAX_WORKERS} (default: one per million codes, up
                        to the cores; 0 or 1 derive in the main thread)
  --format jsonl|csv    default jsonl:
                          {"door":"lobby","day":"20260301","slot":0,"code":"0123456"}
                        csv: header door,day,slot,code
  -h, --help            show this help

--json does not apply: the output is already machine-readable; pick it with --format.
If the reader closes the pipe early (| head), keyway stops quietly with exit code 0.

Exit codes: 0 ok, 2 bad input (one line on stderr), 3 run-time failure.

Examples:
  keyway codes --door-key 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \\
    --from 2026-03-01 --days 30 --slots 256 > march.jsonl
  keyway codes --property-key "$PROPERTY_KEY" --door lobby --from 2026-03-01 --days 1 \\
    --slots 16 --format csv
  keyway codes --door-key "$DOOR_KEY" --from 2026-01-01 --days 365 --slots 256 --workers 4 | head

  A public demo property (its key spells "keyway demo property key: public": never use it for
  a real door): the first 4 codes of the lobby on a 23-hour day in America/New_York
  keyway codes --property-key 6b65797761792064656d6f2070726f7065727479206b65793a207075626c6963 \\
    --door lobby --from 2026-03-08 --days 1 --slots 4 --format csv`;

export const codesCommand: Command = {
  name: 'codes',
  summary: 'derive daily doorcodes in bulk (JSON lines or CSV on stdout)',
  help: HELP,
  async run(args, context) {
    const options = codesOptions(parseOptions(args, OPTIONS));
    const progress = createProgress(context.stderr, 'codes', context.now);
    let job;
    try {
      job = bulkCodes({ ...options, onProgress: progress.update });
    } catch (error) {
      throw inFlagTerms(error);
    }
    try {
      await writeChunks(context.stdout, job);
    } finally {
      progress.finish();
    }
    return EXIT.ok;
  },
};

/** Turns the parsed flags into library options; the library checks the ranges. */
function codesOptions(values: OptionValues<typeof OPTIONS>): BulkCodesOptions {
  if (values.json === true) {
    throw new UsageError('--json', 'does not apply to codes, whose output is chosen with --format');
  }
  const integer = (flag: string, text: string | undefined): number | undefined =>
    text === undefined ? undefined : parseInteger(flag, text);
  const digits = integer('--digits', values.digits);
  const keyVersion = integer('--key-version', values['key-version']);
  const workers = integer('--workers', values.workers);
  const format = values.format === undefined ? undefined : parseFormat(values.format);
  return {
    ...selectDoor(values),
    from: required(values.from, '--from'),
    days: parseInteger('--days', required(values.days, '--days')),
    slots: parseInteger('--slots', required(values.slots, '--slots')),
    ...(digits === undefined ? {} : { digits }),
    ...(keyVersion === undefined ? {} : { keyVersion }),
    ...(workers === undefined ? {} : { workers }),
    ...(format === undefined ? {} : { format }),
  };
}

function selectDoor(values: OptionValues<typeof OPTIONS>): DoorSelector {
  const doorKey = values['door-key'];
  const propertyKey = values['property-key'];
  const door = values.door;
  if (doorKey !== undefined) {
    if (propertyKey !== undefined) {
      throw new UsageError('--door-key', 'conflicts with --property-key: give one of them');
    }
    if (door !== undefined) throw new UsageError('--door', 'goes with --property-key only');
    return { doorKey: parseHexKey('--door-key', doorKey, DOORCODE_KEY_BYTES) };
  }
  if (propertyKey !== undefined) {
    return {
      propertyKey: parseHexKey('--property-key', propertyKey, DOORCODE_KEY_BYTES),
      doorId: required(door, '--door'),
    };
  }
  if (door !== undefined) throw new UsageError('--property-key', 'is required with --door');
  throw new UsageError('--door-key', 'is required, or --property-key with --door');
}

function parseFormat(text: string): CodesFormat {
  const format = CODES_FORMATS.find((name) => name === text);
  if (format === undefined) {
    throw new InputError(
      '--format',
      `${JSON.stringify(text)} is not a format (expected ${CODES_FORMATS.join(' or ')})`,
    );
  }
  return format;
}

/** Renames a library `InputError` after the flag that carried the bad value. */
function inFlagTerms(error: unknown): unknown {
  if (!(error instanceof InputError)) return error;
  const flag = (FLAGS as Record<string, string | undefined>)[error.field] ?? error.field;
  return new InputError(flag, error.problem);
}
