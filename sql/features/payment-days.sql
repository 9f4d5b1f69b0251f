-- payment-days: per-user aggregates of single days, for an incremental night: each boundary day
-- moves from one tile to the next (or into tile 0, or out of the 90-day window) when the as-of
-- date advances by one day (core/payment-state.ts).
-- Parameters: $as_of DATE (the new as-of date; every day read is before it).
-- Fragments:  <payments> a read_parquet(...) call over the slice's payment files;
--             <aggregates> payment-aggregates.sql;
--             <day_filter> a predicate on ts selecting the boundary days (whole days < as_of).
--             Temp table user_static (users-static.sql) must exist.
-- Output:     temp table pay_days, one row per (user, day) with at least one payment: ri,
--             day_idx (0 = the day before as_of), the payment-aggregates columns.
CREATE OR REPLACE TEMP TABLE pay_days AS
WITH p AS (
  SELECT
    user_id, round(amount_usd * 100) AS amt_c, epoch_us(ts)::DOUBLE AS ts_us,
    channel, payment_method, auth_outcome, decline_code, mcc, is_recurring,
    (date_diff('day', ts::DATE, $as_of::DATE) - 1)::UTINYINT AS day_idx
  FROM {{payments}}
  WHERE ts < $as_of::TIMESTAMP AND ({{day_filter}})
),
agg AS (
  SELECT user_id, day_idx, {{aggregates}}
  FROM p
  GROUP BY user_id, day_idx
)
SELECT s.ri, agg.* EXCLUDE (user_id) FROM agg JOIN user_static s USING (user_id);
