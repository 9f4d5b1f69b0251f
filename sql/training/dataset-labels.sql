-- training/dataset-labels: matured, last-touch-attributed labels of logged decisions.
-- Parameters: $as_of DATE (outcomes and maturity are judged before it), $valid_frac DOUBLE and
--   $test_frac DOUBLE (split points, as fractions of the fully matured time range),
--   $w_cashback, $w_referral_prompt, $w_autopay_setup, $w_card_on_file, $w_installment_offer,
--   $w_none: attribution windows in seconds (core/attribution.ts, configurable).
-- Fragments: <decisions>, <outcomes>: read_parquet(...) over decision-log and outcome files in the
--   documented schema (docs/world-schema.md); nothing else of theirs is read. A decision_id that
--   appears more than once (`paydecide sink` writes at least once: a re-delivered batch can land in
--   a second file) counts once, its earliest row.
-- Output: temp table labelled, one row per logged decision before $as_of whose chosen action's
--   window has closed (matured): decision_id, user_id, decision_ts, action, campaign_id,
--   propensity, policy_version, surface, ctx_amount_usd, ctx_mcc, ctx_channel, ctx_auth_outcome,
--   label UTINYINT (goal of the chosen action attributed to this decision; for `none`, any goal
--   within the `none` window), y_<goal> UTINYINT per offer action (NULL while that goal's window
--   is still open), split VARCHAR ('train' | 'valid' | 'test', by decision time).
-- Grain: one row per matured decision.
-- Attribution is last touch: a goal event belongs to the user's latest decision before it whose
--   window for that goal still covers it. Counting an event for every earlier decision in its
--   window instead (plain user-window labels) doubled the 30-day labels on the synthetic world,
--   because an active user has several decisions in a month. Outcome rows' own decision_id, when a
--   log has one, is never read: real conversion events do not carry it.
-- Splits: let d0 be the first decision and m = $as_of - the longest offer window (every goal of a
--   decision before m has matured). Decisions before d0 + $valid_frac (m - d0) train, those
--   before d0 + $test_frac (m - d0) validate (early stopping, calibration), later ones test.
CREATE OR REPLACE TEMP TABLE labelled AS
WITH win(g, secs) AS (
  VALUES ('cashback', $w_cashback::BIGINT), ('referral_prompt', $w_referral_prompt::BIGINT),
         ('autopay_setup', $w_autopay_setup::BIGINT), ('card_on_file', $w_card_on_file::BIGINT),
         ('installment_offer', $w_installment_offer::BIGINT), ('none', $w_none::BIGINT)
),
d AS (
  SELECT decision_id, user_id, decision_ts, action, campaign_id, propensity, policy_version, surface,
         ctx_amount_usd, ctx_mcc, ctx_channel, ctx_auth_outcome
  FROM {{decisions}}
  WHERE decision_ts < $as_of::TIMESTAMP
  QUALIFY row_number() OVER (PARTITION BY decision_id ORDER BY decision_ts) = 1
),
o AS (
  SELECT o.user_id, o.goal, o.event_ts, w.secs
  FROM {{outcomes}} o JOIN win w ON w.g = o.goal
  WHERE o.event_ts < $as_of::TIMESTAMP
),
att AS (
  -- each event to the latest decision before it that its goal's window still covers
  SELECT o.goal, o.event_ts, arg_max(d.decision_id, d.decision_ts) AS decision_id
  FROM o JOIN d ON d.user_id = o.user_id AND d.decision_ts < o.event_ts
               AND o.event_ts <= d.decision_ts + to_seconds(o.secs)
  GROUP BY o.user_id, o.goal, o.event_ts
),
hit AS (
  SELECT decision_id,
         bool_or(goal = 'cashback') AS h_cashback,
         bool_or(goal = 'referral_prompt') AS h_referral_prompt,
         bool_or(goal = 'autopay_setup') AS h_autopay_setup,
         bool_or(goal = 'card_on_file') AS h_card_on_file,
         bool_or(goal = 'installment_offer') AS h_installment_offer
  FROM att a
  GROUP BY decision_id
),
none_hit AS (
  -- `none` decisions: any goal attributed to them that happened within the none window
  SELECT DISTINCT a.decision_id, true AS h_none
  FROM att a JOIN d USING (decision_id)
  WHERE d.action = 'none' AND a.event_ts <= d.decision_ts + to_seconds($w_none::BIGINT)
),
mat AS (
  SELECT d.*,
         coalesce(h.h_cashback, false) AS h_cashback, coalesce(h.h_referral_prompt, false) AS h_referral_prompt,
         coalesce(h.h_autopay_setup, false) AS h_autopay_setup, coalesce(h.h_card_on_file, false) AS h_card_on_file,
         coalesce(h.h_installment_offer, false) AS h_installment_offer,
         -- matured: the goal's window closed before as_of
         d.decision_ts + to_seconds($w_cashback::BIGINT) < $as_of::TIMESTAMP AS m_cashback,
         d.decision_ts + to_seconds($w_referral_prompt::BIGINT) < $as_of::TIMESTAMP AS m_referral_prompt,
         d.decision_ts + to_seconds($w_autopay_setup::BIGINT) < $as_of::TIMESTAMP AS m_autopay_setup,
         d.decision_ts + to_seconds($w_card_on_file::BIGINT) < $as_of::TIMESTAMP AS m_card_on_file,
         d.decision_ts + to_seconds($w_installment_offer::BIGINT) < $as_of::TIMESTAMP AS m_installment_offer,
         d.decision_ts + to_seconds($w_none::BIGINT) < $as_of::TIMESTAMP AS m_none
  FROM d LEFT JOIN hit h USING (decision_id)
),
ylab AS (
  SELECT mat.*,
         CASE WHEN m_cashback THEN h_cashback::UTINYINT END AS y_cashback,
         CASE WHEN m_referral_prompt THEN h_referral_prompt::UTINYINT END AS y_referral_prompt,
         CASE WHEN m_autopay_setup THEN h_autopay_setup::UTINYINT END AS y_autopay_setup,
         CASE WHEN m_card_on_file THEN h_card_on_file::UTINYINT END AS y_card_on_file,
         CASE WHEN m_installment_offer THEN h_installment_offer::UTINYINT END AS y_installment_offer
  FROM mat
),
bounds AS (
  SELECT min(decision_ts) AS d0,
         $as_of::TIMESTAMP - to_seconds(greatest($w_cashback::BIGINT, $w_referral_prompt::BIGINT, $w_autopay_setup::BIGINT,
                                                 $w_card_on_file::BIGINT, $w_installment_offer::BIGINT)) AS m
  FROM d
)
SELECT y.decision_id, y.user_id, y.decision_ts, y.action, y.campaign_id, y.propensity, y.policy_version, y.surface,
       y.ctx_amount_usd, y.ctx_mcc, y.ctx_channel, y.ctx_auth_outcome,
       (CASE y.action
          WHEN 'cashback' THEN y.y_cashback WHEN 'referral_prompt' THEN y.y_referral_prompt
          WHEN 'autopay_setup' THEN y.y_autopay_setup WHEN 'card_on_file' THEN y.y_card_on_file
          WHEN 'installment_offer' THEN y.y_installment_offer
          ELSE CASE WHEN y.m_none THEN coalesce(n.h_none, false)::UTINYINT END END)::UTINYINT AS label,
       y.y_cashback, y.y_referral_prompt, y.y_autopay_setup, y.y_card_on_file, y.y_installment_offer,
       CASE WHEN y.decision_ts < make_timestamp((epoch_us(b.d0) + (epoch_us(b.m) - epoch_us(b.d0)) * $valid_frac::DOUBLE)::BIGINT) THEN 'train'
            WHEN y.decision_ts < make_timestamp((epoch_us(b.d0) + (epoch_us(b.m) - epoch_us(b.d0)) * $test_frac::DOUBLE)::BIGINT) THEN 'valid'
            ELSE 'test' END AS split
FROM ylab y CROSS JOIN bounds b LEFT JOIN none_hit n USING (decision_id)
WHERE CASE y.action
        WHEN 'cashback' THEN y.m_cashback WHEN 'referral_prompt' THEN y.m_referral_prompt
        WHEN 'autopay_setup' THEN y.m_autopay_setup WHEN 'card_on_file' THEN y.m_card_on_file
        WHEN 'installment_offer' THEN y.m_installment_offer ELSE y.m_none END;
