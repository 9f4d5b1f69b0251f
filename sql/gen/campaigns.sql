-- gen/campaigns: the ~40 live campaigns that realise the five offer actions.
-- Parameters: $seed BIGINT, $start DATE (first day of the world; campaign dates are relative to it,
--   never to the as-of date, so extending the world does not change them).
-- Output: table campaigns_core, one row per campaign: the contract columns of
--   W/campaigns/campaigns.parquet (docs/world-schema.md) in order, then prio DOUBLE (the logging
--   policy's campaign-level prior, generator-only).
-- Grain: one row per campaign (campaign_id 0..39; action = the (id mod 5)-th offer action, so
--   every action has 8 campaigns). Campaigns 0-19 (k = id div 5 < 4) are always-on: they started
--   before the world and run 900 days (past the longest 730-day world); 20-39 are seasonal,
--   30-120 days inside or around the first 75 days. Every action has an always-on in_app campaign open to all countries.

CREATE OR REPLACE TABLE campaigns_core AS
WITH c AS (
  SELECT i, (i % 5)::INTEGER AS ai, (i // 5)::INTEGER AS k,
         rnd($seed::BIGINT, i, 901) AS h1, rnd($seed::BIGINT, i, 902) AS h2, rnd($seed::BIGINT, i, 903) AS h3
  FROM range(40) r(i)
),
d AS (
  SELECT c.*,
         ['cashback', 'referral_prompt', 'autopay_setup', 'card_on_file', 'installment_offer'][ai + 1] AS action,
         ['in_app', 'push', 'email', 'in_app', 'sms', 'email', 'push', 'in_app'][k + 1] AS channel,
         [['grocery-boost', 'weekend-dining', 'fuel-saver', 'everyday-2pct', 'merchant-week', 'spring-spend', 'loyalty-back', 'small-biz'],
          ['invite-a-friend', 'split-the-bill', 'bring-your-crew', 'give-10-get-10', 'campus-invite', 'family-circle', 'refer-summer', 'share-the-app'],
          ['never-miss-a-bill', 'autopay-utilities', 'set-and-forget', 'rent-on-time', 'autopay-telecom', 'bill-calendar', 'autopay-bonus', 'late-fee-free'],
          ['save-your-card', 'faster-checkout', 'one-tap-pay', 'card-rewards', 'secure-vault', 'checkout-boost', 'wallet-ready', 'skip-typing'],
          ['pay-in-4', 'split-big-buys', 'electronics-plan', 'travel-later', 'home-plan', 'zero-apr-week', 'flex-pay', 'bnpl-intro']][ai + 1][k + 1] AS theme,
         u20(h2, 0) AS ub, u20(h2, 1) AS uc, u20(h2, 2) AS uv, u20(h3, 0) AS ucap, u20(h3, 1) AS ucool, u20(h3, 2) AS udate
  FROM c
)
SELECT
  i::USMALLINT AS campaign_id,
  theme || '-' || channel || '-' || lpad(i::VARCHAR, 2, '0') AS name,
  action,
  channel,
  CASE WHEN k = 0 OR u20(h1, 0) < 0.5 THEN ['US', 'GB', 'DE', 'FR', 'ES', 'CA', 'MX', 'BR']
       WHEN u20(h1, 0) < 0.7 THEN ['US']
       WHEN u20(h1, 0) < 0.85 THEN ['GB', 'DE', 'FR', 'ES']
       ELSE ['US', 'CA', 'MX', 'BR'] END AS countries,
  CASE WHEN action = 'installment_offer' THEN 2 WHEN u20(h1, 1) < 0.6 THEN 0 ELSE 1 END::UTINYINT AS min_kyc_tier,
  action = 'installment_offer' AS requires_credit,
  CASE WHEN action = 'cashback' THEN ['7995', '6051']
       WHEN action = 'installment_offer' THEN ['7995', '6051', '4829']
       WHEN u20(h1, 2) < 0.3 THEN ['7995']
       ELSE []::VARCHAR[] END AS excluded_mccs,
  round(20000 + 480000 * ub * ub, -2)::DOUBLE AS budget_usd,
  round(CASE action WHEN 'cashback' THEN 2 + 8 * uc WHEN 'referral_prompt' THEN 5 + 20 * uc
                    WHEN 'autopay_setup' THEN 0.5 + 2.5 * uc WHEN 'card_on_file' THEN 0.2 + 1.8 * uc
                    ELSE 1 + 5 * uc END, 2)::DOUBLE AS offer_cost_usd,
  round(CASE action WHEN 'cashback' THEN 6 + 14 * uv WHEN 'referral_prompt' THEN 25 + 65 * uv
                    WHEN 'autopay_setup' THEN 20 + 40 * uv WHEN 'card_on_file' THEN 8 + 22 * uv
                    ELSE 15 + 35 * uv END, 2)::DOUBLE AS value_usd,
  (1 + floor(4 * ucap))::INTEGER AS per_user_cap,
  (CASE WHEN action IN ('autopay_setup', 'card_on_file') THEN 7 + floor(8 * ucool) ELSE 1 + floor(7 * ucool) END)::INTEGER AS cooldown_days,
  CASE WHEN k < 4 THEN $start::DATE - (30 + floor(60 * udate))::INTEGER
       ELSE $start::DATE + (-30 + floor(105 * udate))::INTEGER END AS start_date,
  CASE WHEN k < 4 THEN $start::DATE - (30 + floor(60 * udate))::INTEGER + 900
       ELSE $start::DATE + (-30 + floor(105 * udate))::INTEGER + (30 + floor(90 * u20(h1, 1)))::INTEGER END AS end_date,
  0.4 * ln(1 + (value_usd - offer_cost_usd) / 10.0) - 0.2 * (k >= 4)::INTEGER AS prio
FROM d
ORDER BY campaign_id;
