"""Where a trained model goes: a directory or S3 prefix (``--out``); and ``--publish``: a new immutable
version in the bucket, the quality gate, and the serving pointer moved only when the gate passes
(training/registry.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wildrydes.errors import CommandError
from wildrydes.training.dataset import LABEL_COLUMN
from wildrydes.training.gate import BASELINE_FEATURE, GateConfig, GateVerdict, evaluate_gate
from wildrydes.training.local import metadata_bytes
from wildrydes.training.metrics import TrainingResult
from wildrydes.training.registry import ModelRegistry, holdout_frame, model_scores
from wildrydes_lambda import aws
from wildrydes_lambda.contracts import layout
from wildrydes_lambda.model_format import linear_learner as ll

VERSIONS_PREFIX = layout.MODEL_VERSIONS_PREFIX
POINTER_KEY = layout.MODEL_POINTER_KEY
ARTIFACT_NAME = layout.MODEL_ARTIFACT_NAME
METADATA_NAME = layout.METADATA_FILE_NAME


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, prefix) of an s3:// URI; CommandError otherwise (the one parser: wildrydes_lambda.aws)."""
    try:
        return tuple(aws.parse_s3_uri(uri))  # type: ignore[return-value]
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def s3_client() -> Any:
    """S3 client for the CLI: path-style addressing when an emulator endpoint is configured."""
    return aws.make_client("s3")


def write_outputs(out: str, artifact: bytes, metadata: dict[str, Any]) -> list[str]:
    """Write model.tar.gz and metadata.json to a directory or S3 prefix; return their locations."""
    files = {ARTIFACT_NAME: artifact, METADATA_NAME: metadata_bytes(metadata)}
    if out.startswith("s3://"):
        bucket, prefix = parse_s3_uri(out)
        prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        s3 = s3_client()
        for name, data in files.items():
            s3.put_object(Bucket=bucket, Key=prefix + name, Body=data)
        return [f"s3://{bucket}/{prefix}{name}" for name in files]
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return [str(directory / name) for name in files]


def bucket_of(bucket_uri: str) -> str:
    """The bucket of ``s3://BUCKET`` or ``BUCKET`` (no key prefix allowed)."""
    bucket, extra = parse_s3_uri(bucket_uri if bucket_uri.startswith("s3://") else "s3://" + bucket_uri)
    if extra.strip("/"):
        raise CommandError(f"takes s3://BUCKET only, got {bucket_uri!r}")
    return bucket


@dataclass
class PublishOutcome:
    version: str
    stored: bool  # False: the same artifact was stored before (nothing overwritten)
    promoted: bool
    verdict: GateVerdict
    uris: list[str]


def gate_against_serving(
    registry: ModelRegistry,
    model: ll.LinearModel,
    features: list[str],
    holdout: pd.DataFrame,
    config: GateConfig,
    *,
    candidate_version: str | None = None,
) -> GateVerdict:
    """The gate's verdict for ``model`` on ``holdout``, compared with whatever serves now."""
    y = holdout[LABEL_COLUMN].to_numpy(dtype=np.int64)
    serving_version = registry.serving_version()
    serving_scores = None
    if serving_version is not None and serving_version != candidate_version:
        serving_metadata = registry.metadata(serving_version)
        serving_scores = model_scores(
            registry.model(serving_version), list(serving_metadata["features"]), holdout
        )
    return evaluate_gate(
        y,
        model_scores(model, features, holdout),
        holdout[BASELINE_FEATURE].to_numpy(dtype=float),
        serving_scores,
        config,
        serving_version=serving_version,
    )


def publish(
    bucket_uri: str,
    result: TrainingResult,
    *,
    config: GateConfig | None = None,
    force: bool = False,
    promote: bool = True,
    s3: Any = None,
) -> PublishOutcome:
    """Store the trained model as a new immutable version, run the gate against the serving model on the
    candidate's held-out rows, and move the serving pointer only if the gate passes (or ``force``); with
    ``promote=False`` the version is stored and judged but the pointer is left alone (the notebook's default)."""
    registry = ModelRegistry(s3 or s3_client(), bucket_of(bucket_uri))
    config = config or GateConfig()
    holdout = holdout_frame(result.dataset, result.validation_idx)
    verdict = gate_against_serving(registry, result.model, list(result.metadata["features"]), holdout, config)
    metadata = {
        **result.metadata,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "gate": verdict.to_dict(),
    }
    if force and not verdict.passed:
        metadata["forced_promotion"] = {
            "forced": True,
            "by": "wildrydes train --publish --force",
            "gate_failures": verdict.failures,
        }
    version, stored = registry.store(result.artifact, metadata, holdout)
    promoted = promote and (verdict.passed or force)
    if promoted:
        registry.promote(version, forced=force and not verdict.passed, gate=verdict.to_dict())
    uris = [registry.uri(layout.model_version_prefix(version))]
    return PublishOutcome(version, stored, promoted, verdict, uris)
