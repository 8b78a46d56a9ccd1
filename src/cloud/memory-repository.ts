/**
 * The in-memory `CloudRepository` (ARCHITECTURE.md §6): one `Map` per table, whose insertion
 * order is the listing order. Records are stored as given; the authority never mutates one.
 */
import type {
  AuditEntry,
  BundleRecord,
  CloudRepository,
  CredentialRecord,
  DailyCodeEntry,
  DoorcodeEntry,
  DoorRecord,
  KeyRecord,
  NotificationRecord,
  PhoneRecord,
  PropertyRecord,
  ShareRecord,
  Table,
  UserRecord,
} from './repository.js';

export class MemoryTable<T extends { readonly id: string }> implements Table<T> {
  readonly #rows = new Map<string, T>();

  get(id: string): T | undefined {
    return this.#rows.get(id);
  }

  put(record: T): void {
    this.#rows.set(record.id, record);
  }

  delete(id: string): void {
    this.#rows.delete(id);
  }

  list(): T[] {
    return [...this.#rows.values()];
  }
}

export class MemoryRepository implements CloudRepository {
  readonly properties = new MemoryTable<PropertyRecord>();
  readonly doors = new MemoryTable<DoorRecord>();
  readonly users = new MemoryTable<UserRecord>();
  readonly keys = new MemoryTable<KeyRecord>();
  readonly shares = new MemoryTable<ShareRecord>();
  readonly phones = new MemoryTable<PhoneRecord>();
  readonly credentials = new MemoryTable<CredentialRecord>();
  readonly doorcodes = new MemoryTable<DoorcodeEntry>();
  readonly dailyCodes = new MemoryTable<DailyCodeEntry>();
  readonly bundles = new MemoryTable<BundleRecord>();
  readonly audit = new MemoryTable<AuditEntry>();
  readonly notifications = new MemoryTable<NotificationRecord>();
}
