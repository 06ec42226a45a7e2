/* The cells and lines of every CSV Switchboard writes: the export (storage/shared/call-csv.ts) and the dashboard's downloads (imported by web code: no Node APIs here). */

/**
 * CSV as RFC 4180 writes it (https://www.rfc-editor.org/rfc/rfc4180): CRLF line ends, quotes inside a quoted
 * field doubled. Two rules go beyond it, because the file is opened in spreadsheets of every locale:
 *
 * - A cell is quoted when it holds `,` `;` TAB CR LF or `"`: Excel in a semicolon locale (de, fr, …) splits
 *   on `;` and a tab-separated reader on TAB, but none splits inside quotes, so a cell stays one cell.
 * - A text cell is defused with a leading `'` (a spreadsheet then shows it as text instead of running it) when
 *   the cell starts with `=`, `+`, `-`, `@`, TAB or CR, or any fragment after one of those separators starts
 *   with `=`, `+`, `-` or `@`, leading spaces and double quotes skipped. The fragments matter because a reader
 *   that splits where we did not expect (Text to Columns, a naive split on `;`) would otherwise start a cell
 *   with `=1+1`; OWASP "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection) asks for
 *   exactly this: one `'` before the whole cell, the rest of the text unchanged.
 *
 * Numbers we write ourselves (durations, counts) are not text and stay as they are, so `-2` stays a number.
 *
 * @example
 * csvLine(['a,b', '=SUM(A1)', 'agent;=1+1', 3]) // → '"a,b",\'=SUM(A1),"\'agent;=1+1",3\r\n'
 */
export type CsvValue = string | number | boolean | null | undefined;

const needsQuotes = /[",;\t\r\n]/;
/**
 * A formula start: `=`, `+`, `-`, `@`, TAB or CR opening the cell, or `=`, `+`, `-`, `@` opening a fragment
 * after a separator (further separators, as in `,\r\n`, only make empty fragments and are skipped too).
 */
const formulaStart = /^[ "]*[=+\-@\t\r]|[,;\t\r\n][ ",;\t\r\n]*[=+\-@]/;

export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  return csvText(value);
}

/**
 * A text cell. Most text holds none of `"` `,` `;` TAB CR LF: then it needs no quotes, and the only formula
 * it can start is at its start (after spaces), so one pass over its characters decides, with no regular
 * expression run and no string made (an export writes ~15 text cells a row). Text holding one of them takes
 * the rules above as written.
 */
export function csvText(value: string): string {
  const length = value.length;
  let start = 0;
  while (start < length && value.charCodeAt(start) === 32) start++;
  for (let i = start; i < length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 59 && csvQuoteCodes[c] === 1) return quotedOrDefused(value);
  }
  if (start === length) return value;
  return formulaCode(value.charCodeAt(start)) ? `'${value}` : value;
}

/** `=` `+` `-` `@`: a cell free of `"` `,` `;` TAB CR LF that starts with one (after spaces) is a formula. */
export function formulaCode(code: number): boolean {
  return code === 61 || code === 43 || code === 45 || code === 64;
}

/** 1 at the codes of `"` `,` `;` TAB CR LF (all below 60): a cell holding one takes the regular expressions' way. */
export const csvQuoteCodes = new Uint8Array(60);
for (const c of '",;\t\r\n') csvQuoteCodes[c.charCodeAt(0)] = 1;

/** The text starts a formula, by the rules above (`'` goes first when it does). */
export function csvFormula(value: string): boolean {
  return formulaStart.test(value);
}

function quotedOrDefused(value: string): string {
  const text = csvFormula(value) ? `'${value}` : value;
  return needsQuotes.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(values: readonly CsvValue[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) line += i === 0 ? csvCell(values[i]) : `,${csvCell(values[i])}`;
  return `${line}\r\n`;
}

/**
 * The byte order mark that starts the export: without it Excel opens a CSV in the machine's legacy code page
 * and shows `FÃ¶rsÃ¤ljning` for `Försäljning`; with it Excel, LibreOffice, Numbers and Google Sheets all read
 * UTF-8. Programs that parse CSV themselves should strip it (most do).
 */
export const utf8Bom = '\uFEFF';
