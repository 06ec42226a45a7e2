import type { CallState } from '../domain/call.js';
import type { ApiKeyId, EventId, SourceId } from '../domain/ids.js';

/** The interfaces the services need. Only app.ts knows which backend implements them. */

export type EventStatus = 'ok' | 'quarantined';

/** One ingest request, ready to be stored. Accepted start_call and end_call events also update their call. */
export interface NewEvent {
  id: EventId;
  sourceId: SourceId;
  callId: string | null;
  type: string | null;
  status: EventStatus;
  errorCode: string | null;
  errorDetail: string | null;
  /** As the sender claimed it, whole (the stored copy is cut to 255 characters). */
  contentType: string | null;
  body: Buffer | null;
  /** SHA-256 of the body, for accepted events only: it is the deduplication key. */
  bodyHash: string | null;
  bodySize: number;
  bodyTruncated: boolean;
  receivedAt: number;
}

/** What the log answers for each appended event: the stored id (the first one for a duplicate) and seq. */
export interface AppendResult {
  id: EventId;
  seq: number;
  duplicate: boolean;
  call: CallState | null;
}

/** An event as the log keeps it: what was appended (its content type cut to 255), with its seq. */
export interface StoredEvent extends Omit<NewEvent, 'bodyHash'> {
  seq: number;
}

export interface EventFilter {
  status?: EventStatus;
  type?: string;
  callId?: string;
  sourceId?: string;
  /** Only events with a seq lower than this (pagination, newest first). */
  beforeSeq?: number;
  limit: number;
}

export interface EventLog {
  /**
   * Appends a batch in ONE transaction: the events, deduplicated by (source, body hash), and the call
   * records they update. Resolves only once the transaction is durably committed; rejects if it is not,
   * in which case nothing of the batch is stored.
   */
  append(batch: readonly NewEvent[]): Promise<AppendResult[]>;
  get(id: string): Promise<StoredEvent | null>;
  list(filter: EventFilter): Promise<StoredEvent[]>;
}

export interface Calls {
  /** The call with this id; when several sources share it, `sourceId` picks one, else the latest. */
  get(callId: string, sourceId?: string): Promise<CallState | null>;
  /** Marks calls still in progress whose first event is older than `before` as stale; returns how many. */
  markStale(before: number): Promise<number>;
}

export interface Source {
  id: SourceId;
  name: string;
  tokenHint: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface Sources {
  create(source: { id: SourceId; name: string; tokenHash: string; tokenHint: string; createdAt: number }): Promise<void>;
  /** The active source whose current token, or previous token still in its grace period, has this hash. */
  findByTokenHash(hash: string, now: number): Promise<Source | null>;
  list(): Promise<Source[]>;
}

export type Scope = 'read' | 'admin';

export interface ApiKey {
  id: ApiKeyId;
  name: string;
  scope: Scope;
  keyHint: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface ApiKeys {
  create(key: { id: ApiKeyId; name: string; scope: Scope; keyHash: string; keyHint: string; createdAt: number }): Promise<void>;
  findActiveByHash(hash: string): Promise<ApiKey | null>;
  list(): Promise<ApiKey[]>;
}

export interface Storage {
  readonly dialect: 'sqlite' | 'postgres';
  readonly events: EventLog;
  readonly calls: Calls;
  readonly sources: Sources;
  readonly keys: ApiKeys;
  migrate(): Promise<string[]>;
  /** Throws unless the database answers and every migration is applied. */
  checkReady(): Promise<void>;
  /** True when the database holds no source and no key yet (a first start). */
  isEmpty(): Promise<boolean>;
  close(): Promise<void>;
}
