/**
 * Judges a finished run against its scenario's expectations (docs/SCENARIOS.md "Expectations"):
 * events counted in the log by type, door, person, time range and field values; states sampled
 * at their instants; timeline steps' outcomes. Each result says what was expected and what
 * happened, in words a report prints as a diff, with the log lines that explain it.
 */
import type { LockEvent } from '../../firmware-sim/events.js';
import type { ScenarioRun } from './runner.js';
import type {
  CountSpec,
  EventExpectation,
  Expectation,
  FieldValue,
  StateExpectation,
  StepExpectation,
} from './scenario.js';
import { formatOffset } from './time.js';

export interface ExpectationResult {
  readonly index: number;
  readonly kind: Expectation['kind'];
  readonly label?: string;
  /** What the expectation looks at: `DOOR_AJAR at lobby within +0s..+5m`. */
  readonly subject: string;
  readonly passed: boolean;
  readonly expected: string;
  readonly happened: string;
  /** Log lines or samples behind `happened` (at most `MAX_DETAILS`). */
  readonly details: readonly string[];
}

const MAX_DETAILS = 8;

export function judge(run: ScenarioRun): ExpectationResult[] {
  return run.scenario.expectations.map((expectation) => {
    switch (expectation.kind) {
      case 'event':
        return judgeEvent(run, expectation);
      case 'state':
        return judgeState(run, expectation);
      case 'step':
        return judgeStep(run, expectation);
    }
  });
}

/** `3`, `at least 1`, `at most 2`, `1 to 4`. */
export function countText(count: CountSpec): string {
  if (count.min === count.max) return String(count.min);
  if (count.max === Infinity) return `at least ${count.min}`;
  if (count.min === 0) return `at most ${count.max}`;
  return `${count.min} to ${count.max}`;
}

const within = (count: CountSpec, n: number): boolean => n >= count.min && n <= count.max;
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** One log record for humans: `+1m35s lobby DOOR_AJAR openMs=90000`. */
export function eventLine(event: LockEvent, start: number): string {
  const fields = Object.entries(event)
    .filter(([name]) => name !== 't' && name !== 'lock' && name !== 'type')
    .map(([name, value]) => `${name}=${String(value)}`);
  return [formatOffset(event.t, start), event.lock, event.type, ...fields].join(' ');
}

function judgeEvent(run: ScenarioRun, e: EventExpectation): ExpectationResult {
  const { start } = run.scenario;
  const userId = e.person === undefined ? undefined : run.userIds.get(e.person);
  const ofType = run.events.filter(
    (event) => event.type === e.type && (e.door === undefined || event.lock === e.door),
  );
  const fields = (event: LockEvent): Readonly<Record<string, unknown>> =>
    event as unknown as Readonly<Record<string, unknown>>;
  const matches = ofType.filter(
    (event) =>
      (e.from === undefined || event.t >= e.from) &&
      (e.to === undefined || event.t <= e.to) &&
      (userId === undefined || fields(event)['user'] === userId) &&
      Object.entries(e.where).every(([name, value]) => fields(event)[name] === value),
  );
  const parts: string[] = [e.type];
  if (e.door !== undefined) parts.push(`at ${e.door}`);
  if (e.person !== undefined) parts.push(`by ${e.person}`);
  if (e.from !== undefined && e.to !== undefined) {
    parts.push(`within ${formatOffset(e.from, start)}..${formatOffset(e.to, start)}`);
  }
  const where = Object.entries(e.where).map(([name, value]) => `${name}=${String(value)}`);
  if (where.length > 0) parts.push(`where ${where.join(' ')}`);
  const passed = within(e.count, matches.length);
  // On a failure with nothing matching, the same type elsewhere is usually the explanation.
  const shown = passed || matches.length > 0 ? matches : ofType;
  const details = shown.slice(0, MAX_DETAILS).map((event) => eventLine(event, start));
  if (shown.length > MAX_DETAILS) details.push(`… ${shown.length - MAX_DETAILS} more`);
  const happened =
    matches.length === 0 && ofType.length > 0 && !passed
      ? `0 (${plural(ofType.length, `${e.type} event`)} outside the range or fields, below)`
      : String(matches.length);
  return {
    index: e.index,
    kind: 'event',
    ...(e.label === undefined ? {} : { label: e.label }),
    subject: parts.join(' '),
    passed,
    expected: countText(e.count),
    happened,
    details,
  };
}

function valueText(value: FieldValue | CountSpec | undefined): string {
  if (value === undefined) return 'n/a';
  if (typeof value === 'object') {
    if (value.min === value.max) return String(value.min);
    if (value.max === Infinity) return `>= ${value.min}`;
    return value.min === 0 ? `<= ${value.max}` : `${value.min}..${value.max}`;
  }
  return String(value);
}

function judgeState(run: ScenarioRun, e: StateExpectation): ExpectationResult {
  const sample = run.samples.get(e.index) ?? {};
  const expected: string[] = [];
  const happened: string[] = [];
  let passed = true;
  for (const [name, want] of Object.entries(e.fields)) {
    const actual = sample[name as keyof typeof sample];
    const ok =
      typeof want === 'object'
        ? typeof actual === 'number' && within(want, actual)
        : actual === want;
    if (!ok) passed = false;
    expected.push(`${name} ${valueText(want)}`);
    happened.push(`${name} ${valueText(actual)}${ok ? '' : ' ✗'}`);
  }
  return {
    index: e.index,
    kind: 'state',
    ...(e.label === undefined ? {} : { label: e.label }),
    subject: `state of ${e.door} at ${formatOffset(e.at, run.scenario.start)}`,
    passed,
    expected: expected.join(', '),
    happened: happened.join(', '),
    details: [],
  };
}

function judgeStep(run: ScenarioRun, e: StepExpectation): ExpectationResult {
  const outcome = run.outcomes.find((o) => o.id === e.step);
  const expected = e.reason === undefined ? e.outcome : `${e.outcome} ${e.reason}`;
  const happened =
    outcome === undefined
      ? 'no outcome (the step never finished)'
      : outcome.reason === undefined
        ? outcome.outcome
        : `${outcome.outcome} ${outcome.reason}`;
  const passed =
    outcome !== undefined &&
    outcome.outcome === e.outcome &&
    (e.reason === undefined || outcome.reason === e.reason);
  const step = run.scenario.timeline.find((s) => s.id === e.step)!;
  return {
    index: e.index,
    kind: 'step',
    ...(e.label === undefined ? {} : { label: e.label }),
    subject: `step ${e.step} (${step.action} at ${formatOffset(step.at, run.scenario.start)})`,
    passed,
    expected,
    happened,
    details: [],
  };
}
