import type { ComponentChildren } from 'preact';
import { csvLine, utf8Bom, type CsvValue } from '../../../../src/domain/csv-cells.js';
import { TableHead } from '../../components/TableHead.js';

export interface DataColumn {
  label: string;
  num?: boolean;
  /** How a cell reads on the page; the CSV gets the raw value. */
  format?: (value: CsvValue) => string;
}

/** A CSV file of `rows` under `columns`, made in the browser (the server's rules: RFC 4180, a BOM, formula defusing). */
export function downloadCsv(filename: string, columns: readonly DataColumn[], rows: readonly CsvValue[][]): void {
  const text = utf8Bom + csvLine(columns.map((c) => c.label)) + rows.map((r) => csvLine(r)).join('');
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function CsvButton({ filename, columns, rows }: { filename: string; columns: readonly DataColumn[]; rows: readonly CsvValue[][] }) {
  return (
    <button type="button" class="small-button" data-csv={filename} onClick={() => downloadCsv(filename, columns, rows)}>
      Download CSV
    </button>
  );
}

/** A chart's data as a table a screen reader can read, folded under the chart, and as a CSV file. */
export function DataTable({ name, filename, columns, rows, caption, children }: {
  name: string;
  filename: string;
  columns: readonly DataColumn[];
  rows: readonly CsvValue[][];
  caption: string;
  children?: ComponentChildren;
}) {
  return (
    <div class="chart-data" data-chart-data={name}>
      <details>
        <summary>Data as a table</summary>
        <div class="table-wrap" tabIndex={0} role="region" aria-label={caption}>
          <table class="table" data-table={name}>
            <caption class="visually-hidden">{caption}</caption>
            <TableHead columns={columns.map((c) => ({ label: c.label, num: c.num }))} />
            <tbody>
              {rows.map((row, r) => (
                <tr key={r}>
                  {row.map((value, i) => (
                    <td key={i} class={columns[i]!.num ? 'num' : undefined}>
                      {columns[i]!.format ? columns[i]!.format!(value) : value === null || value === undefined ? '–' : String(value)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {children}
      </details>
      <CsvButton filename={filename} columns={columns} rows={rows} />
    </div>
  );
}
