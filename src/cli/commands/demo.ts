/**
 * `keyway demo`: a short tour of daily doorcodes (ARCHITECTURE.md §5) on a built-in demo
 * property: today's first codes of a few doors, then one door's lock-side check of two of them.
 */
import { dayBounds, dayLabelAt } from '../../../protocol/doorcode/day-label.js';
import { DayTable, graceMs } from '../../../protocol/doorcode/day-table.js';
import type { DayCodeCheck } from '../../../protocol/doorcode/day-table.js';
import { DOORCODE_DEFAULTS } from '../../../protocol/doorcode/deriver.js';
import { DOORCODE_ERRORS } from '../../../protocol/doorcode/errors.js';
import { createDoorcodeKernel } from '../../../protocol/doorcode/kernel.js';
import { deriveDoorKey } from '../../../protocol/doorcode/reference.js';
import { deriveCodes } from '../../core/bulk-codes.js';
import { InputError } from '../../core/errors.js';
import { parseOptions } from '../args.js';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';

/**
 * The demo property. Its key is public (it spells out what it is), so codes shown here can be
 * reproduced anywhere; it must never protect a real door.
 */
const DEMO_PROPERTY = {
  name: 'Demo Building',
  key: new TextEncoder().encode('keyway demo property key: public'),
  timeZone: 'America/New_York',
  doors: ['lobby', 'gym', 'unit-4b'],
} as const;
const SHOWN_SLOTS = 4;

const OPTIONS = { date: { type: 'string' } } as const;

const HELP = `Usage: keyway demo [--date YYYY-MM-DD]

A short tour of daily doorcodes on a built-in demo property (${DEMO_PROPERTY.timeZone}, doors
${DEMO_PROPERTY.doors.join(', ')}): the first ${SHOWN_SLOTS} codes of each door for one day, then
the lobby lock checking its own code and another door's against its day table. The demo property
key is public: never use it for a real door.

Options:
  --date YYYY-MM-DD   the day to show (default: today in ${DEMO_PROPERTY.timeZone})
  -h, --help          show this help

Exit codes: 0 ok, 2 bad input (one line on stderr).

Examples:
  keyway demo
  keyway demo --date 2026-03-08     (a 23-hour day in ${DEMO_PROPERTY.timeZone})`;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'a short tour of daily doorcodes on a built-in demo property',
  help: HELP,
  run(args, context) {
    const { date } = parseOptions(args, OPTIONS);
    const { timeZone, key, doors } = DEMO_PROPERTY;
    const from = date ?? isoDate(dayLabelAt(context.now(), timeZone));
    const codesOf = (doorId: string) => {
      try {
        return deriveCodes({ propertyKey: key, doorId, from, days: 1, slots: SHOWN_SLOTS });
      } catch (error) {
        throw error instanceof InputError ? new InputError('--date', error.problem) : error;
      }
    };
    const rows = doors.map((door) => ({ door, codes: codesOf(door).map((record) => record.code) }));
    const day = from.replaceAll('-', '');
    const [lobby, other] = rows;
    if (lobby === undefined || other === undefined) throw new Error('the demo needs two doors');

    // The lock holds only K_door; it checks at the chosen instant (today: now; else midday).
    let at: number;
    let table: DayTable;
    try {
      const bounds = dayBounds(day, timeZone);
      at = date === undefined ? context.now() : (bounds.start + bounds.end) / 2;
      const doorKey = deriveDoorKey(key, lobby.door);
      table = new DayTable({ deriver: createDoorcodeKernel(), doorKey, timeZone }, at);
    } catch (error) {
      // The table spans yesterday..tomorrow, which must stay inside years 0001..9999.
      if (date === undefined || !(error instanceof RangeError)) throw error;
      throw new InputError('--date', `${date} is too close to the ends of years 0001..9999`);
    }
    const check = (entry: string) => describeCheck(table.check(entry, at, { graceMs: graceMs(0) }));
    const entries = [lobby, other].map(({ door, codes }) => ({
      code: codes[0] ?? '',
      label: `${door} slot 0`,
    }));
    const labelWidth = Math.max(...entries.map(({ label }) => label.length)) + 2;

    const width = Math.max(...doors.map((door) => door.length)) + 2;
    const slotHeads = rows[0]?.codes.map((_, slot) => `slot ${slot}`.padEnd(9)) ?? [];
    const lines = [
      'keyway demo: daily doorcodes (ARCHITECTURE.md §5)',
      '',
      `${DEMO_PROPERTY.name}, ${timeZone} (public demo key: never use it for a real door)`,
      `${from} (day label ${day}), the first ${SHOWN_SLOTS} of ${DOORCODE_DEFAULTS.slots} slots:`,
      '',
      `  ${'door'.padEnd(width)}${slotHeads.join('')}`.trimEnd(),
      ...rows.map(({ door, codes }) =>
        `  ${door.padEnd(width)}${codes.map((code) => code.padEnd(9)).join('')}`.trimEnd(),
      ),
      '',
      `The ${lobby.door} lock checks keypad entries against its day table (yesterday..tomorrow):`,
      ...entries.map(({ code, label }) => `  ${code}  ${label.padEnd(labelWidth)}${check(code)}`),
      '',
      'The same codes in bulk:',
      `  keyway codes --property-key ${Buffer.from(key).toString('hex')} \\`,
      `    --door ${lobby.door} --from ${from} --days 1 --slots ${SHOWN_SLOTS} --format csv`,
      '',
    ];
    context.stdout.write(lines.join('\n'));
    return Promise.resolve(EXIT.ok);
  },
};

function isoDate(label: string): string {
  return `${label.slice(0, 4)}-${label.slice(4, 6)}-${label.slice(6, 8)}`;
}

function describeCheck(result: DayCodeCheck): string {
  if (result.ok) return `accepted (${result.kind}, slot ${result.slot} of ${result.day})`;
  const name = Object.entries(DOORCODE_ERRORS).find(([, code]) => code === result.code)?.[0];
  return `rejected (${name ?? result.code})`;
}
