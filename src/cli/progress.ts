/** A one-line progress bar on a terminal; silent when the stream is not a TTY (logs, pipes). */

export interface Progress {
  readonly update: (done: number, total: number) => void;
  /** Clears the bar, if one was drawn. */
  readonly finish: () => void;
}

/** Redraws at most this often: a terminal write per chunk would cost more than the chunk. */
const REDRAW_MS = 100;
const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });

/** A bar labelled `label` on `stream`, with the rate measured on `now` (ms). */
export function createProgress(
  stream: NodeJS.WriteStream,
  label: string,
  now: () => number,
): Progress {
  if (!stream.isTTY) return { update: () => undefined, finish: () => undefined };
  const started = now();
  let drawn = -Infinity;
  let shown = false;
  return {
    update: (done, total) => {
      const at = now();
      if (at - drawn < REDRAW_MS && done < total) return;
      drawn = at;
      shown = true;
      const fraction = total > 0 ? done / total : 1;
      const width = Math.max(10, Math.min(40, (stream.columns || 80) - 50));
      const filled = Math.round(fraction * width);
      const rate = (done * 1000) / Math.max(1, at - started);
      stream.write(
        `\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` +
          `${Math.floor(fraction * 100)}% ${compact.format(done)}/${compact.format(total)} ` +
          `${compact.format(rate)}/s\x1b[K`,
      );
    },
    finish: () => {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
