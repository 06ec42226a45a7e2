// The second baseline of the ingest benchmark: the webhook receiver one writes in an afternoon with
// node:http and better-sqlite3 — read the body, check it is JSON, insert it, answer 200 — made durable
// the obvious way: every request is its own transaction, committed with synchronous=FULL (WAL mode, the
// faster of SQLite's two journals for this; the default rollback journal fsyncs more per commit) before
// the answer. No deduplication, no call record, no outbox, no stream. Switchboard's req/s is printed as
// a multiple of this one's, measured in the same run.
//
// Usage: node bench/handwritten-receiver.mjs <database file>
// Listens on 127.0.0.1 on a port chosen by the OS and prints that port, alone on a line, on stdout.
// Exits 0 on SIGTERM or SIGINT. GET /count answers the number of stored rows.
import http from 'node:http';
import Database from 'better-sqlite3';
import { serve } from './lib/serve.mjs';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node bench/handwritten-receiver.mjs <database file>\n');
  process.exit(2);
}
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec('create table if not exists webhooks (id integer primary key, call_id text, type text, received_at integer not null, body blob not null)');
const insert = db.prepare('insert into webhooks (call_id, type, received_at, body) values (?, ?, ?, ?)');
const count = db.prepare('select count(*) as n from webhooks');

const OK = Buffer.from('{"ok":true}');
const answer = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/count') return answer(res, 200, JSON.stringify(count.get()));
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    let payload;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      return answer(res, 400, '{"ok":false,"error":"invalid_json"}');
    }
    try {
      insert.run(typeof payload?.call_id === 'string' ? payload.call_id : null, typeof payload?.type === 'string' ? payload.type : null, Date.now(), body);
    } catch {
      return answer(res, 503, '{"ok":false,"error":"storage_unavailable"}');
    }
    answer(res, 200, OK);
  });
  req.on('error', () => res.destroy());
});

serve(server);
process.on('exit', () => db.close());
