/**
 * Worker-thread entry of `bulk-codes.ts`: one fast kernel (its own wasm memory) and one formatter
 * per thread, created once; each request formats a chunk, whose buffer is transferred back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createDoorcodeKernel } from '../../protocol/doorcode/kernel.js';
import { ChunkFormatter } from './bulk-codes.js';
import type { CodesWorkerData, CodesWorkerReply, CodesWorkerRequest } from './bulk-codes.js';

const port = parentPort;
if (port === null) throw new Error('codes-worker.js runs only as a worker thread of bulkCodes');

const { job, format } = workerData as CodesWorkerData;
const formatter = new ChunkFormatter(job, format, createDoorcodeKernel());

port.on('message', ({ id, start, end }: CodesWorkerRequest) => {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    // A copy of the used part: the formatter's buffer is reused, the copy is transferred.
    bytes = formatter.format(start, end).slice();
  } catch (error) {
    const reply: CodesWorkerReply = {
      id,
      error: error instanceof Error ? error.message : String(error),
    };
    port.postMessage(reply);
    return;
  }
  const reply: CodesWorkerReply = { id, bytes };
  port.postMessage(reply, [bytes.buffer]);
});
