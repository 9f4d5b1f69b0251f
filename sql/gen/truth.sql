-- gen/truth: the known heterogeneous treatment effects of the synthetic world.
-- Parameters: none (reads users_core).
-- Output: table truth_core, one row per user: user_id, bucket, then for each offer action a (in
--   core/actions.ts order) base_<a> = P(goal a within its window | none) and uplift_<a> =
--   P(goal a | offer a) - base_<a>; uid last (generator-only, for joins and ordering).
--   These are exactly the probabilities gen/outcomes draws with. Evaluation only, never a feature.
-- Grain: one row per user.
-- Each uplift is driven by traits that show in users/payments features:
--   cashback          price-sensitive (small baskets, attr_02), merchant-checkout heavy, low income band
--   referral_prompt   engaged (many payments, attr_00), p2p-heavy (z_social), young, new account;
--                     old, disengaged, long-tenured users react negatively (sleeping dogs)
--   autopay_setup     recurring bill payers (is_recurring bill_pay) with autopay disabled
--   card_on_file      no card on file and many merchant checkouts
--   installment_offer credit eligible with high basket amounts
-- base + uplift always stays within [0.0005, 0.95].

CREATE OR REPLACE TABLE truth_core AS
WITH r AS (
  SELECT uid, user_id, bucket,
         -- cashback
         0.04 + 0.06 * sigm(z_engage) AS b_cb,
         -0.012 + 0.085 * price_sens * p_merch + 0.012 * (income_band <= 1)::INTEGER
           - 0.008 * (income_band >= 4)::INTEGER AS u_cb,
         -- referral_prompt
         0.015 + 0.035 * sigm(z_social + 0.5 * z_engage) AS b_ref,
         -0.02 + 0.09 * sigm(1.2 * z_engage + 1.0 * z_social + 0.8 * young::INTEGER
                             - 0.8 * (age >= 50)::INTEGER - 0.4 * (tenure_days > 730)::INTEGER - 0.5) AS u_ref,
         -- autopay_setup
         CASE WHEN autopay_enabled OR n_bills = 0 THEN 0.004 ELSE 0.02 + 0.03 * sigm(z_bills) END AS b_ap,
         CASE WHEN autopay_enabled THEN 0.0
              WHEN n_bills = 0 THEN 0.002
              ELSE 0.004 + 0.07 * sigm(1.5 * (z_bills - 0.3)) * least(n_bills, 3) / 3.0
                   - 0.012 * (age >= 60)::INTEGER END AS u_ap,
         -- card_on_file
         CASE WHEN has_card_on_file THEN 0.005 ELSE 0.025 + 0.03 * sigm(z_shop) END AS b_cof,
         CASE WHEN has_card_on_file THEN 0.001
              ELSE -0.005 + 0.08 * sigm(1.6 * z_shop - 0.3) * least(1.0, lam_total / 0.25) END AS u_cof,
         -- installment_offer
         CASE WHEN credit_eligible THEN 0.015 + 0.02 * sigm(z_bask) ELSE 0.001 END AS b_inst,
         CASE WHEN credit_eligible
              THEN -0.008 + 0.09 * sigm(2.0 * (ln(amt_scale) + 0.3 * (profile IN (3, 4))::INTEGER) - 0.2)
              ELSE 0.0 END AS u_inst
  FROM users_core
)
SELECT user_id, bucket,
       b_cb AS base_cashback,             clamp(u_cb, 0.0005 - b_cb, 0.95 - b_cb) AS uplift_cashback,
       b_ref AS base_referral_prompt,     clamp(u_ref, 0.0005 - b_ref, 0.95 - b_ref) AS uplift_referral_prompt,
       b_ap AS base_autopay_setup,        clamp(u_ap, 0.0005 - b_ap, 0.95 - b_ap) AS uplift_autopay_setup,
       b_cof AS base_card_on_file,        clamp(u_cof, 0.0005 - b_cof, 0.95 - b_cof) AS uplift_card_on_file,
       b_inst AS base_installment_offer,  clamp(u_inst, 0.0005 - b_inst, 0.95 - b_inst) AS uplift_installment_offer,
       uid
FROM r
ORDER BY bucket;
