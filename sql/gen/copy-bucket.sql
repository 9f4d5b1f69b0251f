-- gen/copy-bucket: writes one bucket's rows of a generated table to one Parquet file.
-- Parameters: $bucket INTEGER; $lo / $hi TIMESTAMP when the filter fragment uses them.
-- Fragments: {{source}} table or view, {{drop}} its generator-only columns, {{filter}} row filter
--   (TRUE, or a time column within [$lo, $hi)), {{order}} total sort key, {{path}} target file.
-- Output: the file, columns = source minus {{drop}}, in source order.
-- Grain: one row per source row of the bucket passing the filter, sorted by {{order}}.
-- One COPY per bucket instead of COPY ... PARTITION_BY: DuckDB 1.5 refuses PRESERVE_ORDER with
-- PARTITION_BY, so partitioned files come out in a thread-dependent row order; a per-bucket COPY
-- with ORDER BY gives byte-identical files (and sha256) for the same seed.
COPY (
  SELECT * EXCLUDE ({{drop}}) FROM {{source}}
  WHERE bucket = $bucket::INTEGER AND {{filter}}
  ORDER BY {{order}}
) TO {{path}} (FORMAT parquet, COMPRESSION zstd, PRESERVE_ORDER true);
