/**
 * Bulk derivation of daily doorcodes (ARCHITECTURE.md §5) for one door over a range of days and
 * slots, rendered as JSON lines or CSV and spread over a pool of worker threads.
 *
 * The job is cut into chunks of consecutive codes in output order (day, then slot). Each thread
 * runs one fast kernel and one `ChunkFormatter`, which writes digits as ASCII straight into a
 * reused byte buffer. The main thread hands chunks out in order, keeps at most two per worker in
 * flight and yields them in order, so the bytes are the same whatever the worker count and memory
 * stays bounded however large the job.
 */
import { availableParallelism } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { addDays, assertDayLabel } from '../../protocol/doorcode/day-label.js';
import type { DayCodesDeriver } from '../../protocol/doorcode/deriver.js';
import {
  DOORCODE_DEFAULTS,
  formatCode,
  MAX_DIGITS,
  MAX_KEY_VERSION,
  MAX_SLOTS,
  MIN_DIGITS,
} from '../../protocol/doorcode/deriver.js';
import { createDoorcodeKernel } from '../../protocol/doorcode/kernel.js';
import { DOORCODE_KEY_BYTES, deriveDoorKey } from '../../protocol/doorcode/reference.js';
import { InputError, KeywayError } from './errors.js';

/** A century of days: far beyond any real use, small enough to catch a typo. */
export const MAX_DAYS = 36_525;
export const MAX_WORKERS = 256;
export const MAX_DOOR_ID_LENGTH = 256;
/** `deriveCodes` returns one object per code, so it is kept to small jobs. */
export const MAX_SYNC_CODES = 1 << 20;

/** The output formats of `bulkCodes`. */
export const CODES_FORMATS = ['jsonl', 'csv'] as const;
export type CodesFormat = (typeof CODES_FORMATS)[number];

/** Which door: its key directly, or the property key and door id it is derived from (§5 HKDF). */
export type DoorSelector =
  | { readonly doorKey: Uint8Array; readonly propertyKey?: never; readonly doorId?: never }
  | { readonly propertyKey: Uint8Array; readonly doorId: string; readonly doorKey?: never };

/** A door and a range of days and slots. */
export type CodesOptions = DoorSelector & {
  /** First day, `YYYY-MM-DD` (a local calendar date of the property). */
  readonly from: string;
  /** Number of consecutive days, 1..MAX_DAYS. */
  readonly days: number;
  /** Slots per day, 1..65536: slots `[0, slots)`. */
  readonly slots: number;
  /** Code length `L`, 1..9; default 7. */
  readonly digits?: number;
  /** 0..65535; default 1. */
  readonly keyVersion?: number;
};

export type BulkCodesOptions = CodesOptions & {
  /**
   * Worker threads; by default one per million codes, up to `os.availableParallelism()`; 0 or 1
   * derive in the calling thread.
   */
  readonly workers?: number;
  /** Default `jsonl`. */
  readonly format?: CodesFormat;
  /** Called with the codes handed out so far and the total, once per chunk. */
  readonly onProgress?: (done: number, total: number) => void;
};

/** The option names `InputError.field` can take. */
export type CodesField =
  | 'doorKey'
  | 'propertyKey'
  | 'doorId'
  | 'from'
  | 'days'
  | 'slots'
  | 'digits'
  | 'keyVersion'
  | 'workers'
  | 'format'
  | 'onProgress';

/** One derived code, as `deriveCodes` returns it. */
export interface CodeRecord {
  /** The door id, or `null` when only the door key was given. */
  readonly door: string | null;
  /** Day label `YYYYMMDD`. */
  readonly day: string;
  readonly slot: number;
  /** Zero-padded to `digits`. */
  readonly code: string;
}

/**
 * Formatted output of a bulk job: iterate it (`for await`) to run it; each iteration runs the
 * job afresh. Chunks are UTF-8 text ending on a line boundary, owned by the consumer.
 */
export interface BulkCodes extends AsyncIterable<Uint8Array> {
  /** Number of codes in the output. */
  readonly total: number;
  /** Worker threads the job will use; 0 means the calling thread. */
  readonly workers: number;
}

/** A validated job: plain data, so it can be posted to a worker. */
export interface CodesJob {
  readonly doorKey: Uint8Array;
  /** Printed in the `door` column; `null` when only the door key was given. */
  readonly door: string | null;
  /** Label `YYYYMMDD` of the first day. */
  readonly firstDay: string;
  readonly days: number;
  readonly slots: number;
  readonly digits: number;
  readonly keyVersion: number;
}

/** What a codes worker is started with. */
export interface CodesWorkerData {
  readonly job: CodesJob;
  readonly format: CodesFormat;
}

/** A task for a codes worker: the codes with flat indices `[start, end)`. */
export interface CodesWorkerRequest {
  readonly id: number;
  readonly start: number;
  readonly end: number;
}

/** A codes worker's answer; `bytes` owns its (transferred) buffer. */
export type CodesWorkerReply =
  | { readonly id: number; readonly bytes: Uint8Array }
  | { readonly id: number; readonly error: string };

const WORKER_URL = new URL('./codes-worker.js', import.meta.url);
/** Chunks of about 1 MiB: large enough to amortise a message, small enough to bound memory. */
const CHUNK_BYTES = 1 << 20;
const CSV_HEADER = 'door,day,slot,code\n';
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** With the `u` flag this matches only unpaired surrogates. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

const encoder = new TextEncoder();

/**
 * A worker costs about 0.15 s to start, the time the calling thread takes to derive and format
 * half a million codes; so by default a job gets one worker per million codes, up to the cores.
 */
const CODES_PER_DEFAULT_WORKER = 1_000_000;

function defaultWorkers(total: number): number {
  return Math.min(availableParallelism(), Math.floor(total / CODES_PER_DEFAULT_WORKER));
}

/**
 * Streams the codes of one door for `days` days from `from`, slots `[0, slots)` each, in order
 * (day, then slot), formatted as:
 * - `jsonl`: `{"door":"lobby","day":"20260314","slot":0,"code":"0123456"}` per line;
 *   `door` is `null` when only a door key was given (the id cannot be recovered from it);
 * - `csv`: header `door,day,slot,code`, then one row per code; `door` is empty without an id.
 *
 * Validates every option before returning (throws `InputError` naming the option); the work
 * starts when the result is iterated. With several workers this must run from the built package
 * (`dist/`), where `codes-worker.js` sits next to this module. Stop early with `break` (or the
 * iterator's `return()`) so the worker pool is shut down.
 */
export function bulkCodes(options: BulkCodesOptions): BulkCodes {
  const job = resolveJob(options);
  const format = options.format ?? 'jsonl';
  if (!(CODES_FORMATS as readonly string[]).includes(format)) {
    throw new InputError('format', `must be one of ${CODES_FORMATS.join(', ')}`);
  }
  const total = job.days * job.slots;
  const requested = options.workers ?? defaultWorkers(total);
  assertInteger('workers', requested, 0, MAX_WORKERS);
  const onProgress = options.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new InputError('onProgress', 'must be a function');
  }
  const chunkCodes = chunkCodesFor(job, format);
  const plan: Plan = {
    job,
    format,
    total,
    chunkCodes,
    tasks: Math.ceil(total / chunkCodes),
    onProgress,
  };
  // A single worker would only add its start-up time to the calling thread's work.
  const pooled = Math.min(requested, plan.tasks);
  const workers = pooled <= 1 ? 0 : pooled;
  return {
    total,
    workers,
    [Symbol.asyncIterator]: () => (workers === 0 ? runInThread(plan) : runPooled(plan, workers)),
  };
}

/**
 * Derives the codes of a small job (at most `MAX_SYNC_CODES`) in the calling thread, as records
 * in order (day, then slot). Throws `InputError` on bad options, like `bulkCodes`.
 */
export function deriveCodes(options: CodesOptions): CodeRecord[] {
  const job = resolveJob(options);
  if (job.days * job.slots > MAX_SYNC_CODES) {
    throw new InputError(
      'days',
      `days × slots must be at most ${MAX_SYNC_CODES} here; use bulkCodes for larger jobs`,
    );
  }
  const derive = threadKernel();
  const codes = new Uint32Array(job.slots);
  const records: CodeRecord[] = [];
  for (let d = 0; d < job.days; d++) {
    const day = addDays(job.firstDay, d);
    derive({ ...dayRequest(job, day), firstSlot: 0, count: job.slots }, codes);
    for (let slot = 0; slot < job.slots; slot++) {
      records.push({ door: job.door, day, slot, code: formatCode(codes[slot] ?? 0, job.digits) });
    }
  }
  return records;
}

/**
 * Formats the codes of one job as text, straight into a reused byte buffer (no string per code).
 * One instance per thread: the calling thread, or each worker (`codes-worker.ts`).
 */
export class ChunkFormatter {
  /** The most codes one `format` call may cover. */
  readonly chunkCodes: number;
  private readonly codes: Uint32Array;
  private readonly bytes: Uint8Array;
  /** `head ‖ day label ‖ mid` of the day being formatted; the label is rewritten per day. */
  private readonly prefix: Uint8Array;
  private readonly labelOffset: number;
  private readonly separator: Uint8Array;
  private readonly tail: Uint8Array;

  constructor(
    private readonly job: CodesJob,
    format: CodesFormat,
    private readonly derive: DayCodesDeriver,
  ) {
    const template = lineTemplate(format, job.door);
    this.chunkCodes = chunkCodesFor(job, format);
    this.codes = new Uint32Array(Math.min(this.chunkCodes, job.slots));
    this.bytes = new Uint8Array(this.chunkCodes * maxLineBytes(template, job.digits));
    this.prefix = concatBytes(template.head, new Uint8Array(8), template.mid);
    this.labelOffset = template.head.length;
    this.separator = template.separator;
    this.tail = template.tail;
  }

  /**
   * Formats the codes with flat indices `[start, end)` (index = day × slots + slot). Returns a
   * view of the reused buffer, valid until the next call.
   */
  format(start: number, end: number): Uint8Array {
    if (!(start >= 0 && end > start && end - start <= this.chunkCodes)) {
      throw new RangeError(`chunk [${start}, ${end}) exceeds ${this.chunkCodes} codes`);
    }
    const { slots, digits } = this.job;
    const { bytes, codes, prefix, separator, tail } = this;
    let p = 0;
    for (let index = start; index < end;) {
      const dayIndex = Math.floor(index / slots);
      const firstSlot = index - dayIndex * slots;
      const count = Math.min(slots - firstSlot, end - index);
      const day = addDays(this.job.firstDay, dayIndex);
      this.derive({ ...dayRequest(this.job, day), firstSlot, count }, codes);
      encoder.encodeInto(day, prefix.subarray(this.labelOffset));
      for (let i = 0; i < count; i++) {
        bytes.set(prefix, p);
        p = putDecimal(bytes, p + prefix.length, firstSlot + i);
        p = putBytes(bytes, p, separator);
        p = putPadded(bytes, p, codes[i] ?? 0, digits);
        p = putBytes(bytes, p, tail);
      }
      index += count;
    }
    return bytes.subarray(0, p);
  }
}

interface Plan {
  readonly job: CodesJob;
  readonly format: CodesFormat;
  readonly total: number;
  readonly chunkCodes: number;
  readonly tasks: number;
  readonly onProgress: ((done: number, total: number) => void) | undefined;
}

/** The flat index range `[start, end)` of task `id`. */
function taskRange(plan: Plan, id: number): { start: number; end: number } {
  const start = id * plan.chunkCodes;
  return { start, end: Math.min(plan.total, start + plan.chunkCodes) };
}

function header(plan: Plan): Uint8Array | undefined {
  return plan.format === 'csv' ? encoder.encode(CSV_HEADER) : undefined;
}

async function* runInThread(plan: Plan): AsyncGenerator<Uint8Array, void, undefined> {
  const head = header(plan);
  if (head !== undefined) yield head;
  const formatter = new ChunkFormatter(plan.job, plan.format, createDoorcodeKernel());
  for (let id = 0; id < plan.tasks; id++) {
    const { start, end } = taskRange(plan, id);
    // A copy: the formatter's buffer is reused, the consumer may keep the chunk.
    const chunk = formatter.format(start, end).slice();
    plan.onProgress?.(end, plan.total);
    yield chunk;
    // Let I/O, signals and timers run between chunks, as they do while the pool is waited on.
    await nextTurn();
  }
}

async function* runPooled(
  plan: Plan,
  poolSize: number,
): AsyncGenerator<Uint8Array, void, undefined> {
  const window = 2 * poolSize;
  const done = new Map<number, Uint8Array>();
  const idle: Worker[] = [];
  let failure: Error | undefined;
  let stopping = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const fail = (message: string, cause?: unknown): void => {
    failure ??= new KeywayError(`doorcode worker failed: ${message}`, { cause });
    notify();
  };
  const spawn = (): Worker => {
    const workerData: CodesWorkerData = { job: plan.job, format: plan.format };
    const worker = new Worker(WORKER_URL, { workerData });
    worker.on('message', (reply: CodesWorkerReply) => {
      if ('error' in reply) fail(reply.error);
      else done.set(reply.id, reply.bytes);
      idle.push(worker);
      notify();
    });
    worker.on('error', (error) => fail(error.message, error));
    worker.on('messageerror', (error) => fail(error.message, error));
    worker.on('exit', (code) => {
      if (!stopping) fail(`exited unexpectedly with code ${code}`);
    });
    return worker;
  };

  const pool = Array.from({ length: poolSize }, spawn);
  idle.push(...pool);
  try {
    const head = header(plan);
    if (head !== undefined) yield head;
    let dispatched = 0;
    for (let next = 0; next < plan.tasks;) {
      // Backpressure: never more than `window` chunks between dispatch and the consumer.
      while (idle.length > 0 && dispatched < plan.tasks && dispatched < next + window) {
        const request: CodesWorkerRequest = { id: dispatched, ...taskRange(plan, dispatched) };
        idle.pop()?.postMessage(request);
        dispatched++;
      }
      if (failure !== undefined) throw failure;
      const chunk = done.get(next);
      if (chunk === undefined) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      done.delete(next);
      next++;
      plan.onProgress?.(taskRange(plan, next - 1).end, plan.total);
      yield chunk;
    }
  } finally {
    stopping = true;
    await Promise.all(pool.map((worker) => worker.terminate()));
  }
}

/** Validates the door and range options shared by `bulkCodes` and `deriveCodes`. */
function resolveJob(options: CodesOptions): CodesJob {
  const given = options as Partial<Record<'doorKey' | 'propertyKey' | 'doorId', unknown>>;
  let doorKey: Uint8Array;
  let door: string | null;
  if (given.doorKey !== undefined) {
    if (given.propertyKey !== undefined || given.doorId !== undefined) {
      throw new InputError(
        given.propertyKey !== undefined ? 'propertyKey' : 'doorId',
        'give either doorKey, or propertyKey and doorId, not both',
      );
    }
    doorKey = assertKey('doorKey', given.doorKey);
    door = null;
  } else if (given.propertyKey !== undefined) {
    const propertyKey = assertKey('propertyKey', given.propertyKey);
    door = assertDoorId(given.doorId);
    doorKey = deriveDoorKey(propertyKey, door);
  } else if (given.doorId !== undefined) {
    throw new InputError('propertyKey', 'is required with doorId');
  } else {
    throw new InputError('doorKey', 'missing: give doorKey, or propertyKey and doorId');
  }
  const firstDay = assertIsoDate('from', options.from);
  const days = assertInteger('days', options.days, 1, MAX_DAYS);
  try {
    addDays(firstDay, days - 1);
  } catch {
    throw new InputError('days', `${days} days from ${String(options.from)} run past 9999-12-31`);
  }
  return {
    doorKey,
    door,
    firstDay,
    days,
    slots: assertInteger('slots', options.slots, 1, MAX_SLOTS),
    digits: assertInteger(
      'digits',
      options.digits ?? DOORCODE_DEFAULTS.digits,
      MIN_DIGITS,
      MAX_DIGITS,
    ),
    keyVersion: assertInteger(
      'keyVersion',
      options.keyVersion ?? DOORCODE_DEFAULTS.keyVersion,
      0,
      MAX_KEY_VERSION,
    ),
  };
}

/** Never echoes the value: it is key material. */
function assertKey(field: CodesField, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InputError(field, 'must be a Uint8Array');
  // §5 fixes 32 bytes for K_property as for K_door.
  if (value.length !== DOORCODE_KEY_BYTES) {
    throw new InputError(field, `must be ${DOORCODE_KEY_BYTES} bytes (got ${value.length})`);
  }
  // A copy: the job runs later, when the caller may have reused or wiped its array.
  return value.slice();
}

function assertDoorId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_DOOR_ID_LENGTH) {
    throw new InputError('doorId', `must be a string of 1..${MAX_DOOR_ID_LENGTH} characters`);
  }
  // §5 hashes utf8(doorId); a lone surrogate has no UTF-8 encoding.
  if (LONE_SURROGATE.test(value)) throw new InputError('doorId', 'must be well-formed Unicode');
  return value;
}

function assertInteger(field: CodesField, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const got = typeof value === 'number' ? String(value) : typeof value;
    throw new InputError(field, `must be an integer in ${min}..${max} (got ${got})`);
  }
  return value;
}

/** Checks a real `YYYY-MM-DD` date (years 0001..9999) and returns its label `YYYYMMDD`. */
function assertIsoDate(field: CodesField, value: unknown): string {
  const match = typeof value === 'string' ? ISO_DATE.exec(value) : null;
  const label = match === null ? '' : `${match[1]}${match[2]}${match[3]}`;
  try {
    assertDayLabel(label);
  } catch {
    const shown = typeof value === 'string' ? JSON.stringify(value) : typeof value;
    throw new InputError(field, `${shown} is not a date (expected YYYY-MM-DD)`);
  }
  return label;
}

function dayRequest(job: CodesJob, day: string) {
  return { doorKey: job.doorKey, day, keyVersion: job.keyVersion, digits: job.digits };
}

/** The constant bytes of a line, around the day label, the slot and the code. */
interface LineTemplate {
  readonly head: Uint8Array;
  readonly mid: Uint8Array;
  readonly separator: Uint8Array;
  readonly tail: Uint8Array;
}

function lineTemplate(format: CodesFormat, door: string | null): LineTemplate {
  const parts =
    format === 'jsonl'
      ? [
          `{"door":${door === null ? 'null' : JSON.stringify(door)},"day":"`,
          '","slot":',
          ',"code":"',
          '"}\n',
        ]
      : [`${csvField(door ?? '')},`, ',', ',', '\n'];
  const [head = '', mid = '', separator = '', tail = ''] = parts;
  return {
    head: encoder.encode(head),
    mid: encoder.encode(mid),
    separator: encoder.encode(separator),
    tail: encoder.encode(tail),
  };
}

/** RFC 4180: quote a field holding a comma, a quote or a line break, doubling its quotes. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The longest line: an 8-digit label, a 5-digit slot (< 65536) and the code. */
function maxLineBytes(template: LineTemplate, digits: number): number {
  const { head, mid, separator, tail } = template;
  return head.length + 8 + mid.length + 5 + separator.length + digits + tail.length;
}

/** Codes per chunk: the same on every thread, since the main thread plans what workers format. */
function chunkCodesFor(job: CodesJob, format: CodesFormat): number {
  return Math.max(
    1,
    Math.floor(CHUNK_BYTES / maxLineBytes(lineTemplate(format, job.door), job.digits)),
  );
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A byte loop: for a separator of a few bytes it beats `set`, which has a fixed cost per call. */
function putBytes(out: Uint8Array, p: number, src: Uint8Array): number {
  for (let i = 0; i < src.length; i++) out[p + i] = src[i] ?? 0;
  return p + src.length;
}

/** Writes `value` (< 10^9) in decimal, without padding. */
function putDecimal(out: Uint8Array, p: number, value: number): number {
  let width = 1;
  for (let rest = value; rest >= 10; rest = (rest / 10) | 0) width++;
  return putPadded(out, p, value, width);
}

/** Writes `value` as exactly `width` decimal digits, zero-padded on the left (§5). */
function putPadded(out: Uint8Array, p: number, value: number, width: number): number {
  let rest = value;
  for (let i = p + width - 1; i >= p; i--) {
    out[i] = 48 + (rest % 10);
    rest = (rest / 10) | 0;
  }
  return p + width;
}

/** One kernel per thread for `deriveCodes`: creating one instantiates its wasm module. */
let kernel: DayCodesDeriver | undefined;

function threadKernel(): DayCodesDeriver {
  kernel ??= createDoorcodeKernel();
  return kernel;
}
