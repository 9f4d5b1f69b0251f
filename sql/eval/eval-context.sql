-- eval/eval-context: what the evaluation report needs beside the training set, per decision.
-- Parameters: none.
-- Fragments: <users>, <campaigns>: read_parquet(...) over the world's users and campaigns;
--   <truth>: the synthetic world's truth table, or a zero-row stand-in with its columns.
-- Input: temp table dataset (jobs/dataset/build-dataset.ts).
-- Output: temp table eval_ctx, one row per dataset row: decision_ts, decision_id (read it ORDER
--   BY these two, the dataset's order: the instance does not preserve insertion order), elig UTINYINT (bit g = offer action g of core/actions.ts had a campaign the
--   logging policy could choose: running that day, the user's country, KYC tier and credit, the
--   surface's channels — in_app online; e-mail/push/SMS with marketing consent for CRM — no
--   opt-out, and for online decisions an MCC the campaign does not exclude), has_truth BOOLEAN,
--   then base_<a> and uplift_<a> DOUBLE per offer action (0 without truth).
-- Grain: one row per dataset row.
CREATE OR REPLACE TEMP TABLE eval_ctx AS
WITH camp AS (
  SELECT c.*, unnest(c.countries) AS country FROM {{campaigns}} c
),
el AS (
  SELECT d.decision_id,
         bit_or(CASE c.action WHEN 'cashback' THEN 1 WHEN 'referral_prompt' THEN 2 WHEN 'autopay_setup' THEN 4
                              WHEN 'card_on_file' THEN 8 ELSE 16 END)::UTINYINT AS elig
  FROM dataset d
  JOIN {{users}} u ON u.user_id = d.user_id
  JOIN camp c ON c.country = u.country
  WHERE u.kyc_tier >= c.min_kyc_tier
    AND (NOT c.requires_credit OR u.credit_eligible)
    AND c.start_date <= d.decision_ts::DATE AND d.decision_ts::DATE <= c.end_date
    AND (c.channel = 'in_app') = (d.surface = 'online')
    AND (c.channel = 'in_app' OR u.marketing_consent)
    AND NOT CASE c.channel WHEN 'email' THEN u.optout_email WHEN 'push' THEN u.optout_push
                           WHEN 'sms' THEN u.optout_sms ELSE u.optout_in_app END
    AND (d.surface <> 'online' OR d.ctx_mcc IS NULL OR NOT list_contains(c.excluded_mccs, d.ctx_mcc))
  GROUP BY d.decision_id
)
SELECT d.decision_ts, d.decision_id,
       coalesce(el.elig, 0)::UTINYINT AS elig,
       (t.user_id IS NOT NULL) AS has_truth,
       coalesce(t.base_cashback, 0)::DOUBLE AS base_cashback, coalesce(t.uplift_cashback, 0)::DOUBLE AS uplift_cashback,
       coalesce(t.base_referral_prompt, 0)::DOUBLE AS base_referral_prompt, coalesce(t.uplift_referral_prompt, 0)::DOUBLE AS uplift_referral_prompt,
       coalesce(t.base_autopay_setup, 0)::DOUBLE AS base_autopay_setup, coalesce(t.uplift_autopay_setup, 0)::DOUBLE AS uplift_autopay_setup,
       coalesce(t.base_card_on_file, 0)::DOUBLE AS base_card_on_file, coalesce(t.uplift_card_on_file, 0)::DOUBLE AS uplift_card_on_file,
       coalesce(t.base_installment_offer, 0)::DOUBLE AS base_installment_offer, coalesce(t.uplift_installment_offer, 0)::DOUBLE AS uplift_installment_offer
FROM dataset d
LEFT JOIN el USING (decision_id)
LEFT JOIN {{truth}} t ON t.user_id = d.user_id;
