-- exposure: campaign exposure and fatigue from the decision log, and recent goal events.
-- Parameters: $as_of DATE (exclusive end).
-- Fragments:  <decisions> and <outcomes>: read_parquet(...) calls over the slice's files.
--             Temp table user_static (users-static.sql) must exist.
-- Output:     temp table exposure, one row per user with an offer or a goal event in the
--             60 days before as_of: ri, then as FLOAT (NULL = registry default) offers_7d, offers_30d, offers_<action>_30d (five),
--             days_since_last_offer, goal_events_30d, goal_value_30d.
CREATE OR REPLACE TEMP TABLE exposure AS
WITH d AS (
  SELECT user_id, decision_ts, action
  FROM {{decisions}}
  WHERE action <> 'none'
    AND decision_ts >= $as_of::TIMESTAMP - INTERVAL 60 DAY AND decision_ts < $as_of::TIMESTAMP
),
da AS (
  SELECT
    user_id,
    count(*) FILTER (WHERE decision_ts >= $as_of::TIMESTAMP - INTERVAL 7 DAY)  AS offers_7d,
    count(*) FILTER (WHERE decision_ts >= $as_of::TIMESTAMP - INTERVAL 30 DAY) AS offers_30d,
    count(*) FILTER (WHERE decision_ts >= $as_of::TIMESTAMP - INTERVAL 30 DAY AND action = 'cashback')          AS offers_cashback_30d,
    count(*) FILTER (WHERE decision_ts >= $as_of::TIMESTAMP - INTERVAL 30 DAY AND action = 'referral_prompt')   AS offers_referral_prompt_30d,
    count(*) FILTER (WHERE decision_ts >= $as_of::TIMESTAMP - INTERVAL 30 DAY AND action = 'autopay_setup')     AS offers_autopay_setup_30d,
    count(*) FILTER (WHERE decision_ts >= $as_of::TIMESTAMP - INTERVAL 30 DAY AND action = 'card_on_file')      AS offers_card_on_file_30d,
    count(*) FILTER (WHERE decision_ts >= $as_of::TIMESTAMP - INTERVAL 30 DAY AND action = 'installment_offer') AS offers_installment_offer_30d,
    epoch($as_of::TIMESTAMP - max(decision_ts)) / 86400.0 AS days_since_last_offer
  FROM d GROUP BY user_id
),
o AS (
  SELECT user_id, count(*) AS goal_events_30d, sum(value_usd) AS goal_value_30d
  FROM {{outcomes}}
  WHERE event_ts >= $as_of::TIMESTAMP - INTERVAL 30 DAY AND event_ts < $as_of::TIMESTAMP
  GROUP BY user_id
)
SELECT
  s.ri,
  da.offers_7d::FLOAT AS offers_7d,
  da.offers_30d::FLOAT AS offers_30d,
  da.offers_cashback_30d::FLOAT AS offers_cashback_30d,
  da.offers_referral_prompt_30d::FLOAT AS offers_referral_prompt_30d,
  da.offers_autopay_setup_30d::FLOAT AS offers_autopay_setup_30d,
  da.offers_card_on_file_30d::FLOAT AS offers_card_on_file_30d,
  da.offers_installment_offer_30d::FLOAT AS offers_installment_offer_30d,
  da.days_since_last_offer::FLOAT AS days_since_last_offer,
  o.goal_events_30d::FLOAT AS goal_events_30d,
  o.goal_value_30d::FLOAT AS goal_value_30d
FROM da FULL OUTER JOIN o ON da.user_id = o.user_id
JOIN user_static s ON s.user_id = coalesce(da.user_id, o.user_id);
