// The webhook sink of the relay benchmark (bench/sink-server.mjs, its own process) and its controls.
import { httpRequest, startScriptServer } from './servers.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startSink() {
  const server = await startScriptServer('sink', 'sink-server.mjs');
  const call = async (method, path, body) => {
    const res = await httpRequest(`${server.baseUrl}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
    });
    if (res.status !== 200) throw new Error(`sink ${method} ${path} answered ${res.status}: ${res.body.slice(0, 200)}`);
    return JSON.parse(res.body);
  };
  return {
    server,
    /** The URL of destination `name` at the sink. */
    urlOf: (name) => `${server.baseUrl}/d/${name}`,
    stats: () => call('GET', '/_stats'),
    reset: () => call('POST', '/_reset'),
    up: () => call('POST', '/_up'),
    down: () => call('POST', '/_down'),
    secrets: (byName) => call('POST', '/_secrets', byName),
    /**
     * Polls the stats every `everyMs` until `done(stats)` holds (→ { stats, reason: 'done' }), nothing has
     * changed in `idleMs` (→ 'stalled'), or `timeoutMs` passed (→ 'timeout'). `progress` is what counts
     * as change (default: 2xx and 503 answered).
     */
    async waitFor(done, { timeoutMs, idleMs = 10_000, everyMs = 100, progress = (s) => s.total.ok + s.total.refused } = {}) {
      const started = Date.now();
      let last = null;
      let lastChange = Date.now();
      for (;;) {
        const stats = await call('GET', '/_stats');
        if (done(stats)) return { stats, reason: 'done' };
        const p = progress(stats);
        if (p !== last) {
          last = p;
          lastChange = Date.now();
        }
        if (Date.now() - lastChange > idleMs) return { stats, reason: 'stalled' };
        if (Date.now() - started > timeoutMs) return { stats, reason: 'timeout' };
        await sleep(everyMs);
      }
    },
  };
}
