"""XGBoost side of bench/scorer.ts: trains the benchmark models and times XGBoost's own predictions.

Matrices are exchanged as raw little-endian float64 files (row-major, NaN for a missing value) so
neither side spends benchmark time parsing text. Every timing is taken here with time.perf_counter
after the model is loaded, so Python start-up and model loading are never part of a figure.

Only numpy, xgboost and the standard library are used: it runs with Debian's /usr/bin/python3.
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import xgboost as xgb


def read_matrix(path, features):
    return np.fromfile(path, dtype="<f8").reshape(-1, features)


def train(args):
    x = read_matrix(args.x, args.features)
    y = np.fromfile(args.y, dtype="<f8")
    if len(y) != x.shape[0]:
        raise SystemExit("%s has %d labels but %s has %d rows" % (args.y, len(y), args.x, x.shape[0]))
    dtrain = xgb.DMatrix(x, label=y, missing=np.nan)
    params = {
        "objective": "binary:logistic",
        "max_depth": args.depth,
        "eta": 0.1,
        "seed": 42,
        "tree_method": "hist",
        "verbosity": 0,
    }
    paths = []
    for trees in args.trees:
        started = time.perf_counter()
        booster = xgb.train(params, dtrain, num_boost_round=trees)
        path = os.path.join(args.out, "trees-%d" % trees, "model.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        booster.save_model(path)
        paths.append(path)
        sys.stderr.write("  trained %d trees in %.1f s -> %s\n" % (trees, time.perf_counter() - started, path))
    json.dump({"xgboost": xgb.__version__, "models": paths}, sys.stdout)


def median_seconds(repeats, run, setup=lambda: None):
    """Median wall time of `run(setup())`; the setup is not timed."""
    times = []
    for _ in range(repeats):
        prepared = setup()
        started = time.perf_counter()
        run(prepared)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench(args):
    x = read_matrix(args.x, args.features)
    rows = x.shape[0]
    single = x[: args.single_rows]
    booster = xgb.Booster(model_file=args.model)
    trees = booster.num_boosted_rounds()
    # nthread=0 (XGBoost's default) means OpenMP's maximum, which follows OMP_NUM_THREADS or the CPUs
    # this process may run on.
    default_threads = int(os.environ.get("OMP_NUM_THREADS") or len(os.sched_getaffinity(0)))

    # Booster.predict caches its result per DMatrix and returns the cache while the model is unchanged,
    # so each timed predict gets a DMatrix it has not seen (built outside the timing).
    def fresh_dmatrix():
        return xgb.DMatrix(x, missing=np.nan)

    result = {"xgboost": xgb.__version__, "trees": trees, "rows": rows, "single_rows": len(single)}
    result["default_threads"] = default_threads
    predictions = None
    for label, nthread in (("1", 1), ("default", 0)):
        booster.set_param({"nthread": nthread})
        # Warm-up: the first call sets up the predictor and the thread pool.
        warm = booster.inplace_predict(x, missing=np.nan)
        booster.predict(fresh_dmatrix())
        if predictions is None:
            predictions = warm
        inplace = median_seconds(args.repeats, lambda _: booster.inplace_predict(x, missing=np.nan))
        dm = median_seconds(args.repeats, booster.predict, fresh_dmatrix)
        result["batch_inplace_ns_per_tree_row_%s" % label] = inplace * 1e9 / (rows * trees)
        result["batch_dmatrix_ns_per_tree_row_%s" % label] = dm * 1e9 / (rows * trees)

    booster.set_param({"nthread": 0})

    def one_row_dmatrix(_):
        for i in range(len(single)):
            booster.predict(xgb.DMatrix(single[i : i + 1], missing=np.nan))

    def one_row_inplace(_):
        for i in range(len(single)):
            booster.inplace_predict(single[i : i + 1], missing=np.nan)

    one_row_dmatrix(None)
    one_row_inplace(None)
    result["single_dmatrix_us_per_row"] = median_seconds(args.repeats, one_row_dmatrix) * 1e6 / len(single)
    result["single_inplace_us_per_row"] = median_seconds(args.repeats, one_row_inplace) * 1e6 / len(single)

    predictions.astype("<f8").tofile(args.predictions)
    json.dump(result, sys.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train one depth-limited model per tree count and save model.json")
    t.add_argument("--x", required=True)
    t.add_argument("--y", required=True)
    t.add_argument("--features", type=int, required=True)
    t.add_argument("--depth", type=int, required=True)
    t.add_argument("--trees", type=lambda s: [int(n) for n in s.split(",")], required=True)
    t.add_argument("--out", required=True)
    b = sub.add_parser("bench", help="time XGBoost batch and single-row predictions for one model")
    b.add_argument("--model", required=True)
    b.add_argument("--x", required=True)
    b.add_argument("--features", type=int, required=True)
    b.add_argument("--repeats", type=int, required=True)
    b.add_argument("--single-rows", dest="single_rows", type=int, required=True)
    b.add_argument("--predictions", required=True, help="file for the batch predictions (float64)")
    args = parser.parse_args()
    if args.command == "train":
        train(args)
    else:
        bench(args)


if __name__ == "__main__":
    main()
