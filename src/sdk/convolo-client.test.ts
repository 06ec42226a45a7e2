import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConvoloApiError, ConvoloClient } from './convolo-client.js';

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  body: unknown;
}

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A tiny stand-in for Convolo's call API that records each request and answers what `answer` says. */
async function fakeConvolo(answer: (body: Record<string, string>) => { status: number; body: string }) {
  const seen: Seen[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, string>;
      seen.push({ method: req.method!, url: req.url!, contentType: req.headers['content-type'], body });
      const a = answer(body);
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { seen, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function rejection(promise: Promise<unknown>): Promise<ConvoloApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ConvoloApiError);
    return error as ConvoloApiError;
  }
  throw new Error('expected a rejection');
}

describe('ConvoloClient.addCall', () => {
  it("posts Convolo's documented JSON fields to add_call_api and returns the parsed answer", async () => {
    const convolo = await fakeConvolo(() => ({ status: 200, body: '{"success":true,"callId":"c1"}' }));
    const client = new ConvoloClient({ apiKey: 'key-1', baseUrl: `${convolo.baseUrl}/` });
    const answer = await client.addCall({ widgetKey: 'w1', phone: '+46701234567', phone2: '+46701234568', country: 'SE', message: 'Hot lead', params: { crm_id: '42', Campaign_2: 'spring' } });
    expect(answer).toEqual({ success: true, callId: 'c1' });
    expect(convolo.seen).toEqual([
      {
        method: 'POST',
        url: '/rest/v1/ext/add_call_api/',
        contentType: 'application/json',
        body: { widget_key: 'w1', api_key: 'key-1', lc_number: '+46701234567', lc_number_2: '+46701234568', country: 'SE', lc_message: 'Hot lead', lc_param_crm_id: '42', lc_param_Campaign_2: 'spring' },
      },
    ]);
  });

  it('sends only the fields given, and gives a 2xx answer that is not a JSON object as its raw text', async () => {
    const convolo = await fakeConvolo(() => ({ status: 200, body: 'OK' }));
    const answer = await new ConvoloClient({ apiKey: 'k', baseUrl: convolo.baseUrl }).addCall({ widgetKey: 'w', phone: '+1555' });
    expect(convolo.seen[0]!.body).toEqual({ widget_key: 'w', api_key: 'k', lc_number: '+1555' });
    expect(answer).toEqual({ raw: 'OK' });
  });

  it("throws a ConvoloApiError with Convolo's own message, status and body on a non-2xx answer", async () => {
    const convolo = await fakeConvolo(() => ({ status: 403, body: '{"error":"Wrong api_key for this widget"}' }));
    const error = await rejection(new ConvoloClient({ apiKey: 'bad', baseUrl: convolo.baseUrl }).addCall({ widgetKey: 'w', phone: '+1555' }));
    expect(error).toMatchObject({ code: 'http_error', status: 403, body: { error: 'Wrong api_key for this widget' } });
    expect(error.message).toBe('Convolo answered 403: Wrong api_key for this widget');
  });

  it('refuses invalid or clashing param names before sending anything', async () => {
    const convolo = await fakeConvolo(() => ({ status: 200, body: '{}' }));
    const client = new ConvoloClient({ apiKey: 'k', baseUrl: convolo.baseUrl });
    for (const name of ['', 'has-dash', 'a'.repeat(21), 'naïve']) {
      const error = await rejection(client.addCall({ widgetKey: 'w', phone: '+1', params: { [name]: 'x' } }));
      expect(error.code).toBe('invalid_param');
      expect(error.message).toContain('1–20 letters, digits or underscores');
    }
    const clash = await rejection(client.addCall({ widgetKey: 'w', phone: '+1', params: { crm: '1', CRM: '2' } }));
    expect(clash.message).toContain('case-insensitive');
    expect(convolo.seen).toEqual([]);
    await client.addCall({ widgetKey: 'w', phone: '+1', params: { ['a'.repeat(20)]: 'ok' } });
    expect(convolo.seen).toHaveLength(1);
  });

  it('throws network_error when Convolo cannot be reached', async () => {
    const convolo = await fakeConvolo(() => ({ status: 200, body: '{}' }));
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const error = await rejection(new ConvoloClient({ apiKey: 'k', baseUrl: convolo.baseUrl }).addCall({ widgetKey: 'w', phone: '+1' }));
    expect(error.code).toBe('network_error');
  });
});

describe('ConvoloClient timeoutMs', () => {
  it('takes a timeout above 2^31-1 ms (or Infinity) as the longest a timer holds, not as 1 ms or an error', async () => {
    // Answers after 50 ms: long enough for a timeout that fired after 1 ms to abort the request.
    server = createServer((req, res) => {
      req.resume();
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(req.method === 'GET' ? '[{"call_id":"a"}]' : '{"success":true}'), 50);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const timeoutMs of [2 ** 31, Infinity]) {
      const client = new ConvoloClient({ apiKey: 'k', baseUrl, callListBaseUrl: baseUrl, timeoutMs });
      expect(await client.addCall({ widgetKey: 'w', phone: '+1' })).toEqual({ success: true });
      expect((await client.listCalls()).items).toEqual([{ call_id: 'a' }]);
    }
  });
});
