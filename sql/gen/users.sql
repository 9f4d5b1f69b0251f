-- gen/users: the users of the synthetic world, with their latent traits.
-- Parameters: $seed BIGINT, $users BIGINT (N), $buckets INTEGER, $start DATE (first day of the
--   world; signups all fall before it, so the table never changes when the world is extended).
-- Output: table users_core (and view users_out, its W/users projection + uid), one row per user
--   (uid 0..N-1, user_id = uid as text), holding
--   (a) the contract columns of W/users (docs/world-schema.md), (b) latent traits z_* and the
--   behaviour parameters derived from them (activity rate, channel mix, basket scale, decline
--   multiplier, recurring bills, spending profile) used by gen/payments, gen/decisions and
--   gen/truth, (c) extra instrument tokens per payment method. Clustered by bucket: the
--   per-bucket COPYs then read only their row groups (zonemaps) instead of decoding every row.
-- Grain: one row per user.
-- Traits are standard normals (or uniforms) from rnd(seed, uid, tag); observable attributes are
-- noisy functions of them, so the treatment effects in gen/truth are learnable from features.

CREATE OR REPLACE TABLE users_core AS
WITH h AS (
  SELECT i AS uid,
         rnd($seed::BIGINT, i, 1) AS h1, rnd($seed::BIGINT, i, 2) AS h2, rnd($seed::BIGINT, i, 3) AS h3,
         rnd($seed::BIGINT, i, 4) AS h4, rnd($seed::BIGINT, i, 5) AS h5, rnd($seed::BIGINT, i, 6) AS h6,
         rnd($seed::BIGINT, i, 7) AS h7, rnd($seed::BIGINT, i, 8) AS h8, rnd($seed::BIGINT, i, 9) AS h9,
         rnd($seed::BIGINT, i, 10) AS h10, rnd($seed::BIGINT, i, 11) AS h11, rnd($seed::BIGINT, i, 12) AS h12,
         rnd($seed::BIGINT, i, 13) AS h13, rnd($seed::BIGINT, i, 14) AS h14, rnd($seed::BIGINT, i, 15) AS h15,
         rnd($seed::BIGINT, i, 16) AS h16, rnd($seed::BIGINT, i, 17) AS h17, rnd($seed::BIGINT, i, 18) AS h18,
         rnd($seed::BIGINT, i, 19) AS h19, rnd($seed::BIGINT, i, 20) AS h20
  FROM range($users::BIGINT) r(i)
),
t AS (
  SELECT uid,
         nrm(h1) AS z_engage,  u20(h1, 2) AS u_age,
         nrm(h2) AS z_wealth,  u20(h2, 2) AS u_country,
         nrm(h3) AS z_social,  u20(h3, 2) AS u_region,
         nrm(h4) AS z_bills,   u20(h4, 2) AS u_os,
         nrm(h5) AS z_risk,    u20(h5, 2) AS u_tenure,
         nrm(h6) AS z_shop,    u20(h6, 2) AS u_kyc,
         nrm(h7) AS z_credit,  u20(h7, 2) AS u_profile,
         nrm(h8) AS z_act,     u20(h8, 2) AS u_chan,
         nrm(h9) AS z_bask,    u20(h9, 2) AS u_appver,
         nrm(h10) AS z_price,  u20(h10, 2) AS u_bills,
         u20(h11, 0) AS u_opt_email, u20(h11, 1) AS u_opt_push, u20(h11, 2) AS u_opt_sms,
         u20(h12, 0) AS u_opt_inapp, u20(h12, 1) AS u_consent, u20(h12, 2) AS u_bank,
         u20(h13, 0) AS u_card, u20(h13, 1) AS u_autopay, u20(h13, 2) AS u_refs,
         -- noise for the raw attributes
         nrm(h14) AS n0, u20(h14, 2) AS v0, nrm(h15) AS n1, u20(h15, 2) AS v1,
         nrm(h16) AS n2, u20(h16, 2) AS v2, nrm(h17) AS n3, u20(h17, 2) AS v3,
         nrm(h18) AS n4, u20(h18, 2) AS v4, nrm(h19) AS n5, u20(h19, 2) AS v5,
         nrm(h20) AS n6, u20(h20, 2) AS v6,
         lgt(u20(h14, 0)) AS l0, lgt(u20(h15, 0)) AS l1, lgt(u20(h16, 0)) AS l2, lgt(u20(h17, 0)) AS l3,
         lgt(u20(h18, 0)) AS l4, lgt(u20(h19, 0)) AS l5, lgt(u20(h20, 0)) AS l6
  FROM h
),
a AS (
  SELECT t.*,
         18 + floor(62 * pow(u_age, 1.7))::INTEGER AS age,
         1 + floor(2000 * pow(u_tenure, 2))::INTEGER AS tenure_days,
         sigm(1.2 * z_price - 0.7 * z_wealth) AS price_sens,
         c.country, c.currency, c.fx_per_usd, c.residency_region,
         c.regions[1 + floor(u_region * len(c.regions))::INTEGER] AS region,
         CASE WHEN z_wealth < -0.95 THEN 0 WHEN z_wealth < -0.3 THEN 1 WHEN z_wealth < 0.45 THEN 2
              WHEN z_wealth < 1.2 THEN 3 ELSE 4 END::UTINYINT AS income_band,
         least(4, greatest(0, floor(1.0 + 1.1 * z_bills + 0.8 * (u_bills - 0.5))))::INTEGER AS n_bills
  FROM t
  JOIN gen_country_bins cb ON cb.bin = floor(1000 * t.u_country)::INTEGER
  JOIN gen_country c ON c.country = cb.country
),
b AS (
  SELECT a.*,
         CASE WHEN kyc_score < -1.75 THEN 0 WHEN kyc_score < -0.1 THEN 1 WHEN kyc_score < 1.35 THEN 2 ELSE 3 END::UTINYINT AS kyc_tier,
         age < 30 AS young
  FROM (SELECT a.*, 0.8 * ln(1 + tenure_days / 90.0) - 1.2 + 0.5 * z_wealth + lgt(u_kyc) AS kyc_score FROM a) a
),
c AS (
  SELECT b.*,
         (kyc_tier >= 2 AND age >= 21 AND country NOT IN ('MX', 'BR')
            AND 0.7 * z_wealth + 0.7 * z_credit > -0.1) AS credit_eligible,
         u_bank < sigm(0.6 + 0.5 * z_bills + 0.3 * z_wealth) AS has_bank_linked,
         u_card < sigm(0.1 + 0.8 * z_shop + 0.3 * z_wealth) AS has_card_on_file,
         (n_bills > 0 AND u_autopay < sigm(-0.7 + 0.9 * z_bills + 0.3 * z_wealth)) AS autopay_enabled,
         -- activity: log-normal rate, mean ~0.22 payments/day (sigma 0.95), clamped to [0.003, 6]
         clamp(exp(ln(0.22) - 0.45 + 0.95 * (0.8 * z_engage + 0.6 * z_act)), 0.003, 6.0) AS lam_total,
         exp(0.3 * z_wealth + 0.25 * z_bask - 0.7 * (sigm(1.2 * z_price - 0.7 * z_wealth) - 0.5)) AS amt_scale,
         exp(0.55 * z_risk - 0.15) AS decl_mult
  FROM b
),
d AS (
  SELECT c.*,
         greatest(lam_total - n_bills / 30.4, 0.2 * lam_total) AS lam_adhoc,
         -- ad-hoc channel mix (recurring bills come on top)
         exp(-0.3 + 0.9 * z_social + 0.4 * young::INTEGER) AS w_p2p,
         exp(-1.7 + 0.6 * z_bills) AS w_bill,
         exp(0.8 + 0.7 * z_shop + 0.5 * price_sens) AS w_merch,
         CASE WHEN z_risk > 1.7 THEN 5
              WHEN z_wealth > 0.8 AND u_profile < 0.35 THEN 4
              WHEN z_shop > 0.5 AND u_profile < 0.5 THEN 3
              WHEN u_profile < 0.22 THEN 1
              WHEN u_profile < 0.45 THEN 2
              ELSE 0 END AS profile
  FROM c
)
SELECT
  -- contract columns of W/users, in order
  uid::VARCHAR AS user_id,
  (md5_number_lower(uid::VARCHAR) % $buckets::INTEGER)::USMALLINT AS bucket,
  country, region, kyc_tier, credit_eligible,
  ($start::DATE - tenure_days)::DATE AS signup_date,
  CASE WHEN age < 25 THEN '18-24' WHEN age < 35 THEN '25-34' WHEN age < 45 THEN '35-44'
       WHEN age < 55 THEN '45-54' WHEN age < 65 THEN '55-64' ELSE '65+' END AS age_band,
  income_band,
  CASE WHEN u_os < 0.05 THEN 'web' WHEN u_os < 0.05 + clamp(0.40 + 0.12 * z_wealth, 0.1, 0.8) THEN 'ios' ELSE 'android' END AS os,
  CASE WHEN u_os < 0.05 THEN 'web-2025.3'
       ELSE ['8.2.1', '8.3.0', '8.3.2', '8.4.0', '8.4.1'][1 + (u_appver >= 0.05)::INTEGER + (u_appver >= 0.15)::INTEGER
                                                            + (u_appver >= 0.35)::INTEGER + (u_appver >= 0.65)::INTEGER] END AS app_version,
  CASE WHEN u_chan < 0.40 THEN 'push' WHEN u_chan < 0.70 THEN 'email' WHEN u_chan < 0.90 THEN 'in_app' ELSE 'sms' END AS preferred_channel,
  tok('dev_', md5($seed::BIGINT::VARCHAR || ':dev:' || uid::VARCHAR)) AS device_token,
  tok('ins_', md5($seed::BIGINT::VARCHAR || ':card:' || uid::VARCHAR)) AS instrument_token,
  u_opt_email < 0.14 AS optout_email,
  u_opt_push < 0.22 + 0.10 * (age >= 55)::INTEGER AS optout_push,
  u_opt_sms < 0.45 AS optout_sms,
  u_opt_inapp < 0.03 AS optout_in_app,
  u_consent < 0.82 AS marketing_consent,
  has_bank_linked, has_card_on_file, autopay_enabled,
  floor(-ln(u_refs) * exp(0.9 * z_social + 0.5 * z_engage - 0.4 - 0.4 * (age >= 45)::INTEGER))::INTEGER AS referrals_sent,
  residency_region,
  round(exp(1.5 + 0.6 * z_engage + 0.3 * n0), 1) AS attr_00,                       -- app sessions / 30d
  round(exp(6.0 + 1.1 * z_wealth + 0.5 * n1), 2) AS attr_01,                       -- average balance
  round(price_sens + 0.15 * n2, 4) AS attr_02,                                     -- coupon usage score
  round(exp(3.0 + 0.7 * z_social + 0.4 * n3)) AS attr_03,                          -- contacts on the app
  greatest(0, round(n_bills + 0.8 * n4)) AS attr_04,                               -- saved billers
  round(z_risk + n5, 4) AS attr_05,                                                -- dispute score
  round(tenure_days / 365.25, 3) AS attr_06,                                       -- tenure, years
  CASE WHEN kyc_tier = 0 OR v0 < 0.06 THEN NULL                                    -- bureau score, thin file NULL
       ELSE round(300 + 550 * sigm(0.9 * z_wealth + 0.7 * z_credit + 0.3 * n6)) END AS attr_07,
  round(age + v1, 2) AS attr_08,                                                   -- age, years
  round(l0, 4) AS attr_09,                                                         -- noise
  round(v2, 4) AS attr_10,                                                         -- noise
  round(exp(l1), 4) AS attr_11,                                                    -- noise, skewed
  round(0.3 * z_engage + 0.95 * l2, 4) AS attr_12,                                 -- weak: engagement
  floor(-ln(v3) * 3) AS attr_13,                                                   -- noise count
  round(0.25 * z_shop + l3, 4) AS attr_14,                                         -- weak: shopping
  CASE WHEN v4 < 0.2 THEN NULL ELSE round(l4, 4) END AS attr_15,                   -- noise with gaps
  round(0.4 * z_risk + 0.9 * l5, 4) AS attr_16,                                    -- weak: risk
  (v5 >= 0.5)::DOUBLE AS attr_17,                                                  -- noise flag
  round(0.3 * price_sens + v6, 4) AS attr_18,                                      -- weak: price
  round(50 + 10 * l6, 2) AS attr_19,                                               -- noise
  round(0.2 * z_social + n0 * 0.3 + l1 * 0.7, 4) AS attr_20,                       -- weak: social
  round(100 * u20(rnd($seed::BIGINT, uid, 21), 0), 3) AS attr_21,                 -- noise
  round(exp(0.2 * z_wealth + 0.5 * nrm(rnd($seed::BIGINT, uid, 22))), 4) AS attr_22, -- weak: wealth
  round(12 * u20(rnd($seed::BIGINT, uid, 21), 1)) AS attr_23,                     -- noise
  -- generator-only columns
  uid, age, young, tenure_days, currency, fx_per_usd,
  z_engage, z_wealth, z_social, z_bills, z_risk, z_shop, z_credit, z_bask, price_sens,
  lam_total, lam_adhoc, amt_scale, decl_mult, n_bills, profile,
  w_p2p / (w_p2p + w_bill + w_merch) AS p_p2p,
  w_bill / (w_p2p + w_bill + w_merch) AS p_bill,
  w_merch / (w_p2p + w_bill + w_merch) AS p_merch,
  tok('dev_', md5($seed::BIGINT::VARCHAR || ':dev2:' || uid::VARCHAR)) AS device_token2,
  tok('ins_', md5($seed::BIGINT::VARCHAR || ':bank:' || uid::VARCHAR)) AS tok_bank,
  tok('ins_', md5($seed::BIGINT::VARCHAR || ':wallet:' || uid::VARCHAR)) AS tok_wallet,
  tok('ins_', md5($seed::BIGINT::VARCHAR || ':bnpl:' || uid::VARCHAR)) AS tok_bnpl,
  tok('bal_', md5($seed::BIGINT::VARCHAR || ':bal:' || uid::VARCHAR)) AS tok_balance
FROM d
ORDER BY bucket;

-- The W/users projection (contract columns in order) plus uid for ordering.
CREATE OR REPLACE VIEW users_out AS
SELECT user_id, bucket, country, region, kyc_tier, credit_eligible, signup_date, age_band, income_band, os,
       app_version, preferred_channel, device_token, instrument_token, optout_email, optout_push, optout_sms,
       optout_in_app, marketing_consent, has_bank_linked, has_card_on_file, autopay_enabled, referrals_sent,
       residency_region,
       attr_00, attr_01, attr_02, attr_03, attr_04, attr_05, attr_06, attr_07, attr_08, attr_09, attr_10, attr_11,
       attr_12, attr_13, attr_14, attr_15, attr_16, attr_17, attr_18, attr_19, attr_20, attr_21, attr_22, attr_23,
       uid
FROM users_core;
