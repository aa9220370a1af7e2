"""Versioned models, the quality gate, promote and rollback (`wildrydes train --publish`, `wildrydes models`).

On moto S3: a model trained on shuffled labels is stored but refused (exit 3, pointer unchanged); a better one
is promoted; --force is recorded; rollback makes the inference function answer exactly as before.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import boto3
import numpy as np
import pandas as pd
import pytest
from moto import mock_aws
from test_train import BUCKET, REGION, make_inputs, run_train

from wildrydes import cli
from wildrydes.training import gate
from wildrydes.training.gate import GATE_REFUSED_EXIT, GateConfig, evaluate_gate
from wildrydes.training.registry import ModelRegistry
from wildrydes_lambda.contracts import layout
from wildrydes_lambda.serving import model_cache as mc

WORKSHOP_ROWS = [[30, 300, 333, 100], [2.5, 10, 120, 0], [8, -20, 40, 250]]


@pytest.fixture()
def aws(monkeypatch):
    """moto S3 with the bucket; the CLI's own clients (aws.make_client) reach it too."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_DEFAULT_REGION", REGION),
    ):
        monkeypatch.setenv(name, value)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        yield s3


def shuffle_labels(processed: Path, seed: int = 0) -> None:
    """Replace every processed CSV's heavy_utilization by a random permutation of all labels: no signal."""
    files = sorted(processed.rglob("*.csv"))
    frames = [pd.read_csv(f, dtype=str, keep_default_na=False) for f in files]
    labels = np.random.default_rng(seed).permutation(
        np.concatenate([f["heavy_utilization"].to_numpy() for f in frames])
    )
    at = 0
    for path, frame in zip(files, frames, strict=True):
        frame["heavy_utilization"] = labels[at : at + len(frame)]
        at += len(frame)
        frame.to_csv(path, index=False)


def train_and_publish(
    root: Path, *extra: str, n_rides: int = 2000, seed: int = 3, shuffled: bool = False
) -> int:
    processed, weather = make_inputs(root, n_rides=n_rides, seed=seed)
    if shuffled:
        shuffle_labels(processed)
    return run_train(
        [
            "--rides",
            str(processed),
            "--weather",
            str(weather),
            "--out",
            str(root / "out"),
            "--publish",
            f"s3://{BUCKET}",
            "--no-report",
            *extra,
        ]
    )


def version_of(root: Path) -> str:
    return json.loads((root / "out" / "metadata.json").read_text())["model_version"]


def models(*argv: str) -> int:
    return cli.main(["models", *argv, "--bucket", f"s3://{BUCKET}"])


def serving_answers(aws_client, tmp_path: Path) -> tuple[str, list[float]]:
    """What a fresh inference function serves: (version, scores of WORKSHOP_ROWS)."""
    cache = mc.ModelCache(
        aws_client,
        BUCKET,
        layout.MODEL_POINTER_KEY,
        layout.MODEL_VERSIONS_PREFIX,
        "numpy",
        60,
        work_dir=tmp_path / f"work-{len(list(tmp_path.glob('work-*')))}",
    )
    loaded = cache.get()
    return loaded.model_version, loaded.engine.score(WORKSHOP_ROWS)


def test_shuffled_labels_are_stored_but_refused_and_the_serving_model_stays(aws, tmp_path, capsys):
    assert train_and_publish(tmp_path / "good") == 0
    good = version_of(tmp_path / "good")
    assert ModelRegistry(aws, BUCKET).serving_version() == good
    before = serving_answers(aws, tmp_path)

    assert train_and_publish(tmp_path / "noise", shuffled=True) == GATE_REFUSED_EXIT
    noise = version_of(tmp_path / "noise")
    err = capsys.readouterr().err
    assert "REFUSED" in err and "NOT promoted" in err and "below the floor" in err
    registry = ModelRegistry(aws, BUCKET)
    assert registry.serving_version() == good  # the pointer did not move
    stored = registry.metadata(noise)  # ... but the version is stored, with the verdict
    assert stored["gate"]["passed"] is False and stored["gate"]["serving_version"] == good
    assert stored["gate"]["candidate"]["roc_auc"] < gate.DEFAULT_MIN_AUC
    assert "forced_promotion" not in stored
    assert serving_answers(aws, tmp_path) == before
    # promoting it by hand is refused the same way, with the same exit code
    assert models("promote", noise) == GATE_REFUSED_EXIT
    assert registry.serving_version() == good


def test_a_better_model_is_promoted_and_rollback_restores_the_previous_answers_exactly(aws, tmp_path, capsys):
    assert train_and_publish(tmp_path / "v1", n_rides=1500, seed=5) == 0
    v1 = version_of(tmp_path / "v1")
    v1_answers = serving_answers(aws, tmp_path)
    assert v1_answers[0] == v1

    assert train_and_publish(tmp_path / "v2", n_rides=4000, seed=6) == 0
    v2 = version_of(tmp_path / "v2")
    assert v2 != v1
    registry = ModelRegistry(aws, BUCKET)
    assert registry.serving_version() == v2
    assert registry.metadata(v2)["gate"]["passed"] and registry.metadata(v2)["gate"]["serving_version"] == v1
    v2_answers = serving_answers(aws, tmp_path)
    assert v2_answers[0] == v2 and v2_answers[1] != v1_answers[1]

    assert models("rollback") == 0
    assert registry.pointer()["rolled_back_from"] == v2 and registry.serving_version() == v1
    assert serving_answers(aws, tmp_path) == v1_answers  # the same floats, not just close ones
    # nothing further back: a clear error, exit 2
    assert models("rollback") == 2
    assert "nothing to roll back to" in capsys.readouterr().err


def test_force_promotes_a_refused_model_and_records_it(aws, tmp_path):
    assert train_and_publish(tmp_path / "good") == 0
    good = version_of(tmp_path / "good")
    assert train_and_publish(tmp_path / "noise", "--force", shuffled=True) == 0
    noise = version_of(tmp_path / "noise")
    registry = ModelRegistry(aws, BUCKET)
    assert registry.serving_version() == noise
    metadata = registry.metadata(noise)
    assert metadata["forced_promotion"]["forced"] is True and metadata["forced_promotion"]["gate_failures"]
    pointer = registry.pointer()
    assert pointer["forced"] is True and pointer["gate_passed"] is False and pointer["previous"] == [good]
    records = [
        o["Key"]
        for o in aws.list_objects_v2(
            Bucket=BUCKET, Prefix=layout.model_version_prefix(noise) + "promotions/"
        )["Contents"]
    ]
    record = json.loads(aws.get_object(Bucket=BUCKET, Key=records[0])["Body"].read())
    assert record["forced"] is True and record["previous_version"] == good and record["gate"]["failures"]
    # the good one back through promote (the gate passes against the forced, worse model)
    assert models("promote", good) == 0 and registry.serving_version() == good


def test_models_list_and_show(aws, tmp_path, capsys):
    assert models("list") == 0
    assert "no version serves yet" in capsys.readouterr().err
    assert train_and_publish(tmp_path / "good") == 0
    assert train_and_publish(tmp_path / "noise", shuffled=True) == GATE_REFUSED_EXIT
    good, noise = version_of(tmp_path / "good"), version_of(tmp_path / "noise")
    capsys.readouterr()
    assert models("list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("*") and good in line and "passed" in line for line in lines)
    assert any(not line.startswith("*") and noise in line and "refused" in line for line in lines)
    assert models("show") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["version"] == good and shown["serving"] and shown["metadata"]["model_version"] == good
    assert models("show", "no-such-version") == 2


def test_republishing_the_same_model_stores_nothing_new(aws, tmp_path):
    assert train_and_publish(tmp_path / "a") == 0
    first = {
        o["Key"]: o["ETag"]
        for o in aws.list_objects_v2(Bucket=BUCKET, Prefix=layout.MODEL_VERSIONS_PREFIX)["Contents"]
        if "/promotions/" not in o["Key"]
    }
    assert train_and_publish(tmp_path / "b") == 0  # same data and seed: byte-identical artifact, same version
    again = {
        o["Key"]: o["ETag"]
        for o in aws.list_objects_v2(Bucket=BUCKET, Prefix=layout.MODEL_VERSIONS_PREFIX)["Contents"]
        if "/promotions/" not in o["Key"]
    }
    assert again == first


# ----------------------------------------------------------------------------- the gate's rules, pure
def rows(n: int = 2000, seed: int = 0):
    rng = np.random.default_rng(seed)
    distance = rng.exponential(3, n)
    other = rng.normal(0, 1, n)
    p = 1 / (1 + np.exp(-(-1 + 0.3 * distance + 1.5 * other)))
    return (rng.random(n) < p).astype(int), p, distance


def test_gate_refuses_a_candidate_worse_than_serving_beyond_the_tolerance():
    y, p, distance = rows()
    worse = np.clip(p + np.random.default_rng(1).normal(0, 0.25, len(p)), 0.01, 0.99)
    verdict = evaluate_gate(
        y, worse, distance, p, GateConfig(min_auc=0.5, max_brier=1, max_calibration_error=1)
    )
    assert not verdict.passed
    assert any("worse than the serving model" in f for f in verdict.failures)
    assert evaluate_gate(y, p, distance, worse, GateConfig()).passed  # the other way round it passes


def test_gate_refuses_what_does_not_beat_the_distance_only_baseline():
    y, _, distance = rows()
    distance_only = 1 / (1 + np.exp(-(distance - distance.mean())))
    verdict = evaluate_gate(
        y, distance_only, distance, None, GateConfig(min_auc=0.5, max_brier=1, max_calibration_error=1)
    )
    assert not verdict.passed and any("distance-only baseline" in f for f in verdict.failures)


def test_gate_needs_enough_rows_and_its_verdict_is_strict_json():
    y, p, distance = rows(n=gate.MIN_GATE_ROWS - 1)
    verdict = evaluate_gate(y, p, distance, None, GateConfig())
    assert not verdict.passed and "held-out rows" in verdict.failures[0]
    text = json.dumps(verdict.to_dict(), allow_nan=False)
    assert json.loads(text)["candidate"]["roc_auc"] is None


@pytest.mark.parametrize("field", ["min_auc", "max_brier", "max_calibration_error", "tolerance"])
def test_gate_config_rejects_nonsense(field):
    with pytest.raises(ValueError, match=field):
        GateConfig(**{field: math.nan})
    with pytest.raises(ValueError, match=field):
        GateConfig(**{field: -1.0})


def test_calibration_error_is_zero_for_perfect_bins_and_large_for_a_shift():
    y = np.array([0, 1] * 50)
    assert gate.expected_calibration_error(y, np.full(100, 0.5)) == pytest.approx(0.0)
    assert gate.expected_calibration_error(y, np.full(100, 0.9)) == pytest.approx(0.4)
