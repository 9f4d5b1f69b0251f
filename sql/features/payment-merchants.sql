-- payment-merchants: the (user, merchant) pairs behind the distinct-merchant features, each with
-- the day of its most recent payment in [$from, $to). A full night reads the 90-day window; an
-- incremental night reads the new day and merges it into the previous night's pairs.
-- Parameters: $as_of DATE (day indexes count back from it); $from, $to TIMESTAMP.
-- Fragments:  <payments> a read_parquet(...) call over the slice's payment files.
--             Temp table user_static (users-static.sql) must exist.
-- Output:     rows ordered by (ri, mh, ml): ri, mh/ml (high and low 32 bits of the merchant id's
--             64-bit hash), day_idx (0 = the day before as_of) of the last payment to it.
WITH pairs AS (
  SELECT user_id, merchant_id, max(ts) AS last_ts
  FROM {{payments}}
  WHERE merchant_id IS NOT NULL AND ts >= $from::TIMESTAMP AND ts < $to::TIMESTAMP AND ts < $as_of::TIMESTAMP
  GROUP BY user_id, merchant_id
),
h AS (
  SELECT user_id, hash(merchant_id) AS mhash, (date_diff('day', last_ts::DATE, $as_of::DATE) - 1)::INTEGER AS day_idx
  FROM pairs
)
SELECT s.ri, (mhash >> 32)::UINTEGER AS mh, (mhash & 4294967295)::UINTEGER AS ml, h.day_idx
FROM h JOIN user_static s USING (user_id)
ORDER BY s.ri, mh, ml;
