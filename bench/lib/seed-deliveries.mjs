// Seeding for the dashboard benchmark's delivery log: `n` deliveries (each with its attempts) written
// straight into a migrated SQLite database, as bench/lib/seed-calls.mjs writes calls: the deliveries'
// secondary indexes are dropped, the rows go in in one transaction, then the indexes are created again from
// their own definitions and the tables analysed, so the server queries the migrations' indexes.
//
// Deterministic: 3 destinations (enabled; their URL is unroutable, and no delivery is pending, so the worker
// has nothing to send), each delivery of one of the events already in the database (seed-calls' sample),
// created over SPAN_DAYS days before `now`; 97 % delivered at the first attempt, 3 % failed after 2
// attempts with a 503 and a short HTML answer.
import { createRequire } from 'node:module';
import path from 'node:path';
import { prng, SPAN_DAYS, DAY_MS } from './seed-calls.mjs';
import { REPO_ROOT } from './servers.mjs';

const require = createRequire(path.join(REPO_ROOT, 'package.json'));

export function seedDeliveriesSqlite(file, { n, now, log = () => {} }) {
  const Database = require('better-sqlite3');
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    const events = db.prepare("select seq, id, call_id from events where status = 'ok' order by seq limit 1000").all();
    if (events.length === 0) throw new Error('no event in the database: seed the calls first');
    const destinations = [1, 2, 3].map((k) => `dst_bench${k}`);
    const insDest = db.prepare(`insert into destinations (id, url, secret, created_at, updated_at) values (?, ?, ?, ?, ?)`);
    for (const id of destinations) insDest.run(id, `http://192.0.2.1/${id}`, `whsec_${Buffer.alloc(24, 7).toString('base64')}`, now - SPAN_DAYS * DAY_MS, now);

    const indexes = db.prepare("select name, sql from sqlite_master where type = 'index' and tbl_name = 'deliveries' and sql is not null").all();
    for (const ix of indexes) db.exec(`drop index ${ix.name}`);
    const ins = db.prepare(`insert into deliveries (id, destination_id, event_seq, event_id, order_key, status, attempts, schedule_start, next_attempt_at,
      last_status, last_error, created_at, updated_at, finished_at) values (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)`);
    const insAttempt = db.prepare('insert into delivery_attempts (delivery_id, attempt, attempted_at, status, latency_ms, response_body, error) values (?, ?, ?, ?, ?, ?, ?)');
    const rand = prng(7);
    const start = now - SPAN_DAYS * DAY_MS;
    const t0 = Date.now();
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const id = `dlv_bench${i.toString(36).padStart(8, '0')}`;
        const event = events[i % events.length];
        const destination = destinations[i % destinations.length];
        const created = Math.floor(start + ((now - start) * i) / n);
        const failed = rand() < 0.03;
        const latency = 20 + rand() * 200;
        if (failed) {
          ins.run(id, destination, event.seq, event.id, event.call_id ?? event.id, 'failed', 2, created, 503, 'answered 503', created, created + 5000, created + 5000);
          insAttempt.run(id, 1, created, 503, latency, '<html><body>Service Unavailable</body></html>', 'answered 503');
          insAttempt.run(id, 2, created + 5000, 503, latency, '<html><body>Service Unavailable</body></html>', 'answered 503');
        } else {
          ins.run(id, destination, event.seq, event.id, event.call_id ?? event.id, 'delivered', 1, created, 200, null, created, created, created);
          insAttempt.run(id, 1, created, 200, latency, 'ok', null);
        }
        if ((i + 1) % 250_000 === 0) log(`sqlite: ${i + 1} deliveries inserted`);
      }
    })();
    const insertMs = Date.now() - t0;
    const t1 = Date.now();
    for (const ix of indexes) db.exec(ix.sql);
    db.exec('analyze');
    db.pragma('wal_checkpoint(TRUNCATE)');
    return { insertMs, indexMs: Date.now() - t1, destinations };
  } finally {
    db.close();
  }
}
