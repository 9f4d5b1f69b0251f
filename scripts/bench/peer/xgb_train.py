#!/usr/bin/python3
"""The XGBoost peer of our GBDT trainer, for `make bench-train` (scripts/bench/train-bench.ts).

Trains XGBoost 'hist' on exactly the rows our trainer gets, with the same parameters (300
rounds, max_depth 6, eta 0.1, lambda 1, min_child_weight 1, max_bin 256, early stopping after
20 rounds without a better validation log-loss, nthread 2, base_score = the training base rate
as our baseScore), then times XGBoost's own predictor (inplace_predict, nthread 2) on the test
rows, repeated until at least --min-score-s seconds have passed.

Usage:
  /usr/bin/python3 scripts/bench/peer/xgb_train.py DIR [--threads 2] [--min-score-s 2]

  DIR holds meta.json {"features": F, "train": n, "valid": n, "test": n, "params": {...}} and raw
  little-endian files X_<part>.f32 (row-major n x F float32) and y_<part>.u8 (0/1) for the parts
  train, valid and test (Debian's pandas has no pyarrow, so no Parquet here).

Writes DIR/p_xgb_test.f32 (test probabilities, float32) so the caller computes the AUC with
the same code as for its own model, and prints one JSON line on stdout:
  {"xgboost", "dmatrix_s", "fit_s", "train_s" (= dmatrix_s + fit_s), "trees", "best_iteration",
   "score_rows_per_s", "score_reps"}
Diagnostics go to stderr.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import xgboost as xgb


def load(d, part, n, f):
    x = np.fromfile(os.path.join(d, f"X_{part}.f32"), dtype="<f4")
    y = np.fromfile(os.path.join(d, f"y_{part}.u8"), dtype=np.uint8)
    if x.size != n * f or y.size != n:
        sys.exit(f"xgb_train: {part}: {x.size} values / {y.size} labels, expected {n} x {f}")
    return x.reshape(n, f), y.astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-score-s", type=float, default=2.0)
    a = ap.parse_args()
    meta = json.load(open(os.path.join(a.dir, "meta.json")))
    f = meta["features"]
    p = meta["params"]
    xtr, ytr = load(a.dir, "train", meta["train"], f)
    xva, yva = load(a.dir, "valid", meta["valid"], f)
    xte, _ = load(a.dir, "test", meta["test"], f)
    rate = float(np.clip(ytr.mean(), 1e-6, 1 - 1e-6))
    params = {
        "objective": "binary:logistic",
        "eval_metric": "logloss",
        "tree_method": "hist",
        "nthread": a.threads,
        "max_depth": p["maxDepth"],
        "eta": p["learningRate"],
        "lambda": p["lambda"],
        "min_child_weight": p["minChildWeight"],
        "max_bin": p["maxBins"],
        "base_score": rate,
        "seed": 1,
    }
    t0 = time.perf_counter()
    dtr = xgb.DMatrix(xtr, label=ytr, nthread=a.threads)
    dva = xgb.DMatrix(xva, label=yva, nthread=a.threads)
    t1 = time.perf_counter()
    bst = xgb.train(
        params,
        dtr,
        num_boost_round=p["nTrees"],
        evals=[(dva, "valid")],
        early_stopping_rounds=p["earlyStoppingRounds"],
        verbose_eval=False,
    )
    t2 = time.perf_counter()
    best = int(bst.best_iteration)
    rng = (0, best + 1)
    bst.set_param({"nthread": a.threads})
    pred = bst.inplace_predict(xte, iteration_range=rng).astype("<f4")
    pred.tofile(os.path.join(a.dir, "p_xgb_test.f32"))
    reps = 0
    s0 = time.perf_counter()
    while True:
        bst.inplace_predict(xte, iteration_range=rng)
        reps += 1
        el = time.perf_counter() - s0
        if el >= a.min_score_s:
            break
    print(
        json.dumps(
            {
                "xgboost": xgb.__version__,
                "dmatrix_s": t1 - t0,
                "fit_s": t2 - t1,
                "train_s": t2 - t0,
                "trees": best + 1,
                "best_iteration": best,
                "score_rows_per_s": reps * xte.shape[0] / el,
                "score_reps": reps,
            }
        )
    )


if __name__ == "__main__":
    main()
