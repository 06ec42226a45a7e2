import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, endCall, fixtures, startCall, startTestApp, type TestApp } from './support/app.js';

/**
 * Fuzzing the ingest endpoint through real HTTP on loopback. Whatever arrives, the answer is a 4xx or a 2xx
 * (never a 5xx) with a JSON body that says what happened, and what was said is true: a 2xx event is stored
 * with its exact bytes, a rejected body is in quarantine. fast-check prints the seed and the shrunk
 * counterexample when a property fails; rerun with `fc.configureGlobal({ seed })` to reproduce it.
 */

const eventId = /^evt_[0-9a-z]{9}[A-Za-z0-9_-]{12}$/;
const quarantineBodyBytes = 64 * 1024;
const runs = 200;

let sequence = 0;
/** A call_id no other request of the run uses. */
const freshCallId = () => `fuzz-${Date.now().toString(36)}-${(sequence++).toString(36)}`;

const isEventId = (value: unknown) => typeof value === 'string' && eventId.test(value);

type Answer = { status: number; body: any };

function describeRequest(sent: Buffer, contentType: string | null): string {
  const head = sent.subarray(0, 160);
  return `content-type ${JSON.stringify(contentType)}, ${sent.length} bytes: ${JSON.stringify(head.toString('latin1'))}${sent.length > head.length ? '…' : ''}`;
}

/**
 * The invariant of every ingest answer: 2xx `{ok:true,id:"evt_…"}` with the exact bytes stored under that id,
 * or 4xx `{error,message}` with (except 404/405/413) a readable quarantine record of the bytes; never 5xx.
 */
async function expectSafeAnswer(t: TestApp, sent: Buffer, contentType: string | null, answer: Answer): Promise<void> {
  const what = `${describeRequest(sent, contentType)} → ${answer.status} ${JSON.stringify(answer.body)}`;
  expect(answer.status >= 200 && answer.status < 300 || answer.status >= 400 && answer.status < 500, `not a 2xx or 4xx: ${what}`).toBe(true);
  expect(answer.body !== null && typeof answer.body === 'object', `the answer is not a JSON object: ${what}`).toBe(true);

  if (answer.status < 300) {
    expect(answer.body.ok, what).toBe(true);
    expect(isEventId(answer.body.id), `no evt_ id: ${what}`).toBe(true);
    const stored = await t.api(`/v1/events/${answer.body.id}`);
    expect(stored.status, `the acknowledged event cannot be read back: ${what}`).toBe(200);
    expect(stored.body.status, what).toBe('ok');
    expect(stored.body.body_base64, `the stored bytes differ from the sent ones: ${what}`).toBe(sent.toString('base64'));
    expect(stored.body.body_size, what).toBe(sent.length);
    return;
  }

  expect(typeof answer.body.error, what).toBe('string');
  expect(typeof answer.body.message, what).toBe('string');
  if ([404, 405, 413].includes(answer.status)) return;
  expect(isEventId(answer.body.quarantine_id), `a rejected body must be quarantined (quarantine_id): ${what}`).toBe(true);
  const record = await t.api(`/v1/events/${answer.body.quarantine_id}`);
  expect(record.status, `the quarantine record cannot be read back: ${what}`).toBe(200);
  expect(record.body.status, what).toBe('quarantined');
  expect(record.body.error, what).toBe(answer.body.error);
  expect(record.body.body_base64, `the quarantined bytes differ from the sent ones: ${what}`).toBe(sent.subarray(0, quarantineBodyBytes).toString('base64'));
  expect(record.body.body_size, what).toBe(sent.length);
  expect(record.body.body_truncated, what).toBe(sent.length > quarantineBodyBytes);
}

async function postAndCheck(t: TestApp, body: Buffer, contentType: string | null): Promise<Answer> {
  const answer = await t.post(body, contentType);
  await expectSafeAnswer(t, body, contentType, answer);
  return answer;
}

async function expectHealthy(t: TestApp): Promise<void> {
  const health = await t.api('/healthz', null);
  expect(health).toEqual({ status: 200, body: { ok: true } });
}

// ---------------------------------------------------------------------------------------------------------
// Arbitraries

/** Content types a sender might use, and whether a valid JSON event sent with it must be accepted. */
const namedContentTypes: Array<[string | null, boolean]> = [
  [null, true],
  ['application/json', true],
  ['application/json; charset=utf-8', true],
  ['application/json; charset="UTF-8"', true],
  ['APPLICATION/JSON', true],
  ['text/plain', true],
  ['text/plain;charset=UTF-8', true],
  ['multipart/form-data', true],
  ['multipart/form-data; boundary=----x', true],
  ['application/octet-stream', true],
  ['*/*', true],
  ['', true],
  [';;;', true],
  [';', true],
  ['application/json;;;charset=', true],
  ['application/json; charset=bogus-charset', true],
  ['application/json; charset=latin1', true],
  ['application/json; charset=utf-16', false],
  ['application/json; charset=utf-16be', false],
  ['application/x-www-form-urlencoded', false],
  ['application/x-www-form-urlencoded; charset=utf-8', false],
];

/** Printable ASCII without '=', so a random content type can never declare a charset that changes decoding. */
const headerChars = [...' !"#$%&\'()*+,-./0123456789:;<>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~'];
const garbageContentType = fc.string({ unit: fc.constantFrom(...headerChars), maxLength: 40 });

const contentType: fc.Arbitrary<string | null> = fc.oneof(fc.constantFrom(...namedContentTypes.map(([ct]) => ct)), garbageContentType);

/** Pieces that break naive string handling: NUL and other controls, lone surrogates, emoji, BOMs, quotes. */
const nastyPiece = fc.constantFrom(
  '\u0000', '\u0001', '\u0007', '\u001f', '\u007f', '\ud800', '\udbff', '\udc00', '\udfff', '😀', '👩‍👩‍👧‍👦', '\u200b', '\ufeff',
  '\u202e', '\ufffd', '\uffff', 'e\u0301', '"', '\\', '\n', '%00', '&', '=', '[', ']', '__proto__',
);
const nastyString = fc.array(fc.oneof(nastyPiece, fc.string({ maxLength: 6 })), { minLength: 1, maxLength: 8 }).map((parts) => parts.join(''));

/** Fields of Convolo's payloads, nested ones as paths. */
const fieldPaths: string[][] = [
  ['call_id'], ['type'], ['user_id'], ['widget_key'], ['widget_name'], ['call_status'], ['timezone'], ['is_delayed_call'],
  ['called_lead_phone'], ['disconnected_by'], ['recording_link'], ['answer_duration_sec'], ['lead_answer_duration_sec'],
  ['talk_duration_sec'], ['total_duration_sec'], ['time_started_iso_string'], ['time_agent_answered_iso_string'],
  ['time_lead_answered_iso_string'], ['time_ended_iso_string'], ['agent', 'id'], ['agent', 'name'], ['agent', 'phone'],
  ['lead', 'lead_phone'], ['lead', 'lead_id'], ['lead', 'time_created_iso_string'], ['lead', 'custom_params', 'x'],
  ['lead'], ['agent'], ['debug'],
];
const identityField = (path: string[]) => path.length === 1 && (path[0] === 'type' || path[0] === 'call_id');

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  Object.defineProperty(node, path.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
}

/** A Convolo event (start or end) with a fresh call_id, as a plain object. */
const baseEvent = fc.constantFrom('start_call', 'end_call').map((type) => {
  const callId = freshCallId();
  return JSON.parse(type === 'end_call' ? endCall(callId) : startCall(callId)) as Record<string, unknown>;
});

/** Percent-encodes the UTF-8 bytes of a string (lone surrogates become U+FFFD, as any encoder would send them). */
const pct = (text: string) => [...Buffer.from(text, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

// ---------------------------------------------------------------------------------------------------------

describe.each(backends)('fuzzing the ingest endpoint on $name', (backend) => {
  let t: TestApp;
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

  beforeAll(async () => {
    t = await startTestApp(await backend.freshDb());
  });

  afterAll(async () => {
    await t?.close();
  });

  it('answers random bytes under any content type with a 2xx or a 4xx, never a 5xx', async () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      // Random bytes spliced into a valid event: mostly invalid JSON, some of it almost valid.
      fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.nat()).map(([noise, at]) => {
        const event = Buffer.from(endCall(freshCallId()));
        const cut = at % event.length;
        return Buffer.concat([event.subarray(0, cut), noise, event.subarray(cut)]);
      }),
    );
    await fc.assert(
      fc.asyncProperty(bytes, contentType, async (body, type) => {
        await postAndCheck(t, Buffer.from(body), type);
      }),
      { numRuns: runs, examples: [[Uint8Array.of(0x00, 0x61), 'application/json'], [Uint8Array.of(), null], [Uint8Array.of(0xef, 0xbb, 0xbf), 'application/json']] },
    );
    await expectHealthy(t);
  }, 60_000);

  it('answers any JSON value, with or without type and call_id and with random extra fields, with a 2xx or a 4xx', async () => {
    const identity = fc.record(
      {
        type: fc.oneof(fc.constantFrom('start_call', 'end_call', 'unknown.kind', '', 'x'.repeat(65)), fc.jsonValue({ maxDepth: 2 })),
        call_id: fc.oneof(fc.constant(null).map(() => freshCallId()), fc.integer(), fc.double(), fc.string(), fc.jsonValue({ maxDepth: 2 })),
      },
      { requiredKeys: [] },
    );
    const objects = fc.tuple(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }), identity).map(([extra, id]) => ({ ...extra, ...id }));
    const values = fc.oneof(fc.jsonValue(), objects, objects);
    await fc.assert(
      fc.asyncProperty(values, fc.constantFrom<string | null>('application/json', null, 'text/plain'), async (value, type) => {
        const body = Buffer.from(JSON.stringify(value) ?? 'null');
        const answer = await postAndCheck(t, body, type);
        const v = value as Record<string, unknown> | null;
        const wellFormed =
          v !== null && typeof v === 'object' && !Array.isArray(v) &&
          typeof v.type === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(v.type) &&
          typeof v.call_id === 'string' && /^[\x20-\x7e]{1,255}$/.test(v.call_id);
        // A valid event is never refused for what else it carries.
        if (wellFormed) expect([200, 202], JSON.stringify(value)).toContain(answer.status);
      }),
      { numRuns: runs },
    );
    await expectHealthy(t);
  }, 60_000);

  it('accepts a valid event whatever values its other fields carry, and keeps a call record for it', async () => {
    const overrides = fc.array(
      fc.tuple(fc.oneof(fc.constantFrom(...fieldPaths.filter((p) => !identityField(p))), fc.string({ minLength: 1 }).map((k) => [k])), fc.jsonValue({ maxDepth: 3 })),
      { maxLength: 8 },
    );
    await fc.assert(
      fc.asyncProperty(baseEvent, overrides, async (generated, changes) => {
        const event = structuredClone(generated);
        for (const [path, value] of changes) if (!identityField(path)) setPath(event, path, value);
        const answer = await postAndCheck(t, Buffer.from(JSON.stringify(event)), 'application/json');
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        const call = await t.api(`/v1/calls/${encodeURIComponent(event.call_id as string)}`);
        expect(call.status, JSON.stringify(call.body)).toBe(200);
        expect(call.body.call_id).toBe(event.call_id);
        expect(call.body.event_count).toBe(1);
      }),
      { numRuns: runs },
    );
    await expectHealthy(t);
  }, 60_000);

  it('rejects nesting 10,000 levels deep (arrays, objects, form brackets) with a 4xx, never a 5xx', async () => {
    const nested = fc.record({
      depth: fc.oneof(fc.constant(10_000), fc.integer({ min: 60, max: 10_000 })),
      kind: fc.constantFrom('array', 'object', 'mixed', 'form'),
      where: fc.constantFrom('top', 'lead', 'agent', 'extra'),
    });
    const build = ({ depth, kind, where }: { depth: number; kind: string; where: string }): [Buffer, string] => {
      if (kind === 'form') {
        const key = where === 'top' ? 'x' : where === 'extra' ? 'debug' : where;
        return [Buffer.from(`type=end_call&call_id=${freshCallId()}&${key}${'[a]'.repeat(depth)}=1`), 'application/x-www-form-urlencoded'];
      }
      const open = (i: number) => (kind === 'array' || (kind === 'mixed' && i % 2 === 0) ? '[' : '{"a":');
      const close = (i: number) => (kind === 'array' || (kind === 'mixed' && i % 2 === 0) ? ']' : '}');
      let inner = '';
      for (let i = 0; i < depth; i++) inner += open(i);
      inner += '1';
      for (let i = depth - 1; i >= 0; i--) inner += close(i);
      if (where === 'top') return [Buffer.from(inner), 'application/json'];
      return [Buffer.from(`{"type":"end_call","call_id":"${freshCallId()}","${where === 'extra' ? 'debug' : where}":${inner}}`), 'application/json'];
    };
    await fc.assert(
      fc.asyncProperty(nested, async (shape) => {
        const [body, type] = build(shape);
        const answer = await postAndCheck(t, body, type);
        // JSON has a documented depth limit; a form's brackets only have to be answered safely.
        if (shape.kind !== 'form' && shape.depth > 64) expect(answer.status, JSON.stringify(answer.body)).toBeGreaterThanOrEqual(400);
      }),
      {
        numRuns: 40,
        examples: [
          [{ depth: 10_000, kind: 'array', where: 'top' }],
          [{ depth: 10_000, kind: 'object', where: 'lead' }],
          [{ depth: 10_000, kind: 'form', where: 'lead' }],
          [{ depth: 10_000, kind: 'form', where: 'extra' }],
        ],
      },
    );
    // Half a million levels, just under the body limit: the depth check itself must not recurse.
    await postAndCheck(t, Buffer.from(`${'['.repeat(500_000)}${']'.repeat(500_000)}`), 'application/json');
    await expectHealthy(t);
  }, 60_000);

  it('answers numbers beyond any range (1e400, -1e400, 30-digit integers) in any field with a 2xx or a 4xx', async () => {
    const hugeNumber = fc.constantFrom(
      '1e400', '-1e400', '123456789012345678901234567890', '-123456789012345678901234567890', '1e-400', '-0', '0e0',
      '9007199254740993', '18446744073709551616', '-9223372036854775809', '2147483648', '1.7976931348623157e309', '4.9e-325', '1.5',
    );
    const marker = 'QQ_NUMBER_QQ';
    await fc.assert(
      fc.asyncProperty(baseEvent, fc.constantFrom(...fieldPaths), hugeNumber, async (generated, path, number) => {
        const event = structuredClone(generated);
        setPath(event, path, marker);
        const body = Buffer.from(JSON.stringify(event).replace(`"${marker}"`, number));
        const answer = await postAndCheck(t, body, 'application/json');
        if (!identityField(path)) expect(answer.status, `${path.join('.')}=${number}: ${JSON.stringify(answer.body)}`).toBe(200);
      }),
      { numRuns: runs },
    );
    await expectHealthy(t);
  }, 60_000);

  it('rejects invalid UTF-8 inside otherwise valid JSON as invalid_json, with the bytes in quarantine', async () => {
    const invalidUtf8 = fc.constantFrom(
      [0xff], [0xfe], [0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf],
      [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xc3], [0xf5, 0x80, 0x80, 0x80],
    );
    const marker = 'QQ_BYTES_QQ';
    await fc.assert(
      fc.asyncProperty(
        baseEvent,
        fc.constantFrom(...fieldPaths, ['new_field']),
        invalidUtf8,
        fc.string({ maxLength: 4 }),
        fc.constantFrom<string | null>('application/json', 'application/json; charset=utf-8', null, 'text/plain', 'application/x-www-form-urlencoded'),
        async (generated, path, bad, around, type) => {
          const event = structuredClone(generated);
          setPath(event, path, `${around}${marker}${around}`);
          const [before, after] = JSON.stringify(event).split(marker) as [string, string];
          const body = Buffer.concat([Buffer.from(before), Buffer.from(bad), Buffer.from(after)]);
          const answer = await postAndCheck(t, body, type);
          if (type !== 'application/x-www-form-urlencoded') {
            expect(answer.status, JSON.stringify(answer.body)).toBe(400);
            expect(answer.body.error).toBe('invalid_json');
          }
        },
      ),
      { numRuns: runs },
    );
    await expectHealthy(t);
  }, 60_000);

  it('answers strings with NUL, lone surrogates and emoji in any field, keys included, with a 2xx or a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        baseEvent,
        fc.constantFrom(...fieldPaths),
        nastyString,
        fc.constantFrom('value', 'key', 'form'),
        async (generated, path, text, how) => {
          const event = structuredClone(generated);
          let body: Buffer;
          let type = 'application/json';
          if (how === 'value') {
            setPath(event, path, text);
            body = Buffer.from(JSON.stringify(event));
          } else if (how === 'key') {
            setPath(event, [...path.slice(0, -1), text], 'v');
            body = Buffer.from(JSON.stringify(event));
          } else {
            const fields = path[0] === 'call_id' || path[0] === 'type' ? { type: 'end_call', call_id: freshCallId(), [path[0]]: text } : { type: 'end_call', call_id: freshCallId(), [path.join('_')]: text };
            body = Buffer.from(Object.entries(fields).map(([k, v]) => `${pct(k)}=${pct(v)}`).join('&'));
            type = 'application/x-www-form-urlencoded';
          }
          await postAndCheck(t, body, type);
        },
      ),
      {
        numRuns: runs,
        examples: [
          [{ type: 'end_call', call_id: 'x' }, ['call_id'], 'lone-\ud800', 'value'],
          [{ type: 'end_call', call_id: 'y' }, ['widget_name'], '\u0000😀\udfff', 'value'],
        ],
      },
    );
    await expectHealthy(t);
  }, 60_000);

  it('answers a valid event under any content type, accepting it unless the type says form or UTF-16', async () => {
    await fc.assert(
      fc.asyncProperty(contentType, async (type) => {
        const body = Buffer.from(endCall(freshCallId()));
        const answer = await postAndCheck(t, body, type);
        const named = namedContentTypes.find(([ct]) => ct === type);
        const mustAccept = named ? named[1] : true;
        if (mustAccept) expect(answer.status, `${JSON.stringify(type)}: ${JSON.stringify(answer.body)}`).toBe(200);
      }),
      { numRuns: runs, examples: namedContentTypes.map(([ct]) => [ct]) },
    );
    await expectHealthy(t);
  }, 60_000);

  it('never lets form keys like __proto__[x] or lead[__proto__][polluted] reach Object.prototype', async () => {
    const hostileKey = fc.constantFrom(
      '__proto__[x]', '__proto__[polluted]', 'lead[__proto__][polluted]', 'agent[__proto__][x]', 'constructor[prototype][polluted]',
      'lead[constructor][prototype][polluted]', 'lead[custom_params][__proto__][polluted]', '__proto__', '[__proto__]', '__proto__[]',
      'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'lead', 'agent', 'lead[]', 'lead[][]', '[]', '[[]]', '[', ']',
      '', 'lead[lead_phone]', 'lead_phone', 'agent_id', 'lc_param___proto__', 'lc_param_polluted', 'type', 'call_id', 'type[]', 'call_id[x]',
    );
    const pair = fc.tuple(fc.oneof(hostileKey, hostileKey, fc.string({ maxLength: 12 })), fc.oneof(fc.string({ maxLength: 12 }), nastyString));
    await fc.assert(
      fc.asyncProperty(fc.array(pair, { minLength: 1, maxLength: 10 }), fc.boolean(), fc.boolean(), async (pairs, withIdentity, encoded) => {
        const all: Array<[string, string]> = withIdentity ? [['type', 'end_call'], ['call_id', freshCallId()], ...pairs] : pairs;
        const text = all.map(([k, v]) => (encoded ? `${pct(k)}=${pct(v)}` : `${k}=${v}`)).join('&');
        await postAndCheck(t, Buffer.from(text), 'application/x-www-form-urlencoded');
        expect(({} as any).polluted).toBeUndefined();
        expect(({} as any).x).toBeUndefined();
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
      }),
      {
        numRuns: runs,
        examples: [
          [[['__proto__[x]', '1'], ['lead[__proto__][polluted]', '1']], true, false],
          [[['constructor[prototype][polluted]', '1'], ['__proto__[polluted]', '1']], false, true],
        ],
      },
    );
    expect(({} as any).polluted).toBeUndefined();
    expect(({} as any).x).toBeUndefined();
    await expectHealthy(t);
  }, 60_000);

  it('keeps innocent events of the same commit batch when two call_ids differ only in lone surrogates', async () => {
    // Sent together, round after round, so that the pair shares a group-commit batch with innocent events.
    for (let round = 0; round < 10; round++) {
      const hostile = [`pair-${round}-\ud800`, `pair-${round}-\ud801`].map((id) => endCall(id));
      const innocent = Array.from({ length: 6 }, () => endCall(freshCallId()));
      const bodies = [...hostile, ...innocent];
      const answers = await Promise.all(bodies.map((body) => t.post(body)));
      expect(answers.slice(hostile.length).map((a) => a.status), `innocent events refused in round ${round}: ${JSON.stringify(answers.map((a) => a.body))}`).toEqual(innocent.map(() => 200));
      for (const [i, answer] of answers.entries()) await expectSafeAnswer(t, Buffer.from(bodies[i]!), 'application/json', answer);
    }
  });

  it('answers every read endpoint with a 2xx after any accepted event, whatever its lead, agent and custom params hold', async () => {
    // Values that one backend or the other cannot take as they are: NUL and lone surrogates (PostgreSQL's
    // jsonb refuses both), numbers beyond any range, nesting just under the depth limit.
    const hugeNumber = fc.constantFrom('1e400', '-1e400', '123456789012345678901234567890', '4.9e-325', '1.7976931348623157e308');
    const marker = (i: number) => `QQ_NUMBER_${i}_QQ`;
    const deep = fc.integer({ min: 1, max: 60 }).chain((depth) =>
      fc.tuple(nastyString, nastyString).map(([key, leaf]) => {
        let node: unknown = leaf;
        for (let i = 0; i < depth; i++) node = i % 2 === 0 ? { [key]: node } : [node];
        return node;
      }),
    );
    const value = fc.oneof(nastyString, fc.jsonValue({ maxDepth: 3 }), deep, hugeNumber.map((n) => ({ huge: n })));
    const where = fc.constantFrom<string[]>(['lead'], ['lead', 'custom_params'], ['agent']);
    const entry = fc.tuple(where, fc.oneof(nastyString, fc.constantFrom('name', 'lead_name', 'email', 'lead_email', 'id')), value);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('start_call', 'end_call'), fc.array(entry, { minLength: 1, maxLength: 6 }), async (type, entries) => {
        const callId = freshCallId();
        const event = JSON.parse(type === 'end_call' ? endCall(callId) : startCall(callId)) as Record<string, unknown>;
        // Within the default stats range, with an agent id: the per-agent stats read this call's agent.
        event.time_started_iso_string = new Date().toISOString();
        event.agent = { id: `agent-${callId}`, name: 'A' };
        const numbers: string[] = [];
        for (const [path, key, v] of entries) {
          const hole = v !== null && typeof v === 'object' && 'huge' in v ? marker(numbers.push((v as { huge: string }).huge) - 1) : v;
          setPath(event, [...path, key], hole);
        }
        let text = JSON.stringify(event);
        for (const [i, n] of numbers.entries()) text = text.replace(`"${marker(i)}"`, n);
        const body = Buffer.from(text);
        const answer = await postAndCheck(t, body, 'application/json');
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        // The row's content is what is fuzzed here, not the query's: q is a searchable text made of its key.
        const reads = [
          '/v1/calls', '/v1/calls?q=no-such-call-anywhere', `/v1/calls?q=${encodeURIComponent(`x${entries[0]![1]}`.slice(0, 200).toWellFormed().replaceAll('\u0000', ''))}`, '/v1/calls?q=a&limit=500',
          `/v1/calls/${encodeURIComponent(callId)}`, '/v1/calls.csv', '/v1/calls.csv?q=zzz-nothing',
          ...['agent', 'widget', 'source', 'day', 'hour'].map((g) => `/v1/stats?group_by=${g}`),
          '/v1/events', `/v1/events?call_id=${encodeURIComponent(callId)}`, `/v1/events/${answer.body.id as string}`,
        ];
        for (const path of reads) {
          const read = await t.api(path);
          expect(read.status, `${path} after ${describeRequest(body, 'application/json')}: ${JSON.stringify(read.body).slice(0, 300)}`).toBe(200);
        }
      }),
      {
        numRuns: 40,
        examples: [
          ['start_call', [[['lead'], 'x', '\u0000']]],
          ['end_call', [[['agent'], 'name', '\ud800']]],
          ['end_call', [[['lead', 'custom_params'], '\udc00\u0000', 'v']]],
        ],
      },
    );
    await expectHealthy(t);
  }, 120_000);

  it('answers 413 to an over-limit body that declares a Content-Length beyond 2^31, and quarantines the attempt', async () => {
    const { hostname, port, pathname } = new URL(t.ingestUrl);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => {
        socket.write(
          `POST ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n` +
            `Content-Length: 99999999999\r\nConnection: close\r\n\r\n${fixtures.endCall.toString()}`,
        );
      });
      let out = '';
      socket.setEncoding('latin1').on('data', (chunk: string) => (out += chunk));
      socket.on('close', () => resolve(out));
      socket.on('error', reject);
    });
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    expect({ status, error: body.error }).toEqual({ status: 413, error: 'payload_too_large' });
    const record = await t.api(`/v1/events/${body.quarantine_id as string}`);
    expect(record.status).toBe(200);
    expect(record.body.status).toBe('quarantined');
    await expectHealthy(t);
  });
});
