#!/usr/bin/python3
"""The Python/pandas peer of the nightly, for `make bench-batch` (bench/batch-bench.ts).

Does the same work as our nightly, the way a competent pandas script would: reads the world's
tables from CSV (Debian's pandas has no pyarrow, so no Parquet), computes the 191 serving
features of core/feature-registry.ts with the semantics of sql/features/*.sql (groupby/agg and
numpy, no per-row Python loops), scores them with a linear-sigmoid model (sigmoid(X @ W + b)),
and publishes one 24-byte record per user into Redis hashes, one HSET per slot, pipelined
(non-transactional) in batches of 256 commands, as our publish does.

Usage:
  /usr/bin/python3 bench/peer/nightly_pandas.py --csv-dir DIR --as-of YYYY-MM-DD \
      --weights weights.json --redis-url redis://127.0.0.1:6379 --prefix P --slots S \
      [--no-cleanup] [--check-features OUT.csv]

  DIR holds users.csv, payments.csv, decision_log.csv, outcomes.csv (DuckDB `COPY … (HEADER)`
  of the world's Parquet, columns as in docs/world-schema.md). weights.json is
  {"features": [names], "heads": [names] | H, "weights": flat F*H row-major | [[H] * F],
  "bias": [H]}. Records go to hashes `P:peer:<slot>`, field = user_id, slot = md5(user_id)
  bytes 8..15 as a little-endian u64 mod S (DuckDB's md5_number_lower, core/slot.ts); the
  record is 6 x u16 LE scores (round(p * 65535)) + 12 zero bytes. The keys are deleted at the
  end unless --no-cleanup. --check-features writes user_id + the features of the first 1000
  users by user_id, for parity checks against our snapshot.

Prints one JSON line on stdout:
  {"users", "features" (191), "read_s", "features_s", "scoring_s", "publish_s", "total_s", "cleanup_s"}
  total_s = read_s + features_s + scoring_s + publish_s (wall clock; cleanup not included).
Progress and diagnostics go to stderr.
"""
import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np
import pandas as pd

# ---------------------------------------------------------------------------------------------
# The feature registry (core/feature-registry.ts), same construction and order.
# ---------------------------------------------------------------------------------------------
WINDOWS = [("1d", 1, 0), ("7d", 7, 1), ("30d", 30, 2), ("90d", 90, 3)]  # name, days, maxTile
TILE_AGGREGATES = [  # (col, agg)
    ("pay_cnt", "sum"), ("pay_amt", "sum"), ("pay_amt_max", "max"), ("approved_cnt", "sum"),
    ("declined_cnt", "sum"), ("nsf_decline_cnt", "sum"), ("p2p_cnt", "sum"), ("billpay_cnt", "sum"),
    ("merchant_cnt", "sum"), ("p2p_amt", "sum"), ("billpay_amt", "sum"), ("merchant_amt", "sum"),
    ("card_cnt", "sum"), ("bank_cnt", "sum"), ("wallet_cnt", "sum"), ("bnpl_cnt", "sum"),
    ("recurring_cnt", "sum"), ("mcc_grocery_cnt", "sum"), ("mcc_dining_cnt", "sum"),
    ("mcc_fuel_cnt", "sum"), ("mcc_utility_cnt", "sum"), ("mcc_travel_cnt", "sum"),
    ("mcc_retail_cnt", "sum"), ("mcc_risky_cnt", "sum"), ("large_cnt", "sum"), ("small_cnt", "sum"),
    ("active_days", "sum"),
]
WINDOW_RATIOS = [  # (name, num, den)
    ("decline_rate", "declined_cnt", "pay_cnt"), ("avg_amt", "pay_amt", "pay_cnt"),
    ("p2p_share", "p2p_cnt", "pay_cnt"), ("billpay_share", "billpay_cnt", "pay_cnt"),
    ("merchant_share", "merchant_cnt", "pay_cnt"), ("card_share", "card_cnt", "pay_cnt"),
    ("bnpl_share", "bnpl_cnt", "pay_cnt"),
]
OFFER_ACTIONS = ["cashback", "referral_prompt", "autopay_setup", "card_on_file", "installment_offer"]
ATTRS = [f"attr_{i:02d}" for i in range(24)]
STATIC = [
    "kyc_tier", "credit_eligible", "account_age_days", "income_band", "age_band_ord", "is_ios",
    "country_us", "marketing_consent", "optout_count", "has_bank_linked", "has_card_on_file",
    "autopay_enabled", "referrals_sent", *ATTRS,
]
RECENCY = [("days_since_last_payment", 91.0), ("days_since_last_decline", 91.0),
           ("days_since_last_merchant", 91.0), ("days_since_first_payment", 0.0)]
EXPOSURE = [("offers_7d", 0.0), ("offers_30d", 0.0), *[(f"offers_{a}_30d", 0.0) for a in OFFER_ACTIONS],
            ("days_since_last_offer", 61.0), ("goal_events_30d", 0.0), ("goal_value_30d", 0.0)]


def registry():
    """[(name, default)] in model-input order."""
    out = [(n, 0.0) for n in STATIC]
    for w, _, _ in WINDOWS:
        out += [(f"{c}_{w}", 0.0) for c, _ in TILE_AGGREGATES]
        out.append((f"distinct_merchants_{w}", 0.0))
        out += [(f"{r}_{w}", 0.0) for r, _, _ in WINDOW_RATIOS]
    return out + RECENCY + EXPOSURE


FEATURES = registry()
FEATURE_NAMES = [n for n, _ in FEATURES]
assert len(FEATURE_NAMES) == 191 and len(set(FEATURE_NAMES)) == 191, len(FEATURE_NAMES)

MCC_GROUPS = {
    "mcc_grocery_cnt": ["5411"], "mcc_dining_cnt": ["5812"], "mcc_fuel_cnt": ["5541"],
    "mcc_utility_cnt": ["4900", "4814"], "mcc_travel_cnt": ["4511", "7011", "4121"],
    "mcc_retail_cnt": ["5311", "5732", "5999", "5691", "5942", "5912"], "mcc_risky_cnt": ["7995", "6051"],
}
AGE_BANDS = {"18-24": 0, "25-34": 1, "35-44": 2, "45-54": 3, "55-64": 4}  # anything else (incl. NULL) -> 5
DAY_NS = 86_400 * 10**9
BOOL = {"true_values": ["true"], "false_values": ["false"]}


def log(msg):
    print(f"[peer] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------
def to_ns(s):
    """A timestamp column (strings) -> int64 ns since the epoch; NaT -> min int64."""
    return pd.to_datetime(s).to_numpy("datetime64[ns]").view("int64")


def read_tables(d):
    users = pd.read_csv(
        os.path.join(d, "users.csv"),
        usecols=["user_id", "country", "kyc_tier", "credit_eligible", "signup_date", "age_band",
                 "income_band", "os", "optout_email", "optout_push", "optout_sms", "optout_in_app",
                 "marketing_consent", "has_bank_linked", "has_card_on_file", "autopay_enabled",
                 "referrals_sent", *ATTRS],
        dtype={"user_id": str, "country": "category", "age_band": "category", "os": "category",
               **{a: "float64" for a in ATTRS}},
        keep_default_na=False, na_values=[""], **BOOL,
    )
    users["signup_date"] = pd.to_datetime(users["signup_date"], format="%Y-%m-%d")
    cat = {c: "category" for c in ["user_id", "mcc", "merchant_id", "channel", "payment_method", "auth_outcome", "decline_code"]}
    payments = pd.read_csv(
        os.path.join(d, "payments.csv"),
        usecols=["user_id", "ts", "amount_usd", "mcc", "merchant_id", "channel", "payment_method",
                 "auth_outcome", "decline_code", "is_recurring"],
        dtype={**cat, "amount_usd": "float64", "ts": str},
        keep_default_na=False, na_values=[""], **BOOL,
    )
    payments["ts"] = to_ns(payments["ts"])
    decisions = pd.read_csv(
        os.path.join(d, "decision_log.csv"), usecols=["user_id", "decision_ts", "action"],
        dtype={"user_id": "category", "action": "category", "decision_ts": str},
        keep_default_na=False, na_values=[""],
    )
    decisions["decision_ts"] = to_ns(decisions["decision_ts"])
    outcomes = pd.read_csv(
        os.path.join(d, "outcomes.csv"), usecols=["user_id", "event_ts", "value_usd"],
        dtype={"user_id": "category", "value_usd": "float64", "event_ts": str},
        keep_default_na=False, na_values=[""],
    )
    outcomes["event_ts"] = to_ns(outcomes["event_ts"])
    return users, payments, decisions, outcomes


# ---------------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------------
def user_positions(ids, uid_index):
    """Row of each id (a categorical column) in the users frame; -1 when not a kept user."""
    ids = ids.astype("category") if ids.dtype.name != "category" else ids
    pos = uid_index.get_indexer(ids.cat.categories)
    return np.where(ids.cat.codes.to_numpy() >= 0, pos[ids.cat.codes.to_numpy()], -1)


def as_bool(s):
    """A boolean column that may hold NULLs -> float 0/1 with NaN for NULL."""
    if s.dtype == bool:
        return s.to_numpy(np.float64)
    return s.map({True: 1.0, False: 0.0}).to_numpy(np.float64)


def static_features(u, as_of):
    f = {}
    f["kyc_tier"] = u["kyc_tier"].to_numpy(np.float64)
    f["credit_eligible"] = as_bool(u["credit_eligible"])
    f["account_age_days"] = np.maximum((as_of - u["signup_date"]).dt.days.to_numpy(np.float64), 0)
    f["income_band"] = u["income_band"].to_numpy(np.float64)
    f["age_band_ord"] = u["age_band"].map(AGE_BANDS).astype("float64").fillna(5.0).to_numpy()
    # (os = 'ios') / (country = 'US') are NULL when the column is NULL -> COALESCE 0.
    f["is_ios"] = (u["os"] == "ios").to_numpy(np.float64)
    f["country_us"] = (u["country"] == "US").to_numpy(np.float64)
    f["marketing_consent"] = as_bool(u["marketing_consent"])
    opt = np.column_stack([as_bool(u[c]) for c in ["optout_email", "optout_push", "optout_sms", "optout_in_app"]])
    f["optout_count"] = opt.sum(axis=1)  # NaN if any is NULL, as in SQL
    for c in ["has_bank_linked", "has_card_on_file", "autopay_enabled"]:
        f[c] = as_bool(u[c])
    f["referrals_sent"] = u["referrals_sent"].to_numpy(np.float64)
    for a in ATTRS:
        f[a] = u[a].to_numpy(np.float64)
    return f


def tiles_to_windows(per_tile, n, cols, how):
    """A frame indexed by uidx*4 + tile -> (n, 4 windows, len(cols)) cumulative over tiles.

    how='sum': missing tiles count 0. how='max': missing tiles are -inf (windows with no tile
    come out -inf; the caller maps that to the default).
    """
    fill = 0.0 if how == "sum" else -np.inf
    a = np.full((n * 4, len(cols)), fill)
    a[per_tile.index.to_numpy()] = per_tile[cols].to_numpy(np.float64)
    a = a.reshape(n, 4, len(cols))
    return np.cumsum(a, axis=1) if how == "sum" else np.fmax.accumulate(a, axis=1)  # fmax: NULL tiles ignored, as SQL max


def payment_features(p, n, as_of_ns):
    f = {}
    d = as_of_ns - p["ts"].to_numpy()
    keep = (p["uidx"].to_numpy() >= 0) & (d > 0) & (d <= 90 * DAY_NS) & (p["ts"].to_numpy() != np.iinfo(np.int64).min)
    p = p.loc[keep]
    d = d[keep]
    uidx = p["uidx"].to_numpy(np.int64)
    # Tile 0 = [as_of-1d, as_of), 1 = [as_of-7d, as_of-1d), 2 = [as_of-30d, as_of-7d), 3 = older.
    tile = np.searchsorted(np.array([1, 7, 30]) * DAY_NS, d, side="left")
    key = uidx * 4 + tile
    amt = p["amount_usd"].to_numpy()
    ch, pm, mcc = p["channel"], p["payment_method"], p["mcc"]
    is_p2p, is_bill, is_merch = (ch == "p2p").to_numpy(), (ch == "bill_pay").to_numpy(), (ch == "merchant_checkout").to_numpy()
    declined = (p["auth_outcome"] == "declined").to_numpy()
    rows = pd.DataFrame({
        "key": key,
        "pay_cnt": np.ones(len(p), np.int8),
        "pay_amt": amt,
        "approved_cnt": (p["auth_outcome"] == "approved").to_numpy(np.int8),
        "declined_cnt": declined.astype(np.int8),
        "nsf_decline_cnt": (p["decline_code"] == "51").to_numpy(np.int8),
        "p2p_cnt": is_p2p.astype(np.int8),
        "billpay_cnt": is_bill.astype(np.int8),
        "merchant_cnt": is_merch.astype(np.int8),
        "p2p_amt": np.where(is_p2p, amt, 0.0),
        "billpay_amt": np.where(is_bill, amt, 0.0),
        "merchant_amt": np.where(is_merch, amt, 0.0),
        "card_cnt": (pm == "card").to_numpy(np.int8),
        "bank_cnt": (pm == "bank").to_numpy(np.int8),
        "wallet_cnt": (pm == "wallet").to_numpy(np.int8),
        "bnpl_cnt": (pm == "bnpl").to_numpy(np.int8),
        "recurring_cnt": (p["is_recurring"] == True).to_numpy(np.int8),  # noqa: E712 (NULL -> not counted)
        **{k: mcc.isin(v).to_numpy(np.int8) for k, v in MCC_GROUPS.items()},
        "large_cnt": (amt >= 200).astype(np.int8),
        "small_cnt": (amt < 10).astype(np.int8),
    })
    sum_cols = [c for c, a in TILE_AGGREGATES if a == "sum" and c != "active_days"]
    g = rows.groupby("key", sort=False)
    # A few columns at a time: the group sum upcasts int8 to int64, all 24 at once would cost ~4 GB at 20M rows.
    per_tile = pd.concat([g[sum_cols[i:i + 6]].sum() for i in range(0, len(sum_cols), 6)], axis=1)
    per_tile["pay_amt_max"] = g["pay_amt"].max()
    # active_days: distinct calendar days per (user, tile); a day lies in exactly one tile.
    day = (p["ts"].to_numpy() // DAY_NS) - (as_of_ns // DAY_NS - 90)  # 0..89
    ud = pd.Series(uidx * 128 + day).drop_duplicates().to_numpy()
    ud_day = ud % 128
    ud_tile = np.select([ud_day >= 89, ud_day >= 83, ud_day >= 60], [0, 1, 2], 3)  # as_of-1d, -7d, -30d
    per_tile["active_days"] = pd.Series(ud // 128 * 4 + ud_tile).value_counts()
    per_tile["active_days"] = per_tile["active_days"].fillna(0)
    del rows, g, ud, ud_day, ud_tile, day

    sums = tiles_to_windows(per_tile, n, sum_cols + ["active_days"], "sum")
    mx = tiles_to_windows(per_tile, n, ["pay_amt_max"], "max")[:, :, 0]
    mx[np.isinf(mx)] = 0.0
    col = {c: i for i, c in enumerate(sum_cols + ["active_days"])}

    # distinct merchants per window: a merchant counts in every window holding its last visit,
    # i.e. from the tile of its most recent payment on.
    m = p["merchant_id"]
    has_m = m.cat.codes.to_numpy() >= 0
    um = pd.DataFrame({"um": uidx[has_m] * len(m.cat.categories) + m.cat.codes.to_numpy()[has_m], "tile": tile[has_m]})
    last_tile = um.groupby("um", sort=False)["tile"].min()
    dm_key = (last_tile.index.to_numpy() // len(m.cat.categories)) * 4 + last_tile.to_numpy()
    dm = pd.Series(dm_key).value_counts().to_frame("n")
    dmw = tiles_to_windows(dm, n, ["n"], "sum")[:, :, 0]
    del um, last_tile, dm_key, dm, per_tile

    for wi, (w, _, _) in enumerate(WINDOWS):
        for c, a in TILE_AGGREGATES:
            f[f"{c}_{w}"] = mx[:, wi] if a == "max" else sums[:, wi, col[c]]
        f[f"distinct_merchants_{w}"] = dmw[:, wi]
        for r, num, den in WINDOW_RATIOS:
            nv, dv = sums[:, wi, col[num]], sums[:, wi, col[den]]
            f[f"{r}_{w}"] = np.divide(nv, dv, out=np.zeros(n), where=dv != 0)

    # Recency, in fractional days before as_of (epoch(interval) / 86400.0).
    t = pd.DataFrame({"uidx": uidx, "ts": p["ts"].to_numpy()})
    gr = t.groupby("uidx", sort=False)["ts"]
    last, first = gr.max(), gr.min()
    last_decl = t.loc[declined].groupby("uidx", sort=False)["ts"].max()
    last_merch = t.loc[is_merch].groupby("uidx", sort=False)["ts"].max()
    for name, s, default in [("days_since_last_payment", last, 91.0), ("days_since_last_decline", last_decl, 91.0),
                             ("days_since_last_merchant", last_merch, 91.0), ("days_since_first_payment", first, 0.0)]:
        v = np.full(n, default)
        v[s.index.to_numpy()] = ((as_of_ns - s.to_numpy()) // 1000) / 1e6 / 86400.0
        f[name] = v
    return f


def exposure_features(dec, out, n, as_of_ns):
    f = {}
    ts = dec["decision_ts"].to_numpy()
    d = as_of_ns - ts
    keep = (dec["uidx"].to_numpy() >= 0) & (dec["action"] != "none").to_numpy() & (d > 0) & (d <= 60 * DAY_NS) \
        & (ts != np.iinfo(np.int64).min) & dec["action"].notna().to_numpy()
    dec = dec.loc[keep]
    d = d[keep]
    in30 = d <= 30 * DAY_NS
    rows = pd.DataFrame({
        "uidx": dec["uidx"].to_numpy(np.int64),
        "ts": dec["decision_ts"].to_numpy(),
        "offers_7d": (d <= 7 * DAY_NS).astype(np.int8),
        "offers_30d": in30.astype(np.int8),
        **{f"offers_{a}_30d": (in30 & (dec["action"] == a).to_numpy()).astype(np.int8) for a in OFFER_ACTIONS},
    })
    g = rows.groupby("uidx", sort=False)
    cnt_cols = ["offers_7d", "offers_30d", *[f"offers_{a}_30d" for a in OFFER_ACTIONS]]
    agg = g[cnt_cols].sum()
    agg["last"] = g["ts"].max()
    idx = agg.index.to_numpy()
    for c in cnt_cols:
        v = np.zeros(n)
        v[idx] = agg[c].to_numpy()
        f[c] = v
    v = np.full(n, 61.0)
    v[idx] = ((as_of_ns - agg["last"].to_numpy()) // 1000) / 1e6 / 86400.0
    f["days_since_last_offer"] = v

    ets = out["event_ts"].to_numpy()
    d = as_of_ns - ets
    keep = (out["uidx"].to_numpy() >= 0) & (d > 0) & (d <= 30 * DAY_NS) & (ets != np.iinfo(np.int64).min)
    o = out.loc[keep].groupby("uidx", sort=False)["value_usd"].agg(["size", "sum"])
    idx = o.index.to_numpy()
    f["goal_events_30d"] = np.zeros(n)
    f["goal_events_30d"][idx] = o["size"].to_numpy()
    f["goal_value_30d"] = np.zeros(n)
    f["goal_value_30d"][idx] = o["sum"].to_numpy()
    return f


def compute_features(users, payments, decisions, outcomes, as_of):
    as_of_ts = pd.Timestamp(as_of)
    as_of_ns = as_of_ts.value
    u = users.loc[users["signup_date"] < as_of_ts].reset_index(drop=True)
    n = len(u)
    uid_index = pd.Index(u["user_id"])
    payments["uidx"] = user_positions(payments["user_id"], uid_index)
    decisions["uidx"] = user_positions(decisions["user_id"], uid_index)
    outcomes["uidx"] = user_positions(outcomes["user_id"], uid_index)
    f = static_features(u, as_of_ts)
    f.update(payment_features(payments, n, as_of_ns))
    f.update(exposure_features(decisions, outcomes, n, as_of_ns))
    # The matrix in registry order: each value cast to FLOAT, then COALESCE to its default.
    x = np.empty((n, len(FEATURES)), np.float32)
    for j, (name, default) in enumerate(FEATURES):
        col = f[name].astype(np.float32)
        x[:, j] = np.where(np.isnan(col), np.float32(default), col)
    return u["user_id"].to_numpy(object), x


# ---------------------------------------------------------------------------------------------
# Scoring and publish
# ---------------------------------------------------------------------------------------------
def load_weights(path):
    w = json.load(open(path))
    names = w.get("features")
    if names is not None and list(names) != FEATURE_NAMES:
        diff = [(i, a, b) for i, (a, b) in enumerate(zip(names, FEATURE_NAMES)) if a != b][:3]
        raise SystemExit(f"weights' feature list differs from the registry (len {len(names)} vs {len(FEATURE_NAMES)}; first diffs {diff})")
    heads = w["heads"] if isinstance(w["heads"], int) else len(w["heads"])
    weights = np.asarray(w["weights"], np.float32).reshape(len(FEATURE_NAMES), heads)
    bias = np.asarray(w["bias"], np.float32).reshape(heads)
    return weights, bias


def score(x, weights, bias):
    z = x @ weights + bias
    with np.errstate(over="ignore"):  # exp overflow -> inf -> p = 0, as intended
        p = 1.0 / (1.0 + np.exp(-z, dtype=np.float32))
    q = np.floor(p.astype(np.float64) * 65535 + 0.5)
    return np.clip(np.nan_to_num(q, nan=0.0), 0, 65535).astype("<u2")


def slots_of(ids, slots):
    """md5(user_id) bytes 8..15 as a little-endian u64, mod slots (DuckDB md5_number_lower)."""
    h = np.frombuffer(b"".join([hashlib.md5(s.encode()).digest()[8:16] for s in ids]), "<u8")
    return (h % np.uint64(slots)).astype(np.int64)


def publish(r, ids, q, prefix, slots, batch=256):
    n = len(ids)
    rec = np.zeros((n, 24), np.uint8)
    rec[:, :12] = q.view(np.uint8).reshape(n, 12)
    slot = slots_of(ids, slots)
    order = np.argsort(slot, kind="stable")
    slot_sorted = slot[order]
    ids_sorted = ids[order].tolist()
    raw = rec[order].tobytes()
    recs = [raw[i:i + 24] for i in range(0, n * 24, 24)]
    starts = np.flatnonzero(np.r_[True, slot_sorted[1:] != slot_sorted[:-1]]) if n else np.array([], np.int64)
    ends = np.r_[starts[1:], n]
    keys = []
    pipe = r.pipeline(transaction=False)
    cmds = 0
    for a, b in zip(starts.tolist(), ends.tolist()):
        key = f"{prefix}:peer:{slot_sorted[a]}"
        keys.append(key)
        pipe.hset(key, mapping=dict(zip(ids_sorted[a:b], recs[a:b])))
        cmds += 1
        if cmds == batch:
            pipe.execute()
            cmds = 0
    if cmds:
        pipe.execute()
    return keys


def cleanup(r, keys, batch=1000):
    pipe = r.pipeline(transaction=False)
    for i in range(0, len(keys), batch):
        pipe.unlink(*keys[i:i + batch])
    pipe.execute()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv-dir", required=True)
    ap.add_argument("--as-of", required=True, help="YYYY-MM-DD, exclusive end")
    ap.add_argument("--weights", required=True)
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379")
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--slots", type=int, required=True)
    ap.add_argument("--cleanup", action=argparse.BooleanOptionalAction, default=True, help="delete the written keys at the end (default on)")
    ap.add_argument("--check-features", metavar="OUT.csv", help="write user_id + features of the first 1000 users by user_id")
    ap.add_argument("--no-publish", action="store_true", help="skip Redis (features and scoring only)")
    args = ap.parse_args()
    if args.slots < 1:
        raise SystemExit("--slots must be >= 1")
    weights, bias = load_weights(args.weights)

    t0 = time.perf_counter()
    users, payments, decisions, outcomes = read_tables(args.csv_dir)
    t1 = time.perf_counter()
    log(f"read {len(users)} users, {len(payments)} payments, {len(decisions)} decisions, {len(outcomes)} outcomes in {t1 - t0:.1f} s")
    ids, x = compute_features(users, payments, decisions, outcomes, args.as_of)
    del payments, decisions, outcomes
    t2 = time.perf_counter()
    log(f"features {x.shape} in {t2 - t1:.1f} s")
    q = score(x, weights, bias)
    t3 = time.perf_counter()
    keys = []
    r = None
    if not args.no_publish:
        import redis
        r = redis.Redis.from_url(args.redis_url)
        keys = publish(r, ids, q, args.prefix, args.slots)
    t4 = time.perf_counter()
    log(f"scoring {t3 - t2:.2f} s, publish {t4 - t3:.1f} s ({len(keys)} keys)")

    if args.check_features:
        first = np.argsort(ids.astype(str), kind="stable")[:1000]
        out = pd.DataFrame(x[first], columns=FEATURE_NAMES)
        out.insert(0, "user_id", ids[first])
        out.to_csv(args.check_features, index=False, float_format="%.9g")
    t5 = time.perf_counter()
    if r is not None and args.cleanup:
        cleanup(r, keys)
    cleanup_s = time.perf_counter() - t5
    print(json.dumps({
        "users": int(len(ids)), "features": x.shape[1],
        "read_s": round(t1 - t0, 3), "features_s": round(t2 - t1, 3), "scoring_s": round(t3 - t2, 3),
        "publish_s": round(t4 - t3, 3), "total_s": round(t4 - t0, 3), "cleanup_s": round(cleanup_s, 3),
    }), flush=True)


if __name__ == "__main__":
    main()
