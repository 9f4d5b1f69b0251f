/**
 * Builds the generated fragments of sql/features/snapshot.sql from the feature registry, so
 * that the SQL and the model input order can never disagree.
 */
import { FEATURES, TILE_AGGREGATES, WINDOW_RATIOS, WINDOWS } from '../../core/feature-registry';
import { quoteIdent } from '../duckdb';

export function windowColumnsSql(): string {
  const cols: string[] = [];
  for (const w of WINDOWS) {
    const f = `FILTER (WHERE tile <= ${w.maxTile})`;
    for (const a of TILE_AGGREGATES) {
      cols.push(`${a.agg}(${quoteIdent(a.col)}) ${f} AS ${quoteIdent(`${a.col}_${w.name}`)}`);
    }
    for (const r of WINDOW_RATIOS) {
      cols.push(
        `coalesce(sum(${quoteIdent(r.num)}) ${f} / nullif(sum(${quoteIdent(r.den)}) ${f}, 0), 0) AS ${quoteIdent(`${r.name}_${w.name}`)}`,
      );
    }
  }
  return cols.join(',\n    ');
}

export function featureColumnsSql(): string {
  return FEATURES.map((f) => `coalesce(${quoteIdent(f.name)}::FLOAT, ${Number(f.default)})::FLOAT AS ${quoteIdent(f.name)}`).join(',\n  ');
}

/** `[f1, f2, …]::FLOAT[F]`: the registry's features as one array column (the fast read path). */
export function featureArraySql(): string {
  return `[${FEATURES.map((f) => quoteIdent(f.name)).join(', ')}]::FLOAT[${FEATURES.length}]`;
}
