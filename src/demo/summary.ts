/**
 * What `keyway demo` reports about its week (`week.ts`): the building summary of
 * `src/report/building-summary.ts` plus what only the demo knows (the people, the phones'
 * outcomes and latencies, the incidents), as JSON (`summary.json`) and as text. Like the log, the
 * summary depends on the seed and the days only.
 */
import type { UnlockResult } from '../phone/unlock-events.js';
import {
  formatBuildingSummary,
  formatCounts,
  summarizeBuilding,
} from '../report/building-summary.js';
import type { BuildingSummary, Counts } from '../report/building-summary.js';
import { DEMO_TIME_ZONE } from './building.js';
import type { IncidentReport } from './incidents.js';
import { formatLocal } from './time.js';
import type { WeekRun } from './week.js';

export const DEMO_FIDELITY =
  'full: every phone unlock is a scan, a connection, Noise XK and CBOR over the virtual radio; ' +
  'every guest types a daily code at a keypad; the hub syncs its locks over the same radio';

export interface DemoSummary {
  readonly seed: number;
  readonly days: number;
  readonly timeZone: string;
  readonly start: string;
  readonly end: string;
  readonly fidelity: string;
  readonly building: {
    readonly doors: readonly {
      readonly id: string;
      readonly name: string;
      readonly model: string;
    }[];
    readonly residents: number;
    readonly vendors: number;
    readonly guests: number;
    readonly hub: {
      readonly serves: readonly string[];
      readonly visits: number;
      readonly pushes: number;
    };
  };
  readonly phones: {
    readonly unlocks: number;
    readonly succeeded: number;
    readonly failed: Counts;
    /** Virtual time from `Started` to the outcome, over the successful unlocks. */
    readonly latencyMs: { readonly p50: number; readonly p95: number } | null;
  };
  readonly outbox: number;
  readonly incidents: readonly IncidentReport[];
  readonly summary: BuildingSummary;
}

function failureName(result: UnlockResult): string {
  if (result.outcome !== 'failed') return result.outcome;
  const { reason } = result;
  return 'name' in reason ? `${reason.kind} ${reason.name}` : reason.kind;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

export function summarizeDemo(run: WeekRun): DemoSummary {
  const { building } = run;
  const { world } = building;
  const doors = [...building.doors.values()];
  const results = building.unlocks.map((u) => u.result);
  const failed: Record<string, number> = {};
  for (const result of results) {
    if (result.outcome !== 'success')
      failed[failureName(result)] = (failed[failureName(result)] ?? 0) + 1;
  }
  const latencies = results
    .filter((r) => r.outcome === 'success')
    .map((r) => r.endedAt - r.startedAt)
    .sort((a, b) => a - b);
  const summary = summarizeBuilding({
    events: world.events(),
    locks: doors.map((door) =>
      door.model === 'R'
        ? { id: door.id, model: door.model }
        : { id: door.id, model: door.model, batteryPercent: world.batteryPercent(door.id) },
    ),
    issued: run.issued,
    end: run.end,
  });
  return {
    seed: run.seed,
    days: run.days,
    timeZone: DEMO_TIME_ZONE,
    start: new Date(run.start).toISOString(),
    end: new Date(run.end).toISOString(),
    fidelity: DEMO_FIDELITY,
    building: {
      doors: doors.map(({ id, name, model }) => ({ id, name, model })),
      residents: building.residents.length,
      vendors: 1,
      guests: run.guests,
      hub: {
        serves: building.hub.lockIds,
        visits: building.hub.visits,
        pushes: building.hub.pushes,
      },
    },
    phones: {
      unlocks: results.length,
      succeeded: latencies.length,
      failed,
      latencyMs:
        latencies.length === 0
          ? null
          : { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95) },
    },
    outbox: building.cloud.outbox.length,
    incidents: run.incidents,
    summary,
  };
}

/** The summary as text for people. */
export function formatDemoSummary(demo: DemoSummary): string[] {
  const { building, phones } = demo;
  const count = (model: string): number => building.doors.filter((d) => d.model === model).length;
  const amenities = building.doors
    .filter((d) => d.model === 'C' || d.model === 'C2')
    .map((d) => `${d.name.toLowerCase()} (${d.model})`);
  const latency =
    phones.latencyMs === null
      ? ''
      : `; unlock time p50 ${(phones.latencyMs.p50 / 1000).toFixed(2)} s, p95 ${(phones.latencyMs.p95 / 1000).toFixed(2)} s`;
  return [
    `keyway demo: seed ${demo.seed}, ${demo.days} simulated day(s) from ${formatLocal(Date.parse(demo.start))} ${demo.start.slice(0, 10)} (${demo.timeZone})`,
    `Fidelity: ${demo.fidelity}`,
    `Building: front door (R, fail-secure, door sensor, REX, keypad) and a hub; ${count('M')} unit doors (M); ${amenities.join(', ')}`,
    `People: ${building.residents} residents with phones, ${building.vendors} vendor on a weekday-morning key, ${building.guests} guests on daily codes`,
    '',
    `Phone unlocks: ${phones.unlocks}, ${phones.succeeded} succeeded; not: ${formatCounts(phones.failed)}${latency}`,
    ...formatBuildingSummary(demo.summary),
    `Cloud outbox: ${demo.outbox} Door State Notification(s) for the manager; hub visits: ${building.hub.visits} (${building.hub.pushes} with a newer bundle)`,
    '',
    'Incidents:',
    ...demo.incidents.flatMap((incident) => [
      `  ${incident.title}`,
      ...incident.lines.map((line) => `    ${line}`),
    ]),
  ];
}
