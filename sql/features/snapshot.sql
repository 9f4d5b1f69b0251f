-- snapshot: the serving feature vector of every user of the slice as of a date.
-- Parameters: $as_of DATE (exclusive end).
-- Fragments:  <users> read_parquet(...) over the slice's user files;
--             <window_columns> the window pivot of pay_tiles, generated from the feature
--             registry (sum/max over tiles 0..k, ratios of the window sums);
--             <feature_columns> the registry's features in order, each COALESCEd to its default.
--             Temp tables pay_tiles, pay_user, exposure must exist (the other feature files).
-- Output:     temp table snapshot, one row per user of the slice: user_id, bucket, then every
--             registry feature as FLOAT in registry order (no NULLs).
CREATE OR REPLACE TEMP TABLE snapshot AS
WITH w AS (
  SELECT user_id, {{window_columns}}
  FROM pay_tiles GROUP BY user_id
),
u AS (
  SELECT
    user_id, bucket,
    kyc_tier::FLOAT                                                   AS kyc_tier,
    credit_eligible::INT::FLOAT                                       AS credit_eligible,
    greatest(date_diff('day', signup_date, $as_of::DATE), 0)::FLOAT   AS account_age_days,
    income_band::FLOAT                                                AS income_band,
    (CASE age_band WHEN '18-24' THEN 0 WHEN '25-34' THEN 1 WHEN '35-44' THEN 2
                   WHEN '45-54' THEN 3 WHEN '55-64' THEN 4 ELSE 5 END)::FLOAT AS age_band_ord,
    (os = 'ios')::INT::FLOAT                                          AS is_ios,
    (country = 'US')::INT::FLOAT                                      AS country_us,
    marketing_consent::INT::FLOAT                                     AS marketing_consent,
    (optout_email::INT + optout_push::INT + optout_sms::INT + optout_in_app::INT)::FLOAT AS optout_count,
    has_bank_linked::INT::FLOAT                                       AS has_bank_linked,
    has_card_on_file::INT::FLOAT                                      AS has_card_on_file,
    autopay_enabled::INT::FLOAT                                       AS autopay_enabled,
    referrals_sent::FLOAT                                             AS referrals_sent,
    COLUMNS('^attr_\d\d$')::FLOAT
  FROM {{users}}
  WHERE signup_date < $as_of::DATE
)
SELECT u.user_id, u.bucket, {{feature_columns}}
FROM u
LEFT JOIN w USING (user_id)
LEFT JOIN pay_user USING (user_id)
LEFT JOIN exposure USING (user_id);
