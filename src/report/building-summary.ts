/**
 * The summary of a run of a building, from its event log (firmware-sim/events.ts) and what the
 * run knows of its locks and its cloud: unlocks by method, refusals by reason, Door State
 * Notifications (ARCHITECTURE.md §3), battery levels, and sync lag per lock (how long each bundle
 * version the cloud issued took to reach the lock: §3 "Passive sync", "Mobile keys").
 *
 * Shared by `keyway demo` and any run that has a World and a cloud. Everything here is a function
 * of its input, with nothing from the host (no wall-clock time, no path), so a summary is as
 * reproducible as the log it was built from.
 */
import type { LockEvent } from '../../firmware-sim/events.js';

/** A lock as the summary lists it. */
export interface SummaryLock {
  readonly id: string;
  readonly model: string;
  /** Battery locks: the pack's level at the end, percent. */
  readonly batteryPercent?: number;
}

/** A bundle version the cloud issued for a lock (by world id), and when (ms). */
export interface IssuedBundle {
  readonly lock: string;
  readonly version: number;
  readonly t: number;
}

export interface BuildingSummaryInput {
  readonly events: readonly LockEvent[];
  readonly locks: readonly SummaryLock[];
  readonly issued: readonly IssuedBundle[];
  /** When the run ended (ms): a version not applied by then is pending since it was issued. */
  readonly end: number;
}

export type Counts = Readonly<Record<string, number>>;

export interface SyncLag {
  readonly lock: string;
  /** Versions the cloud issued for the lock during the run (commissioning included). */
  readonly issued: number;
  /** Of those, versions the lock held (directly or through a later one) by the end. */
  readonly reached: number;
  /** The version the lock held at the end. */
  readonly held: number;
  /** The longest and the mean time from issue to the lock, over the versions that reached it. */
  readonly maxLagMs: number | null;
  readonly meanLagMs: number | null;
  /** How long the oldest version that never reached the lock had been waiting at the end. */
  readonly pendingMs: number | null;
}

export interface BuildingSummary {
  readonly events: { readonly total: number; readonly byType: Counts };
  /** Doors opened: granted accesses by method (`BLE`, `PASSCODE`, …) and request-to-exit. */
  readonly unlocks: { readonly total: number; readonly byMethod: Counts };
  /** Refused accesses by the precise reason (the audit result when there is none). */
  readonly refusals: { readonly total: number; readonly byReason: Counts };
  readonly notifications: {
    readonly total: number;
    readonly byType: Counts;
    readonly byLock: Counts;
  };
  readonly batteries: readonly {
    readonly lock: string;
    readonly model: string;
    readonly percent: number;
  }[];
  readonly syncLag: readonly SyncLag[];
}

const GRANTED = new Set(['SUCCESS', 'GUEST_SUCCESS']);
const DOOR_STATE = new Set(['DOOR_AJAR', 'DOOR_STILL_AJAR', 'DOOR_BREACHED', 'DOOR_SECURE']);
/** The method name a request-to-exit unlock is counted under. */
export const REX_METHOD = 'REX';

function add(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** Counts with keys in descending count, then name order: the way a reader scans them. */
function sorted(counts: Record<string, number>): Counts {
  return Object.fromEntries(
    Object.entries(counts).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0)),
  );
}

function total(counts: Counts): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

export function summarizeBuilding(input: BuildingSummaryInput): BuildingSummary {
  const byType: Record<string, number> = {};
  const byMethod: Record<string, number> = {};
  const byReason: Record<string, number> = {};
  const notes: Record<string, number> = {};
  const notesByLock: Record<string, number> = {};
  /** SYNC_APPLIED per lock, in order. */
  const applied = new Map<string, { readonly t: number; readonly version: number }[]>();
  for (const event of input.events) {
    add(byType, event.type);
    if (event.type === 'ACCESS') {
      if (GRANTED.has(event.result)) add(byMethod, event.method);
      else if (event.result !== 'LOCK_SUCCESS') add(byReason, event.reason ?? event.result);
    } else if (event.type === 'UNLOCKED') {
      if (event.by === 'rex') add(byMethod, REX_METHOD);
    } else if (event.type === 'SYNC_APPLIED') {
      const list = applied.get(event.lock) ?? [];
      list.push({ t: event.t, version: event.version });
      applied.set(event.lock, list);
    } else if (DOOR_STATE.has(event.type)) {
      add(notes, event.type);
      add(notesByLock, event.lock);
    }
  }
  const unlocks = sorted(byMethod);
  const refusals = sorted(byReason);
  const notifications = sorted(notes);
  return {
    events: { total: input.events.length, byType: sorted(byType) },
    unlocks: { total: total(unlocks), byMethod: unlocks },
    refusals: { total: total(refusals), byReason: refusals },
    notifications: {
      total: total(notifications),
      byType: notifications,
      byLock: sorted(notesByLock),
    },
    batteries: input.locks.flatMap((lock) =>
      lock.batteryPercent === undefined
        ? []
        : [{ lock: lock.id, model: lock.model, percent: round1(lock.batteryPercent) }],
    ),
    syncLag: input.locks.map((lock) =>
      syncLagOf(
        lock.id,
        input.issued.filter((v) => v.lock === lock.id),
        applied.get(lock.id) ?? [],
        input.end,
      ),
    ),
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/**
 * For each issued version: the first application of it or a later version at or after its
 * issue. A lock that skips versions (a phone carried the newest) reached the skipped ones then.
 */
function syncLagOf(
  lock: string,
  issued: readonly IssuedBundle[],
  applied: readonly { readonly t: number; readonly version: number }[],
  end: number,
): SyncLag {
  const lags: number[] = [];
  let pendingMs: number | null = null;
  for (const version of issued) {
    const reach = applied.find((a) => a.version >= version.version && a.t >= version.t);
    if (reach === undefined) pendingMs ??= end - version.t;
    else lags.push(reach.t - version.t);
  }
  return {
    lock,
    issued: issued.length,
    reached: lags.length,
    held: applied.at(-1)?.version ?? 0,
    maxLagMs: lags.length === 0 ? null : Math.max(...lags),
    meanLagMs:
      lags.length === 0 ? null : Math.round(lags.reduce((sum, x) => sum + x, 0) / lags.length),
    pendingMs,
  };
}

/** `3 h 05 min`, `12 min`, `40 s`, `0 s`: a lag for people. */
export function formatLag(ms: number | null): string {
  if (ms === null) return '-';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** `BLE 596, PASSCODE 45`: counts on one line. */
export function formatCounts(counts: Counts): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? 'none' : entries.map(([k, n]) => `${k} ${n}`).join(', ');
}

/** Cells laid out in columns of equal width, `perLine` to a line, each line indented. */
export function columns(cells: readonly string[], perLine: number, indent = '  '): string[] {
  const width = Math.max(0, ...cells.map((cell) => cell.length)) + 3;
  const lines: string[] = [];
  for (let i = 0; i < cells.length; i += perLine) {
    const row = cells.slice(i, i + perLine).map((cell) => cell.padEnd(width));
    lines.push(`${indent}${row.join('')}`.trimEnd());
  }
  return lines;
}

/** The readable part of a building summary: one section per figure, as text lines. */
export function formatBuildingSummary(summary: BuildingSummary): string[] {
  const lines = [
    `Unlocks (${summary.unlocks.total}): ${formatCounts(summary.unlocks.byMethod)}`,
    `Refusals at the locks (${summary.refusals.total}): ${formatCounts(summary.refusals.byReason)}`,
    `Door notifications (${summary.notifications.total}): ${formatCounts(summary.notifications.byType)}` +
      (summary.notifications.total === 0
        ? ''
        : ` (at ${Object.keys(summary.notifications.byLock).join(', ')})`),
  ];
  if (summary.batteries.length > 0) {
    const levels = summary.batteries.map((b) => b.percent);
    lines.push(
      `Battery levels (${summary.batteries.length} locks, lowest ${Math.min(...levels)}%, ` +
        `highest ${Math.max(...levels)}%):`,
      ...columns(
        summary.batteries.map((b) => `${b.lock} ${b.model} ${b.percent.toFixed(1)}%`),
        4,
      ),
    );
  }
  const lockWidth = Math.max(4, ...summary.syncLag.map((s) => s.lock.length)) + 2;
  lines.push(
    'Sync lag per lock (bundles issued at access changes: how many reached the lock, and how fast):',
    `  ${'lock'.padEnd(lockWidth)}${'held'.padStart(5)}${'reached'.padStart(10)}${'max lag'.padStart(14)}${'mean lag'.padStart(14)}   pending`,
    ...summary.syncLag.map(
      (s) =>
        `  ${s.lock.padEnd(lockWidth)}${`v${s.held}`.padStart(5)}${`${s.reached}/${s.issued}`.padStart(10)}` +
        `${formatLag(s.maxLagMs).padStart(14)}${formatLag(s.meanLagMs).padStart(14)}   ` +
        (s.pendingMs === null ? 'none' : `since ${formatLag(s.pendingMs)}`),
    ),
  );
  return lines;
}
