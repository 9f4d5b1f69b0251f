-- payment-merchants: distinct merchants per window. A merchant counts in every window that
-- contains the user's most recent payment to it, so counting each (user, merchant) pair once,
-- in the tile of its most recent payment, and summing tiles 0..k gives window k's count.
-- Parameters: $as_of DATE (exclusive end).
-- Fragments:  <payments> a read_parquet(...) call over the slice's payment files.
--             Temp table user_static (users-static.sql) must exist.
-- Output:     temp table pay_merchants, one row per (user, tile) holding the most recent
--             payment to at least one merchant: ri, tile, merchants (FLOAT).
CREATE OR REPLACE TEMP TABLE pay_merchants AS
WITH pairs AS (
  SELECT user_id, merchant_id, max(ts) AS last_ts
  FROM {{payments}}
  WHERE merchant_id IS NOT NULL
    AND ts >= $as_of::TIMESTAMP - INTERVAL 90 DAY AND ts < $as_of::TIMESTAMP
  GROUP BY user_id, merchant_id
),
per_tile AS (
SELECT
  user_id,
  CASE WHEN last_ts >= $as_of::TIMESTAMP - INTERVAL 1 DAY THEN 0
       WHEN last_ts >= $as_of::TIMESTAMP - INTERVAL 7 DAY THEN 1
       WHEN last_ts >= $as_of::TIMESTAMP - INTERVAL 30 DAY THEN 2
       ELSE 3 END::UTINYINT AS tile,
  count(*)::FLOAT AS merchants
FROM pairs
GROUP BY ALL
)
SELECT s.ri, per_tile.tile, per_tile.merchants FROM per_tile JOIN user_static s USING (user_id);
