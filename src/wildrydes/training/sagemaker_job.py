"""The SageMaker engine: CSV channels in the bucket, a Linear Learner training job through boto3 (no
SageMaker SDK), and the resulting artifact evaluated on the same held-out rows as the local engine."""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from wildrydes.errors import CommandError
from wildrydes.training.dataset import Dataset, split_indices
from wildrydes.training.local import finish
from wildrydes.training.metrics import TrainingResult
from wildrydes.training.publish import ARTIFACT_NAME, parse_s3_uri, s3_client
from wildrydes_lambda.contracts import layout
from wildrydes_lambda.model_format import linear_learner as ll

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


def linear_learner_image(region: str) -> str:
    if region not in LINEAR_LEARNER_IMAGE_ACCOUNTS:
        raise CommandError(
            f"no Linear Learner image known for region {region!r}; "
            f"known: {', '.join(sorted(LINEAR_LEARNER_IMAGE_ACCOUNTS))}"
        )
    return f"{LINEAR_LEARNER_IMAGE_ACCOUNTS[region]}.dkr.ecr.{region}.amazonaws.com/linear-learner:1"


def channel_csv(dataset: Dataset, idx: np.ndarray) -> bytes:
    """Linear Learner CSV: label first, no header, features in metadata order."""
    table = np.column_stack([dataset.y[idx].astype(np.float64), dataset.x[idx]])
    buffer = io.StringIO()
    np.savetxt(buffer, table, delimiter=",", fmt="%.10g")
    return buffer.getvalue().encode()


def training_job_request(
    *,
    job_name: str,
    region: str,
    role_arn: str,
    bucket: str,
    feature_dim: int,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    max_runtime_seconds: int = DEFAULT_MAX_RUNTIME_SECONDS,
) -> dict[str, Any]:
    """The CreateTrainingJob request for a Linear Learner binary classifier on our bucket's channels."""
    base = f"s3://{bucket}/{TRAINING_PREFIX}{job_name}"

    def channel(name: str) -> dict[str, Any]:
        return {
            "ChannelName": name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"{base}/{name}/",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
            "ContentType": "text/csv",
        }

    return {
        "TrainingJobName": job_name,
        "AlgorithmSpecification": {
            "TrainingImage": linear_learner_image(region),
            "TrainingInputMode": "File",
        },
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
        "ResourceConfig": {
            "InstanceType": instance_type,
            "InstanceCount": 1,
            "VolumeSizeInGB": DEFAULT_VOLUME_GB,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": int(max_runtime_seconds)},
    }


def wait_for_training_job(
    client, job_name: str, poll_seconds: float, timeout_seconds: float, log=print, sleep=time.sleep
) -> dict[str, Any]:
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
                raise CommandError(
                    f"training job {job_name} {status[0].lower()}: "
                    f"{description.get('FailureReason', 'no reason given')}"
                )
            return description
        if time.monotonic() > deadline:
            raise CommandError(
                f"gave up waiting for training job {job_name} after {timeout_seconds:.0f} s "
                "(it keeps running; see the SageMaker console)"
            )
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
        raise CommandError(
            f"--role-arn (or ${ROLE_ARN_ENV}, the Terraform output of modules/sagemaker) is required"
        )
    bucket = settings.bucket
    if not bucket:
        raise CommandError("--bucket is required when --out is not an s3:// URI")
    region = settings.region or boto3.session.Session().region_name or "us-east-1"
    train_idx, validation_idx = split_indices(len(dataset.y), seed)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    job_name = settings.job_name or f"wildrydes-ll-{dataset.sha256[:8]}-{stamp}"
    s3 = s3_client()
    for name, idx in (("train", train_idx), ("validation", validation_idx)):
        key = f"{TRAINING_PREFIX}{job_name}/{name}/{name}.csv"
        s3.put_object(Bucket=bucket, Key=key, Body=channel_csv(dataset, idx))
        log(f"wrote s3://{bucket}/{key} ({len(idx)} rows)")
    request = training_job_request(
        job_name=job_name,
        region=region,
        role_arn=role_arn,
        bucket=bucket,
        feature_dim=len(dataset.features),
        instance_type=settings.instance_type,
        max_runtime_seconds=settings.max_runtime,
    )
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
    return finish(
        dataset,
        model,
        artifact,
        train_idx,
        validation_idx,
        seed,
        "sagemaker",
        {"training_job": job_name, "source_artifact": artifact_uri},
    )


def _model_from_bytes(artifact: bytes) -> ll.LinearModel:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ARTIFACT_NAME
        path.write_bytes(artifact)
        return ll.load_artifact(path)
