/** Writing command output to stdout with backpressure, and quietly stopping when the reader goes. */
import type { Writable } from 'node:stream';

/** Errors meaning the reader closed its end (`keyway codes ... | head`): not a failure. */
const READER_GONE = new Set(['EPIPE', 'ERR_STREAM_DESTROYED', 'ECONNRESET']);

/** True for a write error caused by the reader closing the pipe. */
export function isReaderGone(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && READER_GONE.has(code);
}

/**
 * Writes every chunk to `out`, waiting for `drain` whenever its buffer is full, so a fast
 * producer never runs ahead of a slow reader. Stops early (ending the iteration, which shuts
 * the producer down) when the reader goes away. Resolves to `false` in that case, `true` when
 * everything was written; rejects on any other write error.
 */
export async function writeChunks(
  out: Writable,
  chunks: AsyncIterable<Uint8Array>,
): Promise<boolean> {
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const resume = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const onError = (error: Error): void => {
    failure ??= error;
    resume();
  };
  out.on('error', onError);
  out.on('drain', resume);
  out.on('close', resume);
  try {
    for await (const chunk of chunks) {
      if (failure !== undefined || out.destroyed) break;
      if (!out.write(chunk)) await new Promise<void>((resolve) => (wake = resolve));
      if (failure !== undefined || out.destroyed) break;
    }
  } finally {
    out.off('drain', resume);
    out.off('close', resume);
    out.off('error', onError);
  }
  if (failure !== undefined && !isReaderGone(failure)) throw failure;
  return failure === undefined && !out.destroyed;
}
