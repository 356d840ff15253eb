// Markdown tables for the report (report-md.ts and report-spool-md.ts). Pure.

/**
 * A GitHub-flavoured Markdown table; `|` inside cells is escaped. Columns are right-aligned
 * (figures) except the first and any named in `textColumns`.
 */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[], textColumns: readonly string[] = ['note']): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  const align = headers.map((h, i) => (i === 0 || textColumns.includes(h) ? '---' : '---:'));
  return [line(headers), `|${align.join('|')}|`, ...rows.map(line)].join('\n');
}
