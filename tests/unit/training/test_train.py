"""`wildrydes train`: leakage guard, determinism, folded normalization, SageMaker request shape, publishing."""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import sys
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from wildrydes import training as train
from wildrydes.cli import CommandError
from wildrydes.cli import train as train_cli
from wildrydes.training import report
from wildrydes_lambda.contracts.envelope import Source
from wildrydes_lambda.etl import csv_output as csvrows
from wildrydes_lambda.model_format import linear_learner as ll

REPO_ROOT = Path(__file__).resolve().parents[3]
STATIONS = ("US1NYNY0074", "USW00014732", "USW00094728", "USW00094789")
# The synthetic truth used by make_inputs: log-odds = TRUE_BIAS + TRUE_W . (distance, tmin, tmax, prcp).
TRUE_BIAS = 1.0
TRUE_W = np.array([-0.6, -0.004, -0.003, 0.01])
BUCKET = "wildrydes-test-bucket"
REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::000000000000:role/wildrydes-sagemaker-training"

# The lineage columns the writer appends (one source, one version).
LINEAGE = csvrows.lineage_cells(Source("bucket", "raw/train.json", "v1", "2026-01-01T00:00:00.000000Z"))


def make_inputs(
    root: Path,
    n_rides: int = 2000,
    seed: int = 3,
    n_days: int = 40,
    files_per_day: int = 1,
    drop_weather: int = 0,
    drop_prcp: int = 0,
) -> tuple[Path, Path]:
    """A processed CSV tree and a reduced weather CSV, with labels drawn from a known logistic model.

    ``drop_weather`` station-days get no weather row, ``drop_prcp`` get an empty PRCP.
    """
    rng = np.random.default_rng(seed)
    days = pd.date_range("2018-03-01", periods=n_days).strftime("%Y-%m-%d")
    weather = pd.DataFrame([(s, d) for s in STATIONS for d in days], columns=["station_id", "date"])
    weather["tmin"] = rng.integers(-50, 150, len(weather))
    weather["tmax"] = weather["tmin"] + rng.integers(20, 120, len(weather))
    weather["prcp"] = np.where(rng.random(len(weather)) < 0.35, rng.integers(3, 400, len(weather)), 0)
    weather["prcp"] = weather["prcp"].astype("Int64")
    weather.loc[drop_weather : drop_weather + drop_prcp - 1, "prcp"] = pd.NA
    weather = weather.iloc[drop_weather:]

    ride_station = rng.choice(STATIONS, n_rides)
    ride_day = rng.choice(days, n_rides)
    distance = np.round(np.exp(rng.normal(0.4, 0.7, n_rides)), 2)
    w = pd.DataFrame({"groundstation": ride_station, "date": ride_day}).merge(
        weather.rename(columns={"station_id": "groundstation"}), how="left"
    )
    x = np.column_stack([distance, w["tmin"], w["tmax"], w["prcp"].astype(float)]).astype(float)
    p = 1 / (1 + np.exp(-(TRUE_BIAS + np.nan_to_num(x) @ TRUE_W)))
    heavy = (rng.random(n_rides) < p).astype(int)
    rides = [
        {
            "ride_id": f"{i:032x}",
            "name": "Shadowfax",
            "statustime": f"{ride_day[i]} 12:00:{i % 60:02d}.000",
            "latitude": 40.78,
            "longitude": -73.95,
            "distance": float(distance[i]),
            "healthpoints": 100,
            "magicpoints": 999,
            "groundstation": ride_station[i],
            "heavy_utilization": int(heavy[i]),
        }
        for i in range(n_rides)
    ]
    processed = root / "processed"
    for day in days:
        group = [r for r in rides if r["statustime"].startswith(day)]
        for part in range(files_per_day):
            chunk = group[part::files_per_day]
            target = processed / f"ride_month={day[:7]}" / f"{day}-part-{part}.csv"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(csvrows.render_csv(chunk, LINEAGE))
    weather_dir = root / "weather"
    weather_dir.mkdir(parents=True)
    weather.to_csv(weather_dir / "weather.csv", index=False)
    return processed, weather_dir


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    train_cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["train", *argv])


def run_train(argv: list[str]) -> int:
    args = parse(argv)
    return args.func(args)


@pytest.fixture()
def inputs(tmp_path) -> tuple[Path, Path]:
    return make_inputs(tmp_path / "in")


@pytest.fixture()
def aws(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        yield s3


# --------------------------------------------------------------------------- leakage guard
@pytest.mark.parametrize(
    "features",
    [
        "magicpoints",
        "distance,MagicPoints",
        "distance,magic_points",
        "healthpoints",
        "HealthPoints,TMIN",
        "heavy_utilization",
        "distance,label",
    ],
)
def test_leakage_guard_refuses_label_derived_features(features):
    with pytest.raises(CommandError, match="leaks the label"):
        train.parse_features(features)


def test_leakage_guard_runs_before_any_data_is_read(tmp_path):
    # --rides does not exist: if the guard ran after reading, the error would be about the path.
    with pytest.raises(CommandError, match="magicpoints.*leaks"):
        run_train(
            [
                "--rides",
                str(tmp_path / "nope"),
                "--weather",
                str(tmp_path),
                "--out",
                str(tmp_path / "o"),
                "--features",
                "distance,magicpoints",
            ]
        )


def test_cli_exits_2_with_one_line_error(tmp_path, capsys):
    from wildrydes import cli

    code = cli.main(
        [
            "train",
            "--rides",
            str(tmp_path),
            "--weather",
            str(tmp_path),
            "--out",
            str(tmp_path / "o"),
            "--features",
            "distance,MagicPoints",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "leaks the label" in err


def test_features_unknown_duplicate_and_default():
    assert train.parse_features(",".join(train.DEFAULT_FEATURES)) == ("distance", "TMIN", "TMAX", "PRCP")
    assert train.parse_features("PRCP,distance") == ("PRCP", "distance")  # request order is kept
    with pytest.raises(CommandError, match="unknown feature 'windspeed'"):
        train.parse_features("distance,windspeed")
    with pytest.raises(CommandError, match="duplicate"):
        train.parse_features("distance,distance")


# --------------------------------------------------------------------------- local engine
def test_determinism_same_data_and_seed_same_bytes(tmp_path):
    processed, weather = make_inputs(tmp_path / "a")
    # The same rides spread over different files must not change anything either.
    processed_b, weather_b = make_inputs(tmp_path / "b", files_per_day=3)
    outs = {}
    for name, (rides_dir, weather_dir, seed) in {
        "first": (processed, weather, 5),
        "again": (processed, weather, 5),
        "other_files": (processed_b, weather_b, 5),
        "other_seed": (processed, weather, 6),
    }.items():
        out = tmp_path / "out" / name
        assert (
            run_train(
                [
                    "--rides",
                    str(rides_dir),
                    "--weather",
                    str(weather_dir),
                    "--out",
                    str(out),
                    "--seed",
                    str(seed),
                    "--no-report",
                ]
            )
            == 0
        )
        outs[name] = ((out / "model.tar.gz").read_bytes(), (out / "metadata.json").read_bytes())
    assert outs["first"] == outs["again"] == outs["other_files"]
    assert outs["first"][0] != outs["other_seed"][0]  # a different split gives a different fit


def test_fold_normalization_matches_sklearn_on_raw_features(inputs, tmp_path):
    """Artifact scores on RAW features == sklearn predict_proba on the standardized ones."""
    dataset = train.build_dataset(train.load_joined(str(inputs[0]), str(inputs[1])), train.DEFAULT_FEATURES)
    estimator, mu, sigma = train.fit_standardized_logistic(dataset.x, dataset.y)
    assert not np.allclose(mu, 0) and not np.allclose(sigma, 1)  # the fold has something to do
    w, b = train.fold_normalization(estimator.coef_[0], float(estimator.intercept_[0]), mu, sigma)
    ll.write_artifact(ll.LinearModel(tuple(w), b), tmp_path / "model.tar.gz")

    loaded = ll.load_artifact(tmp_path / "model.tar.gz")
    expected = estimator.predict_proba((dataset.x - mu) / sigma)[:, 1]
    np.testing.assert_allclose(loaded.score(dataset.x.tolist()), expected, atol=1e-5)


def test_trained_artifact_scores_raw_features_in_mxnet(inputs, tmp_path):
    """The inference Lambda's MXNet engine on the trainer's artifact == sigmoid(x.w + b) on raw features."""
    import mxnet as mx

    dataset = train.build_dataset(train.load_joined(str(inputs[0]), str(inputs[1])), train.DEFAULT_FEATURES)
    result = train.run_local(dataset, seed=2)
    (tmp_path / "model.tar.gz").write_bytes(result.artifact)
    model_dir = ll.extract_artifact(tmp_path / "model.tar.gz", tmp_path / "x")
    rows = dataset.x[result.validation_idx]
    module = mx.mod.Module.load(str(model_dir / ll.MODULE_PREFIX), 0, label_names=None)
    module.bind(data_shapes=[("data", rows.shape)], for_training=False)
    predicted = (
        module.predict(mx.io.NDArrayIter(rows.astype(np.float32), batch_size=len(rows))).asnumpy().ravel()
    )
    np.testing.assert_allclose(predicted, result.validation_scores, atol=1e-5)


def test_fold_normalization_formula():
    w, b = train.fold_normalization(
        np.array([2.0, -1.0]), 0.5, mu=np.array([1.0, 10.0]), sigma=np.array([2.0, 5.0])
    )
    np.testing.assert_allclose(w, [1.0, -0.2])
    assert b == pytest.approx(0.5 - (2.0 * 1 / 2 + -1.0 * 10 / 5))


def test_trained_model_recovers_the_generating_weights(inputs, tmp_path):
    out = tmp_path / "out"
    assert (
        run_train(["--rides", str(inputs[0]), "--weather", str(inputs[1]), "--out", str(out), "--no-report"])
        == 0
    )
    model = ll.load_artifact(out / "model.tar.gz")
    metadata = json.loads((out / "metadata.json").read_text())
    # 2,000 rides: the fit is noisy but every sign and the magnitude order must be right.
    assert np.sign(model.weights).tolist() == np.sign(TRUE_W).tolist()
    assert metadata["features"] == ["distance", "TMIN", "TMAX", "PRCP"]
    assert metadata["units"]["PRCP"] == "tenths of mm" and metadata["units"]["distance"] == "miles"
    assert metadata["threshold"] == model.threshold
    assert metadata["created_by"] == "wildrydes train --engine local"
    assert len(metadata["training_data_sha256"]) == 64
    assert metadata["metrics"]["validation"]["rows"] == 200 and metadata["metrics"]["training_rows"] == 1800
    assert 0.6 < metadata["metrics"]["validation"]["roc_auc"] < 1.0


def test_rides_without_weather_are_reported_and_excluded(tmp_path, capsys):
    processed, weather = make_inputs(tmp_path / "in", drop_weather=6, drop_prcp=4)
    joined = train.load_joined(str(processed), str(weather))
    dataset = train.build_dataset(joined, train.DEFAULT_FEATURES)
    no_day = int((joined["has_weather"] == 0).sum())
    no_prcp = int(((joined["has_weather"] == 1) & joined["prcp"].isna()).sum())
    assert no_day > 0 and no_prcp > 0
    assert dataset.excluded["no_weather_for_station_day"] == no_day
    assert dataset.excluded["weather_element_missing"] == no_prcp
    assert len(dataset.y) == len(joined) - no_day - no_prcp
    # Without PRCP among the features the rides missing only PRCP are usable.
    assert len(train.build_dataset(joined, ("distance", "TMIN")).y) == len(joined) - no_day

    assert (
        run_train(
            [
                "--rides",
                str(processed),
                "--weather",
                str(weather),
                "--out",
                str(tmp_path / "o"),
                "--no-report",
            ]
        )
        == 0
    )
    assert f"excluded {no_day + no_prcp}" in capsys.readouterr().err


def test_single_class_and_empty_inputs_are_clear_errors(tmp_path):
    processed, weather = make_inputs(tmp_path / "in", n_rides=50)
    joined = train.load_joined(str(processed), str(weather))
    joined["heavy_utilization"] = 0
    with pytest.raises(CommandError, match="nothing to learn"):
        train.build_dataset(joined, train.DEFAULT_FEATURES)
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="no rides CSV files"):
        train.load_joined(str(tmp_path / "empty"), str(weather))


def test_calibrated_threshold_maximizes_accuracy():
    y = np.array([0, 0, 1, 1])
    assert train.calibrate_threshold(y, np.array([0.1, 0.2, 0.7, 0.9])) == 0.7
    rng = np.random.default_rng(0)
    scores = rng.random(300)
    y = (rng.random(300) < scores).astype(int)
    t = train.calibrate_threshold(y, scores)
    best = max(((scores >= c).astype(int) == y).mean() for c in np.concatenate([scores, [2.0]]))
    assert ((scores >= t).astype(int) == y).mean() == best


# --------------------------------------------------------------------------- SageMaker engine
def test_training_job_request_shape_is_valid_for_the_api():
    request = train.training_job_request(
        job_name="wildrydes-ll-test",
        region=REGION,
        role_arn=ROLE_ARN,
        bucket=BUCKET,
        feature_dim=4,
        max_runtime_seconds=1800,
    )
    assert (
        request["AlgorithmSpecification"]["TrainingImage"]
        == "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
    )
    assert request["HyperParameters"]["predictor_type"] == "binary_classifier"
    assert request["HyperParameters"]["feature_dim"] == "4"
    assert [c["ChannelName"] for c in request["InputDataConfig"]] == ["train", "validation"]
    assert (
        request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
        == f"s3://{BUCKET}/training/wildrydes-ll-test/train/"
    )
    # The training role (modules/sagemaker) may write only under models/.
    assert request["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/models/linear-learner/jobs/"
    client = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:  # validates every parameter against the SageMaker service model
        stubber.add_response("create_training_job", {"TrainingJobArn": "arn:aws:sagemaker:x"}, request)
        client.create_training_job(**request)
        stubber.assert_no_pending_responses()


def test_unknown_region_is_a_clear_error():
    with pytest.raises(CommandError, match="no Linear Learner image"):
        train.linear_learner_image("mars-north-1")


def test_wait_reports_progress_and_fails_clearly():
    client = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    statuses = [
        ("InProgress", "Starting"),
        ("InProgress", "Training"),
        ("InProgress", "Training"),
        ("Completed", "Completed"),
    ]
    with Stubber(client) as stubber:
        for status, secondary in statuses:
            stubber.add_response(
                "describe_training_job", describe_response(status, secondary), {"TrainingJobName": "job"}
            )
        lines = []
        description = train.wait_for_training_job(
            client, "job", 0, 60, log=lines.append, sleep=lambda s: None
        )
    assert description["TrainingJobStatus"] == "Completed"
    assert len(lines) == 3  # a line per status change, not per poll
    with Stubber(client) as stubber:
        stubber.add_response(
            "describe_training_job",
            {**describe_response("Failed", "Failed"), "FailureReason": "ClientError: bad CSV"},
            {"TrainingJobName": "job"},
        )
        with pytest.raises(CommandError, match="failed: ClientError: bad CSV"):
            train.wait_for_training_job(client, "job", 0, 60, log=lambda m: None, sleep=lambda s: None)


def describe_response(status: str, secondary: str) -> dict:
    return {
        "TrainingJobName": "job",
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:000000000000:training-job/job",
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://{BUCKET}/training/job/output/job/output/model.tar.gz"},
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ResourceConfig": {"VolumeSizeInGB": 10},
        "StoppingCondition": {},
        "CreationTime": 0,
    }


def test_sagemaker_engine_end_to_end_on_moto(aws, inputs, tmp_path, monkeypatch, capsys):
    """Channels written as Linear Learner CSV, job created, artifact fetched, evaluated and published."""
    job = "wildrydes-ll-moto"
    # moto does not run containers: put the artifact where the job's output would land.
    fake = ll.LinearModel(weights=(-0.5, -0.004, -0.003, 0.01), bias=1.0, threshold=0.45)
    artifact_key = f"models/linear-learner/jobs/{job}/output/model.tar.gz"
    aws.put_object(Bucket=BUCKET, Key=artifact_key, Body=ll.artifact_bytes(fake))
    monkeypatch.setenv(train.ROLE_ARN_ENV, ROLE_ARN)
    assert (
        run_train(
            [
                "--engine",
                "sagemaker",
                "--rides",
                str(inputs[0]),
                "--weather",
                str(inputs[1]),
                "--out",
                f"s3://{BUCKET}/models/linear-learner/{job}/",
                "--job-name",
                job,
                "--poll-seconds",
                "0",
                "--publish",
                f"s3://{BUCKET}",
                "--no-report",
                "--force",
            ]
        )
        == 0
    )
    assert f"s3://{BUCKET}/{artifact_key}" in capsys.readouterr().out

    train_csv = aws.get_object(Bucket=BUCKET, Key=f"training/{job}/train/train.csv")["Body"].read().decode()
    rows = np.loadtxt(io.StringIO(train_csv), delimiter=",")
    assert rows.shape == (1800, 5) and set(np.unique(rows[:, 0])) == {0.0, 1.0}  # label first, no header
    assert not train_csv.startswith("heavy")
    description = boto3.client("sagemaker", region_name=REGION).describe_training_job(TrainingJobName=job)
    assert description["HyperParameters"]["feature_dim"] == "4"
    assert description["RoleArn"] == ROLE_ARN

    # --publish stored the job's artifact as an immutable version (the gate's verdict decides the pointer)
    def read(key: str) -> bytes:
        return aws.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    version = json.loads(read(f"models/linear-learner/{job}/metadata.json"))["model_version"]
    assert read(f"models/linear-learner/versions/{version}/model.tar.gz") == ll.artifact_bytes(fake)
    metadata = json.loads(read(f"models/linear-learner/versions/{version}/metadata.json"))
    assert metadata["created_by"] == "wildrydes train --engine sagemaker"
    assert metadata["threshold"] == 0.45 and metadata["training_job"] == job
    assert "passed" in metadata["gate"]


def test_sagemaker_engine_needs_a_role(aws, inputs, monkeypatch):
    monkeypatch.delenv(train.ROLE_ARN_ENV, raising=False)
    with pytest.raises(CommandError, match="--role-arn"):
        run_train(
            [
                "--engine",
                "sagemaker",
                "--rides",
                str(inputs[0]),
                "--weather",
                str(inputs[1]),
                "--out",
                f"s3://{BUCKET}/x/",
                "--no-report",
            ]
        )


# --------------------------------------------------------------------------- S3 in and out, publishing
def test_s3_inputs_outputs_and_publish_keys(aws, inputs, tmp_path):
    for root, prefix in ((inputs[0], "processed/"), (inputs[1], "nygroundstationdata/")):
        for path in sorted(root.rglob("*.csv")):
            aws.put_object(
                Bucket=BUCKET, Key=prefix + path.relative_to(root).as_posix(), Body=path.read_bytes()
            )
    assert (
        run_train(
            [
                "--rides",
                f"s3://{BUCKET}/processed/",
                "--weather",
                f"s3://{BUCKET}/nygroundstationdata/",
                "--out",
                f"s3://{BUCKET}/models/linear-learner/run-1",
                "--publish",
                f"s3://{BUCKET}",
                "--no-report",
            ]
        )
        == 0
    )
    local = tmp_path / "local"
    assert (
        run_train(
            ["--rides", str(inputs[0]), "--weather", str(inputs[1]), "--out", str(local), "--no-report"]
        )
        == 0
    )

    version = json.loads((local / "metadata.json").read_bytes())["model_version"]
    keys = {o["Key"] for o in aws.list_objects_v2(Bucket=BUCKET, Prefix="models/")["Contents"]}
    versioned = f"models/linear-learner/versions/{version}/"
    assert {k for k in keys if "/promotions/" not in k} == {
        "models/linear-learner/run-1/model.tar.gz",
        "models/linear-learner/run-1/metadata.json",
        f"{versioned}model.tar.gz",
        f"{versioned}metadata.json",
        f"{versioned}holdout.csv",
        "models/linear-learner/serving.json",
    }
    # S3 and local reads train the same model
    assert (
        aws.get_object(Bucket=BUCKET, Key=f"{versioned}model.tar.gz")["Body"].read()
        == (local / "model.tar.gz").read_bytes()
    )
    stored = json.loads(aws.get_object(Bucket=BUCKET, Key=f"{versioned}metadata.json")["Body"].read())
    assert {k: v for k, v in stored.items() if k not in ("gate", "created_at")} == json.loads(
        (local / "metadata.json").read_bytes()
    )
    pointer = json.loads(aws.get_object(Bucket=BUCKET, Key=train.POINTER_KEY)["Body"].read())
    assert pointer["model_version"] == version and stored["gate"]["passed"]
    with pytest.raises(CommandError, match="s3://BUCKET only"):
        train.publish(f"s3://{BUCKET}/some/prefix", None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- report
def test_report_files_and_bayes_auc(inputs, tmp_path):
    dataset = train.build_dataset(train.load_joined(str(inputs[0]), str(inputs[1])), train.DEFAULT_FEATURES)
    result = train.run_local(dataset, seed=1)
    truth = pd.DataFrame(
        {"ride_id": dataset.ride_ids, "p_heavy": 1 / (1 + np.exp(-(TRUE_BIAS + dataset.x @ TRUE_W)))}
    )
    truth.to_csv(tmp_path / "truth.csv", index=False)
    summary = report.write_report(result, tmp_path / "report", truth_path=tmp_path / "truth.csv")

    from sklearn.metrics import roc_auc_score

    idx = result.validation_idx
    assert summary["bayes_optimal_auc"] == pytest.approx(roc_auc_score(dataset.y[idx], truth["p_heavy"][idx]))
    assert summary["truth_rows_matched"] == len(idx)
    assert json.loads((tmp_path / "report" / "report.json").read_text())["auc_gap"] == pytest.approx(
        summary["bayes_optimal_auc"] - summary["validation"]["roc_auc"]
    )
    for name in (
        "roc.png",
        "calibration.png",
        "heavy_rate_vs_precipitation.png",
        "heavy_rate_vs_temperature.png",
    ):
        assert (tmp_path / "report" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert name in (tmp_path / "report" / "report.md").read_text()

    pd.DataFrame({"ride_id": ["nope"], "p_heavy": [0.5]}).to_csv(tmp_path / "wrong.csv", index=False)
    with pytest.raises(CommandError, match="matches none"):
        report.write_report(result, tmp_path / "r2", truth_path=tmp_path / "wrong.csv")


# --------------------------------------------------------------------------- quality on the generator's data
def load_bench_module():
    spec = importlib.util.spec_from_file_location("model_quality", REPO_ROOT / "bench" / "model_quality.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["model_quality"] = module
    spec.loader.exec_module(module)
    return module


# Small sample -> a looser bar than the benchmark's 0.01 at >= 50,000 rides; seeded, so not flaky.
SMALL_SAMPLE_RIDES = 4000
SMALL_SAMPLE_AUC_GAP = 0.02


def test_auc_close_to_bayes_optimal_on_generated_data(tmp_path):
    row = load_bench_module().measure(SMALL_SAMPLE_RIDES, seed=11, work=tmp_path)
    assert row["truth_rows_matched"] == row["validation_rows"]
    assert row["auc_gap"] < SMALL_SAMPLE_AUC_GAP, row
    assert row["bayes_optimal_auc"] > 0.6  # the data has signal to find


def test_rides_far_from_their_station_are_excluded_and_counted():
    """Workshop-shaped data: rides 140+ miles north of every station keep their nearest station in the ETL,
    but their weather is not that station's, so training drops them (default 50 miles) and says so."""
    import pandas as pd

    rows = []
    for i in range(40):
        rows.append(
            {
                "ride_id": f"{i:032x}",
                "ride_date": "2017-06-01",
                "groundstation": "USW00094728",
                "heavy_utilization": i % 2,
                "distance": 1.0 + i,
                "station_distance_miles": 2.0 if i < 30 else 140.0,
                "tmin": 100.0,
                "tmax": 200.0,
                "prcp": float(i % 3),
                "has_weather": 1,
                "weather_complete": 1,
            }
        )
    joined = pd.DataFrame(rows)
    dataset = train.build_dataset(joined, train.DEFAULT_FEATURES)
    assert dataset.excluded["far_from_station"] == 10 and len(dataset.y) == 30
    assert train.build_dataset(joined, train.DEFAULT_FEATURES, 200.0).excluded["far_from_station"] == 0
    assert "far_from_station" not in train.build_dataset(joined, train.DEFAULT_FEATURES, None).excluded
    older = joined.assign(station_distance_miles=[None] * 40)  # rows from before the column existed: kept
    assert train.build_dataset(older, train.DEFAULT_FEATURES).excluded["far_from_station"] == 0
