import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { createApp, type App, type AppOptions } from '../../src/app.js';
import { loadConfig, type Flags } from '../../src/config/index.js';
import { newId, type SourceId } from '../../src/domain/ids.js';
import type { NewEvent } from '../../src/storage/ports.js';
import { freshPgDatabase } from './pg.js';

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A database URL no other test uses. */
  freshDb(): Promise<string>;
}

export const backends: Backend[] = [
  { name: 'sqlite', freshDb: async () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'sb-test-')), 'switchboard.db')}` },
  { name: 'postgres', freshDb: freshPgDatabase },
];

const fixtureDir = new URL('../fixtures/convolo/', import.meta.url);
/** Convolo's documented payloads, verbatim (the project's copy of shared/fixtures/convolo). */
export const fixtures = {
  startCall: readFileSync(new URL('start_call.json', fixtureDir)),
  endCall: readFileSync(new URL('end_call.json', fixtureDir)),
};

export interface TestApp {
  app: App;
  baseUrl: string;
  ingestUrl: string;
  adminKey: string;
  /** POST to the ingest URL (or another token's); contentType null sends no content-type header. */
  post(body: string | Buffer, contentType?: string | null, url?: string): Promise<{ status: number; body: any }>;
  /** GET an API path with the admin key. */
  api(path: string, key?: string | null): Promise<{ status: number; body: any }>;
  /** Any method on an API path with a JSON body (when given), with the admin key. */
  request(method: string, path: string, body?: unknown, key?: string | null): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** A real server on a loopback port over a real database, prepared as on a first start. */
export async function startTestApp(db: string, flags: Flags = {}, options: AppOptions = {}): Promise<TestApp> {
  const app = await createApp(testConfig(db, flags), { logger: false, ...options });
  const first = await app.prepare();
  if (!first) throw new Error('expected an empty database');
  return listening(app, first.adminKey, first.sourceToken);
}

/**
 * Another server over the database that `started` was the first start of (it may be closed by now), with
 * flags of its own: the admin key and the source token of that first start work on it.
 */
export async function startTestAppAgain(db: string, started: TestApp, flags: Flags = {}, options: AppOptions = {}): Promise<TestApp> {
  const app = await createApp(testConfig(db, flags), { logger: false, ...options });
  if ((await app.prepare()) !== null) throw new Error('expected a database that was started before');
  return listening(app, started.adminKey, new URL(started.ingestUrl).pathname.split('/').at(-1)!);
}

const testConfig = (db: string, flags: Flags) => loadConfig({}, { db, host: '127.0.0.1', port: 0, logLevel: 'silent', ...flags });

async function listening(app: App, adminKey: string, sourceToken: string): Promise<TestApp> {
  const { baseUrl } = await app.listen();
  const ingestUrl = `${baseUrl}/hooks/convolo/${sourceToken}`;
  return {
    app,
    baseUrl,
    ingestUrl,
    adminKey,
    async post(body, contentType = 'application/json', url = ingestUrl) {
      const headers: Record<string, string> = contentType === null ? {} : { 'content-type': contentType };
      const response = await fetch(url, { method: 'POST', body, headers });
      return { status: response.status, body: await readBody(response) };
    },
    async api(path, key = adminKey) {
      const response = await fetch(`${baseUrl}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
      return { status: response.status, body: await readBody(response) };
    },
    async request(method, path, body, key = adminKey) {
      const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: response.status, body: await readBody(response) };
    },
    close: () => app.close(),
  };
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** An end_call like Convolo's fixture, for a given call id and overrides. */
export function endCall(callId: string, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...JSON.parse(fixtures.endCall.toString()), call_id: callId, ...overrides });
}

export function startCall(callId: string, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...JSON.parse(fixtures.startCall.toString()), call_id: callId, ...overrides });
}

/**
 * `body` (JSON with its `type` and `call_id`) as the ingest hands an accepted event to storage, for tests that
 * append directly: a new id, the body's SHA-256, received now unless `receivedAt` says otherwise.
 */
export function acceptedEvent(sourceId: SourceId, body: string, options: { receivedAt?: number; contentType?: string } = {}): NewEvent {
  const raw = Buffer.from(body);
  const { type, call_id: callId } = JSON.parse(body) as { type: string; call_id: string };
  return {
    id: newId('evt'), sourceId, callId, type, status: 'ok', errorCode: null, errorDetail: null, contentType: options.contentType ?? 'application/json',
    body: raw, bodyHash: createHash('sha256').update(raw).digest('hex'), bodySize: raw.length, bodyTruncated: false,
    receivedAt: options.receivedAt ?? Date.now(),
  };
}
