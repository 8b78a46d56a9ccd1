/**
 * Door State Notifications (ARCHITECTURE.md §3: Door Ajar, Door Still Ajar, Door Breached, Door
 * Secure — "events delivered to the cloud (e-mail outbox later)"): which lock events become
 * notifications, and the outbox record each one queues for the property's managers.
 *
 * The input is the lock's event record as the World logs it (`{ t, type, openMs?, repeat? }`,
 * `firmware-sim/events.ts`); any other type is ignored, so a whole event log may be passed. The
 * record's id is built from the door, the kind, the time and the repeat count, so the same
 * event reported twice queues one notification.
 */
import type { DoorRecord, DoorStateKind, NotificationRecord } from './repository.js';

export const DOOR_STATE_KINDS: readonly DoorStateKind[] = [
  'DOOR_AJAR',
  'DOOR_STILL_AJAR',
  'DOOR_BREACHED',
  'DOOR_SECURE',
];

/** A lock event as logged (`LockEvent` is assignable to it). */
export interface LockEventInput {
  readonly t: number;
  readonly type: string;
  readonly openMs?: number;
  readonly repeat?: number;
}

export function isDoorStateKind(type: string): type is DoorStateKind {
  return (DOOR_STATE_KINDS as readonly string[]).includes(type);
}

/** The outbox record of a door-state event. */
export function notificationOf(
  door: DoorRecord,
  event: LockEventInput & { readonly type: DoorStateKind },
  recipients: readonly string[],
  now: number,
): NotificationRecord {
  return {
    id: `${door.id}:${event.type}:${event.t}:${event.repeat ?? 0}`,
    doorId: door.id,
    doorName: door.name,
    kind: event.type,
    time: event.t,
    ...(event.openMs === undefined ? {} : { openMs: event.openMs }),
    ...(event.repeat === undefined ? {} : { repeat: event.repeat }),
    recipients,
    queuedAt: now,
  };
}
