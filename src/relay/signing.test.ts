import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { newWebhookSecret, signatureHeaders, type SignatureHeaders } from './signing.js';

// The published test vector of the Standard Webhooks specification.
const vector = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestampSec: 1614265330,
  payload: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const nowSec = () => Math.floor(Date.now() / 1000);
const payload = '{"type":"call.ended","data":{"call_id":"c1","talk_time_sec":42}}';

/** The same headers under the names svix's own senders use. */
function asSvixHeaders(headers: SignatureHeaders) {
  return { 'svix-id': headers['webhook-id'], 'svix-timestamp': headers['webhook-timestamp'], 'svix-signature': headers['webhook-signature'] };
}

/** Verifies with both receiver libraries (svix under both header spellings); throws if any rejects. */
function verifyWithBoth(secret: string, body: string, headers: SignatureHeaders) {
  expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  expect(new SvixWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  expect(new SvixWebhook(secret).verify(body, asSvixHeaders(headers))).toEqual(JSON.parse(body));
}

const verifiers = [
  ['standardwebhooks', (secret: string, body: string, h: SignatureHeaders) => new StandardWebhook(secret).verify(body, h)],
  ['svix', (secret: string, body: string, h: SignatureHeaders) => new SvixWebhook(secret).verify(body, asSvixHeaders(h))],
] as const;

afterEach(() => {
  vi.useRealTimers();
});

describe('signatureHeaders', () => {
  it('reproduces the Standard Webhooks published test vector', () => {
    const headers = signatureHeaders({ id: vector.id, timestampSec: vector.timestampSec, payload: vector.payload, secrets: [vector.secret] });
    expect(headers).toEqual({ 'webhook-id': vector.id, 'webhook-timestamp': '1614265330', 'webhook-signature': vector.signature });
  });

  it('signs the test vector so that both libraries verify it at its own time', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(vector.timestampSec * 1000);
    const headers = signatureHeaders({ ...vector, secrets: [vector.secret] });
    verifyWithBoth(vector.secret, vector.payload, headers);
  });

  it('gives signatures that standardwebhooks and svix (both header spellings) verify', () => {
    const secret = newWebhookSecret();
    verifyWithBoth(secret, payload, signatureHeaders({ id: 'evt_1', timestampSec: nowSec(), payload, secrets: [secret] }));
  });

  it('during a rotation carries one signature per secret, and a receiver on either secret verifies', () => {
    const current = newWebhookSecret();
    const previous = newWebhookSecret();
    const headers = signatureHeaders({ id: 'evt_2', timestampSec: nowSec(), payload, secrets: [current, previous] });
    const parts = headers['webhook-signature'].split(' ');
    expect(parts).toHaveLength(2);
    for (const part of parts) expect(part).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    verifyWithBoth(current, payload, headers);
    verifyWithBoth(previous, payload, headers);
  });

  it('puts the current secret\'s signature first', () => {
    const current = newWebhookSecret();
    const previous = newWebhookSecret();
    const timestampSec = nowSec();
    const both = signatureHeaders({ id: 'evt_3', timestampSec, payload, secrets: [current, previous] });
    const alone = signatureHeaders({ id: 'evt_3', timestampSec, payload, secrets: [current] });
    expect(both['webhook-signature'].split(' ')[0]).toBe(alone['webhook-signature']);
  });

  for (const [name, verify] of verifiers) {
    describe(`rejected by ${name}`, () => {
      const secret = newWebhookSecret();

      it('a tampered payload', () => {
        const headers = signatureHeaders({ id: 'evt_4', timestampSec: nowSec(), payload, secrets: [secret] });
        expect(() => verify(secret, payload.replace('42', '43'), headers)).toThrow(/No matching signature/);
      });

      it('a changed id (a replay under another event id)', () => {
        const headers = signatureHeaders({ id: 'evt_5', timestampSec: nowSec(), payload, secrets: [secret] });
        expect(() => verify(secret, payload, { ...headers, 'webhook-id': 'evt_6' })).toThrow(/No matching signature/);
      });

      it('a timestamp more than five minutes old', () => {
        const headers = signatureHeaders({ id: 'evt_7', timestampSec: nowSec() - 10 * 60, payload, secrets: [secret] });
        expect(() => verify(secret, payload, headers)).toThrow(/too old/);
      });

      it('a signature made with a secret the receiver does not hold (a rotation whose grace period ended)', () => {
        const headers = signatureHeaders({ id: 'evt_8', timestampSec: nowSec(), payload, secrets: [newWebhookSecret()] });
        expect(() => verify(secret, payload, headers)).toThrow(/No matching signature/);
      });
    });
  }

  it('refuses a fractional or negative timestamp, which would sign a time other than the header', () => {
    const secrets = [vector.secret];
    expect(() => signatureHeaders({ id: 'e', timestampSec: 1614265330.5, payload, secrets })).toThrow(RangeError);
    expect(() => signatureHeaders({ id: 'e', timestampSec: -1, payload, secrets })).toThrow(RangeError);
  });

  it('refuses to sign with no secret at all', () => {
    expect(() => signatureHeaders({ id: 'e', timestampSec: nowSec(), payload, secrets: [] })).toThrow(RangeError);
  });
});

describe('newWebhookSecret', () => {
  it('is whsec_ then base64 of 24 random bytes, different every time', () => {
    const a = newWebhookSecret();
    const b = newWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Buffer.from(a.slice('whsec_'.length), 'base64')).toHaveLength(24);
    expect(a).not.toBe(b);
  });

  it('is accepted as a key by both libraries', () => {
    const secret = newWebhookSecret();
    expect(() => new StandardWebhook(secret)).not.toThrow();
    expect(() => new SvixWebhook(secret)).not.toThrow();
  });
});
