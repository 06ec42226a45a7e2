import type { Statement } from 'better-sqlite3';
import { callCsvSelect } from '../shared/call-csv.js';

/**
 * The export's columns as Kysely compiles them (call-queries.ts), and the same select reading the row's 25
 * scalar columns as one JSON array, beside the lead's and agent's JSON text. better-sqlite3 sets each value of
 * a row on its array one by one, and that was the largest part of reading a page (~2 µs of ~5 a row);
 * `JSON.parse` makes the same strings and numbers from one text for less: SQLite writes each REAL with 17
 * digits (it parses back to the same number) and text with JSON's escapes (it parses back to the same text).
 */
const csvColumns = `select ${callCsvSelect.map((c) => `"${c}"`).join(', ')} from `;
const csvPacked = `select json_array(${callCsvSelect.map((c) => (c === 'lead' || c === 'agent' ? 'null' : `"${c}"`)).join(', ')}), "lead", "agent" from `;
const leadAt = callCsvSelect.indexOf('lead');
const agentAt = callCsvSelect.indexOf('agent');

/** The export page's rows as arrays in `callCsvSelect` order; read packed (above) unless a column holds a BLOB (JSON cannot). */
export function csvRows(prepare: (sql: string) => Statement, sql: string, statement: Statement, parameters: unknown[]): unknown[][] {
  if (sql.startsWith(csvColumns)) {
    let packed: unknown[][] | null = null;
    try {
      packed = prepare(csvPacked + sql.slice(csvColumns.length)).raw(true).all(...parameters) as unknown[][];
    } catch {
      // a BLOB in a column: read as it is below
    }
    if (packed) {
      const rows = new Array<unknown[]>(packed.length);
      for (let i = 0; i < packed.length; i++) {
        const p = packed[i]!;
        const row = JSON.parse(p[0] as string) as unknown[];
        row[leadAt] = p[1];
        row[agentAt] = p[2];
        rows[i] = row;
      }
      return rows;
    }
  }
  return statement.raw(true).all(...parameters) as unknown[][];
}

