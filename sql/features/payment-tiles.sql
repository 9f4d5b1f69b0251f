-- payment-tiles: per-user aggregates of payments in disjoint time tiles before the as-of date
-- (a full night; an incremental night moves the previous night's state with payment-days.sql).
-- Parameters: $as_of DATE (exclusive end: nothing at or after it is read).
-- Fragments:  <payments> a read_parquet(...) call over the slice's payment files;
--             <aggregates> payment-aggregates.sql.
--             Temp table user_static (users-static.sql) must exist: it gives each user's row.
-- Tiles:      0 = [as_of-1d, as_of), 1 = [as_of-7d, as_of-1d), 2 = [as_of-30d, as_of-7d),
--             3 = [as_of-90d, as_of-30d) (core/feature-registry.ts WINDOWS); window w is tiles
--             0..k, so one pass aggregates every window (core/payment-state.ts combines them).
-- Output:     temp table pay_tiles, one row per (user, tile) with at least one payment: ri,
--             tile, the payment-aggregates columns, max_day_idx (day index, 0 = the day before
--             as_of, of a largest payment), mask_lo/mask_hi (bit i = a payment on the tile's
--             i-th day, counted from its most recent day).
CREATE OR REPLACE TEMP TABLE pay_tiles AS
WITH p AS (
  SELECT
    user_id, round(amount_usd * 100) AS amt_c, epoch_us(ts)::DOUBLE AS ts_us,
    channel, payment_method, auth_outcome, decline_code, mcc, is_recurring,
    date_diff('day', ts::DATE, $as_of::DATE) - 1 AS day_idx
  FROM {{payments}}
  WHERE ts >= $as_of::TIMESTAMP - INTERVAL 90 DAY AND ts < $as_of::TIMESTAMP
),
t AS (
  SELECT *,
    CASE WHEN day_idx < 1 THEN 0 WHEN day_idx < 7 THEN 1 WHEN day_idx < 30 THEN 2 ELSE 3 END::UTINYINT AS tile,
    (day_idx - CASE WHEN day_idx < 1 THEN 0 WHEN day_idx < 7 THEN 1 WHEN day_idx < 30 THEN 7 ELSE 30 END)::UBIGINT AS tile_day
  FROM p
),
agg AS (
  SELECT
    user_id, tile,
    {{aggregates}},
    arg_max(day_idx, amt_c)::DOUBLE AS max_day_idx,
    bit_or(1::UBIGINT << tile_day)  AS mask
  FROM t
  GROUP BY user_id, tile
)
-- the user's matrix row, joined after aggregation (a few million rows, not every payment)
SELECT s.ri, agg.* EXCLUDE (user_id, mask),
       (mask & 4294967295)::UINTEGER AS mask_lo, (mask >> 32)::UINTEGER AS mask_hi
FROM agg JOIN user_static s USING (user_id);
