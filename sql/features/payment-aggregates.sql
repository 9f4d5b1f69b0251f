-- payment-aggregates: the select list of per-group payment aggregates, shared by the tiles of a
-- full night (payment-tiles.sql) and the boundary days of an incremental one (payment-days.sql).
-- Input columns: amt_c (amount in integer US cents), ts_us (epoch microseconds, DOUBLE), channel,
--             payment_method, auth_outcome, decline_code, mcc, is_recurring.
-- Output:     the `sum` and `max` aggregates of TILE_AGGREGATES (core/feature-registry.ts), in
--             order, as DOUBLE (amounts in cents, so sums stay exact integers when the
--             incremental night adds and subtracts days), then the PAYMENT_RECENCY timestamps.
count(*)::DOUBLE                                                          AS pay_cnt,
sum(amt_c)                                                                AS pay_amt,
max(amt_c)                                                                AS pay_amt_max,
count_if(auth_outcome = 'approved')::DOUBLE                               AS approved_cnt,
count_if(auth_outcome = 'declined')::DOUBLE                               AS declined_cnt,
count_if(decline_code = '51')::DOUBLE                                     AS nsf_decline_cnt,
count_if(channel = 'p2p')::DOUBLE                                         AS p2p_cnt,
count_if(channel = 'bill_pay')::DOUBLE                                    AS billpay_cnt,
count_if(channel = 'merchant_checkout')::DOUBLE                           AS merchant_cnt,
sum(CASE WHEN channel = 'p2p' THEN amt_c ELSE 0 END)                      AS p2p_amt,
sum(CASE WHEN channel = 'bill_pay' THEN amt_c ELSE 0 END)                 AS billpay_amt,
sum(CASE WHEN channel = 'merchant_checkout' THEN amt_c ELSE 0 END)        AS merchant_amt,
count_if(payment_method = 'card')::DOUBLE                                 AS card_cnt,
count_if(payment_method = 'bank')::DOUBLE                                 AS bank_cnt,
count_if(payment_method = 'wallet')::DOUBLE                               AS wallet_cnt,
count_if(payment_method = 'bnpl')::DOUBLE                                 AS bnpl_cnt,
count_if(is_recurring)::DOUBLE                                            AS recurring_cnt,
count_if(mcc = '5411')::DOUBLE                                            AS mcc_grocery_cnt,
count_if(mcc = '5812')::DOUBLE                                            AS mcc_dining_cnt,
count_if(mcc = '5541')::DOUBLE                                            AS mcc_fuel_cnt,
count_if(mcc IN ('4900', '4814'))::DOUBLE                                 AS mcc_utility_cnt,
count_if(mcc IN ('4511', '7011', '4121'))::DOUBLE                         AS mcc_travel_cnt,
count_if(mcc IN ('5311', '5732', '5999', '5691', '5942', '5912'))::DOUBLE AS mcc_retail_cnt,
count_if(mcc IN ('7995', '6051'))::DOUBLE                                 AS mcc_risky_cnt,
count_if(amt_c >= 20000)::DOUBLE                                          AS large_cnt,
count_if(amt_c < 1000)::DOUBLE                                            AS small_cnt,
max(ts_us)                                                                AS last_pay_us,
max(CASE WHEN auth_outcome = 'declined' THEN ts_us END)                   AS last_decline_us,
max(CASE WHEN channel = 'merchant_checkout' THEN ts_us END)               AS last_merchant_us
