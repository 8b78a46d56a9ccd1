/**
 * bench/codes — daily-doorcode derivation speed (ARCHITECTURE.md §8). One core: the fast kernel
 * against HMAC per code with node:crypto `createHmac` and @noble/hashes, otpauth's HOTP, and
 * `openssl speed -evp sha256 -bytes 64` (one code costs two SHA-256 compressions, as does a
 * 64-byte message: the fair hardware yardstick). All cores: `keyway codes` end to end.
 * Outputs are validated before anything is timed. Rates are per CPU-second of this process, so
 * other load on the machine skews them less; openssl reports its own rate the same way.
 *
 * Run: npm run bench   (writes bench/results/codes-<time>.json)
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { HOTP, Secret } from 'otpauth';
import { DoorcodeKernel } from '../protocol/doorcode/kernel.js';
import { referenceDayCodes } from '../protocol/doorcode/reference.js';
import { hotp as referenceHotp } from '../protocol/doorcode/otp.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The package root: this file runs from dist/bench/. */
const root = join(here, '..', '..');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 2);
const DIGITS = 7;
const SLOTS = 256;
const doorKey = Uint8Array.from({ length: 32 }, (_, i) => (i * 29 + 7) & 0xff);
const hotpSecret = Secret.fromHex(Buffer.from(doorKey).toString('hex'));

const cpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** Calls `batch` (which derives `perBatch` codes) until SECONDS of CPU have passed; codes per CPU-second. */
function rate(perBatch: number, batch: (i: number) => void): number {
  for (let i = 0; i < 3; i++) batch(i); // warm-up, lets V8 tier up
  let done = 0;
  let i = 0;
  const start = cpuSeconds();
  while (cpuSeconds() - start < SECONDS) {
    batch(i++);
    done += perBatch;
  }
  return done / (cpuSeconds() - start);
}

/** Best of three runs: the least disturbed by other work on the machine. */
const best = (measure: () => number): number => Math.max(measure(), measure(), measure());

const day = (i: number): string => String(20260101 + (i % 28));

// §5 in one HMAC per code, the way a straightforward implementation writes it.
function dayKeyOf(dayLabel: string): Buffer {
  return createHmac('sha256', doorKey)
    .update(`day${dayLabel}`)
    .update(Buffer.from([0, 1]))
    .digest();
}
function truncate(mac: Uint8Array): number {
  const offset = mac[mac.length - 1]! & 0x0f;
  const word =
    ((mac[offset]! & 0x7f) << 24) |
    (mac[offset + 1]! << 16) |
    (mac[offset + 2]! << 8) |
    mac[offset + 3]!;
  return word % 10 ** DIGITS;
}
const slotMessage = (slot: number): Uint8Array =>
  Uint8Array.of(0x63, 0x6f, 0x64, 0x65, slot >> 8, slot & 0xff);
function createHmacDay(dayLabel: string, out: Uint32Array): void {
  const dayKey = dayKeyOf(dayLabel);
  for (let slot = 0; slot < SLOTS; slot++) {
    out[slot] = truncate(createHmac('sha256', dayKey).update(slotMessage(slot)).digest());
  }
}
function nobleDay(dayLabel: string, out: Uint32Array): void {
  const dayKey = dayKeyOf(dayLabel);
  for (let slot = 0; slot < SLOTS; slot++)
    out[slot] = truncate(hmac(sha256, dayKey, slotMessage(slot)));
}

function validate(kernel: DoorcodeKernel): void {
  const expected = new Uint32Array(SLOTS);
  const got = new Uint32Array(SLOTS);
  for (let i = 0; i < 3; i++) {
    referenceDayCodes(
      { doorKey, day: day(i), keyVersion: 1, firstSlot: 0, count: SLOTS, digits: DIGITS },
      expected,
    );
    kernel.deriveDayCodes(
      { doorKey, day: day(i), keyVersion: 1, firstSlot: 0, count: SLOTS, digits: DIGITS },
      got,
    );
    if (!got.every((c, s) => c === expected[s]))
      throw new Error('kernel disagrees with the reference');
    createHmacDay(day(i), got);
    if (!got.every((c, s) => c === expected[s])) throw new Error('createHmac baseline disagrees');
    nobleDay(day(i), got);
    if (!got.every((c, s) => c === expected[s]))
      throw new Error('@noble/hashes baseline disagrees');
  }
  const hotpOut = new Uint32Array(8);
  kernel.hotp(doorKey, { counter: 1000, count: 8, digits: DIGITS }, hotpOut);
  hotpOut.forEach((code, i) => {
    const counter = 1000 + i;
    const theirs = HOTP.generate({
      secret: hotpSecret,
      algorithm: 'SHA256',
      digits: DIGITS,
      counter,
    });
    if (
      Number(theirs) !== code ||
      referenceHotp(doorKey, counter, { hash: 'sha256', digits: DIGITS }) !== theirs
    ) {
      throw new Error('kernel HOTP disagrees with otpauth or the reference');
    }
  });
}

function opensslRate(): number | undefined {
  try {
    const text = execFileSync(
      'openssl',
      ['speed', '-evp', 'sha256', '-bytes', '64', '-seconds', String(Math.max(1, SECONDS))],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    // "sha256   319661.23k": thousands of bytes per second for 64-byte messages.
    const match = /^sha256\s+([\d.]+)k\s*$/m.exec(text);
    return match ? (Number(match[1]) * 1000) / 64 : undefined;
  } catch {
    return undefined;
  }
}

/** `keyway codes` on every core, output to /dev/null: codes per wall-clock second. */
async function cliRate(workers: number): Promise<{ codes: number; seconds: number }> {
  const days = 36_500;
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [
      join(root, 'dist', 'src', 'cli', 'main.js'),
      'codes',
      '--door-key',
      Buffer.from(doorKey).toString('hex'),
      '--from',
      '2026-01-01',
      '--days',
      String(days),
      '--slots',
      String(SLOTS),
      '--workers',
      String(workers),
    ],
    { stdio: ['ignore', openSync('/dev/null', 'w'), 'inherit'] },
  );
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`keyway codes exited with ${code}`);
  const seconds = (performance.now() - started) / 1000;
  return { codes: days * SLOTS, seconds };
}

async function main(): Promise<void> {
  const kernel = new DoorcodeKernel();
  validate(kernel);
  console.log(
    `bench/codes: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores`,
  );
  console.log(
    `one core, ${SLOTS} slots per door and day, ${DIGITS} digits; codes per CPU-second\n`,
  );

  const out = new Uint32Array(SLOTS);
  const results: Record<string, number | undefined> = {};
  results['kernel'] = best(() =>
    rate(SLOTS * 16, (i) => {
      for (let d = 0; d < 16; d++) {
        kernel.deriveDayCodes(
          {
            doorKey,
            day: day(i * 16 + d),
            keyVersion: 1,
            firstSlot: 0,
            count: SLOTS,
            digits: DIGITS,
          },
          out,
        );
      }
    }),
  );
  results['createHmac'] = rate(SLOTS, (i) => createHmacDay(day(i), out));
  results['noble'] = rate(SLOTS, (i) => nobleDay(day(i), out));
  results['otpauthHotp'] = rate(256, (i) => {
    for (let c = 0; c < 256; c++)
      HOTP.generate({
        secret: hotpSecret,
        algorithm: 'SHA256',
        digits: DIGITS,
        counter: i * 256 + c,
      });
  });
  const hotpOut = new Uint32Array(4096);
  results['kernelHotp'] = best(() =>
    rate(4096, (i) =>
      kernel.hotp(doorKey, { counter: i * 4096, count: 4096, digits: DIGITS }, hotpOut),
    ),
  );
  results['openssl64'] = opensslRate();
  const cores = availableParallelism();
  const cli = await cliRate(cores);
  results['cliAllCores'] = cli.codes / cli.seconds;

  const m = (x: number | undefined): string =>
    x === undefined ? 'n/a' : `${(x / 1e6).toFixed(2)} M/s`;
  const rows: [string, number | undefined][] = [
    ['fast kernel (WebAssembly SIMD)', results['kernel']],
    ['node createHmac per code', results['createHmac']],
    ['@noble/hashes hmac per code', results['noble']],
    ['otpauth HOTP-SHA256', results['otpauthHotp']],
    ['fast kernel HOTP-SHA256', results['kernelHotp']],
    ['openssl sha256, 64-byte messages', results['openssl64']],
    [`keyway codes, ${cores} workers (wall clock)`, results['cliAllCores']],
  ];
  for (const [name, value] of rows) console.log(`  ${name.padEnd(42)} ${m(value)}`);
  const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
    a === undefined || b === undefined ? undefined : a / b;
  const ratios = {
    kernelOverCreateHmac: ratio(results['kernel'], results['createHmac']),
    kernelOverOpenssl: ratio(results['kernel'], results['openssl64']),
    kernelHotpOverOtpauth: ratio(results['kernelHotp'], results['otpauthHotp']),
  };
  console.log('');
  console.log(
    `  kernel / createHmac   ${ratios.kernelOverCreateHmac?.toFixed(1) ?? 'n/a'}×   (target ≥ 15×)`,
  );
  console.log(
    `  kernel / openssl      ${ratios.kernelOverOpenssl?.toFixed(2) ?? 'n/a'}×   (target ≥ 0.85×)`,
  );
  console.log(`  kernel HOTP / otpauth ${ratios.kernelHotpOverOtpauth?.toFixed(1) ?? 'n/a'}×`);

  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `codes-${new Date().toISOString().replaceAll(':', '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ bench: 'codes', node: process.version, cpu: cpus()[0]?.model, cores, seconds: SECONDS, slots: SLOTS, digits: DIGITS, results, ratios }, null, 2)}\n`,
  );
  console.log(`\nwrote ${file}`);
}

await main();
