import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret } from '../relay/signing.js';
import { callEnvelopes, envelopeOf, secret, signed } from '../../test/support/sdk-events.js';
import { verifyWebhook, WebhookVerificationError, type RawBody } from './verify.js';

const { started, ended } = callEnvelopes();

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return (error as WebhookVerificationError).code;
  }
  throw new Error('expected verifyWebhook to throw');
}

describe('verifyWebhook', () => {
  it("returns the typed event for a webhook signed by the server's delivery signing", () => {
    const event = verifyWebhook(ended, signed(ended), secret);
    expect(event).toEqual(JSON.parse(ended));
    if (event.type !== 'call.ended') throw new Error('expected call.ended');
    expect(event.data.call_status).toBe('answered');
    expect(event.call.lead?.custom_params).toEqual({ crm_id: '42', campaign: 'spring' });
  });

  it('accepts the body as a string, a Buffer, a Uint8Array or an ArrayBuffer', () => {
    const headers = signed(started);
    const bytes = new TextEncoder().encode(started);
    for (const body of [started, Buffer.from(started), bytes, bytes.buffer] as RawBody[]) {
      expect(verifyWebhook(body, headers, secret).type).toBe('call.started');
    }
  });

  it('accepts a signature made by the svix library', () => {
    const id = JSON.parse(started).id as string;
    const at = new Date();
    const signature = new SvixWebhook(secret).sign(id, at, started);
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature };
    expect(verifyWebhook(started, headers, secret).id).toBe(id);
  });

  it('checks the signature over the bytes as sent when they start with a BOM, as standardwebhooks does', () => {
    // The reference library verifies a Buffer as Buffer#toString() decodes it, BOM kept; TextDecoder drops it.
    const body = `\ufeff${started}`;
    const at = new Date();
    const headers = { 'webhook-id': 'evt_bom', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new StandardWebhook(secret).sign('evt_bom', at, body) };
    expect(() => new StandardWebhook(secret).verify(Buffer.from(body), headers)).toThrow(SyntaxError); // signature matched, JSON.parse refused
    for (const raw of [body, Buffer.from(body), new TextEncoder().encode(body).buffer] as RawBody[]) {
      expect(codeOf(() => verifyWebhook(raw, headers, secret))).toBe('invalid_payload');
    }
  });

  it('finds its signature when each secret signed in its own webhook-signature line, joined with ", " on the way', () => {
    // HTTP joins repeated lines with ", " (Node's req.headers, Headers#get): "v1,<new>, v1,<old>".
    const old = newWebhookSecret();
    const one = signed(started, { secrets: [secret] });
    const other = signed(started, { secrets: [old] });
    const headers = new Headers({ 'webhook-id': one['webhook-id'], 'webhook-timestamp': one['webhook-timestamp'] });
    headers.append('webhook-signature', one['webhook-signature']);
    headers.append('webhook-signature', other['webhook-signature']);
    const plain = Object.fromEntries(headers);
    for (const key of [secret, old]) {
      expect(new StandardWebhook(key).verify(started, plain)).toBeTruthy(); // the reference library accepts both
      expect(verifyWebhook(started, headers, key).type).toBe('call.started');
      expect(verifyWebhook(started, plain, key).type).toBe('call.started');
    }
  });

  it('reads headers from a web Headers object and from a plain object in any case', () => {
    const headers = signed(started);
    expect(verifyWebhook(started, new Headers(headers), secret).type).toBe('call.started');
    const shouted = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyWebhook(started, shouted, secret).type).toBe('call.started');
  });

  it('accepts any of several secrets, and a webhook signed with two secrets during a rotation', () => {
    const old = newWebhookSecret();
    expect(verifyWebhook(started, signed(started, { secrets: [old] }), [secret, old]).type).toBe('call.started');
    expect(verifyWebhook(started, signed(started, { secrets: [newWebhookSecret(), old] }), old).type).toBe('call.started');
  });

  it('refuses a tampered body, a wrong secret and a signature for another id with invalid_signature', () => {
    const headers = signed(ended);
    expect(codeOf(() => verifyWebhook(ended.replace('"answered"', '"missed"'), headers, secret))).toBe('invalid_signature');
    expect(codeOf(() => verifyWebhook(ended, headers, newWebhookSecret()))).toBe('invalid_signature');
    expect(codeOf(() => verifyWebhook(ended, { ...headers, 'webhook-id': 'evt_other' }, secret))).toBe('invalid_signature');
    expect(codeOf(() => verifyWebhook(ended, { ...headers, 'webhook-signature': 'v2,abc' }, secret))).toBe('invalid_signature');
  });

  it('refuses a timestamp more than 5 minutes off either way, unless the tolerance allows it', () => {
    expect(codeOf(() => verifyWebhook(ended, signed(ended, { ageSec: 301 }), secret))).toBe('timestamp_too_old');
    expect(codeOf(() => verifyWebhook(ended, signed(ended, { ageSec: -301 }), secret))).toBe('timestamp_too_new');
    expect(verifyWebhook(ended, signed(ended, { ageSec: 290 }), secret).type).toBe('call.ended');
    expect(verifyWebhook(ended, signed(ended, { ageSec: 3600 }), secret, { toleranceSec: 7200 }).type).toBe('call.ended');
    const headers = signed(ended);
    expect(codeOf(() => verifyWebhook(ended, headers, secret, { now: () => Date.now() + 600_000 }))).toBe('timestamp_too_old');
    expect(codeOf(() => verifyWebhook(ended, { ...headers, 'webhook-timestamp': 'soon' }, secret))).toBe('invalid_timestamp');
  });

  it('keeps checking the timestamp when toleranceSec is NaN (as Number(process.env.X) gives when X is unset)', () => {
    const old = signed(ended, { ageSec: 10 * 365 * 86_400 });
    for (const toleranceSec of [NaN, Number(undefined)]) {
      expect(codeOf(() => verifyWebhook(ended, old, secret, { toleranceSec }))).toBe('timestamp_too_old');
      expect(codeOf(() => verifyWebhook(ended, signed(ended, { ageSec: -301 }), secret, { toleranceSec }))).toBe('timestamp_too_new');
      expect(verifyWebhook(ended, signed(ended, { ageSec: 290 }), secret, { toleranceSec }).type).toBe('call.ended');
    }
    // Infinity stays what it says: no limit.
    expect(verifyWebhook(ended, old, secret, { toleranceSec: Infinity }).type).toBe('call.ended');
  });

  it('says which headers are missing', () => {
    const { 'webhook-signature': _, ...headers } = signed(ended);
    expect(() => verifyWebhook(ended, headers, secret)).toThrow(/no webhook-signature header/);
    expect(codeOf(() => verifyWebhook(ended, {}, secret))).toBe('missing_headers');
  });

  it('explains that a parsed object is not the raw body, and how to get the raw body', () => {
    const parsed = JSON.parse(ended) as unknown as string;
    expect(codeOf(() => verifyWebhook(parsed, signed(ended), secret))).toBe('not_raw_body');
    expect(() => verifyWebhook(parsed, signed(ended), secret)).toThrow(
      /verifyWebhook needs the raw request body .* you passed a parsed object\. .*express\.raw.*request\.text\(\)/,
    );
    expect(() => verifyWebhook(undefined as unknown as string, signed(ended), secret)).toThrow(/you passed undefined/);
  });

  it('refuses a signed body that is not a Switchboard event with invalid_payload and its problems', () => {
    const notJson = 'hello';
    expect(codeOf(() => verifyWebhook(notJson, signed(notJson, { id: 'evt_1' }), secret))).toBe('invalid_payload');
    const wrong = JSON.stringify({ ...JSON.parse(ended), created_at: 'yesterday', data: { type: 'start_call', call_id: 'x' } });
    try {
      verifyWebhook(wrong, signed(wrong), secret);
      throw new Error('expected a throw');
    } catch (error) {
      expect((error as WebhookVerificationError).code).toBe('invalid_payload');
      expect((error as WebhookVerificationError).errors.map((e) => e.path)).toEqual(['/created_at', '/data/type']);
    }
  });

  it('refuses to run with no secret or a malformed one, with invalid_secret', () => {
    expect(codeOf(() => verifyWebhook(ended, signed(ended), []))).toBe('invalid_secret');
    expect(codeOf(() => verifyWebhook(ended, signed(ended), 'whsec_'))).toBe('invalid_secret');
  });

  it("verifies Switchboard's own events: a test event with no source and no call", () => {
    const { json } = envelopeOf({ message: 'This is a test event from Switchboard.' }, { type: 'switchboard.test', status: 'system' });
    const event = verifyWebhook(json, signed(json), secret);
    expect(event).toMatchObject({ type: 'switchboard.test', source_id: null, call_id: null, call: null, data: { message: expect.any(String) } });
  });
});
