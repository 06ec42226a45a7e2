// A webhook receiver for the relay benchmark, in its own process: it answers at once and keeps count.
//
//   POST /d/<name>   a delivery. While "up": 200 {"ok":true}; while "down": 503 (no Retry-After). The body
//                    is read whole and parsed as the relay envelope (id, type, call_id) after answering.
//   POST /_up, POST /_down   switch (the moment of the switch is recorded); it starts up.
//   POST /_secrets   {"<name>": "whsec_…", …}: from then on, deliveries to /d/<name> are checked against
//                    the Standard Webhooks signature (webhook-id, webhook-timestamp, webhook-signature).
//   GET  /_stats     the counts below as JSON; POST /_reset forgets everything (and switches up).
//
// Counted per name and in total: ok (2xx given), refused (503 given), duplicates (an envelope id answered
// 2xx twice at the same name), per-call order at each name (a call.ended answered 2xx before any
// call.started of its call, or a call.started after its call.ended), unparsable bodies, signatures missing,
// wrong, or whose webhook-id is not the envelope id. Times (ms, performance.timeOrigin + performance.now())
// of the first and last 2xx and 503, and of the last switch up.
//
// Usage: node bench/sink-server.mjs — listens on 127.0.0.1 on a port chosen by the OS and prints that
// port, alone on a line, on stdout. Exits 0 on SIGTERM or SIGINT.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { serve } from './lib/serve.mjs';

const now = () => performance.timeOrigin + performance.now();
const OK = Buffer.from('{"ok":true}');
const DOWN = Buffer.from('{"error":"down"}');

let state;
let secrets;
function reset() {
  state = {
    up: true,
    upAt: null,
    downAt: null,
    total: fresh(),
    names: new Map(),
    delivered: new Set(), // `${name} ${envelope id}` answered 2xx
    refusedIds: new Set(), // `${name} ${envelope id}` answered 503 at least once
    calls: new Map(), // `${name} ${call_id}` → 1 started seen, 2 ended seen (2xx only)
    sampleBody: null,
  };
  secrets = new Map();
}

function fresh() {
  return {
    ok: 0, refused: 0, duplicates: 0, endedFirst: 0, startedAfterEnded: 0, badBody: 0,
    unsigned: 0, badSignature: 0, idMismatch: 0, bytes: 0,
    firstOkAt: null, lastOkAt: null, firstRefusedAt: null, lastRefusedAt: null,
  };
}

function bump(name, key, by = 1) {
  state.total[key] += by;
  let n = state.names.get(name);
  if (!n) state.names.set(name, (n = fresh()));
  n[key] += by;
  return n;
}

function stamp(name, first, last, at) {
  const n = state.names.get(name);
  for (const s of [state.total, n]) {
    s[first] ??= at;
    s[last] = at;
  }
}

/** Standard Webhooks: base64 HMAC-SHA256 of `${id}.${timestamp}.${body}` keyed by the secret's bytes. */
function signatureOk(secret, headers, body) {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sig = headers['webhook-signature'];
  if (!id || !ts || !sig) return null;
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${ts}.`).update(body).digest();
  return String(sig)
    .split(' ')
    .some((part) => {
      const [version, b64] = part.split(',');
      if (version !== 'v1' || !b64) return false;
      const got = Buffer.from(b64, 'base64');
      return got.length === expected.length && timingSafeEqual(got, expected);
    });
}

function account(name, up, at, headers, body) {
  bump(name, up ? 'ok' : 'refused');
  stamp(name, up ? 'firstOkAt' : 'firstRefusedAt', up ? 'lastOkAt' : 'lastRefusedAt', at);
  bump(name, 'bytes', body.length);
  let env;
  try {
    env = JSON.parse(body.toString('utf8'));
  } catch {
    bump(name, 'badBody');
    return;
  }
  if (typeof env?.id !== 'string' || typeof env.type !== 'string') {
    bump(name, 'badBody');
    return;
  }
  const secret = secrets.get(name);
  if (secret) {
    const ok = signatureOk(secret, headers, body);
    if (ok === null) bump(name, 'unsigned');
    else if (!ok) bump(name, 'badSignature');
    if (ok !== null && headers['webhook-id'] !== env.id) bump(name, 'idMismatch');
  }
  const key = `${name} ${env.id}`;
  if (!up) {
    state.refusedIds.add(key);
    return;
  }
  state.sampleBody ??= body.toString('utf8');
  if (state.delivered.has(key)) bump(name, 'duplicates');
  else state.delivered.add(key);
  if (env.call_id == null) return;
  const callKey = `${name} ${env.call_id}`;
  const seen = state.calls.get(callKey) ?? 0;
  if (env.type === 'call.started') {
    if (seen === 2) bump(name, 'startedAfterEnded');
    else state.calls.set(callKey, 1);
  } else if (env.type === 'call.ended') {
    if (seen === 0) bump(name, 'endedFirst');
    state.calls.set(callKey, 2);
  }
}

function stats() {
  return {
    up: state.up,
    upAt: state.upAt,
    downAt: state.downAt,
    total: state.total,
    names: Object.fromEntries(state.names),
    distinctDelivered: state.delivered.size,
    distinctRefused: state.refusedIds.size,
    sampleBody: state.sampleBody,
  };
}

function control(req, res, body) {
  const json = (code, value) => {
    const text = JSON.stringify(value);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  if (req.url === '/_stats') return json(200, stats());
  if (req.url === '/_up') {
    state.up = true;
    state.upAt = now();
    return json(200, { up: true, at: state.upAt });
  }
  if (req.url === '/_down') {
    state.up = false;
    state.downAt = now();
    return json(200, { up: false, at: state.downAt });
  }
  if (req.url === '/_reset') {
    reset();
    return json(200, { reset: true });
  }
  if (req.url === '/_secrets') {
    for (const [name, secret] of Object.entries(JSON.parse(body.toString('utf8')))) secrets.set(name, secret);
    return json(200, { secrets: secrets.size });
  }
  return json(404, { error: 'not_found' });
}

reset();
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (!req.url.startsWith('/d/')) {
      control(req, res, body);
      return;
    }
    const at = now();
    const up = state.up;
    const answer = up ? OK : DOWN;
    res.writeHead(up ? 200 : 503, { 'content-type': 'application/json', 'content-length': answer.length });
    res.end(answer);
    account(req.url.slice(3), up, at, req.headers, body);
  });
  req.on('error', () => res.destroy());
});
server.keepAliveTimeout = 60_000;

serve(server);
