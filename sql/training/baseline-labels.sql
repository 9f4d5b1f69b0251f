-- baseline-labels: matured labels of logged decisions for the baseline per-action models.
-- Parameters: $as_of DATE (labels use only outcomes before it), $from TIMESTAMP (first decision),
--             $w_cashback, $w_referral_prompt, $w_autopay_setup, $w_card_on_file,
--             $w_installment_offer, $w_none: attribution windows in seconds (core/attribution.ts).
-- Fragments:  <decisions>, <outcomes>: read_parquet(...) over the world's files.
-- Output:     temp table train_rows, one row per matured decision: decision_id, user_id,
--             decision_ts, action, propensity, label (1 when a goal event of the action — any goal
--             for `none` — falls in (decision_ts, decision_ts + window]). Decisions whose window has
--             not closed before as_of are left out, never counted as negatives.
CREATE OR REPLACE TEMP TABLE train_rows AS
WITH win(action, secs) AS (
  VALUES ('cashback', $w_cashback::BIGINT), ('referral_prompt', $w_referral_prompt::BIGINT),
         ('autopay_setup', $w_autopay_setup::BIGINT), ('card_on_file', $w_card_on_file::BIGINT),
         ('installment_offer', $w_installment_offer::BIGINT), ('none', $w_none::BIGINT)
),
d AS (
  SELECT d.decision_id, d.user_id, d.decision_ts, d.action, d.propensity,
         d.decision_ts + to_seconds(w.secs) AS window_end
  FROM {{decisions}} d JOIN win w ON w.action = d.action
  WHERE d.decision_ts >= $from::TIMESTAMP
    AND d.decision_ts + to_seconds(w.secs) < $as_of::TIMESTAMP
),
hits AS (
  SELECT DISTINCT d.decision_id
  FROM d JOIN {{outcomes}} o
    ON o.user_id = d.user_id
   AND (o.goal = d.action OR d.action = 'none')
   AND o.event_ts > d.decision_ts AND o.event_ts <= d.window_end
  WHERE o.event_ts < $as_of::TIMESTAMP
)
SELECT d.decision_id, d.user_id, d.decision_ts, d.action, d.propensity,
       (h.decision_id IS NOT NULL)::UTINYINT AS label
FROM d LEFT JOIN hits h USING (decision_id);
