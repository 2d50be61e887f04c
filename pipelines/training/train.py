"""Training entry point: SageMaker XGBoost 1.7-1 script mode, and the local twin.

Features are computed before this script runs; it reads numeric CSV matrices (no header, label in the
first column, an empty cell for a missing value) from the train and validation channels and writes
the model directory:

  xgboost-model   XGBoost's own binary format, which the SageMaker XGBoost serving container loads
  model.json      the same booster as JSON, which the TypeScript scorer loads
  metrics.json    train/validation AUC and log loss, validation accuracy, training settings

It also defines `model_fn`, which SageMaker script-mode serving needs to load `xgboost-model`.

Several instances: when the job has more than one host (`SM_HOSTS`, `SM_CURRENT_HOST`, or SageMaker's
`resourceconfig.json` in `SM_INPUT_CONFIG_DIR`), every host trains on its own shard of the train channel
(the channel is `ShardedByS3Key`) with XGBoost's own collective: the first host runs XGBoost's Rabit
tracker, every host joins it, and the histograms and evaluation sums are all-reduced, so every host
grows the same trees. Only the first host writes the model directory. The validation channel is
replicated, so the first host's validation metrics are over the whole validation split, as with one
host. The tracker listens on port 9099 of the first host; `MLOPS_TRACKER_HOST` and
`MLOPS_TRACKER_PORT` override the address (the local twin runs every host on loopback). With one host
none of this runs and training is exactly the single-instance path.

Only numpy, xgboost and the standard library are used, and the code stays Python 3.8 compatible,
because the SageMaker container and Debian's python3-xgboost both have to run it unchanged.
"""

import argparse
import csv
import glob
import json
import math
import os
import shutil
import socket
import sys
import tempfile

import numpy as np
import xgboost as xgb

SUPPORTED_OBJECTIVES = ("binary:logistic", "reg:logistic")


class InputError(Exception):
    """A problem with the input data or hyperparameters; reported as one line, without a traceback."""


def log(message):
    print("[train] " + message, flush=True)


def _decode_hp(value):
    # The SageMaker Python SDK JSON-encodes hyperparameter values; jobs created through the API
    # directly pass them raw. Accept both.
    if isinstance(value, str) and len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _positive_int(name):
    def parse(text):
        try:
            value = int(str(_decode_hp(text)).strip())
        except ValueError:
            raise argparse.ArgumentTypeError("%s must be an integer, got %r" % (name, text))
        if value < 1:
            raise argparse.ArgumentTypeError("%s must be at least 1, got %r" % (name, text))
        return value

    return parse


def _int(name):
    def parse(text):
        try:
            return int(str(_decode_hp(text)).strip())
        except ValueError:
            raise argparse.ArgumentTypeError("%s must be an integer, got %r" % (name, text))

    return parse


def _float(name, low=None, high=None):
    def parse(text):
        try:
            value = float(str(_decode_hp(text)).strip())
        except ValueError:
            raise argparse.ArgumentTypeError("%s must be a number, got %r" % (name, text))
        if not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
            bounds = "[%s, %s]" % ("-inf" if low is None else low, "inf" if high is None else high)
            raise argparse.ArgumentTypeError("%s must be a number in %s, got %r" % (name, bounds, text))
        return value

    return parse


def _text(text):
    return str(_decode_hp(text)).strip()


def _metrics(text):
    value = _decode_hp(text)
    items = value if isinstance(value, list) else str(value).split(",")
    metrics = [str(m).strip() for m in items if str(m).strip()]
    if not metrics:
        raise argparse.ArgumentTypeError("eval_metric must name at least one metric, got %r" % (text,))
    return metrics


class _Parser(argparse.ArgumentParser):
    # argparse would print the whole usage text and exit; a bad hyperparameter should be one line.
    def error(self, message):
        raise InputError("bad hyperparameter: " + message)


def build_parser():
    parser = _Parser(description="Train an XGBoost binary classifier from numeric CSV channels.")
    parser.add_argument("--num_round", type=_positive_int("num_round"), default=100)
    parser.add_argument("--max_depth", type=_int("max_depth"), default=6)
    parser.add_argument("--eta", type=_float("eta", 0.0, 1.0), default=0.3)
    parser.add_argument("--subsample", type=_float("subsample", 0.0, 1.0), default=1.0)
    parser.add_argument("--colsample_bytree", type=_float("colsample_bytree", 0.0, 1.0), default=1.0)
    parser.add_argument("--min_child_weight", type=_float("min_child_weight", 0.0), default=1.0)
    parser.add_argument("--gamma", type=_float("gamma", 0.0), default=0.0)
    parser.add_argument("--lambda", dest="reg_lambda", type=_float("lambda", 0.0), default=1.0)
    parser.add_argument("--alpha", type=_float("alpha", 0.0), default=0.0)
    parser.add_argument("--scale_pos_weight", type=_float("scale_pos_weight", 0.0), default=1.0)
    parser.add_argument("--seed", type=_int("seed"), default=42)
    parser.add_argument("--objective", type=_text, default="binary:logistic")
    parser.add_argument("--eval_metric", type=_metrics, default=["auc", "logloss"])
    parser.add_argument("--early_stopping_rounds", type=_positive_int("early_stopping_rounds"), default=None)
    parser.add_argument("--tree_method", type=_text, default=None)
    return parser


def parse_hyperparameters(argv, environ):
    """Command-line arguments win; SM_HPS fills in what the command line does not give."""
    parser = build_parser()
    from_env = []
    hps_text = environ.get("SM_HPS")
    if hps_text:
        try:
            hps = json.loads(hps_text)
        except ValueError as err:
            raise InputError("SM_HPS is not valid JSON (%s): %.200s" % (err, hps_text))
        if not isinstance(hps, dict):
            raise InputError("SM_HPS must be a JSON object, got: %.200s" % hps_text)
        known = {o[2:] for action in parser._actions for o in action.option_strings if o.startswith("--")}
        for key in sorted(hps):
            if key in known and key != "help":
                value = hps[key]
                text = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
                from_env += ["--" + key, text]
    args, unknown = parser.parse_known_args(from_env + list(argv))
    if args.objective not in SUPPORTED_OBJECTIVES:
        raise InputError(
            "objective %r is not supported; use one of %s" % (args.objective, ", ".join(SUPPORTED_OBJECTIVES))
        )
    if args.max_depth < 1:
        raise InputError("max_depth must be at least 1, got %d" % args.max_depth)
    if args.tree_method is None:
        args.tree_method = "gpu_hist" if _num_gpus(environ) > 0 else "hist"
    return args, unknown


def _num_gpus(environ):
    text = environ.get("SM_NUM_GPUS", "0").strip() or "0"
    try:
        return int(text)
    except ValueError:
        raise InputError("SM_NUM_GPUS must be an integer, got %r" % text)


TRACKER_PORT = 9099


class Cluster(object):
    """The job's hosts as SageMaker names them (`algo-1`, ...), and this process's place among them."""

    def __init__(self, hosts, current_host):
        self.hosts = hosts
        self.current_host = current_host
        self.rank = hosts.index(current_host)

    @property
    def distributed(self):
        return len(self.hosts) > 1

    @property
    def is_first(self):
        return self.rank == 0


def read_cluster(environ):
    """The hosts from SM_HOSTS and SM_CURRENT_HOST, else from resourceconfig.json; one host if neither."""
    hosts_text = environ.get("SM_HOSTS")
    current = environ.get("SM_CURRENT_HOST")
    source = "SM_HOSTS"
    if hosts_text is None:
        path = os.path.join(environ.get("SM_INPUT_CONFIG_DIR", "/opt/ml/input/config"), "resourceconfig.json")
        if not os.path.isfile(path):
            return Cluster(["algo-1"], "algo-1")
        source = path
        try:
            with open(path) as handle:
                config = json.load(handle)
        except ValueError as err:
            raise InputError("%s is not valid JSON: %s" % (path, err))
        if not isinstance(config, dict):
            raise InputError("%s must be a JSON object with hosts and current_host" % path)
        hosts, current = config.get("hosts"), config.get("current_host")
    else:
        try:
            hosts = json.loads(hosts_text)
        except ValueError as err:
            raise InputError("SM_HOSTS is not valid JSON (%s): %.200s" % (err, hosts_text))
    if not isinstance(hosts, list) or not hosts or not all(isinstance(h, str) and h for h in hosts):
        raise InputError("%s must list the job's host names, got %.200r" % (source, hosts))
    if len(set(hosts)) != len(hosts):
        raise InputError("%s names a host twice: %.200r" % (source, hosts))
    if not current:
        raise InputError("SM_CURRENT_HOST is not set: with %s it names this host" % source)
    if current not in hosts:
        raise InputError("the current host %r is not one of the hosts %s in %s" % (current, hosts, source))
    return Cluster(list(hosts), current)


def tracker_address(cluster, environ):
    host = environ.get("MLOPS_TRACKER_HOST") or cluster.hosts[0]
    text = environ.get("MLOPS_TRACKER_PORT") or str(TRACKER_PORT)
    try:
        port = int(text)
    except ValueError:
        raise InputError("MLOPS_TRACKER_PORT must be a port number, got %r" % text)
    if not 0 < port < 65536:
        raise InputError("MLOPS_TRACKER_PORT must be a port number, got %r" % text)
    try:
        address = socket.gethostbyname(host)
    except OSError as err:
        raise InputError("cannot resolve the tracker host %r: %s" % (host, err))
    return address, port


class Collective(object):
    """Joins XGBoost's collective for the training; the first host also runs the tracker."""

    def __init__(self, cluster, environ):
        self.cluster = cluster
        self.address, self.port = tracker_address(cluster, environ)
        self.tracker = None
        self.context = None

    def __enter__(self):
        from xgboost import collective
        from xgboost.tracker import RabitTracker

        n = len(self.cluster.hosts)
        if self.cluster.is_first:
            # Ranks follow the task ids, which follow the host order, so the same hosts always get
            # the same ranks and the all-reduced sums add up in the same order.
            self.tracker = RabitTracker(host_ip=self.address, n_workers=n, port=self.port, sortby="task")
            self.tracker.start(n)
        log("joining the collective of %d hosts as %s via %s:%d" % (n, self.cluster.current_host, self.address, self.port))
        self.context = collective.CommunicatorContext(
            DMLC_TRACKER_URI=self.address,
            DMLC_TRACKER_PORT=self.port,
            DMLC_TASK_ID="%06d" % self.cluster.rank,
            DMLC_NUM_WORKER=n,
            DMLC_WORKER_CONNECT_RETRY=60,
        )
        self.context.__enter__()
        rank, size = collective.get_rank(), collective.get_world_size()
        if rank != self.cluster.rank or size != n:
            raise RuntimeError(
                "the collective gave %s rank %d of %d; expected %d of %d"
                % (self.cluster.current_host, rank, size, self.cluster.rank, n)
            )
        return self

    def __exit__(self, *exc):
        if self.context is not None:
            self.context.__exit__(*exc)
        if self.tracker is not None and exc[0] is None:
            self.tracker.join()
        return False


def total(value):
    """The sum of a count over every host (the count itself with one host)."""
    from xgboost import collective

    if not collective.is_distributed():
        return value
    return int(collective.allreduce(np.asarray([value], dtype=np.float64), collective.Op.SUM)[0])


def read_channel(name, environ, expected_columns=None):
    """Reads every *.csv file in the channel directory (sorted by name) into labels and a feature matrix."""
    env_name = "SM_CHANNEL_" + name.upper()
    directory = environ.get(env_name)
    if not directory:
        raise InputError("%s is not set: the %s channel directory is required" % (env_name, name))
    if not os.path.isdir(directory):
        raise InputError("%s=%s is not a directory" % (env_name, directory))
    files = sorted(glob.glob(os.path.join(directory, "*.csv")))
    if not files:
        raise InputError("%s channel %s has no *.csv files" % (name, directory))

    labels = []
    rows = []
    columns = expected_columns
    for path in files:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            for line_no, record in enumerate(csv.reader(handle), start=1):
                if not record or (len(record) == 1 and record[0].strip() == ""):
                    continue
                if columns is None:
                    columns = len(record)
                    if columns < 2:
                        raise InputError(
                            "%s:%d: a row needs a label and at least one feature, got %d column(s)"
                            % (path, line_no, columns)
                        )
                elif len(record) != columns:
                    raise InputError(
                        "%s:%d: expected %d columns (label + %d features), got %d"
                        % (path, line_no, columns, columns - 1, len(record))
                    )
                labels.append(_label(record[0], path, line_no))
                rows.append([_cell(cell, path, line_no, col) for col, cell in enumerate(record[1:], start=2)])
    if not rows:
        raise InputError("%s channel %s has no data rows (files: %s)" % (name, directory, ", ".join(files)))
    return np.asarray(labels, dtype=np.float64), np.asarray(rows, dtype=np.float64).reshape(len(rows), columns - 1)


def _label(text, path, line_no):
    value = text.strip()
    try:
        number = float(value)
    except ValueError:
        number = None
    if number not in (0.0, 1.0):
        raise InputError("%s:%d: column 1 is the label and must be 0 or 1, got %r" % (path, line_no, text))
    return number


def _cell(text, path, line_no, column):
    value = text.strip()
    if value == "":
        return math.nan
    try:
        number = float(value)
    except ValueError:
        raise InputError("%s:%d: column %d is not a number: %r" % (path, line_no, column, text))
    if not math.isfinite(number):
        raise InputError(
            "%s:%d: column %d is %r; leave the cell empty for a missing value" % (path, line_no, column, text)
        )
    return number


def auc(labels, scores):
    """Area under the ROC curve (Mann-Whitney U, tied scores share their average rank)."""
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    # 1-based rank of each distinct score, averaged over its ties.
    average_rank = np.cumsum(counts) - (counts - 1) / 2.0
    ranks = average_rank[inverse.reshape(-1)]
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def logloss(labels, probabilities):
    p = np.clip(probabilities.astype(np.float64), 1e-15, 1 - 1e-15)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def accuracy(labels, probabilities):
    return float(np.mean((probabilities >= 0.5) == (labels == 1)))


def booster_params(args):
    """The XGBoost parameters that define the model; metrics.json records the same dictionary."""
    return {
        "objective": args.objective,
        "eval_metric": args.eval_metric,
        "max_depth": args.max_depth,
        "eta": args.eta,
        "subsample": args.subsample,
        "colsample_bytree": args.colsample_bytree,
        "min_child_weight": args.min_child_weight,
        "gamma": args.gamma,
        "lambda": args.reg_lambda,
        "alpha": args.alpha,
        "scale_pos_weight": args.scale_pos_weight,
        "seed": args.seed,
    }


def train(args, x_train, y_train, x_val, y_val):
    dtrain = xgb.DMatrix(x_train, label=y_train, missing=np.nan)
    dval = xgb.DMatrix(x_val, label=y_val, missing=np.nan)
    params = dict(booster_params(args), tree_method=args.tree_method, verbosity=1)
    callbacks = []
    if args.early_stopping_rounds:
        # Stops on the last eval_metric (logloss by default), as XGBoost does. save_best trims the trees
        # after the best round, so every consumer of the saved model (serving container, TypeScript
        # scorer) predicts with the same trees the metrics describe.
        callbacks.append(
            xgb.callback.EarlyStopping(rounds=args.early_stopping_rounds, data_name="validation", save_best=True)
        )
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=args.num_round,
        evals=[(dtrain, "train"), (dval, "validation")],
        callbacks=callbacks,
        verbose_eval=max(1, args.num_round // 10),
    )
    if args.early_stopping_rounds:
        best_iteration = int(booster.attr("best_iteration") or booster.num_boosted_rounds() - 1)
    else:
        best_iteration = booster.num_boosted_rounds() - 1
    return booster, dtrain, dval, best_iteration


def save_model(booster, model_dir, dval):
    os.makedirs(model_dir, exist_ok=True)
    json_path = os.path.join(model_dir, "model.json")
    binary_path = os.path.join(model_dir, "xgboost-model")
    booster.save_model(json_path)
    # XGBoost picks the format from the file name: without .json/.ubj it writes its binary format.
    # Write under a temporary name first so a crash never leaves a half-written model behind.
    fd, tmp_path = tempfile.mkstemp(prefix="xgboost-model.", suffix=".bin", dir=model_dir)
    os.close(fd)
    try:
        booster.save_model(tmp_path)
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, binary_path)
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
    # Both files must describe the same model; a silent format difference would only show up in serving.
    reference = booster.predict(dval)
    for path in (json_path, binary_path):
        reloaded = xgb.Booster(model_file=path)
        diff = float(np.max(np.abs(reloaded.predict(dval) - reference))) if len(reference) else 0.0
        if diff > 1e-6:
            raise RuntimeError("%s predicts differently from the trained booster (max diff %g)" % (path, diff))


def write_json(path, value):
    with open(path, "w") as handle:
        json.dump(value, handle, indent=2, sort_keys=True)
        handle.write("\n")


def main(argv=None, environ=None):
    environ = os.environ if environ is None else environ
    argv = sys.argv[1:] if argv is None else argv
    args, unknown = parse_hyperparameters(argv, environ)
    if unknown:
        log("ignoring arguments: " + " ".join(unknown))
    model_dir = environ.get("SM_MODEL_DIR")
    if not model_dir:
        raise InputError("SM_MODEL_DIR is not set: it names the directory the model is written to")
    cluster = read_cluster(environ)
    if not cluster.distributed:
        return run(args, environ, model_dir, cluster)

    # Read the shards before joining: a host with bad or no data fails before the others wait on it.
    shard = environ.get("SM_CHANNEL_TRAIN")
    if shard and os.path.isdir(shard) and not glob.glob(os.path.join(shard, "*.csv")):
        raise InputError(
            "host %s has no *.csv files in its shard of the train channel (%s): the channel is sharded "
            "by S3 key across %d hosts, so its prefix needs at least %d part files"
            % (cluster.current_host, shard, len(cluster.hosts), len(cluster.hosts))
        )
    data = read_data(environ)
    with Collective(cluster, environ):
        return run(args, environ, model_dir, cluster, data)


def read_data(environ):
    y_train, x_train = read_channel("train", environ)
    y_val, x_val = read_channel("validation", environ, expected_columns=x_train.shape[1] + 1)
    return y_train, x_train, y_val, x_val


def run(args, environ, model_dir, cluster, data=None):
    y_train, x_train, y_val, x_val = read_data(environ) if data is None else data
    if cluster.distributed:
        features = x_train.shape[1]
        if total(features) != features * len(cluster.hosts):
            raise InputError(
                "host %s has %d feature columns in its train shard, and another host a different number"
                % (cluster.current_host, features)
            )
    log(
        "rows=%d validation_rows=%d features=%d tree_method=%s xgboost=%s"
        % (x_train.shape[0], x_val.shape[0], x_train.shape[1], args.tree_method, xgb.__version__)
    )

    booster, dtrain, dval, best_iteration = train(args, x_train, y_train, x_val, y_val)
    train_scores = booster.predict(dtrain)
    if cluster.distributed:
        train_metrics = distributed_train_metrics(y_train, train_scores)
    else:
        train_metrics = {"auc": auc(y_train, train_scores), "logloss": logloss(y_train, train_scores)}
    train_rows = total(int(x_train.shape[0])) if cluster.distributed else int(x_train.shape[0])
    if not cluster.is_first:
        log("host %s trained on %d rows of %d; the first host writes the model" % (
            cluster.current_host, x_train.shape[0], train_rows))
        return 0
    save_model(booster, model_dir, dval)

    val_scores = booster.predict(dval)
    metrics = {
        "train": train_metrics,
        "validation": {
            "auc": auc(y_val, val_scores),
            "logloss": logloss(y_val, val_scores),
            "accuracy": accuracy(y_val, val_scores),
        },
        "num_round": args.num_round,
        "best_iteration": best_iteration,
        "num_trees": booster.num_boosted_rounds(),
        "tree_method": args.tree_method,
        "xgboost_version": xgb.__version__,
        "rows": {"train": train_rows, "validation": int(x_val.shape[0])},
        "num_features": int(x_train.shape[1]),
        "hyperparameters": dict(booster_params(args), early_stopping_rounds=args.early_stopping_rounds),
    }
    if cluster.distributed:
        metrics["hosts"] = len(cluster.hosts)
    metrics_path = os.path.join(model_dir, "metrics.json")
    write_json(metrics_path, metrics)
    output_dir = environ.get("SM_OUTPUT_DATA_DIR")
    if output_dir:
        os.makedirs(output_dir, exist_ok=True)
        shutil.copyfile(metrics_path, os.path.join(output_dir, "metrics.json"))

    log("metrics " + json.dumps({"train": metrics["train"], "validation": metrics["validation"]}, sort_keys=True))
    log("best_iteration=%d num_trees=%d model_dir=%s" % (best_iteration, metrics["num_trees"], model_dir))
    return 0


AUC_BINS = 1 << 16


def distributed_train_metrics(labels, scores):
    """Train AUC and log loss over every host's shard without moving the rows: log loss from
    all-reduced sums (exact), AUC from all-reduced counts of positives and negatives in 65,536 equal
    score bins, where two scores in one bin count as a tie (within 1/65,536 of the exact AUC)."""
    from xgboost import collective

    p = np.clip(scores.astype(np.float64), 1e-15, 1 - 1e-15)
    bins = np.minimum((scores.astype(np.float64) * AUC_BINS).astype(np.int64), AUC_BINS - 1)
    local = np.concatenate(
        [
            [float(-np.sum(labels * np.log(p) + (1 - labels) * np.log(1 - p))), float(len(labels))],
            np.bincount(bins[labels == 1], minlength=AUC_BINS).astype(np.float64),
            np.bincount(bins[labels == 0], minlength=AUC_BINS).astype(np.float64),
        ]
    )
    summed = collective.allreduce(local, collective.Op.SUM)
    loss, count = summed[0], summed[1]
    pos, neg = summed[2 : 2 + AUC_BINS], summed[2 + AUC_BINS :]
    positives, negatives = pos.sum(), neg.sum()
    if positives == 0 or negatives == 0:
        area = None
    else:
        below = np.cumsum(neg) - neg
        area = float(np.sum(pos * (below + neg / 2.0)) / (positives * negatives))
    return {"auc": area, "logloss": float(loss / count)}


def model_fn(model_dir):
    """Loads the model for SageMaker script-mode serving, where the XGBoost framework container has no
    default loader and imports this script for one."""
    booster = xgb.Booster()
    booster.load_model(os.path.join(model_dir, "xgboost-model"))
    return booster


def input_fn(request_body, content_type):
    """The endpoint's request: numeric CSV rows of the feature vectors the platform computed (no
    header, no label), an empty cell for a missing value."""
    if (content_type or "").split(";")[0].strip().lower() != "text/csv":
        raise ValueError("content type must be text/csv, got %r" % content_type)
    text = request_body.decode("utf-8") if isinstance(request_body, (bytes, bytearray)) else request_body
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line:
            continue
        try:
            rows.append([float(cell) if cell != "" else np.nan for cell in line.split(",")])
        except ValueError:
            raise ValueError("row %d is not numeric CSV" % number)
    if not rows:
        raise ValueError("the request has no rows")
    return xgb.DMatrix(np.array(rows, dtype=np.float64), missing=np.nan)


def predict_fn(data, model):
    return model.predict(data)


def output_fn(prediction, accept):
    """The endpoint's answer: {"scores": [probability per row]}."""
    if (accept or "application/json").split(";")[0].strip().lower() not in ("application/json", "*/*"):
        raise ValueError("accept must be application/json, got %r" % accept)
    return json.dumps({"scores": [float(p) for p in prediction]}), "application/json"


def _report_failure(message, environ):
    sys.stderr.write("[train] error: %s\n" % message)
    sys.stderr.flush()
    # SageMaker shows the content of /opt/ml/output/failure as the training job's FailureReason.
    output_dir = environ.get("SM_OUTPUT_DIR")
    if output_dir and os.path.isdir(output_dir):
        try:
            with open(os.path.join(output_dir, "failure"), "w") as handle:
                handle.write(message[:1000])
        except OSError:
            pass


if __name__ == "__main__":
    try:
        sys.exit(main())
    except InputError as err:
        _report_failure(str(err), os.environ)
        sys.exit(2)
    except SystemExit:
        raise
    except Exception as err:
        # One readable line for the job's failure reason; XGBoost errors carry a native stack trace
        # after the first line, and the re-raised traceback keeps all of it in the log.
        first_line = (str(err).strip().splitlines() or [""])[0]
        _report_failure("%s: %s" % (type(err).__name__, first_line), os.environ)
        raise
