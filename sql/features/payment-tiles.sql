-- payment-tiles: per-user aggregates of payments in disjoint time tiles before the as-of date.
-- Parameters: $as_of DATE (exclusive end: nothing at or after it is read).
-- Fragments:  <payments> a read_parquet(...) call over the slice's payment files.
-- Tiles:      0 = [as_of-1d, as_of), 1 = [as_of-7d, as_of-1d), 2 = [as_of-30d, as_of-7d),
--             3 = [as_of-90d, as_of-30d). Windows 1/7/30/90d are the sums over tiles 0..k, so
--             one pass aggregates every window (core/feature-registry.ts WINDOWS).
-- Output:     temp table pay_tiles, one row per (user_id, tile) with at least one payment;
--             columns user_id, tile, then TILE_AGGREGATES of core/feature-registry.ts in order.
CREATE OR REPLACE TEMP TABLE pay_tiles AS
WITH p AS (
  SELECT
    user_id, ts, amount_usd, channel, payment_method, auth_outcome, decline_code, mcc, is_recurring,
    CASE
      WHEN ts >= $as_of::TIMESTAMP - INTERVAL 1 DAY THEN 0
      WHEN ts >= $as_of::TIMESTAMP - INTERVAL 7 DAY THEN 1
      WHEN ts >= $as_of::TIMESTAMP - INTERVAL 30 DAY THEN 2
      ELSE 3
    END::UTINYINT AS tile
  FROM {{payments}}
  WHERE ts >= $as_of::TIMESTAMP - INTERVAL 90 DAY AND ts < $as_of::TIMESTAMP
)
SELECT
  user_id,
  tile,
  count(*)                                                            AS pay_cnt,
  sum(amount_usd)                                                     AS pay_amt,
  max(amount_usd)                                                     AS pay_amt_max,
  count(*) FILTER (WHERE auth_outcome = 'approved')                   AS approved_cnt,
  count(*) FILTER (WHERE auth_outcome = 'declined')                   AS declined_cnt,
  count(*) FILTER (WHERE decline_code = '51')                         AS nsf_decline_cnt,
  count(*) FILTER (WHERE channel = 'p2p')                             AS p2p_cnt,
  count(*) FILTER (WHERE channel = 'bill_pay')                        AS billpay_cnt,
  count(*) FILTER (WHERE channel = 'merchant_checkout')               AS merchant_cnt,
  coalesce(sum(amount_usd) FILTER (WHERE channel = 'p2p'), 0)         AS p2p_amt,
  coalesce(sum(amount_usd) FILTER (WHERE channel = 'bill_pay'), 0)    AS billpay_amt,
  coalesce(sum(amount_usd) FILTER (WHERE channel = 'merchant_checkout'), 0) AS merchant_amt,
  count(*) FILTER (WHERE payment_method = 'card')                     AS card_cnt,
  count(*) FILTER (WHERE payment_method = 'bank')                     AS bank_cnt,
  count(*) FILTER (WHERE payment_method = 'wallet')                   AS wallet_cnt,
  count(*) FILTER (WHERE payment_method = 'bnpl')                     AS bnpl_cnt,
  count(*) FILTER (WHERE is_recurring)                                AS recurring_cnt,
  count(*) FILTER (WHERE mcc = '5411')                                AS mcc_grocery_cnt,
  count(*) FILTER (WHERE mcc = '5812')                                AS mcc_dining_cnt,
  count(*) FILTER (WHERE mcc = '5541')                                AS mcc_fuel_cnt,
  count(*) FILTER (WHERE mcc IN ('4900', '4814'))                     AS mcc_utility_cnt,
  count(*) FILTER (WHERE mcc IN ('4511', '7011', '4121'))             AS mcc_travel_cnt,
  count(*) FILTER (WHERE mcc IN ('5311', '5732', '5999', '5691', '5942', '5912')) AS mcc_retail_cnt,
  count(*) FILTER (WHERE mcc IN ('7995', '6051'))                     AS mcc_risky_cnt,
  count(*) FILTER (WHERE amount_usd >= 200)                           AS large_cnt,
  count(*) FILTER (WHERE amount_usd < 10)                             AS small_cnt,
  count(DISTINCT ts::DATE)                                            AS active_days
FROM p
GROUP BY user_id, tile;
