// Columns aligned as kubectl aligns them: upper-case headers, three spaces between columns, no
// trailing spaces. Cells are single-line (newlines become spaces).

export interface Column<T> {
  header: string;
  cell: (row: T) => string;
}

export function table<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = [columns.map((c) => c.header.toUpperCase()), ...rows.map((r) => columns.map((c) => c.cell(r).replace(/\s*\n\s*/g, ' ')))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  return cells.map((line) => line.map((v, i) => (i === line.length - 1 ? v : v.padEnd(widths[i]!))).join('   ').trimEnd()).join('\n') + '\n';
}
