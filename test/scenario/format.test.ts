// The scenario validator (src/scenario/format.ts): every kind of bad input is one ScenarioError
// whose message names the file, line and column, the exact path and the problem; and times
// (offsets, run days, local and zoned instants) resolve in the building's zone across DST.
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { parseScenario } from '../../src/scenario/format.js';
import { ScenarioError } from '../../src/scenario/reader.js';

const BASE = `name: base
building:
  timeZone: America/New_York
  start: 2026-03-06T10:00
  doors:
    lobby: { model: R, wiring: fail-secure }
    unit-4b: { model: M }
people:
  alice:
    role: resident
    keys: [{ doors: [lobby, unit-4b] }]
    permanentCodes: [lobby]
    dailyCodes: [lobby]
timeline:
  - { at: +1h, do: cutPower, door: lobby }
  - { at: +2h, do: restorePower, door: lobby }
  - { at: +3h, id: phone, do: unlock, door: unit-4b, person: alice }
expect:
  - { event: POWER_LOST, door: lobby, count: 1 }
`;

/** The message `parseScenario` throws for `text`. */
function errorOf(text: string): string {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error('expected the scenario to be refused');
}

const replace = (from: string, to: string): string => {
  expect(BASE).toContain(from);
  return BASE.replace(from, to);
};

describe('a valid scenario', () => {
  it('reads into the model with times resolved in the building zone', () => {
    const scenario = parseScenario(BASE, 'base.yaml');
    expect(scenario.start).toBe(Date.UTC(2026, 2, 6, 15));
    expect(scenario.doors.map((d) => [d.id, d.model])).toEqual([
      ['lobby', 'R'],
      ['unit-4b', 'M'],
    ]);
    expect(scenario.timeline.map((s) => [s.action, s.at - scenario.start])).toEqual([
      ['cutPower', 3_600_000],
      ['restorePower', 7_200_000],
      ['unlock', 10_800_000],
    ]);
    expect(scenario.people[0]).toMatchObject({ id: 'alice', role: 'resident', phone: true });
    // By default the run ends an hour after the last time the file names.
    expect(scenario.until - scenario.start).toBe(4 * 3_600_000);
  });

  it('resolves run days and local times across the spring-forward change', () => {
    // New York springs forward on Sunday 2026-03-08 (day 3): 09:00 is then UTC-4.
    const text = replace('  - { at: +1h, do: cutPower', '  - { at: day 1 11:00, do: cutPower')
      .replace('at: +2h,', 'at: day 4 09:00,')
      .replace('at: +3h,', 'at: 2026-03-09T09:30:00-04:00,');
    const { timeline } = parseScenario(text, 'dst.yaml');
    expect(timeline.map((s) => new Date(s.at).toISOString())).toEqual([
      '2026-03-06T16:00:00.000Z',
      '2026-03-09T13:00:00.000Z',
      '2026-03-09T13:30:00.000Z',
    ]);
  });

  it('accepts JSON', () => {
    const json = JSON.stringify({
      name: 'json',
      building: {
        timeZone: 'Europe/Paris',
        start: '2026-03-06T10:00:00Z',
        doors: { gate: { model: 'C2' } },
      },
      timeline: [{ at: '+1d', do: 'qiJumpStart', door: 'gate' }],
    });
    expect(parseScenario(json, 'x.json').timeline[0]).toMatchObject({ action: 'qiJumpStart' });
  });
});

describe('bad input: one error, the exact path, the line', () => {
  it.each([
    [
      'unknown door id',
      replace('do: unlock, door: unit-4b', 'do: unlock, door: lobbby'),
      'bad.yaml:17:45: scenario.timeline[2].door: unknown door "lobbby" (doors: lobby, unit-4b)',
    ],
    [
      'unknown person id',
      replace('person: alice }', 'person: alize }'),
      'bad.yaml:17:62: scenario.timeline[2].person: unknown person "alize" (people: alice)',
    ],
    [
      'unknown key',
      replace('{ model: R, wiring: fail-secure }', '{ model: R, wirring: fail-secure }'),
      'bad.yaml:6:33: scenario.building.doors.lobby.wirring: unknown key (expected: model, ' +
        'name, wiring, ajarSeconds, stillAjarMinutes, relockSeconds, battery, wired, driftPpm, ' +
        'position, passage)',
    ],
    [
      'times out of order',
      replace('at: +2h,', 'at: +30m,'),
      'bad.yaml:16:11: scenario.timeline[1].at: "+30m" is before timeline[0] ("+1h"): list the ' +
        'timeline in time order',
    ],
    [
      'a bad date',
      replace('start: 2026-03-06T10:00', 'start: 2026-02-30T10:00'),
      'bad.yaml:4:10: scenario.building.start: "2026-02-30T10:00" is not a real date and time',
    ],
    [
      'a local time the DST change skips',
      replace('at: +1h,', 'at: 2026-03-08T02:30,'),
      'bad.yaml:15:11: scenario.timeline[0].at: "2026-03-08T02:30" does not exist in ' +
        'America/New_York (skipped by a DST change)',
    ],
    [
      'not a time',
      replace('at: +1h,', 'at: soon,'),
      'bad.yaml:15:11: scenario.timeline[0].at: "soon" is not a time (like +2h, day 3 09:00, ' +
        '2026-03-08T09:00, 2026-03-08T14:00:00Z)',
    ],
    [
      'a wrong type',
      replace('count: 1 }', 'count: once }'),
      'bad.yaml:19:46: scenario.expect[0].count: expected a mapping, got the text "once"',
    ],
    [
      'a wrong type (list expected)',
      replace('permanentCodes: [lobby]', 'permanentCodes: lobby'),
      'bad.yaml:12:21: scenario.people.alice.permanentCodes: expected a list, got the text "lobby"',
    ],
    [
      'an unknown model',
      replace('unit-4b: { model: M }', 'unit-4b: { model: X9 }'),
      'bad.yaml:7:23: scenario.building.doors.unit-4b.model: expected one of R, M, C, C2, got ' +
        'the text "X9"',
    ],
    [
      'an action the model lacks',
      replace('do: cutPower, door: lobby', 'do: openDoor, door: unit-4b'),
      'bad.yaml:15:36: scenario.timeline[0].door: door "unit-4b" (model M) has no door sensor: ' +
        'openDoor needs model R',
    ],
    [
      'a power cut on a battery-only lock',
      replace('do: cutPower, door: lobby', 'do: cutPower, door: unit-4b'),
      'bad.yaml:15:36: scenario.timeline[0].door: door "unit-4b" (model M) runs on batteries ' +
        'only: cutPower needs an R or a wired M (wired: true); use swapBattery or drainBattery',
    ],
    [
      'an unknown time zone',
      replace('America/New_York', 'America/Gotham'),
      'bad.yaml:3:13: scenario.building.timeZone: unknown time zone "America/Gotham" (an IANA ' +
        'name like America/New_York)',
    ],
    [
      'a missing key',
      replace('    role: resident\n', ''),
      'bad.yaml:10:5: scenario.people.alice: missing key "role"',
    ],
    [
      'an unknown event type',
      replace('event: POWER_LOST', 'event: POWER_LOSS'),
      expect.stringMatching(
        /^bad\.yaml:19:14: scenario\.expect\[0\]\.event: expected one of POWER_LOST, .*, got the text "POWER_LOSS"$/,
      ),
    ],
    [
      'a field the event type lacks',
      replace('count: 1 }', 'where: { relais: locked } }'),
      'bad.yaml:19:56: scenario.expect[0].where.relais: unknown key (expected: relay)',
    ],
    [
      'a code written as a number',
      replace('do: cutPower, door: lobby }', 'do: enterCode, door: lobby, code: 0123456 }'),
      'bad.yaml:15:50: scenario.timeline[0].code: expected a code in quotes (a number loses ' +
        'its leading zeros): "123456"',
    ],
    [
      'a code the person does not have',
      replace(
        'do: cutPower, door: lobby }',
        'do: enterCode, door: unit-4b, code: { permanent: alice } }',
      ),
      'bad.yaml:15:65: scenario.timeline[0].code.permanent: "alice" has no permanent code on ' +
        'door "unit-4b" (permanentCodes)',
    ],
    [
      'an unknown top-level key',
      replace('expect:', 'people2: x\nexpect:'),
      expect.stringContaining('scenario.people2: unknown key (expected: name, description, seed'),
    ],
    [
      'an unknown step id',
      replace('count: 1 }', 'count: 1 }\n  - { step: fone, outcome: granted }'),
      'bad.yaml:20:13: scenario.expect[1].step: unknown step id "fone" (ids: phone)',
    ],
    [
      'duplicate keys',
      replace('    role: resident\n', '    role: resident\n    role: guest\n'),
      expect.stringMatching(
        /^bad\.yaml:11:5: scenario: not valid YAML or JSON: Map keys must be unique/,
      ),
    ],
    [
      'YAML syntax',
      replace('doors: [lobby, unit-4b] }]', 'doors: [lobby, unit-4b }]'),
      expect.stringMatching(/^bad\.yaml:\d+:\d+: scenario: not valid YAML or JSON: /),
    ],
  ])('%s', (_, text, message) => {
    expect(errorOf(text)).toEqual(message);
  });

  it('a guest must name the resident sharing their key, and that resident must hold it', () => {
    // \`people:\` comes just before \`timeline:\`: the guest joins the people there.
    const withGuest = (key: string) =>
      BASE.replace('timeline:', `  gary:\n    role: guest\n    keys: [${key}]\ntimeline:`);
    expect(errorOf(withGuest('{ doors: lobby, until: +1d }'))).toBe(
      'bad.yaml:16:12: scenario.people.gary.keys[0]: missing key "sharedBy" (a guest\'s key is ' +
        'shared by a resident)',
    );
    expect(errorOf(withGuest('{ doors: lobby, sharedBy: alice }'))).toBe(
      'bad.yaml:16:12: scenario.people.gary.keys[0]: missing key "until" (a guest\'s access is ' +
        'time-limited)',
    );
    const noKey = BASE.replace('keys: [{ doors: [lobby, unit-4b] }]', 'keys: [{ doors: lobby }]');
    expect(
      errorOf(
        noKey.replace(
          'timeline:',
          '  gary:\n    role: guest\n    keys: [{ doors: unit-4b, sharedBy: alice, until: +1d }]\ntimeline:',
        ),
      ),
    ).toBe(
      'bad.yaml:16:40: scenario.people.gary.keys[0].sharedBy: "alice" holds no key to unit-4b ' +
        'to share',
    );
  });
});
