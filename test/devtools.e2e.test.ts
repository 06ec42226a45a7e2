import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMockConvolo, type MockConvolo } from '../src/mock-convolo/index.js';
import { newWebhookSecret } from '../src/relay/signing.js';
import { ConvoloClient, createHandler, toNodeListener, type SwitchboardEvent } from '../src/sdk/index.js';
import { backends, startTestApp, type TestApp } from './support/app.js';
import { assertBuilt, cliPath } from './support/crash-server.js';
import { waitFor } from './support/sse.js';

/**
 * The developer's offline loop, end to end with every piece real: a call made through mock-convolo's call API
 * (with the SDK's ConvoloClient) → its webhooks into Switchboard → `switchboard listen` (a child process, as a
 * developer runs it) → a small node:http app built with the SDK's createHandler, which verifies each event.
 */
describe.each([false, true])('mock-convolo → Switchboard → listen → createHandler (legacy format: %s)', (legacyFormat) => {
  let t: TestApp;
  let mock: MockConvolo;
  let app: Server;
  let listen: ChildProcess | null = null;

  afterEach(async () => {
    listen?.kill('SIGKILL');
    await mock?.close('abandon');
    // A beforeAll that failed early leaves no server: closing nothing must not wait for ever.
    if (app) await new Promise((resolve) => app.close(resolve));
    await t?.close();
  });

  it('delivers the call made through add_call_api to the app, verified and typed, with its custom params intact', async () => {
    assertBuilt();
    t = await startTestApp(await backends[0]!.freshDb());
    const widget = { key: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', apiKey: 'mock-api-key-1', name: 'Pricing page', userId: 4242, timezone: 'Europe/Stockholm' };
    mock = createMockConvolo({ webhookUrl: t.ingestUrl, port: 0, widgets: [widget], legacyFormat, timeScale: 0 });
    const { url: convoloUrl } = await mock.listen();

    // The developer's app: fifteen lines with the SDK.
    const secret = newWebhookSecret();
    const received: SwitchboardEvent[] = [];
    const handler = createHandler(
      {
        'call.started': (event) => void received.push(event),
        'call.ended': (event) => void received.push(event),
      },
      { secret },
    );
    app = createServer(toNodeListener(handler));
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/webhooks`;

    const cwd = mkdtempSync(join(tmpdir(), 'sb-devtools-'));
    listen = spawn(process.execPath, [cliPath, 'listen', '--from', t.baseUrl, '--key', t.adminKey, '--forward-to', appUrl, '--secret', secret], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    listen.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    listen.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    await waitFor('listen to be ready', () => output.includes('Press Ctrl-C to stop.'), 30_000);

    const convolo = new ConvoloClient({ apiKey: widget.apiKey, baseUrl: convoloUrl });
    const answer = await convolo.addCall({ widgetKey: widget.key, phone: '+46 70 123 45 67', params: { Deal_ID: 'D-42', utm_source: 'google' } });
    const callId = answer.callId!;
    expect(callId).toMatch(/^[0-9a-f]{32}$/);

    const expectedTypes = legacyFormat ? ['call.ended'] : ['call.started', 'call.ended'];
    await waitFor('the events in the app', () => received.length >= expectedTypes.length, 20_000);
    expect(received.map((e) => e.type)).toEqual(expectedTypes);
    for (const event of received) {
      expect(event.call_id).toBe(callId);
      expect(event.call?.lead?.custom_params).toEqual({ deal_id: 'D-42', utm_source: 'google' });
    }
    const ended = received.at(-1)!;
    if (ended.type !== 'call.ended') throw new Error('expected call.ended last');
    expect(ended.call.status).toBe('answered');
    expect(ended.call.widget_name).toBe('Pricing page');
    expect(ended.call.event_count).toBe(legacyFormat ? 1 : 2);
    // The payload as Convolo sent it: JSON verbatim, or the legacy form mapped to the same nesting.
    expect((ended.data as { lead?: { custom_params?: unknown } }).lead?.custom_params).toEqual({ deal_id: 'D-42', utm_source: 'google' });
    // listen printed one line per event with the app's answer.
    await waitFor('the event lines', () => (output.match(/→ 200/g) ?? []).length === expectedTypes.length);
  });
});
