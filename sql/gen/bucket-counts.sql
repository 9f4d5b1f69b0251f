-- gen/bucket-counts: rows per bucket of a generated table, to know which bucket files to write.
-- Parameters: $lo / $hi TIMESTAMP when the filter fragment uses them.
-- Fragments: {{source}} table or view, {{filter}} row filter (as in gen/copy-bucket).
-- Output: bucket INTEGER, n BIGINT. Grain: one row per non-empty bucket, sorted by bucket.
SELECT bucket::INTEGER AS bucket, count(*)::BIGINT AS n
FROM {{source}}
WHERE {{filter}}
GROUP BY bucket
ORDER BY bucket;
