-- users-static: the users of the slice known as of the date, in serving order, with their
-- static features and the attributes the policy gates need.
-- Parameters: $as_of DATE (users who signed up on or after it are not yet known);
--             $slots UBIGINT (Redis slot count; slot = md5_number_lower(user_id) % slots).
-- Order:      rows are numbered by (slot, hash): numeric keys sort far faster than user ids, and
--             the order is as deterministic (a rerun of a chunk writes the same bytes).
-- Fragments:  <users> a read_parquet(...) call over the slice's user files.
-- Output:     temp table user_static, one row per known user: ri (dense row index 0..n-1 in
--             (slot, hash) order: the row of the feature matrix), user_id, bucket, slot,
--             g_country, g_kyc_tier, g_credit_eligible, g_optout_bits (email = 1, push = 2,
--             sms = 4, in_app = 8), then every static registry feature (source 'users') as FLOAT.
CREATE OR REPLACE TEMP TABLE user_static AS
WITH u AS (
  SELECT *, md5_number_lower(user_id) AS h, (md5_number_lower(user_id) % $slots::UBIGINT)::UINTEGER AS slot
  FROM {{users}}
  WHERE signup_date < $as_of::DATE
)
SELECT
  (row_number() OVER (ORDER BY slot, h) - 1)::UINTEGER          AS ri,
  user_id, bucket::INTEGER AS bucket, slot,
  country                                                             AS g_country,
  kyc_tier::UTINYINT                                                  AS g_kyc_tier,
  credit_eligible                                                     AS g_credit_eligible,
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
