/**
 * Query results as text tables. Values arrive as the database layer parses them:
 * strings, numbers, booleans, null, and objects/arrays for json, jsonb and arrays.
 *
 * NULL: in CSV an empty unquoted field, while the empty string is `""`, so the two
 * stay apart (RFC 4180 has no NULL; this is the convention of PostgreSQL's COPY CSV).
 * In Markdown an empty cell, and the empty string too: use CSV or JSON to tell them
 * apart.
 */

/** A value's text: strings as they are, json and arrays as JSON, the rest via String(). */
export function cellText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const CSV_NEEDS_QUOTES = /[",\r\n]/;

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = cellText(value);
  if (text === '') return '""';
  return CSV_NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** RFC 4180: a header row, CRLF after every record, fields quoted when they hold `"`, `,`, CR or LF. */
export function toCsv(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  let out = columns.map((c) => csvField(c)).join(',') + '\r\n';
  for (const row of rows) out += row.map(csvField).join(',') + '\r\n';
  return out;
}

function markdownCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  // Backslashes first, so the escapes added for pipes stay escapes; a line break
  // would end the table row, so it becomes <br>.
  return cellText(value)
    .replaceAll('\\', '\\\\')
    .replaceAll('|', '\\|')
    .replace(/\r\n|\r|\n/g, '<br>');
}

/** A GitHub-flavoured Markdown table: header, delimiter row, one line per row. */
export function toMarkdown(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const line = (cells: readonly unknown[]) => `| ${cells.map(markdownCell).join(' | ')} |\n`;
  let out = line(columns) + `|${columns.map(() => ' --- |').join('')}\n`;
  for (const row of rows) out += line(row);
  return out;
}
