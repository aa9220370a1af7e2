"""The optional SageMaker Model Package Group (training/model_package.py), on moto S3 + SageMaker.

`train --publish` (when it promotes), `models promote` and `models rollback` keep one rule: the newest Approved
package is the version the S3 pointer serves; each package carries the version's metrics and S3 URIs. Without
a group configured nothing is called.
"""

from __future__ import annotations

import boto3
import pytest
from test_model_lifecycle import BUCKET, REGION, aws, models, train_and_publish, version_of  # noqa: F401

from wildrydes.errors import CommandError
from wildrydes.training import model_package as mp
from wildrydes.training.registry import ModelRegistry

GROUP = "wildrydes-linear-learner"


@pytest.fixture()
def sagemaker(aws, monkeypatch):  # noqa: F811 - the fixture imported above
    monkeypatch.delenv(mp.GROUP_ENV, raising=False)
    client = boto3.client("sagemaker", region_name=REGION)
    client.create_model_package_group(ModelPackageGroupName=GROUP)
    return client


def packages(client) -> list[dict]:
    summaries = client.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    described = [client.describe_model_package(ModelPackageName=s["ModelPackageArn"]) for s in summaries]
    return sorted(described, key=lambda p: p["ModelPackageVersion"])


def serving_by_rule(client) -> str:
    approved = [p for p in packages(client) if p["ModelApprovalStatus"] == mp.APPROVED]
    return approved[-1]["CustomerMetadataProperties"]["model_version"]


def test_promotions_and_rollbacks_keep_the_newest_approved_package_serving(sagemaker, aws, tmp_path, capsys):  # noqa: F811
    group = ("--model-package-group", GROUP)
    assert train_and_publish(tmp_path / "v1", *group, seed=3) == 0
    v1 = version_of(tmp_path / "v1")
    (first,) = packages(sagemaker)
    assert first["ModelApprovalStatus"] == mp.APPROVED
    assert first["ModelPackageDescription"] == mp.DESCRIPTION_PREFIX + v1
    props = first["CustomerMetadataProperties"]
    assert props["model_version"] == v1
    assert props["artifact_s3_uri"] == f"s3://{BUCKET}/models/linear-learner/versions/{v1}/model.tar.gz"
    stored = ModelRegistry(aws, BUCKET).metadata(v1)
    assert float(props["roc_auc"]) == pytest.approx(stored["gate"]["candidate"]["roc_auc"], abs=1e-6)
    assert {"brier", "calibration_error", "threshold", "features"} <= set(props)
    statistics = first["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["S3Uri"] == f"s3://{BUCKET}/models/linear-learner/versions/{v1}/metadata.json"
    assert f"{GROUP}: {v1} approved" in capsys.readouterr().err

    # a second version, stored without promotion, then promoted through `models promote` (group from the env)
    assert train_and_publish(tmp_path / "v2", "--force", seed=4) == 0  # no group: nothing registered
    v2 = version_of(tmp_path / "v2")
    assert [p["CustomerMetadataProperties"]["model_version"] for p in packages(sagemaker)] == [v1]
    assert models("rollback") == 0  # back to v1 with no group configured: the group is untouched
    assert len(packages(sagemaker)) == 1
    with pytest.MonkeyPatch.context() as env:
        env.setenv(mp.GROUP_ENV, GROUP)
        assert models("promote", v2, "--force") == 0
        assert serving_by_rule(sagemaker) == v2
        assert models("promote", v2, "--force") == 0  # promoting what serves registers nothing new
        assert len(packages(sagemaker)) == 2

        assert models("rollback") == 0  # v2 -> v1: v2's package Rejected, v1's is the newest approved again
        assert ModelRegistry(aws, BUCKET).serving_version() == v1
        statuses = {
            p["CustomerMetadataProperties"]["model_version"]: p["ModelApprovalStatus"]
            for p in packages(sagemaker)
        }
        assert statuses == {v1: mp.APPROVED, v2: mp.REJECTED}
        assert serving_by_rule(sagemaker) == v1
        rejected = next(p for p in packages(sagemaker) if p["ModelApprovalStatus"] == mp.REJECTED)
        assert "rolled back" in rejected["ApprovalDescription"]
        assert rejected["CustomerMetadataProperties"]["model_version"] == v2  # kept through the update

        assert models("promote", v2, "--force") == 0  # re-promoted: a new package version, approved
        assert serving_by_rule(sagemaker) == v2 and len(packages(sagemaker)) == 3


def test_rollback_to_a_version_never_registered_registers_it(sagemaker, aws, tmp_path):  # noqa: F811
    assert train_and_publish(tmp_path / "v1", seed=3) == 0  # before the group existed
    v1 = version_of(tmp_path / "v1")
    assert train_and_publish(tmp_path / "v2", "--force", "--model-package-group", GROUP, seed=4) == 0
    assert models("rollback", "--model-package-group", GROUP) == 0
    assert serving_by_rule(sagemaker) == v1
    assert [p["ModelApprovalStatus"] for p in packages(sagemaker)] == [mp.REJECTED, mp.APPROVED]


def test_a_missing_group_fails_loudly_after_the_pointer_moved(sagemaker, aws, tmp_path, capsys):  # noqa: F811
    assert train_and_publish(tmp_path / "v1", seed=3) == 0
    assert train_and_publish(tmp_path / "v2", "--force", seed=4) == 0
    assert models("rollback", "--model-package-group", "no-such-group") != 0
    err = capsys.readouterr().err
    assert "no-such-group" in err and "re-run `wildrydes models promote" in err


def test_group_name_comes_from_the_flag_then_the_environment(monkeypatch):
    monkeypatch.delenv(mp.GROUP_ENV, raising=False)
    assert mp.group_name(None) is None and mp.group_name("  ") is None
    monkeypatch.setenv(mp.GROUP_ENV, "from-env")
    assert mp.group_name(None) == "from-env" and mp.group_name("flag") == "flag"


def test_package_request_is_valid_for_sagemaker():
    metadata = {
        "features": ["distance", "TMIN"],
        "threshold": 0.42,
        "gate": {
            "passed": True,
            "candidate": {"roc_auc": 0.8, "brier": 0.1, "calibration_error": float("nan")},
        },
    }
    request = mp.package_request(GROUP, BUCKET, "abc123", metadata, approval=mp.APPROVED)
    props = request["CustomerMetadataProperties"]
    assert props["roc_auc"] == "0.800000" and "calibration_error" not in props  # not finite: left out
    assert props["features"] == "distance,TMIN" and props["threshold"] == "0.42"
    assert all(len(v) <= mp.MAX_PROPERTY_VALUE_CHARS for v in props.values())
    with pytest.raises(CommandError, match="cannot list"):
        mp.ModelPackageGroup(None, GROUP).packages()
