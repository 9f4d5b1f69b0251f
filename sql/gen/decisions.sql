-- gen/decisions: past decisions of the logging policy for one chunk of users.
-- Parameters: $seed BIGINT, $from DATE (first decision day, inclusive), $to DATE (exclusive).
-- Input: tables cu (chunk users), pay (their payments from at least 14 days before $from),
--   campaigns_core.
-- Output: table dec, one row per decision with decision_ts >= $from (a decision may fall up to
--   20 s after $to when it follows a payment late on the last day; callers filter): the contract
--   columns of W/decision_log (docs/world-schema.md) in order, then uid (generator-only).
-- Grain: one row per decision.
-- Surfaces:
--   online  ~15% of payment attempts are followed 1-20 s later by a decision on the in-app
--           surface; its context is that payment.
--   crm     per (user, day) a 1.75% chance of a CRM send at 09, 12 or 18 h (+ up to an hour);
--           context = the user's last payment in the 14 days before (NULL if none).
-- Eligible = campaigns active that day whose gates the user passes: the surface's channels
-- (online: in_app; crm: email/push/sms and marketing consent), channel opt-out, country
-- allow-list, minimum KYC tier, credit eligibility, and for online the excluded MCCs of the
-- context payment. Choice among eligible campaigns + none: with prob. 0.12 none, 0.088 uniform,
-- 0.792 a softmax over a crude heuristic score (Gumbel-max). propensity = the probability the
-- policy gave the chosen ACTION (summed over its campaigns; a campaign's softmax weight is
-- exp(score) rounded to 1e-12, the same weight the draw uses up to that rounding):
--   0.12 [none] + 0.88 (0.9 softmax_mass(action) + 0.1 n_items(action) / n), so none >= 0.12.

CREATE OR REPLACE TABLE dec AS
WITH online AS (
  SELECT uid,
         ts + to_milliseconds(1000 + floor(19000 * u20(h, 1))::BIGINT) AS decision_ts,
         'dec_' || substr(payment_id, 5) AS decision_id,
         'online' AS surface,
         amount_usd AS ctx_amount_usd, mcc AS ctx_mcc, channel AS ctx_channel, auth_outcome AS ctx_auth_outcome
  FROM (SELECT *, rnd($seed::BIGINT, uid, eday, j, 51) AS h
        FROM pay WHERE ts >= $from::TIMESTAMP AND ts < $to::TIMESTAMP)
  WHERE u20(h, 0) < 0.15
),
days AS (
  SELECT ($from::DATE + i::INTEGER) AS day, ($from::DATE - DATE '1970-01-01')::INTEGER + i::INTEGER AS eday
  FROM range(greatest(0, $to::DATE - $from::DATE)) r(i)
),
crm_keys AS (
  SELECT uid, day, eday, h
  FROM (SELECT u.uid, d.day, d.eday, rnd($seed::BIGINT, u.uid, d.eday, 52) AS h FROM cu u CROSS JOIN days d)
  WHERE u20(h, 0) < 0.0175
),
crm AS (
  SELECT uid,
         day::TIMESTAMP + to_milliseconds(([9, 12, 18][1 + floor(3 * u20(h, 1))::INTEGER] * 3600000)::BIGINT
                                          + floor(3600000 * u20(h, 2))::BIGINT) AS decision_ts,
         'dec_' || uid::VARCHAR || '_' || eday::VARCHAR || '_c' AS decision_id
  FROM crm_keys
),
crm_ctx AS (
  SELECT c.uid, c.decision_ts, c.decision_id, 'crm' AS surface,
         arg_max({'amount_usd': p.amount_usd, 'mcc': p.mcc, 'channel': p.channel, 'auth': p.auth_outcome},
                 {'ts': p.ts, 'eday': p.eday, 'j': p.j}) AS last
  FROM crm c
  LEFT JOIN pay p ON p.uid = c.uid AND p.ts < c.decision_ts AND p.ts >= c.decision_ts - INTERVAL 14 DAY
  GROUP BY c.uid, c.decision_ts, c.decision_id
),
alld AS (
  SELECT uid, decision_ts, decision_id, surface, ctx_amount_usd, ctx_mcc, ctx_channel, ctx_auth_outcome FROM online
  UNION ALL
  SELECT uid, decision_ts, decision_id, surface, last.amount_usd, last.mcc, last.channel, last.auth FROM crm_ctx
),
elig AS (
  -- user-level gates, once per (user, campaign): country, KYC, credit, consent, channel opt-out
  SELECT u.uid, c.campaign_id::SMALLINT AS campaign_id, c.action, c.channel, c.start_date, c.end_date,
         c.excluded_mccs, c.prio
  FROM cu u
  JOIN (SELECT *, unnest(countries) AS country FROM campaigns_core) c
    ON c.country = u.country
   AND u.kyc_tier >= c.min_kyc_tier
   AND (NOT c.requires_credit OR u.credit_eligible)
   AND (c.channel = 'in_app' OR u.marketing_consent)
   AND NOT CASE c.channel WHEN 'email' THEN u.optout_email WHEN 'push' THEN u.optout_push
                          WHEN 'sms' THEN u.optout_sms ELSE u.optout_in_app END
),
ctx AS (
  SELECT d.*, u.user_id, u.bucket,
         d.decision_ts::DATE AS dday,
         rnd($seed::BIGINT, d.decision_id, 53) AS hp,
         -- the logging heuristic: crude, partly aligned with the true effects, partly not
         0.4 + 0.6 * (u.income_band <= 1)::INTEGER + 0.3 * coalesce(d.ctx_channel = 'merchant_checkout', false)::INTEGER AS s_cb,
         0.1 + 0.5 * u.young::INTEGER + 0.3 * coalesce(d.ctx_channel = 'p2p', false)::INTEGER AS s_ref,
         -0.2 + 1.0 * (NOT u.autopay_enabled AND coalesce(d.ctx_channel = 'bill_pay', false))::INTEGER - 1.0 * u.autopay_enabled::INTEGER AS s_ap,
         -0.2 + 0.9 * (NOT u.has_card_on_file)::INTEGER - 1.5 * u.has_card_on_file::INTEGER AS s_cof,
         -0.3 + 1.2 * (coalesce(d.ctx_amount_usd, 0) > 150)::INTEGER AS s_inst,
         0.8 AS s_none
  FROM alld d JOIN cu u USING (uid)
),
pairs AS (
  -- decision-level gates: surface channel, campaign dates, excluded MCC of the online context
  SELECT d.decision_id, e.campaign_id, e.action,
         e.prio + CASE e.action WHEN 'cashback' THEN d.s_cb WHEN 'referral_prompt' THEN d.s_ref
                                WHEN 'autopay_setup' THEN d.s_ap WHEN 'card_on_file' THEN d.s_cof
                                ELSE d.s_inst END AS s,
         rnd(d.hp, e.campaign_id) AS hc
  FROM ctx d JOIN elig e ON e.uid = d.uid
  WHERE (e.channel = 'in_app') = (d.surface = 'online')
    AND e.start_date <= d.dday AND d.dday <= e.end_date
    AND (d.surface = 'crm' OR d.ctx_mcc IS NULL OR NOT list_contains(e.excluded_mccs, d.ctx_mcc))
),
agg AS (
  -- Softmax masses as exact integer sums of exp(s) in units of 1e-12: a floating-point sum in a
  -- parallel aggregate depends on the thread schedule, and the files must be byte-identical.
  SELECT decision_id,
         count(*) AS m,
         sum(round(exp(s) * 1e12)::BIGINT) AS zq,
         sum(round(exp(s) * 1e12)::BIGINT) FILTER (WHERE action = 'cashback') AS zq_cb,
         sum(round(exp(s) * 1e12)::BIGINT) FILTER (WHERE action = 'referral_prompt') AS zq_ref,
         sum(round(exp(s) * 1e12)::BIGINT) FILTER (WHERE action = 'autopay_setup') AS zq_ap,
         sum(round(exp(s) * 1e12)::BIGINT) FILTER (WHERE action = 'card_on_file') AS zq_cof,
         sum(round(exp(s) * 1e12)::BIGINT) FILTER (WHERE action = 'installment_offer') AS zq_inst,
         count(*) FILTER (WHERE action = 'cashback') AS n_cb,
         count(*) FILTER (WHERE action = 'referral_prompt') AS n_ref,
         count(*) FILTER (WHERE action = 'autopay_setup') AS n_ap,
         count(*) FILTER (WHERE action = 'card_on_file') AS n_cof,
         count(*) FILTER (WHERE action = 'installment_offer') AS n_inst,
         -- Gumbel-max: argmax of s + Gumbel noise is a softmax draw
         max(s - ln(-ln(u20(hc, 0)))) AS g_max,
         arg_max({'id': campaign_id, 'action': action}, s - ln(-ln(u20(hc, 0)))) AS g_pick,
         -- a uniformly random campaign: the one with the largest uniform key
         arg_max({'id': campaign_id, 'action': action}, u20(hc, 1)) AS u_pick
  FROM pairs
  GROUP BY decision_id
),
chosen AS (
  SELECT c.*, a.*,
         coalesce(a.m, 0) + 1 AS n,
         round(exp(c.s_none) * 1e12)::BIGINT + coalesce(a.zq, 0) AS zq_all,
         CASE WHEN u20(c.hp, 0) < 0.12 THEN NULL
              WHEN u20(c.hp, 0) < 0.208 THEN CASE WHEN floor(u20(c.hp, 1) * (coalesce(a.m, 0) + 1)) = 0 THEN NULL ELSE a.u_pick END
              WHEN a.m IS NULL OR c.s_none - ln(-ln(u20(c.hp, 2))) >= a.g_max THEN NULL
              ELSE a.g_pick END AS pick
  FROM ctx c LEFT JOIN agg a USING (decision_id)
)
SELECT
  decision_id,
  user_id,
  bucket,
  decision_ts,
  coalesce(pick.action, 'none') AS action,
  coalesce(pick.id, -1)::SMALLINT AS campaign_id,
  CASE WHEN pick IS NULL THEN 0.12 + 0.88 * (0.9 * round(exp(s_none) * 1e12) / zq_all + 0.1 / n)
       ELSE 0.88 * (0.9 * CASE pick.action WHEN 'cashback' THEN zq_cb WHEN 'referral_prompt' THEN zq_ref
                                           WHEN 'autopay_setup' THEN zq_ap WHEN 'card_on_file' THEN zq_cof
                                           ELSE zq_inst END / zq_all
                    + 0.1 * CASE pick.action WHEN 'cashback' THEN n_cb WHEN 'referral_prompt' THEN n_ref
                                             WHEN 'autopay_setup' THEN n_ap WHEN 'card_on_file' THEN n_cof
                                             ELSE n_inst END / n) END AS propensity,
  'logging-heuristic-v1' AS policy_version,
  surface,
  ctx_amount_usd,
  ctx_mcc,
  ctx_channel,
  ctx_auth_outcome,
  uid
FROM chosen;
