import { hash } from 'node:crypto';
import { isKnownEventType } from '../domain/convolo.js';
import { AppError } from '../domain/errors.js';
import { newId, type EventId, type SourceId } from '../domain/ids.js';
import { parseIngestBody } from '../domain/parse-body.js';
import type { Metrics } from '../observability/metrics.js';
import type { AppendResult, EventWriter, NewEvent, StoredEvent } from '../storage/ports.js';
import { createGroupCommitter } from './group-commit.js';

export interface IngestRequest {
  sourceId: SourceId;
  raw: Buffer;
  contentType: string | undefined;
}

export type IngestAnswer =
  | { status: 200 | 202; body: { ok: true; id: EventId; duplicate?: true } }
  | { status: number; body: Record<string, unknown> };

export interface IngestOptions {
  log: EventWriter;
  metrics: Metrics;
  quarantineBodyBytes: number;
  commitMaxBatch: number;
  commitMaxQueue: number;
  commitMaxInFlight: number;
  /** Called after each committed batch (the relay looks for the new events). */
  onCommitted?: (results: readonly AppendResult[]) => void;
  /** True while the results should hold each fresh event as stored (AppendOptions.stored): a stream has clients. */
  wantsStored?: () => boolean;
  now?: () => number;
}

/**
 * Classifies an ingest request, stores it through the group committer, and says what to answer.
 * Every request that reached a known source leaves a trace: an event, or a quarantine record with the raw
 * body (truncated) and the reason, unless the commit itself failed (then the sender is told 503 and retries).
 */
export function createIngest(options: IngestOptions) {
  const now = options.now ?? Date.now;
  const { metrics } = options;
  const committer = createGroupCommitter<NewEvent, AppendResult>({
    commit: async (batch) => {
      const results = await options.log.append(batch, options.wantsStored?.() ? withStored : undefined);
      options.onCommitted?.(results);
      return results;
    },
    maxBatch: options.commitMaxBatch,
    maxQueue: options.commitMaxQueue,
    maxInFlight: options.commitMaxInFlight,
    overlap: options.log.commitOverlap,
    onBatch: (size, _seconds, ok) => {
      metrics.commitBatchSize.observe(size);
      if (!ok) metrics.commitFailures.inc();
    },
  });

  metrics.measureQueueDepth(() => committer.depth);
  /** Stores through the group committer; a storage failure becomes 503 storage_unavailable. */
  const store = (event: NewEvent, lane?: 'background'): Promise<AppendResult> =>
    committer.submit(event, lane).catch((cause: unknown) => {
      throw cause instanceof AppError ? cause : new AppError('storage_unavailable', {}, { cause });
    });

  async function receive(request: IngestRequest): Promise<IngestAnswer> {
    const started = performance.now();
    const { typeLabel, known, event, error } = classify(request);
    try {
      const stored = await store(event);
      if (error === null) {
        metrics.ingestRequests.inc({ type: typeLabel, result: stored.duplicate ? 'duplicate' : 'accepted' });
        return {
          status: known ? 200 : 202,
          body: stored.duplicate ? { ok: true, id: stored.id, duplicate: true } : { ok: true, id: stored.id },
        };
      }
      metrics.ingestRequests.inc({ type: typeLabel, result: 'quarantined' });
      return { status: error.status, body: { ...error.toJSON(), quarantine_id: stored.id } };
    } catch (failure) {
      metrics.ingestRequests.inc({ type: typeLabel, result: 'failed' });
      throw failure;
    } finally {
      metrics.ingestDuration.observe((performance.now() - started) / 1000);
    }
  }

  /**
   * Parses a request and says what to store: the event, or its quarantine record with the error. Apart from
   * receive() so that the parsed payload is garbage before the commit is awaited: an async function keeps its
   * locals alive while it waits, and under load every waiting request's payload outlived two scavenges into
   * the old generation (docs/benchmarks.md, issue 15).
   */
  function classify(request: IngestRequest): { typeLabel: string; known: boolean; event: NewEvent; error: AppError | null } {
    const outcome = parseIngestBody(request.raw, request.contentType);
    const base = baseEvent(request);
    if (outcome.kind === 'event') {
      // Metric labels only from a fixed set: the type a sender writes is not one.
      const known = isKnownEventType(outcome.type);
      const event = { ...base, callId: outcome.callId, type: outcome.type, body: request.raw, bodyHash: sha256(request.raw) };
      return { typeLabel: known ? outcome.type : 'unknown', known, event, error: null };
    }
    const error =
      outcome.kind === 'invalid_json'
        ? new AppError('invalid_json', { detail: outcome.detail })
        : new AppError('invalid_event', { fields: outcome.fields, detail: outcome.detail });
    return { typeLabel: 'invalid', known: false, event: quarantined(base, request.raw, error, options.quarantineBodyBytes), error };
  }

  /** A body over the limit: a quarantine record without the body, so the attempt is visible. */
  async function receiveTooLarge(sourceId: SourceId, declaredSize: number, contentType: string | undefined): Promise<IngestAnswer> {
    const error = new AppError('payload_too_large');
    const base = baseEvent({ sourceId, raw: Buffer.alloc(0), contentType });
    const bodySize = Math.min(Math.max(0, declaredSize), Number.MAX_SAFE_INTEGER);
    const stored = await store({ ...quarantined(base, Buffer.alloc(0), error, 0), body: null, bodySize, bodyTruncated: true });
    metrics.ingestRequests.inc({ type: 'invalid', result: 'rejected' });
    return { status: error.status, body: { ...error.toJSON(), quarantine_id: stored.id } };
  }

  function baseEvent(request: IngestRequest): NewEvent {
    return {
      id: newId('evt'),
      sourceId: request.sourceId,
      callId: null,
      type: null,
      status: 'ok',
      errorCode: null,
      errorDetail: null,
      contentType: request.contentType ?? null,
      body: null,
      bodyHash: null,
      bodySize: request.raw.length,
      bodyTruncated: false,
      receivedAt: now(),
    };
  }

  /**
   * A quarantined request again, through today's parser (`switchboard reprocess`, after a fix): stored as the
   * event it should have been (same source, bytes and arrival time; deduplicated as any), and the quarantine
   * record points at it. Still invalid: the error, and nothing changes.
   */
  async function reprocess(record: StoredEvent): Promise<{ id: EventId; callId: string; duplicate: boolean }> {
    if (record.status !== 'quarantined') throw new AppError('conflict', { detail: 'only quarantined requests are reprocessed' });
    if (record.reprocessedInto) throw new AppError('conflict', { detail: `already reprocessed into ${record.reprocessedInto}` });
    if (record.body === null || record.bodyTruncated) {
      throw new AppError('conflict', { detail: 'the body was not kept whole (it was over the limit), so it cannot be reprocessed' });
    }
    const outcome = parseIngestBody(record.body, record.contentType ?? undefined);
    if (outcome.kind === 'invalid_json') throw new AppError('invalid_json', { detail: outcome.detail });
    if (outcome.kind === 'invalid_event') throw new AppError('invalid_event', { fields: outcome.fields, detail: outcome.detail });
    const base = baseEvent({ sourceId: record.sourceId, raw: record.body, contentType: record.contentType ?? undefined });
    const stored = await store({
      ...base, receivedAt: record.receivedAt, callId: outcome.callId, type: outcome.type, body: record.body, bodyHash: sha256(record.body),
    });
    await options.log.markReprocessed(record.id, stored.id);
    return { id: stored.id, callId: outcome.callId, duplicate: stored.duplicate };
  }

  /**
   * An end_call fetched from Convolo's call list (the reconciler, a backfill): stored like the webhook it
   * stands for (same parser, deduplication, call record, outbox and stream) and marked `reconcile`. `present`
   * when the same bytes are stored already, or when the call has its end_call (checked inside the commit).
   * Through the committer's background lane: a few join each batch, so a run never doubles the ingest's batches.
   */
  async function receiveReconciled(sourceId: SourceId, body: Buffer): Promise<{ outcome: 'added' | 'present'; callId: string } | { outcome: 'invalid'; detail: string }> {
    const parsed = parseIngestBody(body, 'application/json');
    if (parsed.kind !== 'event') return { outcome: 'invalid', detail: parsed.detail };
    if (parsed.type !== 'end_call') return { outcome: 'invalid', detail: `a call list item of type "${parsed.type}", not end_call` };
    const stored = await store({
      ...baseEvent({ sourceId, raw: body, contentType: 'application/json' }),
      callId: parsed.callId, type: parsed.type, body, bodyHash: sha256(body), origin: 'reconcile',
    }, 'background');
    return { outcome: stored.duplicate || stored.skipped ? 'present' : 'added', callId: parsed.callId };
  }

  /** Appends Switchboard's own events (call.stale, …) through the same commits as the ingest. */
  const appendSystem = (events: readonly NewEvent[]): Promise<AppendResult[]> => Promise.all(events.map((event) => store(event)));

  return { receive, receiveTooLarge, reprocess, receiveReconciled, appendSystem, drain: () => committer.drain() };
}

export type Ingest = ReturnType<typeof createIngest>;

const withStored = { stored: true } as const;

function quarantined(base: NewEvent, raw: Buffer, error: AppError, keepBytes: number): NewEvent {
  const detail = error.extra.detail;
  return {
    ...base,
    status: 'quarantined',
    errorCode: error.code,
    errorDetail: typeof detail === 'string' ? detail.slice(0, 1000).replaceAll('\u0000', '\uFFFD') : null,
    body: raw.subarray(0, keepBytes),
    bodyTruncated: raw.length > keepBytes,
  };
}

/** The body's digest for deduplication (crypto.hash: one call, ~0.7 µs less per event than a Hash object). */
function sha256(raw: Buffer): string {
  return hash('sha256', raw, 'hex');
}
