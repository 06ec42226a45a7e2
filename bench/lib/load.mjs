// HTTP load from inside the harness, over undici (the project's own HTTP client), for the relay benchmark:
// an open-loop poster at a steady rate and a closed-loop poster that sends a list as fast as it is answered.
import { Pool } from 'undici';
import { nowMs } from './sse-client.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** p50/p99/max (and count) of a list of numbers; a typed array is sorted in place. */
export function summarize(values) {
  const sorted = values instanceof Float64Array || values instanceof Float32Array ? values.sort() : Float64Array.from(values).sort();
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : null,
  };
}

function answers() {
  return { byStatus: {}, non2xx: 0, errors: 0, firstProblem: null, latencies: [] };
}

function recordAnswer(acc, status, body, ms) {
  acc.byStatus[status] = (acc.byStatus[status] ?? 0) + 1;
  if (ms != null) acc.latencies.push(ms);
  if (status < 200 || status > 299) {
    acc.non2xx += 1;
    acc.firstProblem ??= `${status} ${body.slice(0, 200)}`;
  }
}

async function post(pool, path, headers, body, acc, measured = true, onAnswer) {
  const started = performance.now();
  try {
    const res = await pool.request({ path, method: 'POST', headers, body });
    const text = await res.body.text();
    recordAnswer(acc, res.statusCode, text, measured ? performance.now() - started : null);
    onAnswer?.(res.statusCode);
  } catch (err) {
    acc.errors += 1;
    acc.firstProblem ??= err.message;
  }
}

/**
 * Open loop: `total` POSTs to `url` at `rate` per second, on a schedule that does not wait for answers
 * (up to `connections` kept-alive connections; beyond that undici queues, and the wait counts). Body n is
 * `makeBody(n, sentAtMs)`, built when it is sent. Resolves when every answer is in:
 * { sent, seconds (first send → last send), rate, lateMs (how far behind schedule sends went: p99, max),
 *   answers: { byStatus, non2xx, errors, firstProblem, latency: {p50, p99, max} } }.
 * Latency and lateness count from POST number `measureFrom` on (the ones before are a warm-up); the rest
 * count them all. `onAnswer(n, status, atMs)`, when given, is called as answer n is read (nowMs's clock).
 */
export async function postPaced({ url, rate, total, makeBody, connections = 64, onSend, onAnswer, measureFrom = 0 }) {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections, pipelining: 1 });
  const headers = { 'content-type': 'application/json' };
  const acc = answers();
  const pending = [];
  const late = new Float64Array(total);
  const interval = 1000 / rate;
  const t0 = nowMs();
  let n = 0;
  let first = null;
  let last = null;
  try {
    while (n < total) {
      const now = nowMs();
      const due = Math.min(total, Math.floor((now - t0) / interval) + 1);
      while (n < due) {
        const sentAt = nowMs();
        first ??= sentAt;
        last = sentAt;
        late[n] = sentAt - (t0 + n * interval);
        onSend?.(n, sentAt);
        const i = n;
        const answered = onAnswer && ((status) => onAnswer(i, status, nowMs()));
        pending.push(post(pool, u.pathname + u.search, headers, makeBody(n, sentAt), acc, n >= measureFrom, answered));
        n += 1;
      }
      if (n < total) await sleep(Math.max(0, Math.min(1, t0 + n * interval - nowMs())));
    }
    await Promise.all(pending);
  } finally {
    await pool.close();
  }
  const seconds = (last - first) / 1000;
  const { latencies, ...rest } = acc;
  return {
    sent: n,
    seconds,
    rate: seconds > 0 ? (n - 1) / seconds : null,
    lateMs: summarize(late.subarray(measureFrom)),
    answers: { ...rest, latency: summarize(latencies) },
  };
}

/**
 * Closed loop: POSTs every body of `bodies` (strings, in order of start) with `concurrency` requests in
 * flight, to `url` or, when `pathOf(i)` is given, to that path on url's origin. Resolves
 * { sent, seconds, rate, answers: {byStatus, non2xx, errors, firstProblem, latency} }.
 */
export async function postAll({ url, bodies, concurrency, pathOf, headers = {} }) {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections: concurrency, pipelining: 1 });
  const h = { 'content-type': 'application/json', ...headers };
  const acc = answers();
  let next = 0;
  const started = nowMs();
  const worker = async () => {
    while (next < bodies.length) {
      const i = next++;
      await post(pool, pathOf ? pathOf(i) : u.pathname + u.search, h, bodies[i], acc);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, bodies.length) }, worker));
  } finally {
    await pool.close();
  }
  const seconds = (nowMs() - started) / 1000;
  const { latencies, ...rest } = acc;
  return { sent: bodies.length, seconds, rate: bodies.length / seconds, answers: { ...rest, latency: summarize(latencies) } };
}
