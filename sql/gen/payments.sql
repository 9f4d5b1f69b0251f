-- gen/payments: payment attempts of one chunk of users over a range of days.
-- Parameters: $seed BIGINT, $from DATE (first day, inclusive), $to DATE (exclusive).
-- Input: table cu (the chunk's rows of users_core), gen_* lookup tables from gen/setup.
-- Output: table pay, one row per payment attempt with ts in [$from, $to): the contract columns of
--   W/payments (docs/world-schema.md) in order, then uid, eday, j (generator-only: user, day number
--   since 1970-01-01 and payment index of the day, the key the decisions hash on).
-- Grain: one row per payment attempt.
-- Per-day determinism: everything about user u's payments on day d is a pure function of
-- (seed, u, d) and u's attributes, so any range of days can be generated on its own (world
-- extension) and gives the same rows as a longer range. Two streams:
--   ad hoc   per (user, day) a Poisson count with rate lam_adhoc x weekday factor (the hash is
--            compared with P(0) first, so ~80% of user-days cost one hash), then per payment:
--            channel from the user's mix, MCC from the user's spending profile (55%) or the
--            everyday mix, merchant by Zipf rank within the MCC (or the user's favourite one),
--            log-normal amount by MCC x the user's basket scale, time of day ~ N(13:30, 4.2h).
--   bills    n_bills recurring billers per user, each due on a fixed day of the month: paid on
--            the due day at 02-04h by autopay users, else by hand 3 days before to 2 days after.
-- Then for both: payment method, decline (4-8%, higher for risky users, cards/BNPL, gambling and
-- quasi-cash, large amounts) with an ISO decline code, device and instrument tokens.

CREATE OR REPLACE TABLE pay AS
WITH days AS (
  SELECT ($from::DATE + i::INTEGER) AS day,
         ($from::DATE - DATE '1970-01-01')::INTEGER + i::INTEGER AS eday,
         [1.0, 0.97, 0.99, 1.02, 1.16, 1.06, 0.80][isodow($from::DATE + i::INTEGER)] AS dowf
  FROM range($to::DATE - $from::DATE) r(i)
),
ud AS (
  SELECT u.uid, d.day, d.eday, u.lam_adhoc * d.dowf AS lam,
         u53(rnd($seed::BIGINT, u.uid, d.eday, 21)) AS r
  FROM cu u CROSS JOIN days d
),
adhoc_keys AS (
  SELECT uid, day, eday, unnest(range(pois_count(r, lam))) AS j
  FROM ud
  WHERE r >= exp(-lam)
),
adhoc AS (
  SELECT k.uid, k.day, k.eday, k.j::INTEGER AS j, u.profile, u.amt_scale, u.p_p2p, u.p_bill,
         rnd($seed::BIGINT, k.uid, k.eday, k.j, 22) AS ha,
         rnd($seed::BIGINT, k.uid, k.eday, k.j, 23) AS hb,
         rnd($seed::BIGINT, k.uid, k.eday, k.j, 24) AS hc,
         rnd($seed::BIGINT, k.uid, k.eday, k.j, 26) AS he
  FROM adhoc_keys k JOIN cu u USING (uid)
),
adhoc_ch AS (
  SELECT *,
         CASE WHEN u20(ha, 2) < p_p2p THEN 'p2p'
              WHEN u20(ha, 2) < p_p2p + p_bill THEN 'bill_pay'
              ELSE 'merchant_checkout' END AS channel
  FROM adhoc
),
adhoc_full AS (
  SELECT a.uid, a.day, a.eday, a.j, a.channel, b.mcc, b.kind,
         CASE WHEN a.channel = 'p2p' THEN NULL
              ELSE b.m_offset + least(b.n_merchants, greatest(1, floor(pow(b.n_merchants,
                     CASE WHEN u20(a.hc, 1) < CASE a.channel WHEN 'bill_pay' THEN 0.8 ELSE 0.45 END
                          THEN u20(rnd($seed::BIGINT, a.uid, b.mcc::INTEGER, 27), 0)
                          ELSE u20(a.hc, 0) END))))::INTEGER - 1 END AS midx,
         exp(b.mu + b.sigma * nrm(a.hb)) * CASE WHEN a.channel = 'p2p' THEN sqrt(a.amt_scale) ELSE a.amt_scale END AS usd_raw,
         b.decline_mult,
         ((floor((CASE WHEN a.profile = 5 THEN 20.5 ELSE 13.5 END + 4.2 * nrm(a.ha)) * 3600)::BIGINT % 86400 + 86400) % 86400) * 1000
           + floor(1000 * u20(a.he, 0))::BIGINT AS tod_ms,
         u20(a.he, 1) < 0.55 AS round_p2p,
         false AS is_recurring
  FROM adhoc_ch a
  JOIN gen_mcc_bins b
    ON b.profile = CASE a.channel WHEN 'p2p' THEN 0 WHEN 'bill_pay' THEN 6
                                  ELSE CASE WHEN u20(a.he, 2) < 0.55 THEN a.profile ELSE 0 END END
   AND b.bin = floor(1000 * u20(a.hb, 2))::INTEGER
),
bills AS (
  SELECT u.uid, k.k::INTEGER AS k, u.amt_scale, u.autopay_enabled,
         rnd($seed::BIGINT, u.uid, k.k, 31) AS hk
  FROM cu u CROSS JOIN range(4) k(k)
  WHERE k.k < u.n_bills
),
bill_defs AS (
  SELECT bl.uid, bl.k, bl.autopay_enabled, b.mcc, b.kind, b.decline_mult,
         1 + floor(28 * u20(bl.hk, 1))::INTEGER AS due_dom,
         b.m_offset + least(b.n_merchants, greatest(1, floor(pow(b.n_merchants, u20(bl.hk, 2)))))::INTEGER - 1 AS midx,
         exp(b.mu + b.sigma * nrm(rnd($seed::BIGINT, bl.uid, bl.k, 32))) * sqrt(bl.amt_scale) AS usd_base
  FROM bills bl
  JOIN gen_mcc_bins b ON b.profile = 6 AND b.bin = floor(1000 * u20(bl.hk, 0))::INTEGER
),
months AS (
  SELECT m::DATE AS month, (year(m) * 12 + month(m))::INTEGER AS emonth
  FROM range(date_trunc('month', $from::DATE - 7)::TIMESTAMP, ($to::DATE + 7)::TIMESTAMP, INTERVAL 1 MONTH) r(m)
),
bill_runs AS (
  SELECT d.*, m.emonth,
         (m.month + (d.due_dom - 1)) AS due,
         rnd($seed::BIGINT, d.uid, d.k, m.emonth, 33) AS hm
  FROM bill_defs d CROSS JOIN months m
),
bill_pays AS (
  SELECT uid, k, mcc, kind, decline_mult, midx, is_day AS day,
         (is_day - DATE '1970-01-01')::INTEGER AS eday,
         100 + k AS j,
         'bill_pay' AS channel,
         usd_base * CASE WHEN mcc = '4900' THEN exp(0.12 * nrm(rnd($seed::BIGINT, uid, k, emonth, 35))) ELSE 1.0 END AS usd_raw,
         CASE WHEN autopay_enabled THEN floor((2 + 2 * u20(hm, 2)) * 3600000)::BIGINT
              ELSE ((floor((19.0 + 3.0 * nrm(hm)) * 3600)::BIGINT % 86400 + 86400) % 86400) * 1000
                   + floor(1000 * u20(hm, 2))::BIGINT END AS tod_ms
  FROM (SELECT *, CASE WHEN autopay_enabled THEN due
                       ELSE due + (-3 + floor(6 * u20(rnd($seed::BIGINT, uid, k, emonth, 34), 0)))::INTEGER END AS is_day
        FROM bill_runs)
  WHERE is_day >= $from::DATE AND is_day < $to::DATE
),
allp AS (
  SELECT uid, day, eday, j, channel, mcc, midx, usd_raw, decline_mult, tod_ms, round_p2p, is_recurring FROM adhoc_full
  UNION ALL
  SELECT uid, day, eday, j, channel, mcc, midx, usd_raw, decline_mult, tod_ms, false, true FROM bill_pays
),
priced AS (
  SELECT p.*, u.user_id, u.bucket, u.currency, u.fx_per_usd, u.credit_eligible, u.has_bank_linked,
         u.autopay_enabled, u.decl_mult, u.income_band, u.device_token, u.device_token2,
         u.instrument_token, u.tok_bank, u.tok_wallet, u.tok_bnpl, u.tok_balance,
         CASE WHEN p.channel = 'p2p' AND p.round_p2p
              THEN greatest(5.0, round(p.usd_raw * u.fx_per_usd / 5.0) * 5.0)
              ELSE greatest(0.5, round(p.usd_raw * u.fx_per_usd, 2)) END AS amount,
         rnd($seed::BIGINT, p.uid, p.eday, p.j, 25) AS hd,
         rnd($seed::BIGINT, p.uid, p.eday, p.j, 28) AS hf
  FROM allp p JOIN cu u USING (uid)
),
methods AS (
  SELECT *, round(amount / fx_per_usd, 2) AS amount_usd,
         CASE channel
           WHEN 'p2p' THEN CASE WHEN u20(hf, 0) < 0.45 THEN 'balance'
                                WHEN u20(hf, 0) < 0.80 THEN CASE WHEN has_bank_linked THEN 'bank' ELSE 'balance' END
                                ELSE 'card' END
           WHEN 'bill_pay' THEN CASE WHEN is_recurring AND autopay_enabled THEN CASE WHEN has_bank_linked THEN 'bank' ELSE 'card' END
                                     WHEN u20(hf, 0) < 0.55 THEN CASE WHEN has_bank_linked THEN 'bank' ELSE 'card' END
                                     WHEN u20(hf, 0) < 0.90 THEN 'card'
                                     ELSE 'wallet' END
           ELSE CASE WHEN u20(hf, 0) < 0.12 THEN CASE WHEN credit_eligible AND amount / fx_per_usd > 50 THEN 'bnpl' ELSE 'card' END
                     WHEN u20(hf, 0) < 0.64 THEN 'card'
                     WHEN u20(hf, 0) < 0.89 THEN 'wallet'
                     WHEN u20(hf, 0) < 0.96 THEN 'balance'
                     ELSE CASE WHEN has_bank_linked THEN 'bank' ELSE 'card' END END
         END AS payment_method
  FROM priced
),
declined AS (
  SELECT *,
         u20(hd, 0) < least(0.85, 0.058 * decl_mult * decline_mult
                              * CASE payment_method WHEN 'card' THEN 1.25 WHEN 'bnpl' THEN 1.6 WHEN 'bank' THEN 0.9
                                                    WHEN 'wallet' THEN 0.6 ELSE 0.35 END
                              * (1 + 0.12 * ln(1 + amount_usd / 50.0))) AS is_declined,
         u20(hd, 1) AS ucode,
         0.33 + 0.12 * (income_band <= 1)::INTEGER AS t51
  FROM methods
)
SELECT
  'pay_' || uid::VARCHAR || '_' || eday::VARCHAR || '_' || j::VARCHAR AS payment_id,
  user_id,
  bucket,
  day::TIMESTAMP + to_milliseconds(tod_ms) AS ts,
  amount,
  amount_usd,
  currency,
  mcc,
  m.merchant_id,
  channel,
  payment_method,
  CASE WHEN is_declined THEN 'declined' ELSE 'approved' END AS auth_outcome,
  CASE WHEN NOT is_declined THEN NULL
       WHEN ucode < t51 THEN '51'
       WHEN ucode < t51 + 0.22 THEN '05'
       WHEN ucode < t51 + 0.32 THEN '61'
       WHEN ucode < t51 + 0.42 THEN '57'
       WHEN ucode < t51 + 0.50 THEN '54'
       WHEN ucode < t51 + 0.57 THEN '91'
       ELSE '65' END AS decline_code,
  CASE WHEN u20(hd, 2) < 0.92 THEN device_token ELSE device_token2 END AS device_token,
  CASE payment_method WHEN 'card' THEN instrument_token WHEN 'bank' THEN tok_bank WHEN 'wallet' THEN tok_wallet
                      WHEN 'bnpl' THEN tok_bnpl ELSE tok_balance END AS instrument_token,
  is_recurring,
  uid, eday, j
FROM declined d
LEFT JOIN gen_merchant m ON m.midx = d.midx;
