// Box-drawn text tables in autocannon's look (cli-table3 style). Pure: strings in,
// one string out; the first row is the header.

export interface TableOptions {
  /** Draw a rule between body rows, as autocannon's Req/Sec + Bytes/Sec table does. */
  readonly ruleBetweenRows?: boolean;
}

export function renderTable(rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  const columns = Math.max(0, ...rows.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, c) => Math.max(0, ...rows.map((row) => (row[c] ?? '').length)) + 2);
  const rule = (left: string, mid: string, right: string): string => left + widths.map((w) => '─'.repeat(w)).join(mid) + right;
  const line = (row: readonly string[]): string => '│' + widths.map((w, c) => ` ${(row[c] ?? '').padEnd(w - 1)}`).join('│') + '│';
  const out = [rule('┌', '┬', '┐')];
  rows.forEach((row, i) => {
    if (i === 1 || (i > 1 && options.ruleBetweenRows)) out.push(rule('├', '┼', '┤'));
    out.push(line(row));
  });
  out.push(rule('└', '┴', '┘'));
  return out.join('\n') + '\n';
}
