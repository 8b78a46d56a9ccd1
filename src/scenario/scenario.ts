/**
 * The scenario model (docs/SCENARIOS.md): what `format.ts` reads from a YAML or JSON file and
 * `runner.ts` runs. All times are absolute instants in ms UTC, already resolved against the
 * building's time zone and start; ids are the file's own (`lobby`, `alice`).
 */
import type { EventType } from '../../firmware-sim/events.js';
import type { AjarSeconds, RelayWiring, StillAjarMinutes } from '../../firmware-sim/models.js';
import type { WeeklyWindow } from '../../protocol/formats/common.js';

export type Fidelity = 'full' | 'model';
export const FIDELITIES: readonly Fidelity[] = ['full', 'model'];

export type DoorModel = 'R' | 'M' | 'C' | 'C2';
export const DOOR_MODELS: readonly DoorModel[] = ['R', 'M', 'C', 'C2'];

export type Role = 'resident' | 'guest' | 'vendor' | 'manager';
export const ROLES: readonly Role[] = ['resident', 'guest', 'vendor', 'manager'];

export interface Position {
  readonly x: number;
  readonly y: number;
}

export interface DoorSpec {
  readonly id: string;
  readonly name: string;
  readonly model: DoorModel;
  /** The R's relay wiring. */
  readonly wiring?: RelayWiring;
  readonly ajarSeconds?: AjarSeconds;
  readonly stillAjarMinutes?: StillAjarMinutes;
  readonly relockSeconds?: number;
  /** A battery lock's pack at installation, percent. */
  readonly batteryPercent?: number;
  /** An M gen 2 on a wired supply. */
  readonly wired?: boolean;
  readonly driftPpm?: number;
  readonly position: Position;
  /** Door schedule: passage windows in the building's time zone. */
  readonly passage?: readonly WeeklyWindow[];
}

export interface KeySpec {
  readonly doors: readonly string[];
  readonly schedule?: readonly WeeklyWindow[];
  readonly from?: number;
  readonly until?: number;
  /** For a guest: the resident sharing the key. */
  readonly sharedBy?: string;
}

export interface DailyCodeSpec {
  readonly door: string;
  readonly singleUse: boolean;
}

export interface PersonSpec {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly keys: readonly KeySpec[];
  readonly phone: boolean;
  readonly permanentCodes: readonly string[];
  readonly dailyCodes: readonly DailyCodeSpec[];
}

/** What is typed at a keypad: digits as written, or a person's code looked up at run time. */
export type CodeSpec =
  | { readonly kind: 'literal'; readonly digits: string }
  | { readonly kind: 'daily'; readonly person: string; readonly day?: string }
  | { readonly kind: 'permanent'; readonly person: string };

interface StepBase {
  /** Position in the timeline, for messages and outcomes. */
  readonly index: number;
  readonly id?: string;
  readonly at: number;
}

/** Door actions without an argument: each is the World action of the same name. */
export const PLAIN_DOOR_ACTIONS = [
  'cutPower',
  'restorePower',
  'openDoor',
  'closeDoor',
  'rexMotion',
  'syncTime',
  'swapBattery',
  'qiJumpStart',
  'jamBolt',
  'freeBolt',
  'sync',
] as const;
export type PlainDoorAction = (typeof PLAIN_DOOR_ACTIONS)[number];

export function isPlainDoorAction(action: string): action is PlainDoorAction {
  return (PLAIN_DOOR_ACTIONS as readonly string[]).includes(action);
}

export const PERSON_ACTIONS = ['revoke', 'phoneOffline', 'phoneOnline'] as const;
export type PersonAction = (typeof PERSON_ACTIONS)[number];

export type Step = StepBase &
  (
    | { readonly action: PlainDoorAction; readonly door: string }
    | { readonly action: 'holdDoorOpen'; readonly door: string; readonly forMs: number }
    | { readonly action: 'drainBattery'; readonly door: string; readonly percent: number }
    | { readonly action: 'setClockDrift'; readonly door: string; readonly ppm: number }
    | { readonly action: 'enterCode'; readonly door: string; readonly code: CodeSpec }
    | { readonly action: 'pressKeys'; readonly door: string; readonly keys: string }
    | { readonly action: 'unlock'; readonly door: string; readonly person: string }
    | { readonly action: PersonAction; readonly person: string }
  );

export type StepAction = Step['action'];

/** A step of a plain door action: its door is all it names. */
export function isPlainDoorStep(step: Step): step is Extract<Step, { action: PlainDoorAction }> {
  return isPlainDoorAction(step.action);
}

/** A count to meet: exactly, or within bounds. */
export interface CountSpec {
  readonly min: number;
  readonly max: number;
}

export type FieldValue = string | number | boolean;

export interface EventExpectation {
  readonly kind: 'event';
  readonly index: number;
  readonly label?: string;
  readonly type: EventType;
  readonly door?: string;
  readonly person?: string;
  readonly from?: number;
  readonly to?: number;
  readonly where: Readonly<Record<string, FieldValue>>;
  readonly count: CountSpec;
}

export const STATE_FIELDS = [
  'powered',
  'relay',
  'bolt',
  'doorOpen',
  'passage',
  'clockValid',
  'syncVersion',
  'battery',
  'lockedOut',
] as const;
export type StateField = (typeof STATE_FIELDS)[number];

/** A state to find at an instant: each field as given; `battery` within a range. */
export interface StateExpectation {
  readonly kind: 'state';
  readonly index: number;
  readonly label?: string;
  readonly at: number;
  readonly door: string;
  readonly fields: Readonly<Partial<Record<StateField, FieldValue | CountSpec>>>;
}

/** What a timeline step did (`runner.ts` `StepOutcome`). */
export type Outcome = 'granted' | 'refused' | 'done' | 'failed' | 'none';
export const OUTCOMES: readonly Outcome[] = ['granted', 'refused', 'done', 'failed', 'none'];

export interface StepExpectation {
  readonly kind: 'step';
  readonly index: number;
  readonly label?: string;
  readonly step: string;
  readonly outcome: Outcome;
  readonly reason?: string;
}

export type Expectation = EventExpectation | StateExpectation | StepExpectation;

export interface Scenario {
  readonly name: string;
  readonly description?: string;
  readonly seed: string;
  readonly fidelity?: Fidelity;
  readonly timeZone: string;
  readonly start: number;
  /** The run ends here (default: an hour after the last time the file names). */
  readonly until: number;
  readonly doors: readonly DoorSpec[];
  readonly people: readonly PersonSpec[];
  readonly timeline: readonly Step[];
  readonly expectations: readonly Expectation[];
}
