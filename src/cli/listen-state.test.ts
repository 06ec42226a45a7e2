import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultCursorPath, localSecret, normalizeUrl, readCursor, writeCursor } from './listen-state.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'sb-listen-state-'));

describe('defaultCursorPath', () => {
  it('is the same for the same server and filters, whatever the URL spelling or the order of types', () => {
    const a = defaultCursorPath({ from: 'https://sb.test/', types: ['call.ended', 'call.started'] }, '/app');
    const b = defaultCursorPath({ from: 'https://sb.test?x=1', types: ['call.started', 'call.ended'] }, '/app');
    expect(a).toBe(b);
    expect(a).toMatch(/^\/app\/\.switchboard\/listen-[0-9a-f]{12}\.json$/);
  });

  it('differs for another server or other filters', () => {
    const base = defaultCursorPath({ from: 'https://sb.test', types: [] }, '/app');
    expect(defaultCursorPath({ from: 'https://other.test', types: [] }, '/app')).not.toBe(base);
    expect(defaultCursorPath({ from: 'https://sb.test', types: ['call.ended'] }, '/app')).not.toBe(base);
    expect(defaultCursorPath({ from: 'https://sb.test', types: [], widgetKey: 'w' }, '/app')).not.toBe(base);
  });
});

describe('normalizeUrl', () => {
  it('drops credentials, the query and trailing slashes', () => {
    expect(normalizeUrl('https://user:pw@sb.test:8443/base/?access_token=x')).toBe('https://sb.test:8443/base');
  });
});

describe('cursor file', () => {
  it('reads null before the first write, then the last seq written, leaving no temporary file', () => {
    const dir = fresh();
    const path = join(dir, 'nested', 'cursor.json');
    expect(readCursor(path)).toBeNull();
    writeCursor(path, { from: 'https://sb.test', types: ['call.ended'] }, 41, null);
    writeCursor(path, { from: 'https://sb.test', types: ['call.ended'] }, 42, 'log_00000000aAAAAAAAAAAAA');
    expect(readCursor(path)).toEqual({ lastSeq: 42, logId: 'log_00000000aAAAAAAAAAAAA' });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ version: 1, from: 'https://sb.test', types: ['call.ended'], last_seq: 42, log_id: 'log_00000000aAAAAAAAAAAAA' });
    expect(readdirSync(join(dir, 'nested'))).toEqual(['cursor.json']);
  });

  it('reads a cursor file of a version before log ids (no log_id) as a cursor of no known log', () => {
    const path = join(fresh(), 'cursor.json');
    writeFileSync(path, JSON.stringify({ version: 1, from: 'https://sb.test', types: [], widget_key: null, source_id: null, last_seq: 7, updated_at: '2026-11-01T00:00:00.000Z' }));
    expect(readCursor(path)).toEqual({ lastSeq: 7, logId: null });
  });

  it('refuses a file it did not write rather than starting over', () => {
    const path = join(fresh(), 'cursor.json');
    writeFileSync(path, '{"last_seq":"soon"}');
    expect(() => readCursor(path)).toThrow(/is not one listen wrote/);
    writeFileSync(path, '{"last_seq":3,"log_id":42}');
    expect(() => readCursor(path)).toThrow(/is not one listen wrote/);
    // A log id the server would refuse (400) at every start, saying nothing of the file.
    writeFileSync(path, '{"last_seq":3,"log_id":"log_edited"}');
    expect(() => readCursor(path)).toThrow(/is not one listen wrote/);
  });
});

describe('localSecret', () => {
  it('creates a secret next to the cursor once, owner-readable only, and reuses it', () => {
    const dir = fresh();
    const cursor = join(dir, 'cursor.json');
    const first = localSecret(undefined, cursor);
    expect(first.created).toBe(true);
    expect(first.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(statSync(join(dir, 'listen-secret')).mode & 0o777).toBe(0o600);
    expect(localSecret(undefined, cursor)).toEqual({ secret: first.secret, created: false });
  });

  it('takes a given secret as is, and refuses one that is not a webhook secret', () => {
    const cursor = join(fresh(), 'cursor.json');
    expect(localSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', cursor)).toEqual({ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', created: false });
    expect(() => localSecret('hunter2', cursor)).toThrow(/--secret is not a webhook secret/);
  });
});
