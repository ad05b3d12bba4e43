/** A row count for a person: exact as counted (`1000000 rows`), or marked as the planner's estimate (`≈ 1,000,000 rows (estimate)`). */
export function rowsText(rows: number, estimated: boolean | undefined): string {
  return estimated ? `≈ ${String(Math.round(rows)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')} rows (estimate)` : `${rows} rows`;
}
