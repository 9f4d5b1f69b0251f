-- gen/chunk-users: the users of one chunk of buckets, the unit the generator works in.
-- Parameters: $b0 INTEGER, $b1 INTEGER (buckets b0 <= bucket < b1).
-- Output: table cu, the chunk's rows of users_core (all columns), clustered by bucket so that
--   the tables generated from it (pay, dec, outc) come out roughly clustered too: row order is
--   irrelevant to the content, but lets each per-bucket COPY skip most row groups.
-- Grain: one row per user of the chunk.
CREATE OR REPLACE TABLE cu AS
SELECT * FROM users_core WHERE bucket >= $b0::INTEGER AND bucket < $b1::INTEGER
ORDER BY bucket;

