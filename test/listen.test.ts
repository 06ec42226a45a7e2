import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, toNodeListener, type SwitchboardEvent } from '../src/sdk/index.js';
import { hashSecret, maskSecret } from '../src/domain/secrets.js';
import { newId } from '../src/domain/ids.js';
import { backends, endCall, startCall, startTestApp, startTestAppAgain, type TestApp } from './support/app.js';
import { assertBuilt, cliPath, killLeftoverServers, repoRoot, startFirstServer, startServer } from './support/crash-server.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { writeCursor } from '../src/cli/listen-state.js';
import { waitFor } from './support/sse.js';

/** `switchboard listen` as a child process between a real Switchboard and a local node:http app. */

interface ListenProcess {
  child: ChildProcess;
  secret: string;
  output(): string;
  /** Ctrl-C, then the exit code. */
  stop(): Promise<number | null>;
}

const running = new Set<ChildProcess>();

async function startListen(args: string[], cwd: string): Promise<ListenProcess> {
  assertBuilt();
  const child = spawn(process.execPath, [cliPath, 'listen', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  // 'close', not 'exit': the output is complete only once the pipes have closed.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => { running.delete(child); resolve(code); }));
  await waitFor('listen to be ready', () => out.includes('Press Ctrl-C to stop.') || child.exitCode !== null, 30_000);
  const secret = /Local signing secret: (whsec_\S+)/.exec(out)?.[1];
  if (!secret) throw new Error(`listen did not start:\n${out}`);
  return { child, secret, output: () => out, stop: async () => { child.kill('SIGINT'); return exited; } };
}

/** Verifies a received webhook with the standardwebhooks library, as the user's app would. */
function verified(receiver: Receiver, secret: string, from = 0) {
  const webhook = new Webhook(secret);
  return receiver.received.slice(from).map((r) => webhook.verify(r.body, r.headers as Record<string, string>) as { id: string; type: string; call_id: string });
}

describe('switchboard listen', () => {
  let t: TestApp;
  let receiver: Receiver;
  let dir: string;
  const common = () => ['--from', t.baseUrl, '--key', t.adminKey, '--forward-to', receiver.url];

  beforeAll(async () => {
    t = await startTestApp(await backends[0]!.freshDb());
    receiver = await startReceiver();
    dir = mkdtempSync(join(tmpdir(), 'sb-listen-'));
  });
  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await receiver.close();
    await t.close();
  });

  it('forwards call.started then call.ended signed, and after a restart the events posted while it was down, none twice', async () => {
    const first = await startListen(common(), dir);
    expect(first.output()).toContain('(new; configure it in your app)');
    await t.post(startCall('listen-a'));
    await t.post(endCall('listen-a'));
    await waitFor('both events', () => receiver.received.length === 2);
    const [started, ended] = verified(receiver, first.secret);
    expect([started!.type, ended!.type]).toEqual(['call.started', 'call.ended']);
    expect(ended!.call_id).toBe('listen-a');
    expect(receiver.received[0]!.headers['webhook-id']).toBe(started!.id);
    // Printed before the next event is forwarded, but it may still be in the pipe.
    await waitFor('the event line', () => /#\d+ {2}call\.started {2}call listen-a {2}→ 200 \(\d+ ms\)/.test(first.output()));
    expect(await first.stop()).toBe(0);
    expect(first.output()).toContain('Stopped.');

    // The default cursor lives under ./.switchboard of the working directory, with the secret beside it.
    const files = readdirSync(join(dir, '.switchboard'));
    expect(files).toContain('listen-secret');
    const cursorFile = files.find((f) => /^listen-[0-9a-f]{12}\.json$/.test(f))!;
    const log = (await t.api('/v1/events?limit=10')).body.data as Array<{ seq: number }>;
    expect(JSON.parse(readFileSync(join(dir, '.switchboard', cursorFile), 'utf8')).last_seq).toBe(log[0]!.seq);

    await t.post(startCall('listen-b'));
    await t.post(endCall('listen-b'));
    const second = await startListen(common(), dir);
    expect(second.secret).toBe(first.secret);
    expect(second.output()).toContain('resuming after event');
    await waitFor('the events posted while listen was down', () => receiver.received.length === 4);
    const all = verified(receiver, second.secret);
    expect(all.map((e) => `${e.type} ${e.call_id}`)).toEqual(['call.started listen-a', 'call.ended listen-a', 'call.started listen-b', 'call.ended listen-b']);
    expect(new Set(all.map((e) => e.id)).size).toBe(4);
    expect(await second.stop()).toBe(0);
  });

  it('retries an event the local app answers 500, without moving the cursor past it, and does not send it again after a restart', async () => {
    const cursor = join(dir, 'retry-cursor.json');
    const listen = await startListen([...common(), '--cursor-file', cursor, '--types', 'call.ended'], dir);
    // Its own secret, kept next to its cursor file.
    expect(readFileSync(join(dir, 'listen-secret'), 'utf8').trim()).toBe(listen.secret);
    const before = receiver.received.length;
    let refuse = true;
    receiver.answer(() => ({ status: refuse ? 500 : 200 }));
    const cursorBefore = JSON.parse(readFileSync(cursor, 'utf8')).last_seq as number;
    await t.post(endCall('listen-c'));
    await waitFor('two refused attempts', () => receiver.received.length === before + 2);
    // Refused twice: retried, and the cursor has not moved past it.
    expect(JSON.parse(readFileSync(cursor, 'utf8')).last_seq).toBe(cursorBefore);
    refuse = false;
    await waitFor('an accepted attempt', () => receiver.received.at(-1)!.status === 200);
    const attempts = receiver.received.slice(before);
    expect(attempts.map((r) => r.status)).toEqual([...attempts.slice(0, -1).map(() => 500), 200]);
    expect(new Set(attempts.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(new Set(verified(receiver, listen.secret, before).map((e) => e.call_id))).toEqual(new Set(['listen-c']));
    await waitFor('the retry line', () => /call listen-c {2}→ 500 \(\d+ ms\); retrying in \d+\.\d s \(not skipped\)/.test(listen.output()));
    await waitFor('the cursor to move', () => JSON.parse(readFileSync(cursor, 'utf8')).last_seq > cursorBefore);
    expect(await listen.stop()).toBe(0);

    // Restarted: listen-c is not sent again; the next event is the first to arrive.
    const accepted = receiver.received.length;
    const again = await startListen([...common(), '--cursor-file', cursor, '--types', 'call.ended'], dir);
    await t.post(startCall('listen-d')); // filtered out by --types
    await t.post(endCall('listen-d'));
    await waitFor('the next event', () => receiver.received.length === accepted + 1);
    expect(verified(receiver, again.secret, accepted).map((e) => `${e.type} ${e.call_id}`)).toEqual(['call.ended listen-d']);
    expect(await again.stop()).toBe(0);
  });

  it('feeds a node:http app built with the SDK\'s createHandler, which verifies each event with the --secret it was given', async () => {
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const got: SwitchboardEvent[] = [];
    const app = createServer(
      toNodeListener(createHandler({ 'call.started': (event) => void got.push(event), 'call.ended': (event) => void got.push(event) }, { secret })),
    );
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}/webhooks`;
      const listen = await startListen(['--from', t.baseUrl, '--key', t.adminKey, '--forward-to', url, '--secret', secret, '--cursor-file', join(dir, 'app.json')], dir);
      expect(listen.secret).toBe(secret);
      const params = { utm_source: 'ads', Deal_ID: '42' };
      const lead = (body: string) => JSON.parse(body).lead as Record<string, unknown>;
      await t.post(startCall('listen-app', { lead: { ...lead(startCall('x')), custom_params: params } }));
      await t.post(endCall('listen-app', { lead: { ...lead(endCall('x')), custom_params: params } }));
      await waitFor('both events in the app', () => got.length === 2);
      expect(got.map((e) => e.type)).toEqual(['call.started', 'call.ended']);
      const [started, ended] = got as Array<Extract<SwitchboardEvent, { type: 'call.started' | 'call.ended' }>>;
      expect(started!.data.lead?.custom_params).toEqual(params);
      expect(ended!.call.lead?.custom_params).toEqual(params);
      await waitFor('the 200s', () => (listen.output().match(/call listen-app {2}→ 200/g) ?? []).length === 2);
      expect(await listen.stop()).toBe(0);
    } finally {
      await new Promise((resolve) => app.close(resolve));
    }
  });

  it('refuses a bad key or a bad URL with one clear line and exit code 1, leaving no files', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'sb-listen-'));
    const run = async (args: string[]) => {
      const child = spawn(process.execPath, [cliPath, 'listen', ...args], { cwd: empty, stdio: ['ignore', 'pipe', 'pipe'] });
      running.add(child);
      let err = '';
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      return { code, err };
    };
    const badKey = await run(['--from', t.baseUrl, '--key', 'sbk_wrong', '--forward-to', receiver.url]);
    expect(badKey.code).toBe(1);
    expect(badKey.err).toMatch(/^switchboard: A valid API key is required/);
    const badUrl = await run(['--from', t.baseUrl, '--key', t.adminKey, '--forward-to', 'localhost:3000']);
    expect(badUrl.code).toBe(1);
    expect(badUrl.err).toMatch(/^switchboard: --forward-to is not an http\(s\) URL: "localhost:3000"/);
    expect(readdirSync(empty)).toEqual([]);
  });
});

describe('switchboard listen at the edges of the log', () => {
  let clock = Date.parse('2026-03-01T00:00:00Z');
  let t: TestApp;
  let receiver: Receiver;
  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await receiver?.close();
    await t?.close();
  });

  it('says in one line that retention deleted events past its cursor, or that the database was reset, and forwards the events after', async () => {
    t = await startTestApp(await backends[0]!.freshDb(), {}, { now: () => clock });
    receiver = await startReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'sb-listen-'));
    const cursor = join(dir, 'cursor.json');
    const args = ['--from', t.baseUrl, '--key', t.adminKey, '--forward-to', receiver.url, '--cursor-file', cursor];
    const seqOf = async (answer: { body: { id: string } }) => (await t.api(`/v1/events/${answer.body.id}`)).body.seq as number;
    await t.post(startCall('gone-1'));
    await t.post(endCall('gone-1'));
    clock += 10 * 86_400_000;
    const kept = await seqOf(await t.post(endCall('kept-1')));
    expect((await t.request('POST', '/v1/prune', { retention_days: 5 })).body).toMatchObject({ events: 2 });

    writeCursor(cursor, { from: t.baseUrl, types: [] }, 0, null);
    const first = await startListen(args, dir);
    await waitFor('the kept event', () => receiver.received.length === 1);
    expect(verified(receiver, first.secret).map((e) => e.call_id)).toEqual(['kept-1']);
    expect(first.output()).toContain(`Events #1 to #${kept - 1} were deleted by retention before they could be forwarded (${kept - 1} missed); going on from #${kept}\n`);
    expect(await first.stop()).toBe(0);

    // A cursor from another database (this one was reset): its events are forwarded, not skipped up to the old cursor.
    writeCursor(cursor, { from: t.baseUrl, types: [] }, 1000, null);
    const second = await startListen(args, dir);
    await waitFor('the gap line', () => second.output().includes('database was reset'));
    expect(second.output()).toContain(`The cursor (event #1000) is past the newest event of ${t.baseUrl} (#${kept}): its database was reset or replaced; forwarding its events after #${kept}\n`);
    // The line is printed as the gap frame comes; the cursor file is written after it.
    await waitFor('the cursor moved back to the head', () => JSON.parse(readFileSync(cursor, 'utf8')).last_seq === kept);
    const next = await seqOf(await t.post(endCall('after-reset')));
    await waitFor('the new event', () => receiver.received.length === 2);
    expect(verified(receiver, second.secret, 1).map((e) => e.call_id)).toEqual(['after-reset']);
    expect(await second.stop()).toBe(0);
    expect(JSON.parse(readFileSync(cursor, 'utf8')).last_seq).toBe(next);
    expect(second.output()).not.toMatch(/switchboard\.gap/);
  });

  it('starting from now on a log retention emptied: no word of deleted events it never asked for, and the cursor at the log\'s end', async () => {
    const before = await t.post(endCall('emptied-1'));
    expect(before.status).toBe(200);
    const last = (await t.api(`/v1/events/${before.body.id}`)).body.seq as number;
    clock += 10 * 86_400_000;
    expect((await t.request('POST', '/v1/prune', { retention_days: 5 })).body).toMatchObject({ events: expect.any(Number) });
    expect((await t.api('/v1/events')).body.data).toEqual([]);
    const dir = mkdtempSync(join(tmpdir(), 'sb-listen-'));
    const cursor = join(dir, 'cursor.json');
    const received = receiver.received.length;
    const listen = await startListen(['--from', t.baseUrl, '--key', t.adminKey, '--forward-to', receiver.url, '--cursor-file', cursor], dir);
    await waitFor('the cursor at the end of the log', () => JSON.parse(readFileSync(cursor, 'utf8')).last_seq === last);
    await t.post(endCall('after-empty'));
    await waitFor('the new event', () => receiver.received.length === received + 1);
    expect(verified(receiver, listen.secret, received).map((e) => e.call_id)).toEqual(['after-empty']);
    expect(await listen.stop()).toBe(0);
    expect(listen.output()).not.toContain('deleted by retention');
    expect(JSON.parse(readFileSync(cursor, 'utf8')).last_seq).toBe(last + 1);
  });
});

describe('switchboard listen across a restart on a new database', () => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    for (const app of apps.splice(0)) await app.close();
  });

  it('keeps the log id beside its cursor, and when the new database\'s log has passed the cursor says so in one line and forwards what comes after', async () => {
    const a = await startTestApp(await backends[0]!.freshDb());
    apps.push(a);
    const receiver = await startReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'sb-listen-'));
    const cursor = join(dir, 'cursor.json');
    try {
      const listen = await startListen(['--from', a.baseUrl, '--key', a.adminKey, '--forward-to', receiver.url, '--since', 'beginning', '--cursor-file', cursor], dir);
      const logA = await a.app.storage.events.logId();
      // Known from the stream's answer, kept before any event.
      await waitFor('the log id in the cursor file', () => JSON.parse(readFileSync(cursor, 'utf8')).log_id === logA);
      await a.post(startCall('a-1'));
      await a.post(endCall('a-1'));
      await waitFor('the first database\'s events', () => receiver.received.length === 2);
      await waitFor('the cursor', () => JSON.parse(readFileSync(cursor, 'utf8')).last_seq === 2);

      // The operator starts over on a new database (its key made again), which has more events by the time listen is back.
      const dbB = await backends[0]!.freshDb();
      const b0 = await startTestApp(dbB);
      await b0.app.storage.keys.create({ id: newId('key'), name: 'listen', scope: 'read', keyHash: hashSecret(a.adminKey), keyHint: maskSecret(a.adminKey), createdAt: Date.now() });
      for (const body of [startCall('b-1'), endCall('b-1'), startCall('b-2'), endCall('b-2')]) expect((await b0.post(body)).status).toBe(200);
      const logB = await b0.app.storage.events.logId();
      await b0.close();
      await a.close();
      apps.splice(0);
      const b = await startTestAppAgain(dbB, b0, { port: Number(new URL(a.baseUrl).port) });
      apps.push(b);

      await waitFor('the line', () => listen.output().includes('log was replaced'), 30_000);
      expect(listen.output()).toContain(`${a.baseUrl} now serves another database (its log was replaced): its events up to #4 were not forwarded; going on from now, after #4\n`);
      expect(JSON.parse(readFileSync(cursor, 'utf8'))).toMatchObject({ last_seq: 4, log_id: logB });
      await b.post(startCall('b-3'));
      await waitFor('the event after the gap', () => receiver.received.length === 3, 15_000);
      expect(verified(receiver, listen.secret).map((e) => e.call_id)).toEqual(['a-1', 'a-1', 'b-3']);
      expect(await listen.stop()).toBe(0);
      expect(JSON.parse(readFileSync(cursor, 'utf8'))).toMatchObject({ last_seq: 5, log_id: logB });
      expect(listen.output()).not.toMatch(/switchboard\.gap/);
    } finally {
      await receiver.close();
    }
  });
});

describe('switchboard listen across a Switchboard restart', () => {
  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await killLeftoverServers();
  });

  it('says it is reconnecting while Switchboard is down, then forwards what was posted after the restart', async () => {
    const db = await backends[0]!.freshDb();
    const server = await startFirstServer(db);
    const receiver = await startReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'sb-listen-'));
    try {
      const listen = await startListen(['--from', server.baseUrl, '--key', server.adminKey, '--forward-to', receiver.url, '--since', 'beginning'], dir);
      await fetch(server.ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: startCall('r-1') });
      await waitFor('the first event', () => receiver.received.length === 1);
      server.child.kill('SIGKILL');
      await server.exited;
      await waitFor('listen to say it reconnects', () => /reconnecting in \d+\.\d s/.test(listen.output()), 30_000);
      const restarted = await startServer(db, 30_000, ['--port', new URL(server.baseUrl).port]);
      await fetch(server.ingestUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: endCall('r-1') });
      await waitFor('the event posted after the restart', () => receiver.received.length === 2, 60_000);
      expect(verified(receiver, listen.secret).map((e) => e.type)).toEqual(['call.started', 'call.ended']);
      await waitFor('the reconnection line', () => listen.output().includes('Reconnected to'));
      expect(await listen.stop()).toBe(0);
      restarted.child.kill('SIGTERM');
      await restarted.exited;
    } finally {
      await receiver.close();
    }
  });
});

describe('switchboard listen against a server that does not answer as Switchboard does', () => {
  afterAll(() => {
    for (const child of running) child.kill('SIGKILL');
  });

  /** listen as a child in an empty directory: its output, and its exit code once it ends. */
  function spawnListen(from: string) {
    const cwd = mkdtempSync(join(tmpdir(), 'sb-listen-odd-'));
    const child = spawn(process.execPath, [cliPath, 'listen', '--from', from, '--key', 'sbk_any', '--forward-to', 'http://127.0.0.1:9/'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => { running.delete(child); resolve(code); }));
    return { cwd, child, exited, output: () => out };
  }

  async function serve(handler: RequestListener) {
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }) };
  }

  it('stops at Ctrl-C while the server has not answered the look-up of the newest event, writing nothing', async () => {
    assertBuilt();
    const silent = await serve(() => {}); // takes every request, answers none
    try {
      const listen = spawnListen(silent.url);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      listen.child.kill('SIGINT');
      const code = await Promise.race([listen.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 5000))]);
      expect(code).toBe(0);
      expect(listen.output()).toContain('Stopped before the first event was looked up: nothing was written.');
      expect(readdirSync(listen.cwd)).toEqual([]);
    } finally {
      await silent.close();
    }
  });

  it('refuses in one line, writing nothing, an answer to /v1/events that is not a list of events', async () => {
    assertBuilt();
    for (const [type, body] of [['text/html', '<html>Welcome</html>'], ['application/json', 'null'], ['application/json', '{"data":[{"seq":"abc"}]}']]) {
      const odd = await serve((_req, res) => res.writeHead(200, { 'content-type': type }).end(body));
      try {
        const listen = spawnListen(odd.url);
        expect(await listen.exited).toBe(1);
        expect(listen.output()).toBe(`switchboard: ${odd.url}/v1/events did not answer as a Switchboard does (its list of events): is --from right?\n`);
        expect(readdirSync(listen.cwd)).toEqual([]);
      } finally {
        await odd.close();
      }
    }
  });

  it('waits as a Retry-After beyond what a timer can wait says (24.8 days at most), instead of asking again every millisecond', async () => {
    assertBuilt();
    let streams = 0;
    const busy = await serve((req, res) => {
      if (req.url?.startsWith('/v1/events')) return res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[{"seq":5}]}');
      streams++;
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '99999999999' }).end('{"error":"overloaded","message":"Busy."}');
    });
    try {
      const listen = spawnListen(busy.url);
      await waitFor('the first stream request', () => streams >= 1, 20_000);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      expect(streams).toBe(1);
      expect(listen.output()).toContain(`reconnecting in ${((2 ** 31 - 1) / 1000).toFixed(1)} s`);
      expect(listen.output()).not.toContain('TimeoutOverflowWarning');
      listen.child.kill('SIGINT');
      expect(await listen.exited).toBe(0);
    } finally {
      await busy.close();
    }
  });
});
