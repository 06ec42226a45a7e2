// Seeding for the query benchmark: generated call records written straight into a migrated Switchboard
// database, bypassing the ingest (which would take ~hours for 1M calls at its durable per-call commits).
//
// Fast bulk path on both backends: the secondary indexes of `calls` are dropped, the rows go in (SQLite:
// one transaction, a prepared INSERT, WAL; PostgreSQL: multi-row INSERT … SELECT FROM unnest($1::text[], …)
// in batches), then the indexes are created again from their own definitions and the tables analysed —
// so the indexes the server queries with are exactly the migrations' ones.
//
// The data is deterministic (a seeded PRNG): 30 days of calls ending at `now`, 20 widgets, 50 agents,
// 3 sources (the one the server created on its first start plus two inserted here), statuses answered 60 %,
// no_answer 20 %, missed 15 %, in_progress 5 %, a lead with name/email/phone, called_lead_phone, the
// digits columns of migration 0003, and an end_call event (`status='ok'`) for a sample of calls so the
// detail view has a timeline.
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { REPO_ROOT } from './servers.mjs';

const require = createRequire(path.join(REPO_ROOT, 'package.json'));

export const DAY_MS = 86_400_000;
export const WIDGETS = 20;
export const AGENTS = 50;
/**
 * The days the calls spread over, before `now`. Default 365: a million calls is a year of a busy account
 * (~2,700 calls a day), so the 30 days the stats are asked for hold ~82k of them; the report also runs the
 * stats over the whole span (all 1M calls, the worst case). SWITCHBOARD_BENCH_SPAN_DAYS=30 packs them all in 30.
 */
export const SPAN_DAYS = Number(process.env.SWITCHBOARD_BENCH_SPAN_DAYS ?? 365);

/** mulberry32: small, fast, seeded. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex32 = (rand) => {
  let s = '';
  for (let i = 0; i < 4; i++) s += Math.floor(rand() * 4294967296).toString(16).padStart(8, '0');
  return s;
};

const FIRST = ['Anna', 'Erik', 'Maria', 'Lars', 'Karin', 'Johan', 'Eva', 'Per', 'Sara', 'Nils', 'Emma', 'Oskar'];
const LAST = ['Andersson', 'Johansson', 'Karlsson', 'Nilsson', 'Eriksson', 'Larsson', 'Olsson', 'Persson'];

export const COLUMNS = [
  ['source_id', 'text'], ['call_id', 'text'], ['user_id', 'text'], ['widget_key', 'text'], ['widget_name', 'text'],
  ['status', 'text'], ['timezone', 'text'], ['is_delayed_call', 'integer'], ['called_lead_phone', 'text'],
  ['lead', 'text'], ['agent', 'text'], ['agent_id', 'text'], ['started_at', 'bigint'], ['agent_answered_at', 'bigint'],
  ['lead_answered_at', 'bigint'], ['ended_at', 'bigint'], ['answer_duration_sec', 'double precision'],
  ['lead_answer_duration_sec', 'double precision'], ['talk_duration_sec', 'double precision'],
  ['total_duration_sec', 'double precision'], ['disconnected_by', 'text'], ['recording_link', 'text'],
  ['lead_created_at', 'bigint'], ['speed_to_lead_sec', 'bigint'], ['time_to_connect_sec', 'bigint'],
  ['first_event_at', 'bigint'], ['last_event_at', 'bigint'], ['event_count', 'integer'], ['merge_rank', 'integer'],
  ['lead_phone_digits', 'text'], ['called_phone_digits', 'text'],
];

/**
 * The generator of `n` calls, oldest first (the order the ingest would have written them), first_event_at
 * spread over SPAN_DAYS days before `now`. `sample(k)` picks k indexes (deterministic) for the event sample.
 */
export function makeDataset({ n, now, sourceIds, seed = 42 }) {
  const rand = prng(seed);
  const widgets = Array.from({ length: WIDGETS }, (_, i) => ({ key: hex32(rand), name: `Widget ${i + 1}` }));
  const agents = Array.from({ length: AGENTS }, (_, i) => ({
    id: 10_000 + i,
    name: `${FIRST[i % FIRST.length]} ${LAST[i % LAST.length]}`,
    email: `agent${i}@example.com`,
    phone: `+4670${String(1_000_000 + i).padStart(7, '0')}`,
  }));
  // ~n/5 distinct lead phones: a phone query finds a handful of calls, as returning callers would.
  const phonePool = Math.max(10, Math.floor(n / 5));
  const phoneOf = (k) => `+46 70 ${String(k % 1000).padStart(3, '0')} ${String(Math.floor(k / 1000) % 100).padStart(2, '0')} ${String(Math.floor(k / 100000)).padStart(2, '0')}`;
  const start = now - SPAN_DAYS * DAY_MS;
  const step = (SPAN_DAYS * DAY_MS) / n;
  function* rows() {
    for (let i = 0; i < n; i++) {
      const u = rand();
      const status = u < 0.6 ? 'answered' : u < 0.8 ? 'no_answer' : u < 0.95 ? 'missed' : 'in_progress';
      const w = widgets[Math.floor(rand() * WIDGETS)];
      const a = agents[Math.floor(rand() * AGENTS)];
      const first = Math.floor(start + i * step + rand() * step);
      const leadCreated = first - 1000 - Math.floor(rand() * 5000);
      const speed = 5 + Math.floor(rand() * 120);
      const startedAt = first + 200;
      const answered = status === 'answered';
      const ended = status === 'in_progress' ? null : startedAt + (answered ? 30_000 + Math.floor(rand() * 600_000) : 25_000);
      const talk = answered ? Math.round((ended - startedAt - 10_000) / 1000) : 0;
      const phone = phoneOf(Math.floor(rand() * phonePool));
      const digits = phone.replace(/\D+/g, '');
      const name = `${FIRST[Math.floor(rand() * FIRST.length)]} ${LAST[Math.floor(rand() * LAST.length)]}`;
      const lead = {
        lead_name: name,
        lead_email: `${name.toLowerCase().replace(' ', '.')}${i % 997}@example.org`,
        lead_phone: phone,
        lead_id: hex32(rand).slice(0, 26).toUpperCase(),
        source: 'website',
        custom_params: { utm_source: i % 3 === 0 ? 'google' : 'newsletter' },
      };
      const done = status !== 'in_progress';
      yield [
        sourceIds[i % sourceIds.length], hex32(rand), '12345', w.key, w.name,
        status, 'Europe/Stockholm', 0, phone,
        JSON.stringify(lead), JSON.stringify({ id: a.id, name: a.name, email: a.email, phone: a.phone }), String(a.id),
        startedAt, answered ? startedAt + 8000 : null,
        answered ? startedAt + 10_000 : null, ended, answered ? 8 : null,
        answered ? 2 : null, done ? talk : null,
        ended == null ? null : Math.round((ended - startedAt) / 1000), done ? (answered ? 'lead' : 'agent') : null,
        answered ? `https://recordings.example.com/${i}.mp3` : null,
        leadCreated, speed, answered ? speed + 10 : null,
        first, ended ?? first + 200, done ? 2 : 1, done ? 2 : 1,
        digits, digits,
      ];
    }
  }
  return { rows, widgets, agents, phoneOf };
}

/** Convolo's end_call payload for a generated row (the event body of the detail view's timeline). */
export function endCallBody(row) {
  const c = Object.fromEntries(COLUMNS.map(([name], i) => [name, row[i]]));
  const iso = (ms) => (ms == null ? null : new Date(ms).toISOString());
  const lead = JSON.parse(c.lead);
  return JSON.stringify({
    type: 'end_call', call_id: c.call_id, user_id: 12345, widget_key: c.widget_key, widget_name: c.widget_name,
    call_status: c.status, timezone: c.timezone, time_started_iso_string: iso(c.started_at),
    time_agent_answered_iso_string: iso(c.agent_answered_at), time_lead_answered_iso_string: iso(c.lead_answered_at),
    time_ended_iso_string: iso(c.ended_at), is_delayed_call: false, answer_duration_sec: c.answer_duration_sec,
    talk_duration_sec: c.talk_duration_sec, total_duration_sec: c.total_duration_sec, disconnected_by: c.disconnected_by,
    recording_link: c.recording_link, called_lead_phone: c.called_lead_phone, agent: JSON.parse(c.agent),
    lead: { ...lead, time_created_iso_string: iso(c.lead_created_at) },
  });
}

function eventRow(row, sourceId, callId) {
  const body = Buffer.from(endCallBody(row));
  return {
    id: `evt_${randomBytes(12).toString('hex')}`, source_id: sourceId, call_id: callId, type: 'end_call', status: 'ok',
    content_type: 'application/json', body, body_hash: createHash('sha256').update(body).digest('hex'),
    body_size: body.length, body_truncated: 0, received_at: row[26],
  };
}

function extraSources(now) {
  return [1, 2].map((i) => ({
    id: `src_bench${i}`, name: `Bench source ${i + 1}`, token_hash: randomBytes(32).toString('hex'),
    token_hint: 'bench', created_at: now - 40 * DAY_MS,
  }));
}

/** Pick `k` distinct indexes of [0, n), spread evenly (deterministic). */
function sampleSet(n, k) {
  const out = new Set();
  const every = Math.max(1, Math.floor(n / k));
  for (let i = Math.floor(every / 2); i < n && out.size < k; i += every) out.add(i);
  return out;
}

/**
 * Seeds a SQLite file (`file`, migrated, the server stopped). Returns { sample: [{ callId, sourceId }],
 * widgets, phones, insertMs, indexMs }.
 */
export function seedSqlite(file, { n, now, events = 1000, log = () => {} }) {
  const Database = require('better-sqlite3');
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    db.pragma('temp_store = MEMORY');
    const baseSource = db.prepare('select id from sources order by created_at limit 1').get();
    if (!baseSource) throw new Error('no source in the database: was it started once?');
    const srcs = extraSources(now);
    const insSource = db.prepare('insert into sources (id, name, token_hash, token_hint, created_at) values (@id, @name, @token_hash, @token_hint, @created_at)');
    for (const s of srcs) insSource.run(s);
    const sourceIds = [baseSource.id, ...srcs.map((s) => s.id)];
    const ds = makeDataset({ n, now, sourceIds });

    const indexes = db.prepare("select name, sql from sqlite_master where type = 'index' and tbl_name = 'calls' and sql is not null").all();
    for (const ix of indexes) db.exec(`drop index ${ix.name}`);

    // A build with migration 0017 keys an end_call by its call's first seq (storage/sqlite/append.ts): the
    // sampled calls' events are written so, each call's key the seq of its event; other calls have none.
    const byCallRow = db.prepare('select 1 from pragma_table_info(?) where name = ?').get('events', 'call_seq') !== undefined;
    let seq = db.prepare('select coalesce(max(seq), 0) from events').pluck().get();
    const cols = [...COLUMNS.map(([c]) => c), ...(byCallRow ? ['first_seq'] : [])];
    const ins = db.prepare(`insert into calls (${cols.join(', ')}) values (${cols.map(() => '?').join(', ')})`);
    const insEvent = db.prepare(
      'insert into events (id, source_id, call_id, type, status, content_type, body, body_hash, body_size, body_truncated, received_at' +
        (byCallRow ? ', seq, call_seq' : '') +
        ') values (@id, @source_id, @call_id, @type, @status, @content_type, @body, @body_hash, @body_size, @body_truncated, @received_at' +
        (byCallRow ? ', @seq, @seq' : '') +
        ')',
    );
    const picks = sampleSet(n, events);
    const sample = [];
    const phones = [];
    const t0 = Date.now();
    db.transaction(() => {
      let i = 0;
      for (const row of ds.rows()) {
        const picked = picks.has(i);
        if (picked) seq += 1;
        ins.run(byCallRow ? [...row, picked ? seq : null] : row);
        if (picked) {
          sample.push({ callId: row[1], sourceId: row[0] });
          insEvent.run(byCallRow ? { ...eventRow(row, row[0], row[1]), seq } : eventRow(row, row[0], row[1]));
        }
        if (i % 997 === 0 && phones.length < 1000) phones.push(row[8]);
        i += 1;
        if (i % 250_000 === 0) log(`sqlite: ${i} calls inserted`);
      }
    })();
    const insertMs = Date.now() - t0;
    const t1 = Date.now();
    for (const ix of indexes) db.exec(ix.sql);
    db.exec('analyze');
    db.pragma('wal_checkpoint(TRUNCATE)');
    const indexMs = Date.now() - t1;
    return { sample, widgets: ds.widgets, phones, insertMs, indexMs, indexes: indexes.length };
  } finally {
    db.close();
  }
}

/** The same for a PostgreSQL database URL (migrated, the server stopped). */
export async function seedPostgres(url, { n, now, events = 1000, batch = 10_000, log = () => {} }) {
  const pg = require('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('set synchronous_commit = off');
    await client.query('set maintenance_work_mem = \'256MB\'');
    const base = await client.query('select id from sources order by created_at limit 1');
    if (base.rows.length === 0) throw new Error('no source in the database: was it started once?');
    const srcs = extraSources(now);
    for (const s of srcs) {
      await client.query('insert into sources (id, name, token_hash, token_hint, created_at) values ($1, $2, $3, $4, $5)', [
        s.id, s.name, s.token_hash, s.token_hint, s.created_at,
      ]);
    }
    const sourceIds = [base.rows[0].id, ...srcs.map((s) => s.id)];
    const ds = makeDataset({ n, now, sourceIds });

    const ixRes = await client.query(
      "select i.indexname, i.indexdef from pg_indexes i where i.tablename = 'calls' and i.schemaname = current_schema() " +
        "and not exists (select 1 from pg_constraint c where c.conname = i.indexname)",
    );
    const indexes = ixRes.rows;
    for (const ix of indexes) await client.query(`drop index ${ix.indexname}`);

    const cols = COLUMNS.map(([c]) => c);
    const sqlText =
      `insert into calls (${cols.join(', ')}) select * from unnest(` +
      COLUMNS.map(([, t], i) => `$${i + 1}::${t === 'double precision' ? 'float8' : t}[]`).join(', ') +
      ')';
    const picks = sampleSet(n, events);
    const sample = [];
    const eventRows = [];
    const phones = [];
    const t0 = Date.now();
    let arrays = COLUMNS.map(() => []);
    let inBatch = 0;
    const flush = async () => {
      if (inBatch === 0) return;
      await client.query(sqlText, arrays);
      arrays = COLUMNS.map(() => []);
      inBatch = 0;
    };
    let i = 0;
    await client.query('begin');
    for (const row of ds.rows()) {
      for (let c = 0; c < row.length; c++) arrays[c].push(row[c]);
      inBatch += 1;
      if (picks.has(i)) {
        sample.push({ callId: row[1], sourceId: row[0] });
        eventRows.push(eventRow(row, row[0], row[1]));
      }
      if (i % 997 === 0 && phones.length < 1000) phones.push(row[8]);
      i += 1;
      if (inBatch >= batch) await flush();
      if (i % 250_000 === 0) log(`postgres: ${i} calls inserted`);
    }
    await flush();
    // Since migration 0018 the events are rows of event_rows, each queued in event_pending (event_queue since 0019) for its seq (events is
    // a view); before it, rows of events whose seq the sequencer fills.
    const split = (await client.query("select 1 from pg_tables where schemaname = 'public' and tablename = 'event_rows'")).rowCount > 0;
    // The queue is event_queue since 0019.
    const queue = (await client.query("select 1 from pg_tables where schemaname = 'public' and tablename = 'event_queue'")).rowCount > 0 ? 'event_queue' : 'event_pending';
    for (const [ord, e] of eventRows.entries()) {
      await client.query(
        `${split ? 'with stored as (insert into event_rows' : 'insert into events'} (id, source_id, call_id, type, status, content_type, body, body_hash, body_size, body_truncated, received_at) ` +
          `values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)${split ? ` returning id) insert into ${queue} (xid_ord, id) select $12, id from stored` : ''}`,
        [e.id, e.source_id, e.call_id, e.type, e.status, e.content_type, e.body, e.body_hash, e.body_size, e.body_truncated, e.received_at, ...(split ? [ord] : [])],
      );
    }
    await client.query('commit');
    const insertMs = Date.now() - t0;
    const t1 = Date.now();
    for (const ix of indexes) await client.query(ix.indexdef);
    await client.query('vacuum analyze calls');
    await client.query(split ? 'analyze event_rows' : 'analyze events');
    const indexMs = Date.now() - t1;
    return { sample, widgets: ds.widgets, phones, insertMs, indexMs, indexes: indexes.length };
  } finally {
    await client.end();
  }
}
