"""`wildrydes train`: fit the heavy-utilization model on rides + weather and write a Linear Learner artifact.

Two engines produce the same artifact layout (SageMaker's Linear Learner binary classifier, read by
``wildrydes_lambda.model_format.linear_learner`` and by the inference Lambda):

* ``local``     scikit-learn logistic regression on standardized features; the standardization is folded
                into the saved weights, as SageMaker does with ``normalize_data=true``, so the model takes
                raw features. Same data + seed -> byte-identical ``model.tar.gz``.
* ``sagemaker`` writes the CSV channels to the bucket, runs a Linear Learner training job (boto3 only, no
                SageMaker SDK), waits for it and evaluates the resulting artifact on the same held-out rows.

Only features known when a ride is priced may be used: the label is ``magicpoints > 50 * distance``, so
``magicpoints`` (and anything derived from the label) would just teach the model the rule.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from wildrydes_lambda.contracts import features as features_contract
from wildrydes_lambda.contracts import layout
from wildrydes_lambda.model_format import linear_learner as ll

from wildrydes.errors import CommandError

# Request names (as the inference API and metadata.json spell them) -> column of the joined table.
FEATURE_COLUMNS = {"distance": "distance", "TMIN": "tmin", "TMAX": "tmax", "PRCP": "prcp"}
FEATURE_UNITS = features_contract.FEATURE_UNITS
DEFAULT_FEATURES = features_contract.FEATURE_NAMES
LABEL_COLUMN = features_contract.LABEL_NAME
# Inputs that encode the label (heavy = magicpoints > 50 * distance) or are only known after the ride.
# Matched on the lower-cased name with separators removed, so "Magic_Points" is refused too.
LEAKY_NAME_PARTS = ("magic", "health", "heavy", "utiliz", "label", "target")

DEFAULT_SEED = 0
VALIDATION_FRACTION = 0.1
# Strong-ish L2 would shrink four well-scaled coefficients for nothing; 1e4 is effectively unregularized.
LOGISTIC_C = 1e4
LOGISTIC_MAX_ITER = 1000
LOGISTIC_TOL = 1e-10
MODEL_VERSION_HEX_CHARS = 16

LATEST_PREFIX = layout.MODEL_LATEST_PREFIX
ARTIFACT_NAME = layout.MODEL_ARTIFACT_NAME
METADATA_NAME = layout.METADATA_FILE_NAME
DEFAULT_REPORT_DIR = Path("build/report")

# SageMaker Linear Learner images (account per region; ../shared/design/linear-learner-and-ghcn.md).
LINEAR_LEARNER_IMAGE_ACCOUNTS = {
    "us-east-1": "382416733822",
    "us-east-2": "404615174143",
    "us-west-1": "632365934929",
    "us-west-2": "174872318107",
    "eu-west-1": "438346466558",
    "eu-central-1": "664544806723",
    "ap-northeast-1": "351501993468",
    "ap-southeast-2": "712309505854",
}
ROLE_ARN_ENV = "WILDRYDES_SAGEMAKER_ROLE_ARN"  # the modules/sagemaker output, exported by the caller
DEFAULT_INSTANCE_TYPE = "ml.m5.large"
DEFAULT_VOLUME_GB = 10
DEFAULT_MAX_RUNTIME_SECONDS = 3600
DEFAULT_POLL_SECONDS = 30
# Channels go under training/ (the training role reads there); the job writes its artifact under models/
# (the only prefix the role may write, modules/sagemaker model_output_prefix).
TRAINING_PREFIX = str(layout.Prefix.TRAINING)
JOB_OUTPUT_PREFIX = layout.MODEL_JOBS_PREFIX
TERMINAL_JOB_STATUSES = ("Completed", "Failed", "Stopped")
JOB_STARTUP_ALLOWANCE_SECONDS = 1800  # instance provisioning + artifact upload, beyond the max runtime


# --------------------------------------------------------------------------- features & leakage guard
def parse_features(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Validate a feature list (comma string or sequence); raises CommandError on leakage or unknowns."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    if not names:
        raise CommandError("no features given")
    for name in names:
        squashed = name.lower().replace("_", "").replace("-", "")
        leak = next((part for part in LEAKY_NAME_PARTS if part in squashed), None)
        if leak:
            raise CommandError(
                f"feature {name!r} is not allowed: it leaks the label (heavy_utilization is defined as "
                f"magicpoints > 50 * distance) or is unknown at pricing time; use {', '.join(DEFAULT_FEATURES)}")
        if name not in FEATURE_COLUMNS:
            raise CommandError(f"unknown feature {name!r}; available: {', '.join(FEATURE_COLUMNS)}")
    if len(set(names)) != len(names):
        raise CommandError(f"duplicate features in {','.join(names)}")
    return tuple(names)


# --------------------------------------------------------------------------- reading local or S3 trees
def parse_s3_uri(uri: str) -> tuple[str, str]:
    rest = uri[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise CommandError(f"bad S3 URI {uri!r}")
    return bucket, prefix


def _s3_client():
    """The weather stage's S3 client: path-style addressing when an emulator endpoint is configured."""
    from wildrydes import weather as weather_stage

    return weather_stage.s3_client()


def load_joined(rides: str, weather: str) -> pd.DataFrame:
    """Processed rides LEFT JOIN reduced weather, via the weather stage's join (sql/training_join.sql).

    Local directories or s3:// prefixes; the result has ``wildrydes.weather.JOIN_HEADER`` columns and keeps
    rides without weather (``has_weather`` = 0) so build_dataset can count them.
    """
    from wildrydes import weather as weather_stage

    for what, location in (("--rides", rides), ("--weather", weather)):
        if not location.startswith("s3://") and not Path(location).exists():
            raise CommandError(f"{what}: {location} does not exist")
    try:
        rows, join_report = weather_stage.join_duckdb(rides, weather)
    except weather_stage.WeatherError as exc:
        raise CommandError(str(exc)) from None
    if join_report.missing_station_days:
        print(f"join: {join_report.summary()}", file=sys.stderr)
    frame = pd.DataFrame(rows, columns=list(weather_stage.JOIN_HEADER))
    for column in (*FEATURE_COLUMNS.values(), LABEL_COLUMN):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


# --------------------------------------------------------------------------- dataset
@dataclass
class Dataset:
    """The rows a model is trained and evaluated on, in a canonical order (sorted by ride_id)."""

    features: tuple[str, ...]
    ride_ids: np.ndarray
    x: np.ndarray  # raw features, float64, columns in `features` order
    y: np.ndarray  # 0/1 labels
    frame: pd.DataFrame  # the joined rows kept (for the report's plots)
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """Hash of exactly what the model sees: ids, labels and features in canonical order."""
        digest = hashlib.sha256()
        digest.update(json.dumps(list(self.features)).encode())
        digest.update("\n".join(self.ride_ids).encode())
        digest.update(np.ascontiguousarray(self.y, dtype="<i8").tobytes())
        digest.update(np.ascontiguousarray(self.x, dtype="<f8").tobytes())
        return digest.hexdigest()


def build_dataset(joined: pd.DataFrame, features: tuple[str, ...]) -> Dataset:
    """Select features and label; drop (and count) duplicate rides and rides without the weather needed."""
    columns = [FEATURE_COLUMNS[f] for f in features]
    frame = joined.sort_values("ride_id", kind="mergesort").reset_index(drop=True)
    excluded: dict[str, int] = {}
    duplicated = frame.duplicated("ride_id", keep="first")
    excluded["duplicate_ride_id"] = int(duplicated.sum())
    frame = frame[~duplicated]
    no_station_day = frame["has_weather"] == 0
    incomplete = ~no_station_day & frame[columns].isna().any(axis=1)
    excluded["no_weather_for_station_day"] = int(no_station_day.sum())
    excluded["weather_element_missing"] = int(incomplete.sum())
    frame = frame[~no_station_day & ~incomplete]
    bad_label = ~frame[LABEL_COLUMN].isin([0, 1])
    excluded["bad_label"] = int(bad_label.sum())
    frame = frame[~bad_label].reset_index(drop=True)
    if frame.empty:
        raise CommandError(f"no rides left to train on after excluding {excluded}")
    y = frame[LABEL_COLUMN].to_numpy(dtype=np.int64)
    if len(np.unique(y)) < 2:
        raise CommandError(f"all {len(y)} rides have heavy_utilization={y[0]}: nothing to learn")
    return Dataset(
        features=features,
        ride_ids=frame["ride_id"].to_numpy(dtype=str),
        x=frame[columns].to_numpy(dtype=np.float64),
        y=y,
        frame=frame,
        excluded=excluded,
    )


def split_indices(n: int, seed: int, validation_fraction: float = VALIDATION_FRACTION) -> tuple[np.ndarray, ...]:
    """Seeded shuffle of the canonical row order into (train, validation) index arrays."""
    order = np.random.default_rng(seed).permutation(n)
    n_validation = max(1, round(n * validation_fraction))
    if n - n_validation < 2:
        raise CommandError(f"only {n} rides: too few to split into training and validation")
    return np.sort(order[n_validation:]), np.sort(order[:n_validation])


# --------------------------------------------------------------------------- local fit
def fold_normalization(w_n: np.ndarray, b_n: float, mu: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, float]:
    """Turn a model on z = (x - mu) / sigma into one on raw x: w = w_n / sigma, b = b_n - sum(w_n mu / sigma)."""
    w_raw = w_n / sigma
    b_raw = float(b_n - np.sum(w_n * mu / sigma))
    return w_raw, b_raw


def fit_standardized_logistic(x: np.ndarray, y: np.ndarray):
    """Fit sklearn's logistic regression on standardized features; return (estimator, mu, sigma)."""
    from sklearn.linear_model import LogisticRegression

    mu = x.mean(axis=0)
    sigma = x.std(axis=0)
    sigma = np.where(sigma > 0, sigma, 1.0)  # a constant column carries no signal; avoid dividing by 0
    estimator = LogisticRegression(C=LOGISTIC_C, max_iter=LOGISTIC_MAX_ITER, tol=LOGISTIC_TOL, solver="lbfgs")
    estimator.fit((x - mu) / sigma, y)
    return estimator, mu, sigma


def scores_of(model: ll.LinearModel, x: np.ndarray) -> np.ndarray:
    """Vectorized LinearModel.score (same formula; numpy for speed on whole datasets)."""
    z = x @ np.asarray(model.weights, dtype=np.float64) + model.bias
    return 1.0 / (1.0 + np.exp(-z))


def calibrate_threshold(y: np.ndarray, scores: np.ndarray) -> float:
    """The threshold t maximizing accuracy of `score >= t` on held-out rows (SageMaker's default criterion).

    Candidates are the observed scores plus +inf (predict all 0); ties go to the candidate nearest 0.5 so
    the result does not hinge on one borderline row.
    """
    order = np.argsort(-scores, kind="mergesort")
    sorted_scores, sorted_y = scores[order], y[order]
    # Predicting 1 for the top k rows: correct = positives among top k + negatives among the rest.
    tp = np.concatenate([[0], np.cumsum(sorted_y)])
    fp = np.concatenate([[0], np.cumsum(1 - sorted_y)])
    negatives = len(y) - int(sorted_y.sum())
    correct = tp + (negatives - fp)
    # Only cut between distinct scores (k = 0 or a k where the next score differs).
    valid = np.ones(len(y) + 1, dtype=bool)
    valid[1:-1] = sorted_scores[:-1] != sorted_scores[1:]
    candidates = np.concatenate([[np.inf], sorted_scores])
    best = correct[valid].max()
    ties = np.flatnonzero(valid & (correct == best))
    chosen = ties[np.argmin(np.abs(candidates[ties] - 0.5))]
    return float(candidates[chosen]) if np.isfinite(candidates[chosen]) else 1.0


def evaluate(y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    predicted = (scores >= threshold).astype(int)
    return {
        "roc_auc": float(roc_auc_score(y, scores)),
        "brier": float(brier_score_loss(y, scores)),
        "log_loss": float(log_loss(y, np.clip(scores, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "accuracy_at_threshold": float((predicted == y).mean()),
        "positive_rate": float(y.mean()),
        "rows": len(y),
    }


@dataclass
class TrainingResult:
    model: ll.LinearModel
    artifact: bytes
    metadata: dict[str, Any]
    dataset: Dataset
    train_idx: np.ndarray
    validation_idx: np.ndarray
    validation_scores: np.ndarray


def train_local(dataset: Dataset, seed: int = DEFAULT_SEED) -> tuple[ll.LinearModel, np.ndarray, np.ndarray]:
    """Fit on the training split, calibrate the threshold on validation; returns (model, train, val)."""
    train_idx, validation_idx = split_indices(len(dataset.y), seed)
    if len(np.unique(dataset.y[train_idx])) < 2:
        raise CommandError("the training split holds one class only; add data or change --seed")
    estimator, mu, sigma = fit_standardized_logistic(dataset.x[train_idx], dataset.y[train_idx])
    w_raw, b_raw = fold_normalization(estimator.coef_[0], float(estimator.intercept_[0]), mu, sigma)
    # Round to float32 first: the artifact stores float32, and the threshold must fit the stored model.
    model = ll.LinearModel(weights=tuple(w_raw), bias=b_raw).as_float32()
    threshold = calibrate_threshold(dataset.y[validation_idx], scores_of(model, dataset.x[validation_idx]))
    return ll.LinearModel(model.weights, model.bias, threshold), train_idx, validation_idx


def build_metadata(
    model: ll.LinearModel, artifact: bytes, dataset: Dataset, metrics: dict[str, Any], engine: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        # Content address: the same artifact always has the same version, a new one a new version.
        "model_version": hashlib.sha256(artifact).hexdigest()[:MODEL_VERSION_HEX_CHARS],
        "features": list(dataset.features),
        "units": {f: FEATURE_UNITS[f] for f in dataset.features},
        "threshold": model.threshold,
        "metrics": metrics,
        "training_data_sha256": dataset.sha256,
        "created_by": f"wildrydes train --engine {engine}",
        **(extra or {}),
    }


def metadata_bytes(metadata: dict[str, Any]) -> bytes:
    return (json.dumps(metadata, indent=2, sort_keys=True) + "\n").encode()


def finish(dataset: Dataset, model: ll.LinearModel, artifact: bytes, train_idx: np.ndarray,
           validation_idx: np.ndarray, seed: int, engine: str, extra: dict[str, Any] | None = None) -> TrainingResult:
    """Evaluate the artifact's model on the held-out rows and assemble metadata."""
    validation_scores = scores_of(model, dataset.x[validation_idx])
    metrics = {
        "validation": evaluate(dataset.y[validation_idx], validation_scores, model.threshold),
        "training_rows": len(train_idx),
        "validation_rows": len(validation_idx),
        "excluded_rows": dataset.excluded,
        "seed": seed,
    }
    metadata = build_metadata(model, artifact, dataset, metrics, engine, extra)
    return TrainingResult(model, artifact, metadata, dataset, train_idx, validation_idx, validation_scores)


def run_local(dataset: Dataset, seed: int) -> TrainingResult:
    model, train_idx, validation_idx = train_local(dataset, seed)
    artifact = ll.artifact_bytes(model)
    return finish(dataset, model, artifact, train_idx, validation_idx, seed, "local")


# --------------------------------------------------------------------------- SageMaker engine
def linear_learner_image(region: str) -> str:
    if region not in LINEAR_LEARNER_IMAGE_ACCOUNTS:
        raise CommandError(f"no Linear Learner image known for region {region!r}; "
                           f"known: {', '.join(sorted(LINEAR_LEARNER_IMAGE_ACCOUNTS))}")
    return f"{LINEAR_LEARNER_IMAGE_ACCOUNTS[region]}.dkr.ecr.{region}.amazonaws.com/linear-learner:1"


def channel_csv(dataset: Dataset, idx: np.ndarray) -> bytes:
    """Linear Learner CSV: label first, no header, features in metadata order."""
    table = np.column_stack([dataset.y[idx].astype(np.float64), dataset.x[idx]])
    buffer = io.StringIO()
    np.savetxt(buffer, table, delimiter=",", fmt="%.10g")
    return buffer.getvalue().encode()


def training_job_request(
    *, job_name: str, region: str, role_arn: str, bucket: str, feature_dim: int,
    instance_type: str = DEFAULT_INSTANCE_TYPE, max_runtime_seconds: int = DEFAULT_MAX_RUNTIME_SECONDS,
) -> dict[str, Any]:
    """The CreateTrainingJob request for a Linear Learner binary classifier on our bucket's channels."""
    base = f"s3://{bucket}/{TRAINING_PREFIX}{job_name}"

    def channel(name: str) -> dict[str, Any]:
        return {
            "ChannelName": name,
            "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": f"{base}/{name}/", "S3DataDistributionType": "FullyReplicated"}},
            "ContentType": "text/csv",
        }

    return {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": {"TrainingImage": linear_learner_image(region), "TrainingInputMode": "File"},
        "RoleArn": role_arn,
        "HyperParameters": {
            "predictor_type": ll.BINARY_CLASSIFIER,
            "feature_dim": str(feature_dim),
            "mini_batch_size": "1000",
            "epochs": "15",
            "normalize_data": "true",
            "loss": "logistic",
            "binary_classifier_model_selection_criteria": "accuracy",
        },
        "InputDataConfig": [channel("train"), channel("validation")],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/{JOB_OUTPUT_PREFIX}"},
        "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": 1, "VolumeSizeInGB": DEFAULT_VOLUME_GB},
        "StoppingCondition": {"MaxRuntimeInSeconds": int(max_runtime_seconds)},
    }


def wait_for_training_job(client, job_name: str, poll_seconds: float, timeout_seconds: float,
                          log=print, sleep=time.sleep) -> dict[str, Any]:
    """Poll DescribeTrainingJob, printing each status change, until the job ends; return the description."""
    deadline = time.monotonic() + timeout_seconds
    last = None
    while True:
        description = client.describe_training_job(TrainingJobName=job_name)
        status = (description["TrainingJobStatus"], description.get("SecondaryStatus"))
        if status != last:
            log(f"training job {job_name}: {status[0]} ({status[1] or '-'})")
            last = status
        if status[0] in TERMINAL_JOB_STATUSES:
            if status[0] != "Completed":
                raise CommandError(f"training job {job_name} {status[0].lower()}: "
                                   f"{description.get('FailureReason', 'no reason given')}")
            return description
        if time.monotonic() > deadline:
            raise CommandError(f"gave up waiting for training job {job_name} after {timeout_seconds:.0f} s "
                               "(it keeps running; see the SageMaker console)")
        sleep(poll_seconds)


@dataclass(frozen=True)
class SageMakerSettings:
    """Where and how the training job runs (the CLI's sagemaker options)."""

    role_arn: str | None = None  # default: $WILDRYDES_SAGEMAKER_ROLE_ARN
    bucket: str | None = None  # channels go to s3://bucket/training/<job>/
    region: str | None = None
    job_name: str | None = None
    instance_type: str = DEFAULT_INSTANCE_TYPE
    max_runtime: int = DEFAULT_MAX_RUNTIME_SECONDS
    poll_seconds: float = DEFAULT_POLL_SECONDS


def run_sagemaker(dataset: Dataset, seed: int, settings: SageMakerSettings, log=print) -> TrainingResult:
    """Write the channels, run a Linear Learner job, wait, and evaluate its artifact on our held-out rows."""
    import boto3

    role_arn = settings.role_arn or os.environ.get(ROLE_ARN_ENV)
    if not role_arn:
        raise CommandError(f"--role-arn (or ${ROLE_ARN_ENV}, the Terraform output of modules/sagemaker) is required")
    bucket = settings.bucket
    if not bucket:
        raise CommandError("--bucket is required when --out is not an s3:// URI")
    region = settings.region or boto3.session.Session().region_name or "us-east-1"
    train_idx, validation_idx = split_indices(len(dataset.y), seed)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    job_name = settings.job_name or f"wildrydes-ll-{dataset.sha256[:8]}-{stamp}"
    s3 = _s3_client()
    for name, idx in (("train", train_idx), ("validation", validation_idx)):
        key = f"{TRAINING_PREFIX}{job_name}/{name}/{name}.csv"
        s3.put_object(Bucket=bucket, Key=key, Body=channel_csv(dataset, idx))
        log(f"wrote s3://{bucket}/{key} ({len(idx)} rows)")
    request = training_job_request(
        job_name=job_name, region=region, role_arn=role_arn, bucket=bucket, feature_dim=len(dataset.features),
        instance_type=settings.instance_type, max_runtime_seconds=settings.max_runtime)
    sagemaker = boto3.client("sagemaker", region_name=region)
    sagemaker.create_training_job(**request)
    log(f"started training job {job_name} ({request['AlgorithmSpecification']['TrainingImage']})")
    # Wait a little past MaxRuntimeInSeconds: SageMaker needs time to start and to upload the artifact.
    timeout = settings.max_runtime + JOB_STARTUP_ALLOWANCE_SECONDS
    description = wait_for_training_job(sagemaker, job_name, settings.poll_seconds, timeout, log=log)
    artifact_uri = description["ModelArtifacts"]["S3ModelArtifacts"]
    print(artifact_uri)
    art_bucket, art_key = parse_s3_uri(artifact_uri)
    artifact = s3.get_object(Bucket=art_bucket, Key=art_key)["Body"].read()
    model = _model_from_bytes(artifact)
    if model.feature_dim != len(dataset.features):
        raise CommandError(f"job artifact has {model.feature_dim} features, expected {len(dataset.features)}")
    return finish(dataset, model, artifact, train_idx, validation_idx, seed, "sagemaker",
                  {"training_job": job_name, "source_artifact": artifact_uri})


def _model_from_bytes(artifact: bytes) -> ll.LinearModel:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ARTIFACT_NAME
        path.write_bytes(artifact)
        return ll.load_artifact(path)


# --------------------------------------------------------------------------- outputs
def write_outputs(out: str, artifact: bytes, metadata: dict[str, Any]) -> list[str]:
    """Write model.tar.gz and metadata.json to a directory or S3 prefix; return their locations."""
    files = {ARTIFACT_NAME: artifact, METADATA_NAME: metadata_bytes(metadata)}
    if out.startswith("s3://"):
        bucket, prefix = parse_s3_uri(out)
        prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        s3 = _s3_client()
        for name, data in files.items():
            s3.put_object(Bucket=bucket, Key=prefix + name, Body=data)
        return [f"s3://{bucket}/{prefix}{name}" for name in files]
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return [str(directory / name) for name in files]


def publish(bucket_uri: str, artifact: bytes, metadata: dict[str, Any]) -> list[str]:
    """Copy the chosen model to the stable key the inference stage reads (the bucket versions history)."""
    bucket, extra = parse_s3_uri(bucket_uri if bucket_uri.startswith("s3://") else "s3://" + bucket_uri)
    if extra.strip("/"):
        raise CommandError(f"--publish takes s3://BUCKET only, got {bucket_uri!r}")
    return write_outputs(f"s3://{bucket}/{LATEST_PREFIX}", artifact, metadata)


# --------------------------------------------------------------------------- command
def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train the heavy-utilization model (local or SageMaker)",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("local", "sagemaker"), default="local")
    parser.add_argument("--rides", required=True, help="processed ride CSV tree: directory or s3://bucket/prefix")
    parser.add_argument("--weather", required=True, help="reduced weather CSV tree: directory or s3:// URI")
    parser.add_argument("--out", required=True, help="where model.tar.gz and metadata.json go: dir or s3:// URI")
    parser.add_argument("--features", default=",".join(DEFAULT_FEATURES),
                        help="comma list, in request order (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the 90/10 split")
    parser.add_argument("--publish", metavar="s3://BUCKET", help=f"also copy to {LATEST_PREFIX}")
    parser.add_argument("--truth", help="generator ground truth (for the report's Bayes-optimal AUC)")
    parser.add_argument("--report-dir", type=Path, default=DEFAULT_REPORT_DIR)
    parser.add_argument("--no-report", action="store_true", help="skip the report (plots take a few seconds)")
    sagemaker = parser.add_argument_group("sagemaker engine")
    sagemaker.add_argument("--role-arn", help=f"training execution role (default ${ROLE_ARN_ENV})")
    sagemaker.add_argument("--bucket", help="bucket for the training channels (default: --out's bucket)")
    sagemaker.add_argument("--region", help="AWS region (default: the session's)")
    sagemaker.add_argument("--job-name")
    sagemaker.add_argument("--instance-type", default=DEFAULT_INSTANCE_TYPE)
    sagemaker.add_argument("--max-runtime", type=int, default=DEFAULT_MAX_RUNTIME_SECONDS, help="seconds")
    sagemaker.add_argument("--poll-seconds", type=float, default=DEFAULT_POLL_SECONDS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    features = parse_features(args.features)
    joined = load_joined(args.rides, args.weather)
    dataset = build_dataset(joined, features)
    dropped = {reason: count for reason, count in dataset.excluded.items() if count}
    print(f"{len(dataset.y)} rides with weather; excluded {sum(dropped.values())} {dropped or ''}".rstrip(),
          file=sys.stderr)
    if args.engine == "local":
        result = run_local(dataset, args.seed)
    else:
        settings = SageMakerSettings(
            role_arn=args.role_arn, region=args.region, job_name=args.job_name, instance_type=args.instance_type,
            bucket=args.bucket or (parse_s3_uri(args.out)[0] if args.out.startswith("s3://") else None),
            max_runtime=args.max_runtime, poll_seconds=args.poll_seconds)
        result = run_sagemaker(dataset, args.seed, settings, log=lambda msg: print(msg, file=sys.stderr))
    for location in write_outputs(args.out, result.artifact, result.metadata):
        print(location)
    if args.publish:
        for location in publish(args.publish, result.artifact, result.metadata):
            print(location)
    if not args.no_report:
        from wildrydes import report

        summary = report.write_report(result, args.report_dir, truth_path=args.truth)
        print(f"report: {args.report_dir}/report.md (AUC {summary['validation']['roc_auc']:.4f}"
              + (f", Bayes AUC {summary['bayes_optimal_auc']:.4f})" if summary.get("bayes_optimal_auc") else ")"),
              file=sys.stderr)
    validation = result.metadata["metrics"]["validation"]
    print(f"model {result.metadata['model_version']}: validation AUC {validation['roc_auc']:.4f}, "
          f"accuracy {validation['accuracy_at_threshold']:.4f} at threshold {result.model.threshold:.4f}",
          file=sys.stderr)
    return 0
