/**
 * What `keyway run` writes about a run: the summary JSON (`summary.json`, and stdout with
 * `--json`) and the readable report, both built from the run and its judged expectations. A
 * failed expectation prints as `expected … / happened …` with the log lines behind it.
 *
 * The summary holds nothing from the host (no wall-clock time, no absolute path), so it is as
 * reproducible as the event log.
 */
import type { EventType } from '../../firmware-sim/events.js';
import type { ExpectationResult } from './expectations.js';
import type { ScenarioRun, StepOutcome } from './runner.js';
import { isPlainDoorStep } from './scenario.js';
import type { Step } from './scenario.js';
import { formatDuration, formatInstant, formatOffset } from './time.js';

export interface RunSummary {
  readonly scenario: string;
  readonly file: string;
  readonly seed: string;
  readonly fidelity: string;
  readonly timeZone: string;
  readonly start: string;
  readonly end: string;
  readonly passed: boolean;
  readonly expectations: {
    readonly passed: number;
    readonly failed: number;
    readonly results: readonly ExpectationResult[];
  };
  readonly events: { readonly total: number; readonly byType: Partial<Record<EventType, number>> };
  readonly steps: readonly (StepOutcome & { readonly offset: string })[];
}

export function summarize(
  run: ScenarioRun,
  results: readonly ExpectationResult[],
  file: string,
): RunSummary {
  const byType: Partial<Record<EventType, number>> = {};
  for (const event of run.events) byType[event.type] = (byType[event.type] ?? 0) + 1;
  const failed = results.filter((r) => !r.passed).length;
  const { scenario } = run;
  return {
    scenario: scenario.name,
    file,
    seed: run.seed,
    fidelity: run.fidelity,
    timeZone: scenario.timeZone,
    start: new Date(scenario.start).toISOString(),
    end: new Date(run.end).toISOString(),
    passed: failed === 0,
    expectations: { passed: results.length - failed, failed, results },
    events: {
      total: run.events.length,
      byType: Object.fromEntries(Object.entries(byType).sort(([a], [b]) => (a < b ? -1 : 1))),
    },
    steps: run.outcomes.map((o) => ({ ...o, offset: formatOffset(o.t, scenario.start) })),
  };
}

/** How a step reads in the report: `enterCode lobby (daily code of alice)`. */
function stepText(step: Step): string {
  if (isPlainDoorStep(step)) return `${step.action} ${step.door}`;
  switch (step.action) {
    case 'holdDoorOpen':
      return `holdDoorOpen ${step.door} for ${formatDuration(step.forMs)}`;
    case 'drainBattery':
      return `drainBattery ${step.door} to ${step.percent}%`;
    case 'setClockDrift':
      return `setClockDrift ${step.door} ${step.ppm} ppm`;
    case 'enterCode': {
      const { code } = step;
      const what =
        code.kind === 'literal'
          ? `"${code.digits}"`
          : `${code.kind} code of ${code.person}${code.kind === 'daily' && code.day !== undefined ? ` for ${code.day}` : ''}`;
      return `enterCode ${step.door} (${what})`;
    }
    case 'pressKeys':
      return `pressKeys ${step.door} "${step.keys}"`;
    case 'unlock':
      return `unlock ${step.door} by ${step.person}'s phone`;
    case 'revoke':
    case 'phoneOffline':
    case 'phoneOnline':
      return `${step.action} ${step.person}`;
  }
}

function outcomeText(outcome: StepOutcome | undefined, start: number): string {
  if (outcome === undefined) return 'no outcome';
  const reason = outcome.reason === undefined ? '' : ` ${outcome.reason}`;
  const ended =
    outcome.endedAt === undefined ? '' : ` (ended ${formatOffset(outcome.endedAt, start)})`;
  return `${outcome.outcome}${reason}${ended}`;
}

/** The readable report; `files` names where the log and summary went. */
export function reportText(
  run: ScenarioRun,
  results: readonly ExpectationResult[],
  file: string,
  files: { readonly log: string; readonly summary: string },
): string {
  const { scenario } = run;
  const { start } = scenario;
  const lines: string[] = [
    `keyway run: ${scenario.name}`,
    `  ${file}, seed ${run.seed}, fidelity ${run.fidelity}`,
    `  ${scenario.timeZone}, from ${formatInstant(start, scenario.timeZone)} to ${formatOffset(run.end, start)}`,
    `  ${plural(scenario.doors.length, 'door')}, ${plural(scenario.people.length, 'person', 'people')}, ` +
      `${plural(scenario.timeline.length, 'step')}, ${plural(run.events.length, 'event')}`,
  ];
  if (scenario.timeline.length > 0) {
    lines.push('', 'Timeline');
    const texts = scenario.timeline.map(stepText);
    const offsets = scenario.timeline.map((step) => formatOffset(step.at, start));
    const offsetWidth = Math.max(...offsets.map((o) => o.length)) + 2;
    const textWidth = Math.max(...texts.map((t) => t.length)) + 2;
    scenario.timeline.forEach((step, i) => {
      const outcome = run.outcomes.find((o) => o.step === step.index);
      lines.push(
        `  ${offsets[i]!.padEnd(offsetWidth)}${texts[i]!.padEnd(textWidth)}${outcomeText(outcome, start)}`,
      );
    });
  }
  if (results.length > 0) {
    lines.push('', 'Expectations');
    for (const result of results) {
      const label = result.label === undefined ? '' : ` (${result.label})`;
      if (result.passed) {
        lines.push(`  ok    [${result.index}] ${result.subject}${label}: ${result.happened}`);
        continue;
      }
      lines.push(`  FAIL  [${result.index}] ${result.subject}${label}`);
      lines.push(`          expected ${result.expected}`);
      lines.push(`          happened ${result.happened}`);
      for (const detail of result.details) lines.push(`            ${detail}`);
    }
  }
  const failed = results.filter((r) => !r.passed).length;
  lines.push(
    '',
    failed === 0
      ? `PASS: ${plural(results.length, 'expectation')} met`
      : `FAIL: ${failed} of ${plural(results.length, 'expectation')} not met`,
    `Event log: ${files.log}`,
    `Summary:   ${files.summary}`,
    '',
  );
  return lines.join('\n');
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
