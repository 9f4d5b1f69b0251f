-- gate-attributes: what the policy gates need about each user of the slice (not model features).
-- Parameters: none.
-- Fragments:  <users> a read_parquet(...) call over the slice's user files.
-- Output:     temp table gate_attrs, one row per user: user_id, g_country, g_kyc_tier,
--             g_credit_eligible, g_optout_bits (prefixed: they join beside same-named features) (email = 1, push = 2, sms = 4, in_app = 8).
CREATE OR REPLACE TEMP TABLE gate_attrs AS
SELECT
  user_id,
  country AS g_country,
  kyc_tier::UTINYINT AS g_kyc_tier,
  credit_eligible AS g_credit_eligible,
  (optout_email::UTINYINT + 2 * optout_push::UTINYINT + 4 * optout_sms::UTINYINT + 8 * optout_in_app::UTINYINT)::UTINYINT AS g_optout_bits
FROM {{users}};
