/**
 * Reads a scenario file (docs/SCENARIOS.md) into the model of `scenario.ts`: YAML 1.2 (JSON is a
 * subset, so `.json` files go through the same parser) with `yaml`, then the strict validator of
 * `reader.ts`. Every problem is one `ScenarioError` naming the exact path, prefixed with the
 * file, line and column of the node at fault; nothing runs until the whole file is valid.
 *
 * Cross-checks beyond types: door and person ids exist (the error lists the known ones), times
 * fall after the start and the timeline is in time order, actions fit the door's model
 * (ARCHITECTURE.md §3: only an R has a door sensor, only a C2 a Qi coil, …), guests name the
 * resident who shares their key, and an expectation's `where` names fields its event type has
 * (`firmware-sim/events.ts`).
 */
import { LineCounter, parseDocument } from 'yaml';
import { assertTimeZone, dayLabelAt, wallClockMs } from '../../protocol/doorcode/day-label.js';
import { EVENT } from '../../firmware-sim/events.js';
import type { EventType } from '../../firmware-sim/events.js';
import { AJAR_SECONDS, STILL_AJAR_MINUTES } from '../../firmware-sim/models.js';
import type { WeeklyWindow } from '../../protocol/formats/common.js';
import { Field, ScenarioError } from './reader.js';
import type { Segment } from './reader.js';
import type {
  CodeSpec,
  CountSpec,
  DailyCodeSpec,
  DoorModel,
  DoorSpec,
  EventExpectation,
  Expectation,
  FieldValue,
  KeySpec,
  PersonSpec,
  Scenario,
  StateExpectation,
  StateField,
  Step,
  StepExpectation,
} from './scenario.js';
import {
  DOOR_MODELS,
  FIDELITIES,
  OUTCOMES,
  PERSON_ACTIONS,
  isPlainDoorAction,
  PLAIN_DOOR_ACTIONS,
  ROLES,
  STATE_FIELDS,
} from './scenario.js';
import { instantOfWallClock, parseDuration, parseTime } from './time.js';

/** The fields each event type carries besides `t`, `lock` and `type` (events.ts table). */
export const EVENT_FIELDS: { readonly [T in EventType]: readonly string[] } = {
  POWER_LOST: ['relay'],
  POWER_RESTORED: [],
  NEEDS_UPDATE: [],
  TIME_SYNCED: [],
  RELAY: ['relay'],
  DOOR_OPENED: [],
  DOOR_CLOSED: [],
  DOOR_AJAR: ['openMs'],
  DOOR_STILL_AJAR: ['openMs', 'repeat'],
  DOOR_BREACHED: [],
  DOOR_SECURE: [],
  REX: [],
  UNLOCKED: ['by', 'holdMs'],
  RELOCKED: ['reason'],
  BOLT: ['bolt'],
  UNLOCK_REFUSED: ['reason'],
  JAMMED: ['bolt'],
  LOW_BATTERY: ['percent'],
  BATTERY_CRITICAL: ['percent'],
  BATTERY_SWAPPED: [],
  POWER_SOURCE: ['source'],
  QI_JUMP_START: [],
  KEYPAD_LOCKOUT: ['wrongEntries', 'lockoutMs'],
  ACCESS: ['method', 'result', 'reason', 'credential', 'user', 'doorcode'],
  SYNC_APPLIED: ['version'],
  SYNC_REFUSED: ['reason'],
  TIME_SYNC_REFUSED: ['reason'],
  PASSAGE_STARTED: ['by'],
  PASSAGE_ENDED: ['by'],
  BLE_CONNECTED: [],
  BLE_DISCONNECTED: ['reason'],
  FLASH_WRITE_FAILED: [],
};
const EVENT_TYPES = Object.keys(EVENT) as EventType[];

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const DAY_SETS: Readonly<Record<string, number>> = {
  daily: 0b1111111,
  weekdays: 0b0011111,
  weekends: 0b1100000,
};
const CLOCK = /^(\d{2}):(\d{2})$/;

/** Which models take each door action (§3), and how to say why not. */
const ACTION_MODELS: Readonly<Record<string, readonly [readonly DoorModel[], string]>> = {
  openDoor: [['R'], 'door sensor'],
  closeDoor: [['R'], 'door sensor'],
  holdDoorOpen: [['R'], 'door sensor'],
  rexMotion: [['R'], 'request-to-exit sensor'],
  swapBattery: [['M', 'C', 'C2'], 'battery'],
  drainBattery: [['M', 'C', 'C2'], 'battery'],
  jamBolt: [['M', 'C', 'C2'], 'motorised bolt'],
  freeBolt: [['M', 'C', 'C2'], 'motorised bolt'],
  qiJumpStart: [['C2'], 'Qi coil'],
};

/** Reads scenario `text` from `file` (its name is used in messages only). */
export function parseScenario(text: string, file: string): Scenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    const { line, col } = lineCounter.linePos(syntax.pos[0]);
    const where = `${file}:${line}:${col}`;
    const problem = syntax.message.split('\n')[0] ?? syntax.message;
    throw new ScenarioError([], `not valid YAML or JSON: ${problem}`).located(where);
  }
  try {
    return readScenario(new Field(doc.toJS({ maxAliasCount: 100 }) as unknown));
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error;
    throw error.located(locate(doc, lineCounter, error.segments, file));
  }
}

/** `file:line:column` of the deepest node of `segments` that the document has. */
function locate(
  doc: ReturnType<typeof parseDocument>,
  lines: LineCounter,
  segments: readonly Segment[],
  file: string,
): string {
  for (let n = segments.length; n >= 0; n--) {
    const node = doc.getIn(segments.slice(0, n), true) as { range?: [number, number, number] };
    const offset = node?.range?.[0];
    if (offset !== undefined) {
      const { line, col } = lines.linePos(offset);
      return `${file}:${line}:${col}`;
    }
  }
  return file;
}

interface Context {
  readonly zone: string;
  readonly start: number;
  readonly doors: ReadonlyMap<string, DoorSpec>;
  readonly people: ReadonlyMap<string, PersonSpec>;
}

function readScenario(root: Field): Scenario {
  const top = root.mapping(
    [
      'name',
      'description',
      'seed',
      'fidelity',
      'until',
      'building',
      'people',
      'timeline',
      'expect',
    ],
    ['name', 'building'],
  );
  const building = top['building']!.mapping(
    ['timeZone', 'start', 'doors'],
    ['timeZone', 'start', 'doors'],
  );
  const zoneField = building['timeZone']!;
  const zone = zoneField.string();
  try {
    assertTimeZone(zone);
  } catch {
    zoneField.fail(
      `unknown time zone ${JSON.stringify(zone)} (an IANA name like America/New_York)`,
    );
  }
  const startField = building['start']!;
  const startText = startField.text();
  if (startText.startsWith('+') || startText.startsWith('day ')) {
    startField.fail('the start must be a date and time (like 2026-03-02T09:00 or …Z)');
  }
  const start = time(startField, 0, zone);

  const doorList = building['doors']!.entries((id, field) => checkId(id, field, 'door'));
  if (doorList.length === 0) building['doors']!.fail('expected at least one door');
  const doors = new Map(doorList.map((field) => [key(field), readDoor(field)]));
  const peopleFields = top['people']?.entries((id, field) => checkId(id, field, 'person')) ?? [];
  const names = new Map(peopleFields.map((field) => [key(field), field]));
  const shared: SharedKey[] = [];
  const people = new Map<string, PersonSpec>();
  for (const field of peopleFields) {
    people.set(key(field), readPerson(field, { zone, start, doors }, names, shared));
  }
  for (const share of shared) checkSharer(share, people);
  const context: Context = { zone, start, doors, people };

  const timelineFields = top['timeline']?.list() ?? [];
  const timeline = timelineFields.map((field, index) => readStep(field, index, context));
  const atOf = (i: number): Field => timelineFields[i]!.mapping(STEP_KEYS)['at']!;
  const stepIds = new Map<string, Step>();
  timeline.forEach((step, i) => {
    const previous = timeline[i - 1];
    if (previous !== undefined && step.at < previous.at) {
      atOf(i).fail(
        `${JSON.stringify(atOf(i).value)} is before timeline[${i - 1}] ` +
          `(${JSON.stringify(atOf(i - 1).value)}): list the timeline in time order`,
      );
    }
    if (step.id === undefined) return;
    if (stepIds.has(step.id)) {
      timelineFields[i]!.mapping(STEP_KEYS)['id']!.fail(`step id "${step.id}" is used twice`);
    }
    stepIds.set(step.id, step);
  });

  const expectations = (top['expect']?.list() ?? []).map((field, index) =>
    readExpectation(field, index, context, stepIds),
  );

  const lastNamed = Math.max(
    start,
    ...timeline.map((step) => step.at + (step.action === 'holdDoorOpen' ? step.forMs : 0)),
    ...expectations.map((e) =>
      e.kind === 'state' ? e.at : e.kind === 'event' ? (e.to ?? e.from ?? start) : start,
    ),
  );
  let until = lastNamed + HOUR_MS;
  if (top['until'] !== undefined) {
    until = time(top['until'], start, zone);
    const last = timeline.at(-1);
    if (last !== undefined && until < last.at) {
      top['until'].fail(`the run would end before timeline[${last.index}]`);
    }
  }
  const fidelityField = top['fidelity'];
  const description = top['description']?.string();
  return {
    name: top['name']!.string(),
    ...(description === undefined ? {} : { description }),
    seed: top['seed']?.text() ?? '1',
    ...(fidelityField === undefined ? {} : { fidelity: fidelityField.oneOf(FIDELITIES) }),
    timeZone: zone,
    start,
    until,
    doors: [...doors.values()],
    people: [...people.values()],
    timeline,
    expectations,
  };
}

function key(field: Field): string {
  return String(field.segments.at(-1));
}

function checkId(id: string, field: Field, what: string): void {
  if (!ID.test(id)) {
    field.fail(
      `${what} ids are letters, digits, ".", "_" and "-", starting with a letter or digit`,
    );
  }
}

/** An instant from a time field; offsets count from `start`. */
function time(field: Field, start: number, zone: string): number {
  const parsed = parseTime(field.text(), start, zone);
  if (!parsed.ok) field.fail(parsed.problem);
  return parsed.value;
}

/** An instant at or after the start. */
function runTime(field: Field, context: Context): number {
  const t = time(field, context.start, context.zone);
  if (t < context.start) field.fail(`${JSON.stringify(field.value)} is before the start`);
  return t;
}

function duration(field: Field): number {
  const parsed = parseDuration(field.text());
  if (!parsed.ok) field.fail(parsed.problem);
  return parsed.value;
}

function readDoor(field: Field): DoorSpec {
  const f = field.mapping(
    [
      'model',
      'name',
      'wiring',
      'ajarSeconds',
      'stillAjarMinutes',
      'relockSeconds',
      'battery',
      'wired',
      'driftPpm',
      'position',
      'passage',
    ],
    ['model'],
  );
  const model = f['model']!.oneOf(DOOR_MODELS);
  const onlyFor = (name: string, models: readonly DoorModel[], what: string): void => {
    if (f[name] !== undefined && !models.includes(model)) {
      f[name].fail(`a ${model} has no ${what} (only ${models.join(', ')})`);
    }
  };
  onlyFor('wiring', ['R'], 'relay wiring');
  onlyFor('ajarSeconds', ['R'], 'door sensor');
  onlyFor('stillAjarMinutes', ['R'], 'door sensor');
  onlyFor('battery', ['M', 'C', 'C2'], 'battery');
  onlyFor('wired', ['M'], 'wired supply');
  if (model === 'R' && f['wiring'] === undefined) {
    field.fail('missing key "wiring" (an R is wired fail-safe or fail-secure)');
  }
  const position = f['position'];
  let x = 0;
  let y = 0;
  if (position !== undefined) {
    const items = position.list();
    if (items.length !== 2) position.fail('expected [x, y] in metres');
    x = items[0]!.number();
    y = items[1]!.number();
  }
  const read = <T>(name: string, reader: (field: Field) => T): T | undefined => {
    const item = f[name];
    return item === undefined ? undefined : reader(item);
  };
  const wiring = read('wiring', (v) => v.oneOf(['fail-safe', 'fail-secure'] as const));
  const ajarSeconds = read('ajarSeconds', (v) => v.oneOf(AJAR_SECONDS));
  const stillAjarMinutes = read('stillAjarMinutes', (v) => v.oneOf(STILL_AJAR_MINUTES));
  const relockSeconds = read('relockSeconds', (v) =>
    v.number({ min: 1, max: 3600, integer: true }),
  );
  const batteryPercent = read('battery', (v) => v.number({ min: 0, max: 100 }));
  const wired = read('wired', (v) => v.boolean());
  const driftPpm = read('driftPpm', (v) => v.number({ min: -1000, max: 1000 }));
  const passage = read('passage', readWindows);
  return {
    id: key(field),
    name: f['name']?.string() ?? key(field),
    model,
    position: { x, y },
    ...(wiring === undefined ? {} : { wiring }),
    ...(ajarSeconds === undefined ? {} : { ajarSeconds }),
    ...(stillAjarMinutes === undefined ? {} : { stillAjarMinutes }),
    ...(relockSeconds === undefined ? {} : { relockSeconds }),
    ...(batteryPercent === undefined ? {} : { batteryPercent }),
    ...(wired === undefined ? {} : { wired }),
    ...(driftPpm === undefined ? {} : { driftPpm }),
    ...(passage === undefined ? {} : { passage }),
  };
}

/** Weekly windows: `[{ days: weekdays, from: "09:00", to: "17:00" }]`. */
function readWindows(field: Field): WeeklyWindow[] {
  return field.list({ min: 1 }).map((item) => {
    const f = item.mapping(['days', 'from', 'to'], ['days', 'from', 'to']);
    const start = clockMinutes(f['from']!, false);
    const end = clockMinutes(f['to']!, true);
    if (end <= start) f['to']!.fail('must be after "from" (split a window across midnight in two)');
    return { days: readDays(f['days']!), start, end };
  });
}

function readDays(field: Field): number {
  if (typeof field.value === 'string' && DAY_SETS[field.value] !== undefined) {
    return DAY_SETS[field.value]!;
  }
  const choices = `${WEEKDAYS.join(', ')}, or one of ${Object.keys(DAY_SETS).join(', ')}`;
  if (!Array.isArray(field.value)) {
    field.fail(`expected a list of days (${choices}), got ${JSON.stringify(field.value)}`);
  }
  let bits = 0;
  for (const item of field.list({ min: 1 })) bits |= 1 << WEEKDAYS.indexOf(item.oneOf(WEEKDAYS));
  return bits;
}

function clockMinutes(field: Field, allowMidnightEnd: boolean): number {
  const text = field.string();
  const match = CLOCK.exec(text);
  const minutes = match === null ? -1 : Number(match[1]) * 60 + Number(match[2]);
  const limit = allowMidnightEnd ? 1440 : 1439;
  if (match === null || Number(match[2]) > 59 || minutes > limit) {
    field.fail(`expected a time of day HH:MM (00:00 .. ${allowMidnightEnd ? '24:00' : '23:59'})`);
  }
  return minutes;
}

function doorRef(field: Field, context: Pick<Context, 'doors'>): DoorSpec {
  const id = field.text();
  const door = context.doors.get(id);
  if (door === undefined) {
    field.fail(
      `unknown door ${JSON.stringify(id)} (doors: ${[...context.doors.keys()].join(', ')})`,
    );
  }
  return door;
}

function personRef(field: Field, people: ReadonlyMap<string, unknown>): string {
  const id = field.text();
  if (!people.has(id)) {
    const known = [...people.keys()].join(', ');
    field.fail(`unknown person ${JSON.stringify(id)} (people: ${known === '' ? 'none' : known})`);
  }
  return id;
}

/** A guest's key, with the field naming its sharer, checked once everyone is read. */
interface SharedKey {
  readonly guest: string;
  readonly key: KeySpec;
  readonly field: Field;
}

function readPerson(
  field: Field,
  context: Pick<Context, 'zone' | 'start' | 'doors'>,
  people: ReadonlyMap<string, Field>,
  shared: SharedKey[],
): PersonSpec {
  const f = field.mapping(
    ['name', 'role', 'keys', 'phone', 'permanentCodes', 'dailyCodes'],
    ['role'],
  );
  const role = f['role']!.oneOf(ROLES);
  const keys = (f['keys']?.list() ?? []).map((item): KeySpec => {
    const k = item.mapping(['doors', 'schedule', 'from', 'until', 'sharedBy'], ['doors']);
    const doors = k['doors']!.listOrOne().map((d) => doorRef(d, context).id);
    const from = k['from'] === undefined ? undefined : time(k['from'], context.start, context.zone);
    const until =
      k['until'] === undefined ? undefined : time(k['until'], context.start, context.zone);
    if (from !== undefined && until !== undefined && until <= from) {
      k['until']!.fail('must be after "from"');
    }
    if ((role === 'guest' || role === 'vendor') && until === undefined) {
      item.fail(`missing key "until" (a ${role}'s access is time-limited)`);
    }
    const sharedBy = k['sharedBy'] === undefined ? undefined : personRef(k['sharedBy'], people);
    if (role === 'guest' && sharedBy === undefined) {
      item.fail('missing key "sharedBy" (a guest\'s key is shared by a resident)');
    }
    if (role !== 'guest' && sharedBy !== undefined) {
      k['sharedBy']!.fail(`only a guest's key is shared by someone (this is a ${role})`);
    }
    const spec: KeySpec = {
      doors,
      ...(k['schedule'] === undefined ? {} : { schedule: readWindows(k['schedule']) }),
      ...(from === undefined ? {} : { from }),
      ...(until === undefined ? {} : { until }),
      ...(sharedBy === undefined ? {} : { sharedBy }),
    };
    if (sharedBy !== undefined)
      shared.push({ guest: key(field), key: spec, field: k['sharedBy']! });
    return spec;
  });
  const permanentCodes = (f['permanentCodes']?.list() ?? []).map((d) => doorRef(d, context).id);
  const dailyCodes = (f['dailyCodes']?.list() ?? []).map((item): DailyCodeSpec => {
    if (typeof item.value !== 'object' || item.value === null) {
      return { door: doorRef(item, context).id, singleUse: false };
    }
    const d = item.mapping(['door', 'singleUse'], ['door']);
    return { door: doorRef(d['door']!, context).id, singleUse: d['singleUse']?.boolean() ?? false };
  });
  return {
    id: key(field),
    name: f['name']?.string() ?? key(field),
    role,
    keys,
    phone: f['phone']?.boolean() ?? keys.length > 0,
    permanentCodes,
    dailyCodes,
  };
}

/** A guest's sharer must be a resident holding a key to the same doors. */
function checkSharer(share: SharedKey, people: ReadonlyMap<string, PersonSpec>): void {
  const sharer = people.get(share.key.sharedBy!)!;
  if (sharer.role !== 'resident') {
    share.field.fail(`"${sharer.id}" is a ${sharer.role}, not a resident`);
  }
  const covered = new Set(
    sharer.keys.filter((k) => k.sharedBy === undefined).flatMap((k) => k.doors),
  );
  const missing = share.key.doors.filter((door) => !covered.has(door));
  if (missing.length > 0) {
    share.field.fail(`"${sharer.id}" holds no key to ${missing.join(', ')} to share`);
  }
}

const STEP_KEYS = ['at', 'do', 'id', 'door', 'person', 'for', 'to', 'ppm', 'code', 'keys'];
const ACTIONS = [
  ...PLAIN_DOOR_ACTIONS,
  'holdDoorOpen',
  'drainBattery',
  'setClockDrift',
  'enterCode',
  'pressKeys',
  'unlock',
  ...PERSON_ACTIONS,
] as const;

/** The keys each action takes besides `at`, `do` and `id`. */
function actionKeys(action: (typeof ACTIONS)[number]): readonly string[] {
  if (isPlainDoorAction(action)) return ['door'];
  switch (action) {
    case 'holdDoorOpen':
      return ['door', 'for'];
    case 'drainBattery':
      return ['door', 'to'];
    case 'setClockDrift':
      return ['door', 'ppm'];
    case 'enterCode':
      return ['door', 'code'];
    case 'pressKeys':
      return ['door', 'keys'];
    case 'unlock':
      return ['door', 'person'];
    case 'revoke':
    case 'phoneOffline':
    case 'phoneOnline':
      return ['person'];
  }
}

function readStep(field: Field, index: number, context: Context): Step {
  const action = field.mapping(STEP_KEYS, ['at', 'do'])['do']!.oneOf(ACTIONS);
  const keys = actionKeys(action);
  const f = field.mapping(['at', 'do', 'id', ...keys], ['at', 'do', ...keys]);
  const at = runTime(f['at']!, context);
  const base = { index, at, ...(f['id'] === undefined ? {} : { id: f['id'].text() }) };
  const person = f['person'] === undefined ? undefined : personRef(f['person'], context.people);
  if (action === 'phoneOffline' || action === 'phoneOnline' || action === 'revoke') {
    if (action !== 'revoke' && !context.people.get(person!)!.phone) {
      f['person']!.fail(`"${person}" has no phone`);
    }
    return { ...base, action, person: person! };
  }
  const door = doorRef(f['door']!, context);
  const needs = ACTION_MODELS[action];
  if (needs !== undefined && !needs[0].includes(door.model)) {
    f['door']!.fail(
      `door "${door.id}" (model ${door.model}) has no ${needs[1]}: ${action} needs model ` +
        needs[0].join(', ').replace(/, (?=[^,]*$)/, ' or '),
    );
  }
  if ((action === 'cutPower' || action === 'restorePower') && door.model !== 'R' && !door.wired) {
    f['door']!.fail(
      `door "${door.id}" (model ${door.model}) runs on batteries only: ${action} needs an R or ` +
        'a wired M (wired: true); use swapBattery or drainBattery',
    );
  }
  if (isPlainDoorAction(action)) return { ...base, action, door: door.id };
  switch (action) {
    case 'holdDoorOpen':
      return { ...base, action, door: door.id, forMs: duration(f['for']!) };
    case 'drainBattery':
      return { ...base, action, door: door.id, percent: f['to']!.number({ min: 0, max: 100 }) };
    case 'setClockDrift':
      return { ...base, action, door: door.id, ppm: f['ppm']!.number({ min: -1000, max: 1000 }) };
    case 'enterCode':
      return { ...base, action, door: door.id, code: readCode(f['code']!, door, context) };
    case 'pressKeys': {
      const keysText = f['keys']!.string();
      if (!/^[0-9#*]+$/.test(keysText)) f['keys']!.fail('expected keypad keys: 0-9, # and *');
      return { ...base, action, door: door.id, keys: keysText };
    }
    case 'unlock':
      if (!context.people.get(person!)!.phone) f['person']!.fail(`"${person}" has no phone`);
      return { ...base, action, door: door.id, person: person! };
  }
}

function readCode(field: Field, door: DoorSpec, context: Context): CodeSpec {
  if (typeof field.value === 'number') {
    field.fail(`expected a code in quotes (a number loses its leading zeros): "${field.value}"`);
  }
  if (typeof field.value === 'string') {
    const digits = field.string();
    if (!/^\d{1,12}$/.test(digits)) field.fail('expected digits, like "4815162"');
    return { kind: 'literal', digits };
  }
  const f = field.mapping(['daily', 'permanent', 'day']);
  if ((f['daily'] === undefined) === (f['permanent'] === undefined)) {
    field.fail('expected digits in quotes, { daily: PERSON } or { permanent: PERSON }');
  }
  if (f['permanent'] !== undefined) {
    if (f['day'] !== undefined) f['day'].fail('a permanent code has no day');
    const person = personRef(f['permanent'], context.people);
    if (!context.people.get(person)!.permanentCodes.includes(door.id)) {
      f['permanent'].fail(
        `"${person}" has no permanent code on door "${door.id}" (permanentCodes)`,
      );
    }
    return { kind: 'permanent', person };
  }
  const person = personRef(f['daily']!, context.people);
  if (!context.people.get(person)!.dailyCodes.some((d) => d.door === door.id)) {
    f['daily']!.fail(`"${person}" gets no daily codes on door "${door.id}" (dailyCodes)`);
  }
  return f['day'] === undefined
    ? { kind: 'daily', person }
    : { kind: 'daily', person, day: dayLabel(f['day'], context) };
}

/** A day label `YYYYMMDD` from `day 2` (the run's second local date) or `2026-03-03`. */
function dayLabel(field: Field, context: Context): string {
  const text = field.text();
  const run = /^day (\d{1,4})$/.exec(text);
  if (run !== null) {
    if (Number(run[1]) < 1) field.fail("days count from 1 (the start's date)");
    const noon =
      Math.floor(wallClockMs(context.start, context.zone) / DAY_MS) * DAY_MS +
      (Number(run[1]) - 1) * DAY_MS +
      12 * HOUR_MS;
    return dayLabelAt(instantOfWallClock(noon, context.zone) ?? noon, context.zone);
  }
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const check = date === null ? undefined : new Date(`${text}T00:00:00Z`);
  if (date === null || check === undefined || check.toISOString().slice(0, 10) !== text) {
    field.fail(`${JSON.stringify(text)} is not a day (like "day 2" or 2026-03-03)`);
  }
  return text.replaceAll('-', '');
}

function readExpectation(
  field: Field,
  index: number,
  context: Context,
  steps: ReadonlyMap<string, Step>,
): Expectation {
  const kinds = ['event', 'state', 'step'].filter(
    (kind) => typeof field.value === 'object' && field.value !== null && kind in field.value,
  );
  if (kinds.length !== 1) {
    field.fail('expected exactly one of "event", "state" or "step" in each expectation');
  }
  const label = (f: Readonly<Record<string, Field>>) =>
    f['name'] === undefined ? {} : { label: f['name'].string() };
  switch (kinds[0] as 'event' | 'state' | 'step') {
    case 'event':
      return readEventExpectation(field, index, context, label);
    case 'state': {
      const f = field.mapping(['state', 'at', 'door', 'name'], ['state', 'at', 'door']);
      const door = doorRef(f['door']!, context);
      const expectation: StateExpectation = {
        kind: 'state',
        index,
        ...label(f),
        at: runTime(f['at']!, context),
        door: door.id,
        fields: readStateFields(f['state']!, door),
      };
      return expectation;
    }
    case 'step': {
      const f = field.mapping(['step', 'outcome', 'reason', 'name'], ['step', 'outcome']);
      const id = f['step']!.text();
      if (!steps.has(id)) {
        const known = [...steps.keys()].join(', ');
        f['step']!.fail(
          `unknown step id ${JSON.stringify(id)} (ids: ${known === '' ? 'none; give steps an id' : known})`,
        );
      }
      const outcome = f['outcome']!.oneOf(OUTCOMES);
      const expectation: StepExpectation = {
        kind: 'step',
        index,
        ...label(f),
        step: id,
        outcome,
        ...(f['reason'] === undefined ? {} : { reason: f['reason'].string() }),
      };
      return expectation;
    }
  }
}

function readEventExpectation(
  field: Field,
  index: number,
  context: Context,
  label: (f: Readonly<Record<string, Field>>) => { label?: string },
): EventExpectation {
  const f = field.mapping(
    ['event', 'door', 'person', 'within', 'where', 'count', 'name'],
    ['event'],
  );
  const type = f['event']!.oneOf(EVENT_TYPES);
  const door = f['door'] === undefined ? undefined : doorRef(f['door'], context).id;
  const person = f['person'] === undefined ? undefined : personRef(f['person'], context.people);
  if (person !== undefined && type !== 'ACCESS') {
    f['person']!.fail('only ACCESS events name a person');
  }
  let from: number | undefined;
  let to: number | undefined;
  if (f['within'] !== undefined) {
    const bounds = f['within'].list();
    if (bounds.length !== 2) f['within'].fail('expected [from, to], two times');
    from = runTime(bounds[0]!, context);
    to = runTime(bounds[1]!, context);
    if (to < from) bounds[1]!.fail('must not be before the first time');
  }
  const where: Record<string, FieldValue> = {};
  if (f['where'] !== undefined) {
    const fields = EVENT_FIELDS[type];
    if (fields.length === 0) f['where'].fail(`${type} events have no fields`);
    for (const [name, value] of Object.entries(f['where'].mapping(fields))) {
      where[name] = scalar(value);
    }
  }
  return {
    kind: 'event',
    index,
    ...label(f),
    type,
    ...(door === undefined ? {} : { door }),
    ...(person === undefined ? {} : { person }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    where,
    count: f['count'] === undefined ? { min: 1, max: Infinity } : readCount(f['count']),
  };
}

function scalar(field: Field): FieldValue {
  const value = field.value;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  return field.number();
}

/** `3`, or `{ min: 1, max: 4 }` (either bound may be left out). */
function readCount(field: Field, options: { integer: boolean } = { integer: true }): CountSpec {
  const bound = { min: 0, integer: options.integer };
  if (typeof field.value === 'number') {
    const n = field.number(bound);
    return { min: n, max: n };
  }
  const f = field.mapping(['min', 'max']);
  if (f['min'] === undefined && f['max'] === undefined) field.fail('expected "min", "max" or both');
  const min = f['min']?.number(bound) ?? 0;
  const max = f['max']?.number(bound) ?? Infinity;
  if (max < min) f['max']!.fail(`must not be below min (${min})`);
  return { min, max };
}

function readStateFields(
  field: Field,
  door: DoorSpec,
): Partial<Record<StateField, FieldValue | CountSpec>> {
  const f = field.mapping(STATE_FIELDS);
  if (Object.keys(f).length === 0) field.fail(`expected one or more of ${STATE_FIELDS.join(', ')}`);
  const out: Partial<Record<StateField, FieldValue | CountSpec>> = {};
  const isR = door.model === 'R';
  for (const [name, value] of Object.entries(f) as [StateField, Field][]) {
    const rOnly = name === 'relay' || name === 'doorOpen';
    if ((rOnly && !isR) || ((name === 'bolt' || name === 'battery') && isR)) {
      value.fail(`door "${door.id}" (model ${door.model}) has no ${name}`);
    }
    switch (name) {
      case 'relay':
        out.relay = value.oneOf(['locked', 'unlocked'] as const);
        break;
      case 'bolt':
        out.bolt = value.oneOf(['locked', 'unlocking', 'unlocked', 'locking'] as const);
        break;
      case 'syncVersion':
        out.syncVersion = value.number({ min: 0, integer: true });
        break;
      case 'battery':
        out.battery = readCount(value, { integer: false });
        break;
      case 'powered':
      case 'doorOpen':
      case 'passage':
      case 'clockValid':
      case 'lockedOut':
        out[name] = value.boolean();
    }
  }
  return out;
}
