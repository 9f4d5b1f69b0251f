-- payment-tiles: per-user aggregates of payments in disjoint time tiles before the as-of date.
-- Parameters: $as_of DATE (exclusive end: nothing at or after it is read).
-- Fragments:  <payments> a read_parquet(...) call over the slice's payment files.
--             Temp table user_static (users-static.sql) must exist: it gives each user's row.
-- Tiles:      0 = [as_of-1d, as_of), 1 = [as_of-7d, as_of-1d), 2 = [as_of-30d, as_of-7d),
--             3 = [as_of-90d, as_of-30d). Window w (1/7/30/90d) is tiles 0..k, so one pass
--             aggregates every window; core/feature-assembly.ts sums (or maxes) the tiles of
--             each window and forms the ratios (core/feature-registry.ts WINDOWS).
-- Output:     temp table pay_tiles, one row per (user, tile) with at least one payment:
--             ri, tile, TILE_AGGREGATES of core/feature-registry.ts in order (counts as
--             count_if: cheaper than FILTER clauses, and NULL counts as false; active_days as the popcount of a
--             bitmask of days, cheaper than count(DISTINCT)), then the tile's recency facts in
--             days before as_of: last_pay_days, first_pay_days, last_decline_days,
--             last_merchant_days (NULL when the tile has no such payment).
CREATE OR REPLACE TEMP TABLE pay_tiles AS
WITH p AS (
  SELECT
    user_id, ts, amount_usd, channel, payment_method, auth_outcome, decline_code, mcc, is_recurring,
    epoch($as_of::TIMESTAMP - ts) / 86400.0 AS ago_days,
    date_diff('day', ts::DATE, $as_of::DATE) - 1 AS day_idx
  FROM {{payments}}
  WHERE ts >= $as_of::TIMESTAMP - INTERVAL 90 DAY AND ts < $as_of::TIMESTAMP
),
t AS (
  SELECT *,
    CASE WHEN day_idx < 1 THEN 0 WHEN day_idx < 7 THEN 1 WHEN day_idx < 30 THEN 2 ELSE 3 END::UTINYINT AS tile,
    -- day index inside its tile (< 60), the bit of this day in the tile's active-day mask
    (day_idx - CASE WHEN day_idx < 1 THEN 0 WHEN day_idx < 7 THEN 1 WHEN day_idx < 30 THEN 7 ELSE 30 END)::UBIGINT AS tile_day
  FROM p
),
agg AS (
SELECT
  user_id, tile,
  count(*)::FLOAT                                                               AS pay_cnt,
  sum(amount_usd)                                                               AS pay_amt,
  max(amount_usd)                                                               AS pay_amt_max,
  count_if(auth_outcome = 'approved')::FLOAT                                  AS approved_cnt,
  count_if(auth_outcome = 'declined')::FLOAT                                  AS declined_cnt,
  count_if(decline_code = '51')::FLOAT                                        AS nsf_decline_cnt,
  count_if(channel = 'p2p')::FLOAT                                            AS p2p_cnt,
  count_if(channel = 'bill_pay')::FLOAT                                       AS billpay_cnt,
  count_if(channel = 'merchant_checkout')::FLOAT                              AS merchant_cnt,
  sum(CASE WHEN channel = 'p2p' THEN amount_usd ELSE 0 END)                     AS p2p_amt,
  sum(CASE WHEN channel = 'bill_pay' THEN amount_usd ELSE 0 END)                AS billpay_amt,
  sum(CASE WHEN channel = 'merchant_checkout' THEN amount_usd ELSE 0 END)       AS merchant_amt,
  count_if(payment_method = 'card')::FLOAT                                    AS card_cnt,
  count_if(payment_method = 'bank')::FLOAT                                    AS bank_cnt,
  count_if(payment_method = 'wallet')::FLOAT                                  AS wallet_cnt,
  count_if(payment_method = 'bnpl')::FLOAT                                    AS bnpl_cnt,
  count_if(is_recurring)::FLOAT                                                 AS recurring_cnt,
  count_if(mcc = '5411')::FLOAT                                               AS mcc_grocery_cnt,
  count_if(mcc = '5812')::FLOAT                                               AS mcc_dining_cnt,
  count_if(mcc = '5541')::FLOAT                                               AS mcc_fuel_cnt,
  count_if(mcc IN ('4900', '4814'))::FLOAT                                    AS mcc_utility_cnt,
  count_if(mcc IN ('4511', '7011', '4121'))::FLOAT                            AS mcc_travel_cnt,
  count_if(mcc IN ('5311', '5732', '5999', '5691', '5942', '5912'))::FLOAT    AS mcc_retail_cnt,
  count_if(mcc IN ('7995', '6051'))::FLOAT                                    AS mcc_risky_cnt,
  count_if(amount_usd >= 200)::FLOAT                                          AS large_cnt,
  count_if(amount_usd < 10)::FLOAT                                            AS small_cnt,
  bit_count(bit_or(1::UBIGINT << tile_day))::FLOAT                              AS active_days,
  min(ago_days)                                                                 AS last_pay_days,
  max(ago_days)                                                                 AS first_pay_days,
  min(CASE WHEN auth_outcome = 'declined' THEN ago_days END)                    AS last_decline_days,
  min(CASE WHEN channel = 'merchant_checkout' THEN ago_days END)                AS last_merchant_days
FROM t
GROUP BY user_id, tile
)
-- the user's matrix row, joined after aggregation (a few million rows, not every payment)
SELECT s.ri, agg.* EXCLUDE (user_id) FROM agg JOIN user_static s USING (user_id);
