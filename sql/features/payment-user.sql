-- payment-user: per-user payment facts that do not sum over tiles: distinct merchants per
-- window (a merchant counts in every window that contains its most recent visit) and recency.
-- Parameters: $as_of DATE (exclusive end).
-- Fragments:  <payments> a read_parquet(...) call over the slice's payment files.
-- Output:     temp table pay_user, one row per user_id with a payment in [as_of-90d, as_of):
--             distinct_merchants_1d/_7d/_30d/_90d, days_since_last_payment,
--             days_since_last_decline, days_since_last_merchant, days_since_first_payment.
CREATE OR REPLACE TEMP TABLE pay_user AS
WITH p AS (
  SELECT user_id, ts, merchant_id, auth_outcome, channel
  FROM {{payments}}
  WHERE ts >= $as_of::TIMESTAMP - INTERVAL 90 DAY AND ts < $as_of::TIMESTAMP
),
m AS (
  SELECT user_id, merchant_id, max(ts) AS last_ts
  FROM p WHERE merchant_id IS NOT NULL
  GROUP BY user_id, merchant_id
),
dm AS (
  SELECT
    user_id,
    count(*) FILTER (WHERE last_ts >= $as_of::TIMESTAMP - INTERVAL 1 DAY)  AS distinct_merchants_1d,
    count(*) FILTER (WHERE last_ts >= $as_of::TIMESTAMP - INTERVAL 7 DAY)  AS distinct_merchants_7d,
    count(*) FILTER (WHERE last_ts >= $as_of::TIMESTAMP - INTERVAL 30 DAY) AS distinct_merchants_30d,
    count(*)                                                               AS distinct_merchants_90d
  FROM m GROUP BY user_id
),
r AS (
  SELECT
    user_id,
    max(ts) AS last_ts,
    min(ts) AS first_ts,
    max(ts) FILTER (WHERE auth_outcome = 'declined')       AS last_decline_ts,
    max(ts) FILTER (WHERE channel = 'merchant_checkout')   AS last_merchant_ts
  FROM p GROUP BY user_id
)
SELECT
  r.user_id,
  coalesce(dm.distinct_merchants_1d, 0)  AS distinct_merchants_1d,
  coalesce(dm.distinct_merchants_7d, 0)  AS distinct_merchants_7d,
  coalesce(dm.distinct_merchants_30d, 0) AS distinct_merchants_30d,
  coalesce(dm.distinct_merchants_90d, 0) AS distinct_merchants_90d,
  epoch($as_of::TIMESTAMP - r.last_ts) / 86400.0                        AS days_since_last_payment,
  coalesce(epoch($as_of::TIMESTAMP - r.last_decline_ts) / 86400.0, 91)  AS days_since_last_decline,
  coalesce(epoch($as_of::TIMESTAMP - r.last_merchant_ts) / 86400.0, 91) AS days_since_last_merchant,
  epoch($as_of::TIMESTAMP - r.first_ts) / 86400.0                       AS days_since_first_payment
FROM r LEFT JOIN dm USING (user_id);
