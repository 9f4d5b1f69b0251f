-- users-static: the users of the slice known as of the date, with their static features, the
-- attributes the policy gates need, and their Redis slot.
-- Parameters: $as_of DATE (users who signed up on or after it are not yet known);
--             $slots UBIGINT (Redis slot count; slot = md5_number_lower(user_id) % slots).
-- Fragments:  <users> a read_parquet(...) call over the slice's user files.
-- Order:      file order, unsorted: a user's matrix row (ri) is the table's rowid (dense from 0,
--             insertion order), as deterministic as a sort (a rerun of a chunk writes the same
--             bytes) and without a window sort that drags every column along (~0.2 s per 125K
--             users). The publish groups rows by slot itself (core/score-store.ts).
-- Output:     temp table user_attrs, one row per known user: user_id, bucket, slot, g_country,
--             g_kyc_tier, g_credit_eligible, g_optout_bits (email = 1, push = 2, sms = 4,
--             in_app = 8), then every static registry feature (source 'users') as FLOAT.
--             feature-snapshot.ts reads it with `rowid AS ri` and derives temp table
--             user_static (user_id, ri), which the other feature queries join to.
CREATE OR REPLACE TEMP TABLE user_attrs AS
WITH u AS (
  SELECT *, md5_number_lower(user_id) AS h
  FROM {{users}}
  WHERE signup_date < $as_of::DATE
)
SELECT
  user_id, bucket::UINTEGER AS bucket, (h % $slots::UBIGINT)::UINTEGER AS slot,
  country                                                             AS g_country,
  kyc_tier::UTINYINT                                                  AS g_kyc_tier,
  credit_eligible::UTINYINT                                           AS g_credit_eligible,
  (optout_email::UTINYINT + 2 * optout_push::UTINYINT + 4 * optout_sms::UTINYINT + 8 * optout_in_app::UTINYINT)::UTINYINT AS g_optout_bits,
  kyc_tier::FLOAT                                                     AS kyc_tier,
  credit_eligible::INT::FLOAT                                         AS credit_eligible,
  greatest(date_diff('day', signup_date, $as_of::DATE), 0)::FLOAT     AS account_age_days,
  income_band::FLOAT                                                  AS income_band,
  (CASE age_band WHEN '18-24' THEN 0 WHEN '25-34' THEN 1 WHEN '35-44' THEN 2
                 WHEN '45-54' THEN 3 WHEN '55-64' THEN 4 ELSE 5 END)::FLOAT AS age_band_ord,
  (os = 'ios')::INT::FLOAT                                            AS is_ios,
  (country = 'US')::INT::FLOAT                                        AS country_us,
  marketing_consent::INT::FLOAT                                       AS marketing_consent,
  (optout_email::INT + optout_push::INT + optout_sms::INT + optout_in_app::INT)::FLOAT AS optout_count,
  has_bank_linked::INT::FLOAT                                         AS has_bank_linked,
  has_card_on_file::INT::FLOAT                                        AS has_card_on_file,
  autopay_enabled::INT::FLOAT                                         AS autopay_enabled,
  referrals_sent::FLOAT                                               AS referrals_sent,
  COLUMNS('^attr_\d\d$')::FLOAT
FROM u;
