-- payment-window-max: for the users whose window maximum left its window on an incremental night
-- (temp table dirty), recomputes the window maxima from the payments of the 90-day window.
-- Parameters: $as_of DATE (exclusive end).
-- Fragments:  <payments> a read_parquet(...) call over the slice's payment files;
--             <window_max> one `max(amt_c) FILTER (...) AS max_k, arg_max(day_idx, amt_c)
--             FILTER (...) AS arg_k` pair per window k (core/payment-state.ts windowMaxSql).
--             Temp tables user_static and dirty (ri UINTEGER) must exist.
-- Output:     one row per dirty user with a payment in the window: ri, the max_k/arg_k pairs
--             (cents; day index, 0 = the day before as_of).
WITH d AS (
  SELECT s.user_id, s.ri FROM user_static s SEMI JOIN dirty USING (ri)
),
p AS (
  SELECT d.ri, round(amount_usd * 100) AS amt_c,
         (date_diff('day', ts::DATE, $as_of::DATE) - 1)::DOUBLE AS day_idx
  FROM {{payments}} JOIN d USING (user_id)
  WHERE ts >= $as_of::TIMESTAMP - INTERVAL 90 DAY AND ts < $as_of::TIMESTAMP
)
SELECT ri, {{window_max}}
FROM p
GROUP BY ri;
