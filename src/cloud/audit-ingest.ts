/**
 * Audit ingest (ARCHITECTURE.md §3 "Audit log", "Passive sync"; §6 "audit ingest (dedupe by
 * lock sequence)"): the rules that turn opened uploads into the acknowledgement a later bundle
 * carries (`auditAck`: every sequence below it reached the cloud, so the lock may trim).
 *
 * Dedupe: a record is new when the cloud has no record of that lock with that sequence; two
 * phones carrying the same chunk deliver it once.
 *
 * The acknowledgement advances over sequences the cloud holds, one by one, so a chunk still in
 * some phone's pocket is never acknowledged and trimmed before it arrives. A gap is crossed only
 * when the lock itself says it dropped records: its ring drops the oldest page when it wraps and
 * counts the unacknowledged records it dropped in `overflow` (`firmware-sim/audit-ring.ts`). The
 * rise of that counter since the last upload is how many of the oldest missing sequences below
 * the upload's first one the cloud may declare lost — noted, never silent.
 */
import type { AuditUpload } from '../../protocol/formats/audit-upload.js';
import type { AuditProgress } from './repository.js';

/** What one upload did to a lock's audit progress. */
export interface AuditAdvance {
  readonly progress: AuditProgress;
  /** Sequences declared lost by this upload. */
  readonly lost: number;
}

/**
 * The progress after `upload`, whose new records are already stored; `holds(seq)` tells
 * whether the cloud has the record of that sequence.
 */
export function advanceAudit(
  progress: AuditProgress,
  upload: AuditUpload,
  holds: (seq: number) => boolean,
): AuditAdvance {
  let ack = progress.ack;
  let droppable = Math.max(0, upload.overflow - progress.overflow);
  let lost = 0;
  for (;;) {
    if (holds(ack)) {
      ack++;
    } else if (ack < upload.firstSeq && droppable > 0) {
      ack++;
      droppable--;
      lost++;
    } else {
      break;
    }
  }
  return {
    progress: {
      ack,
      overflow: Math.max(progress.overflow, upload.overflow),
      lost: progress.lost + lost,
    },
    lost,
  };
}
