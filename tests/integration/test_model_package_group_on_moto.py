"""`wildrydes train --publish` / `models promote` / `models rollback` with a SageMaker Model Package Group, against
the emulators over HTTP: versions and the pointer in LocalStack S3, the group on the moto server (the same
routing as every other SageMaker call here). The rules themselves are unit-tested on in-process moto
(tests/unit/training/test_model_package_group.py); this checks the CLI's real clients and the wire format.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest

from wildrydes import cli
from wildrydes.training import model_package as mp

pytestmark = [pytest.mark.localstack]

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"


def test_the_cli_keeps_the_newest_approved_package_serving_on_the_moto_server(localstack, tmp_path):
    sys.path.insert(0, str(REPO / "bench"))
    import model_quality  # raw sample rides -> processed CSVs with the ETL's own functions

    processed, weather, _ = model_quality.prepare(SAMPLE, tmp_path / "inputs")
    bucket, group = f"mpg-{uuid.uuid4().hex[:12]}", f"wildrydes-test-{uuid.uuid4().hex[:8]}"
    localstack.client("s3").create_bucket(Bucket=bucket)
    sagemaker = localstack.client("sagemaker")
    assert localstack.moto_endpoint_url.rstrip("/") in sagemaker.meta.endpoint_url
    sagemaker.create_model_package_group(ModelPackageGroupName=group)

    def train(out: str, seed: int) -> str:
        argv = ["train", "--rides", str(processed), "--weather", str(weather), "--out", str(tmp_path / out)]
        argv += ["--publish", f"s3://{bucket}", "--no-report", "--seed", str(seed), "--force"]
        assert cli.main([*argv, "--model-package-group", group]) == 0
        return json.loads((tmp_path / out / "metadata.json").read_text())["model_version"]

    with pytest.MonkeyPatch.context() as env:
        for name, value in localstack.env.items():
            env.setenv(name, value)
        v1 = train("v1", seed=0)
        v2 = train("v2", seed=1)
        assert v1 != v2
        assert mp.ModelPackageGroup(sagemaker, group).serving_package().version == v2
        assert cli.main(["models", "rollback", "--bucket", bucket, "--model-package-group", group]) == 0

    packages = mp.ModelPackageGroup(sagemaker, group).packages()
    assert [(p.version, p.status) for p in packages] == [(v1, mp.APPROVED), (v2, mp.REJECTED)]
    described = sagemaker.describe_model_package(ModelPackageName=packages[0].arn)
    props = described["CustomerMetadataProperties"]
    assert props["artifact_s3_uri"] == f"s3://{bucket}/models/linear-learner/versions/{v1}/model.tar.gz"
    assert 0.5 < float(props["roc_auc"]) <= 1.0
