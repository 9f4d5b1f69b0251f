-- gen/outcomes: goal events that follow the logged decisions of one chunk of users.
-- Parameters: $seed BIGINT, $lo TIMESTAMP, $hi TIMESTAMP (keep events with event_ts in [$lo, $hi)).
-- Input: tables dec (the chunk's decisions, including those made up to 31 days before $lo, whose
--   late events may fall in the range), truth_core, cu, gen_goal.
-- Output: table outc, one row per goal event: the contract columns of W/outcomes
--   (docs/world-schema.md) in order, then uid (generator-only).
-- Grain: one row per (decision, goal) whose event happened, with event_ts in [$lo, $hi).
-- For every decision and every goal g: the event happens within g's attribution window with
-- probability base_g + (g = chosen action ? uplift_g : 0) (truth_core, exactly), after a delay
-- window_g * u^k (k = 1.5 for the 1-hour in-session goals, 2-2.5 for the 7/30-day ones: skewed to
-- the start), at least one second. Pure function of (seed, decision_id, goal): a decision's late
-- events come out the same whichever run generates them.

CREATE OR REPLACE TABLE outc AS
WITH x AS (
  SELECT d.uid, d.user_id, d.bucket, d.decision_id, d.decision_ts, g.goal, g.window_s, g.delay_pow, g.value_mu,
         u.amt_scale,
         CASE g.goal
           WHEN 'cashback' THEN t.base_cashback + CASE WHEN d.action = 'cashback' THEN t.uplift_cashback ELSE 0 END
           WHEN 'referral_prompt' THEN t.base_referral_prompt + CASE WHEN d.action = 'referral_prompt' THEN t.uplift_referral_prompt ELSE 0 END
           WHEN 'autopay_setup' THEN t.base_autopay_setup + CASE WHEN d.action = 'autopay_setup' THEN t.uplift_autopay_setup ELSE 0 END
           WHEN 'card_on_file' THEN t.base_card_on_file + CASE WHEN d.action = 'card_on_file' THEN t.uplift_card_on_file ELSE 0 END
           ELSE t.base_installment_offer + CASE WHEN d.action = 'installment_offer' THEN t.uplift_installment_offer ELSE 0 END
         END AS p,
         rnd($seed::BIGINT, d.decision_id, g.gidx, 61) AS h
  FROM dec d
  JOIN truth_core t USING (uid)
  JOIN cu u USING (uid)
  CROSS JOIN gen_goal g
),
ev AS (
  SELECT *,
         decision_ts + to_milliseconds(greatest(1000, floor(window_s * 1000.0 * pow(u20(h, 1), delay_pow)))::BIGINT) AS event_ts
  FROM x
  WHERE u20(h, 0) < p
)
SELECT
  user_id,
  bucket,
  goal,
  event_ts,
  round(exp(value_mu + 0.5 * nrm(rnd($seed::BIGINT, decision_id, goal, 62)))
        * CASE WHEN goal IN ('cashback', 'installment_offer') THEN amt_scale ELSE 1.0 END, 2) AS value_usd,
  decision_id,
  uid
FROM ev
WHERE event_ts >= $lo::TIMESTAMP AND event_ts < $hi::TIMESTAMP;
