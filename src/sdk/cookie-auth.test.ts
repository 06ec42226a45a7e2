import { describe, expect, it } from 'vitest';
import { createClient } from './client.js';
import { streamEvents } from './subscribe.js';

/** Without an API key (the dashboard), the SDK sends no Authorization header and lets the same-origin session cookie go. */
describe('the SDK without an API key', () => {
  const seen: Array<{ url: string; init: RequestInit | undefined }> = [];
  const fetchSpy = async (url: string, init?: RequestInit) => {
    seen.push({ url, init });
    return new Response(JSON.stringify({ data: [], next_cursor: null }), { status: 200, headers: { 'content-type': 'application/json' } });
  };

  it('calls the REST API with credentials same-origin and no authorization', async () => {
    seen.length = 0;
    const client = createClient({ baseUrl: 'https://sb.example.com', fetch: fetchSpy });
    await client.calls.list({ status: 'answered' });
    expect(seen[0]!.url).toBe('https://sb.example.com/v1/calls?status=answered');
    expect(seen[0]!.init!.credentials).toBe('same-origin');
    expect(seen[0]!.init!.headers).not.toHaveProperty('authorization');
  });

  it('keeps sending the key, and no credentials option, when one is given', async () => {
    seen.length = 0;
    await createClient({ baseUrl: 'https://sb.example.com', apiKey: 'sbk_x', fetch: fetchSpy }).calls.list();
    expect(seen[0]!.init!.headers).toMatchObject({ authorization: 'Bearer sbk_x' });
    expect(seen[0]!.init).not.toHaveProperty('credentials');
  });

  it('opens the stream with the cookie and Last-Event-ID, no authorization', async () => {
    const requests: RequestInit[] = [];
    const body = 'id: 8\nevent: call.started\ndata: {"id":"evt_1","type":"call.started","call_id":"c"}\n\n';
    const controller = new AbortController();
    const events = streamEvents({
      baseUrl: 'https://sb.example.com',
      since: 7,
      signal: controller.signal,
      fetch: async (_url, init) => {
        requests.push(init!);
        return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
      },
    });
    const first = await events.next();
    controller.abort();
    expect(first.value).toMatchObject({ seq: 8, type: 'call.started' });
    expect(requests[0]!.credentials).toBe('same-origin');
    expect(requests[0]!.headers).toEqual({ accept: 'text/event-stream', 'last-event-id': '7' });
  });
});
