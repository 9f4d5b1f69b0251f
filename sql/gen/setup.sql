-- gen/setup: macros and static lookup tables of the synthetic world generator.
-- Parameters: $seed (BIGINT) - only the merchant ids depend on it.
-- Output (tables in the generator's own in-memory database, not files):
--   gen_country  one row per country: country, weight, cum_lo, cum_hi, currency, fx_per_usd,
--                residency_region, regions VARCHAR[]
--   gen_country_bins one row per bin 0..999: country (inverse-CDF lookup)
--   gen_mcc      one row per MCC: mcc, kind ('merchant'|'biller'|'p2p'), mu (log USD median),
--                sigma, decline_mult, n_merchants, m_offset (first merchant index of the MCC)
--   gen_mcc_bins one row per (profile 0..6, bin 0..999): mcc and its gen_mcc columns -- the
--                inverse-CDF lookup of each spending profile's MCC mix (profile 6 = billers)
--   gen_merchant one row per merchant (~51k): midx, merchant_id
--   gen_goal     one row per offer action: goal, gidx (ACTIONS order), window_s, delay_pow, value_mu
-- Randomness: every draw is a pure function of rnd(seed, ids, a tag) (DuckDB's hash()), so the
-- world is the same for the same seed on any machine with the same DuckDB version.

-- rnd(...) is the one source of randomness: DuckDB's hash() of the arguments, hashed again.
-- The second round matters: hash(a, b, tag1) and hash(a, b, tag2) combine their arguments with a
-- weak mix and came out strongly correlated (corr ~0.9 between lanes, measured on 1.5.6); the
-- final 64-bit hash() decorrelates them (|corr| < 0.003).
CREATE OR REPLACE MACRO rnd(a, b) AS hash(hash(a, b)),
  (a, b, c) AS hash(hash(a, b, c)),
  (a, b, c, d) AS hash(hash(a, b, c, d)),
  (a, b, c, d, e) AS hash(hash(a, b, c, d, e)),
  (a, b, c, d, e, f) AS hash(hash(a, b, c, d, e, f));
-- A 64-bit hash gives three independent 20-bit lanes (bits 0-19, 20-39, 40-59): u20 is a
-- uniform in (0,1), nrm a standard normal by Box-Muller from lanes 0 and 1 (lane 2 stays free).
-- (Shift and mask are UBIGINT: mixing UBIGINT with INTEGER literals promotes to HUGEINT, 5x slower.)
CREATE OR REPLACE MACRO u20(h, k) AS ((((h >> (20 * k)::UBIGINT) & 1048575::UBIGINT)::DOUBLE + 0.5) / 1048576.0);
-- A 53-bit uniform in [0,1) for the draws that need the resolution (daily activity counts).
CREATE OR REPLACE MACRO u53(h) AS ((h >> 11::UBIGINT)::DOUBLE / 9007199254740992.0);
CREATE OR REPLACE MACRO nrm(h) AS (sqrt(-2.0 * ln(u20(h, 0))) * cos(2.0 * pi() * u20(h, 1)));
CREATE OR REPLACE MACRO sigm(x) AS (1.0 / (1.0 + exp(-(x))));
CREATE OR REPLACE MACRO clamp(x, lo, hi) AS (least(greatest(x, lo), hi));
-- Logistic noise (sd ~1) from one uniform: cheaper than Box-Muller where the shape hardly matters.
CREATE OR REPLACE MACRO lgt(u) AS (0.5513 * ln(u / (1.0 - u)));
-- Hash-like token that can never contain a 13+ digit run (two 8-hex groups split by '-').
CREATE OR REPLACE MACRO tok(prefix, m) AS (prefix || substr(m, 1, 8) || '-' || substr(m, 9, 8));
-- Poisson(l) draw by inverse CDF, for a uniform u already known to be >= exp(-l) (at least one
-- event): the first k with u < F_k (capped at 13 events a day). A CASE, not a sum of tests:
-- DuckDB evaluates later branches only for the rows still open, and ~90% stop at F_1.
CREATE OR REPLACE MACRO pois_count(u, l) AS (CASE
    WHEN u < exp(-l) * (1 + l) THEN 1
    WHEN u < exp(-l) * (1 + l + l * l / 2) THEN 2
    WHEN u < exp(-l) * (1 + l + l * l / 2 + l * l * l / 6) THEN 3
    WHEN u < exp(-l) * (1 + l + l * l / 2 + l * l * l / 6 + l * l * l * l / 24) THEN 4
    WHEN u < exp(-l) * (1 + l + l * l / 2 + l * l * l / 6 + l * l * l * l / 24 + l * l * l * l * l / 120) THEN 5
    WHEN u < exp(-l) * (1 + l + l * l / 2 + l * l * l / 6 + l * l * l * l / 24 + l * l * l * l * l / 120 + l * l * l * l * l * l / 720) THEN 6
    WHEN u < exp(-l) * (1 + l + l * l / 2 + l * l * l / 6 + l * l * l * l / 24 + l * l * l * l * l / 120 + l * l * l * l * l * l / 720 + l * l * l * l * l * l * l / 5040) THEN 7
    WHEN u < exp(-l) * (1 + l + l * l / 2 + l * l * l / 6 + l * l * l * l / 24 + l * l * l * l * l / 120 + l * l * l * l * l * l / 720 + l * l * l * l * l * l * l / 5040 + l * l * l * l * l * l * l * l / 40320) THEN 8
    WHEN u < exp(-l) * (1 + l + l * l / 2 + l * l * l / 6 + l * l * l * l / 24 + l * l * l * l * l / 120 + l * l * l * l * l * l / 720 + l * l * l * l * l * l * l / 5040 + l * l * l * l * l * l * l * l / 40320 + l * l * l * l * l * l * l * l * l / 362880) THEN 9
    WHEN u < exp(-l) * (1 + l + l * l / 2 + l * l * l / 6 + l * l * l * l / 24 + l * l * l * l * l / 120 + l * l * l * l * l * l / 720 + l * l * l * l * l * l * l / 5040 + l * l * l * l * l * l * l * l / 40320 + l * l * l * l * l * l * l * l * l / 362880 + l * l * l * l * l * l * l * l * l * l / 3628800) THEN 10
    WHEN u < exp(-l) * (1 + l + l * l / 2 + l * l * l / 6 + l * l * l * l / 24 + l * l * l * l * l / 120 + l * l * l * l * l * l / 720 + l * l * l * l * l * l * l / 5040 + l * l * l * l * l * l * l * l / 40320 + l * l * l * l * l * l * l * l * l / 362880 + l * l * l * l * l * l * l * l * l * l / 3628800 + l * l * l * l * l * l * l * l * l * l * l / 39916800) THEN 11
    WHEN u < exp(-l) * (1 + l + l * l / 2 + l * l * l / 6 + l * l * l * l / 24 + l * l * l * l * l / 120 + l * l * l * l * l * l / 720 + l * l * l * l * l * l * l / 5040 + l * l * l * l * l * l * l * l / 40320 + l * l * l * l * l * l * l * l * l / 362880 + l * l * l * l * l * l * l * l * l * l / 3628800 + l * l * l * l * l * l * l * l * l * l * l / 39916800 + l * l * l * l * l * l * l * l * l * l * l * l / 479001600) THEN 12
    ELSE 13 END);

CREATE OR REPLACE TABLE gen_country AS
WITH c(ord, country, weight, currency, fx_per_usd, residency_region, regions) AS (VALUES
  (1, 'US', 0.42, 'USD', 1.00, 'us',    ['us-east', 'us-west', 'us-central', 'us-south']),
  (2, 'GB', 0.12, 'GBP', 0.79, 'uk',    ['gb-london', 'gb-southeast', 'gb-north', 'gb-scotland']),
  (3, 'DE', 0.10, 'EUR', 0.92, 'eu',    ['de-by', 'de-nw', 'de-be', 'de-he']),
  (4, 'FR', 0.08, 'EUR', 0.92, 'eu',    ['fr-idf', 'fr-ara', 'fr-paca']),
  (5, 'ES', 0.06, 'EUR', 0.92, 'eu',    ['es-md', 'es-ct', 'es-an']),
  (6, 'CA', 0.09, 'CAD', 1.36, 'ca',    ['ca-on', 'ca-qc', 'ca-bc', 'ca-ab']),
  (7, 'MX', 0.07, 'MXN', 17.10, 'latam', ['mx-cmx', 'mx-jal', 'mx-nle']),
  (8, 'BR', 0.06, 'BRL', 5.00, 'latam', ['br-sp', 'br-rj', 'br-mg'])
),
cum AS (SELECT *, sum(weight) OVER (ORDER BY ord ROWS UNBOUNDED PRECEDING) AS hi FROM c)
SELECT country, weight::DOUBLE AS weight, (hi - weight)::DOUBLE AS cum_lo,
       CASE WHEN ord = 8 THEN 1.0 ELSE hi END::DOUBLE AS cum_hi,
       currency, fx_per_usd::DOUBLE AS fx_per_usd, residency_region, regions
FROM cum;

-- Country by inverse CDF: an equi-join on floor(1000 u) (cheaper than a range join).
CREATE OR REPLACE TABLE gen_country_bins AS
SELECT b.bin::INTEGER AS bin, min_by(c.country, c.cum_hi) AS country
FROM range(1000) b(bin) JOIN gen_country c ON c.cum_hi > (b.bin + 0.5) / 1000.0
GROUP BY b.bin;

-- Amounts are log-normal per MCC: median exp(mu) USD, log-sd sigma (before the user's scale).
CREATE OR REPLACE TABLE gen_mcc AS
WITH m(mcc, kind, median_usd, sigma, decline_mult, n_merchants) AS (VALUES
  ('5411', 'merchant',   45.0, 0.70, 1.00, 6000),   -- grocery
  ('5499', 'merchant',   12.0, 0.60, 0.90, 2000),   -- convenience / misc food
  ('5812', 'merchant',   32.0, 0.60, 0.90, 12000),  -- restaurants
  ('5814', 'merchant',   11.0, 0.50, 0.85, 5000),   -- fast food
  ('5541', 'merchant',   40.0, 0.45, 1.10, 3000),   -- fuel
  ('4121', 'merchant',   18.0, 0.55, 0.90, 40),     -- rides / taxis
  ('5311', 'merchant',   60.0, 0.80, 1.00, 800),    -- department stores
  ('5732', 'merchant',  140.0, 1.00, 1.30, 1500),   -- electronics
  ('5999', 'merchant',   35.0, 0.90, 1.10, 8000),   -- misc retail
  ('5691', 'merchant',   70.0, 0.70, 1.00, 4000),   -- clothing
  ('5942', 'merchant',   22.0, 0.50, 0.90, 1200),   -- books
  ('5912', 'merchant',   20.0, 0.70, 0.90, 2500),   -- pharmacy
  ('7011', 'merchant',  180.0, 0.70, 1.30, 2500),   -- hotels
  ('4511', 'merchant',  320.0, 0.60, 1.40, 120),    -- airlines
  ('7832', 'merchant',   25.0, 0.40, 0.90, 600),    -- cinemas
  ('7995', 'merchant',   50.0, 1.00, 2.50, 300),    -- gambling
  ('6051', 'merchant',  120.0, 0.90, 3.00, 200),    -- quasi-cash
  ('4900', 'biller',    110.0, 0.50, 0.90, 400),    -- utilities
  ('4814', 'biller',     65.0, 0.35, 0.90, 60),     -- telecom
  ('4899', 'biller',     25.0, 0.50, 0.90, 150),    -- cable / streaming
  ('6300', 'biller',    140.0, 0.50, 0.90, 300),    -- insurance
  ('6513', 'biller',   1200.0, 0.40, 1.10, 1500),   -- rent
  ('4829', 'p2p',        40.0, 1.00, 0.80, 0)       -- money transfer (p2p)
)
SELECT mcc, kind, ln(median_usd) AS mu, sigma::DOUBLE AS sigma, decline_mult::DOUBLE AS decline_mult, n_merchants,
       coalesce(sum(n_merchants) OVER (ORDER BY mcc ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)::INTEGER AS m_offset
FROM m;

-- Spending profiles: 0 everyday, 1 commuter, 2 foodie, 3 shopper, 4 traveller, 5 risky; 6 = billers.
CREATE OR REPLACE TABLE gen_mcc_bins AS
WITH w(profile, mcc, weight) AS (VALUES
  (0, '5411', 280), (0, '5499', 80), (0, '5812', 140), (0, '5814', 120), (0, '5541', 100), (0, '4121', 30),
  (0, '5311', 30), (0, '5732', 15), (0, '5999', 60), (0, '5691', 35), (0, '5942', 15), (0, '5912', 70),
  (0, '7011', 5), (0, '4511', 3), (0, '7832', 15), (0, '7995', 2),
  (1, '5541', 300), (1, '4121', 150), (1, '5814', 180), (1, '5411', 150), (1, '5499', 100), (1, '5812', 60),
  (1, '5912', 30), (1, '5999', 30),
  (2, '5812', 350), (2, '5814', 200), (2, '5411', 200), (2, '5499', 80), (2, '7832', 60), (2, '4121', 50),
  (2, '5999', 30), (2, '5691', 30),
  (3, '5999', 200), (3, '5311', 150), (3, '5691', 180), (3, '5732', 120), (3, '5942', 80), (3, '5411', 150),
  (3, '5812', 70), (3, '5912', 50),
  (4, '7011', 120), (4, '4511', 80), (4, '4121', 120), (4, '5812', 250), (4, '5411', 120), (4, '5541', 80),
  (4, '5691', 80), (4, '5732', 50), (4, '5999', 50), (4, '7832', 50),
  (5, '7995', 220), (5, '6051', 120), (5, '5999', 120), (5, '5814', 150), (5, '5411', 150), (5, '5541', 80),
  (5, '5732', 80), (5, '5499', 80),
  (6, '4900', 300), (6, '4814', 250), (6, '4899', 200), (6, '6300', 150), (6, '6513', 100)
),
cum AS (
  SELECT profile, mcc,
         sum(weight) OVER (PARTITION BY profile ORDER BY mcc) / sum(weight) OVER (PARTITION BY profile) AS hi
  FROM w
),
bins AS (SELECT p.profile, b.bin FROM (SELECT DISTINCT profile FROM w) p, range(1000) b(bin)),
picked AS (
  SELECT b.profile, b.bin::INTEGER AS bin, min_by(c.mcc, c.hi) AS mcc
  FROM bins b JOIN cum c ON c.profile = b.profile AND c.hi > (b.bin + 0.5) / 1000.0
  GROUP BY b.profile, b.bin
)
SELECT p.profile, p.bin, p.mcc, m.kind, m.mu, m.sigma, m.decline_mult, m.n_merchants, m.m_offset
FROM picked p JOIN gen_mcc m USING (mcc);

-- ~51k merchants; a payment picks rank r of its MCC by Zipf (r = floor(M^u)), midx = m_offset + r - 1.
CREATE OR REPLACE TABLE gen_merchant AS
SELECT i::INTEGER AS midx, tok('mrc_', md5('m:' || $seed::BIGINT::VARCHAR || ':' || i::VARCHAR)) AS merchant_id
FROM range((SELECT sum(n_merchants) FROM gen_mcc)::BIGINT) r(i);

-- Goals in core/actions.ts order; windows from docs/world-schema.md. Delays are W * u^delay_pow
-- (skewed to the start of the window); value_mu is the log median value of a conversion (USD).
CREATE OR REPLACE TABLE gen_goal AS
SELECT * FROM (VALUES
  ('cashback',          0, 7 * 86400,  2.0, ln(9.0)),
  ('referral_prompt',   1, 30 * 86400, 2.5, ln(45.0)),
  ('autopay_setup',     2, 30 * 86400, 2.5, ln(30.0)),
  ('card_on_file',      3, 3600,       1.5, ln(18.0)),
  ('installment_offer', 4, 3600,       1.5, ln(25.0))
) g(goal, gidx, window_s, delay_pow, value_mu);
