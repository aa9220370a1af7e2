"""Optional: mirror the serving history in a SageMaker Model Package Group (the SageMaker Model Registry).

The S3 pointer (training/registry.py) stays the one thing the API serves from; the group is a record for people
and tools that look at SageMaker: every promotion registers a model package version carrying the model's
held-out metrics and S3 URIs, and the group always satisfies one rule:

    the newest package with ModelApprovalStatus "Approved" is the version that serves.

``sync`` keeps it: after a promote it registers the serving version unless it already is the newest approved
package (re-promoting what serves is a no-op); after a rollback it first marks the rolled-back version's
approved packages "Rejected", then registers the version that serves again only if the newest approved package
is not already it. Package versions are never deleted: the group is the promotion history.

Turned on by naming the group: ``--model-package-group NAME`` or ``$WILDRYDES_MODEL_PACKAGE_GROUP`` (the
sagemaker module creates one when ``model_package_group_enabled``; output ``model_package_group_name``).
No InferenceSpecification is registered: the model serves from the inference Lambda, not a SageMaker
endpoint, and the artifact's URI is in the package's metadata properties.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any

from wildrydes.errors import CommandError
from wildrydes_lambda.contracts import layout

GROUP_ENV = "WILDRYDES_MODEL_PACKAGE_GROUP"
APPROVED = "Approved"
REJECTED = "Rejected"
DESCRIPTION_PREFIX = "wildrydes linear-learner model_version "
DESCRIPTION_PATTERN = re.compile(r"^" + re.escape(DESCRIPTION_PREFIX) + r"(?P<version>\S+)$")
METRIC_NAMES = ("roc_auc", "brier", "calibration_error")
METRIC_FORMAT = "{:.6f}"
MAX_PROPERTY_VALUE_CHARS = 256  # CustomerMetadataProperties values
MAX_APPROVAL_DESCRIPTION_CHARS = 1024
JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class Package:
    arn: str
    number: int  # ModelPackageVersion: 1, 2, ... in the order registered
    version: str | None  # the wildrydes model_version, None for a package this tool did not write
    status: str


def group_name(cli_value: str | None) -> str | None:
    """The group named on the command line, else by the environment; None: registration off."""
    name = (cli_value or os.environ.get(GROUP_ENV, "")).strip()
    return name or None


def version_metrics(metadata: dict[str, Any]) -> dict[str, float]:
    """The held-out metrics of a stored version: the gate's candidate metrics, else the training report's."""
    gate = metadata.get("gate") or {}
    candidate = gate.get("candidate") or {}
    validation = (metadata.get("metrics") or {}).get("validation") or {}
    metrics = {}
    for name in METRIC_NAMES:
        value = candidate.get(name, validation.get(name))
        if isinstance(value, (int, float)) and math.isfinite(value):
            metrics[name] = float(value)
    return metrics


def package_request(
    group: str, bucket: str, version: str, metadata: dict[str, Any], *, approval: str
) -> dict[str, Any]:
    """CreateModelPackage arguments for one stored version (pure: unit-tested)."""
    artifact = f"s3://{bucket}/{layout.model_artifact_key(version)}"
    metadata_uri = f"s3://{bucket}/{layout.model_metadata_key(version)}"
    properties = {
        "model_version": version,
        "artifact_s3_uri": artifact,
        "metadata_s3_uri": metadata_uri,
        "features": ",".join(metadata.get("features", [])),
        "gate_passed": str((metadata.get("gate") or {}).get("passed")),
        **{name: METRIC_FORMAT.format(value) for name, value in version_metrics(metadata).items()},
    }
    if metadata.get("threshold") is not None:
        properties["threshold"] = str(metadata["threshold"])
    return {
        "ModelPackageGroupName": group,
        "ModelPackageDescription": DESCRIPTION_PREFIX + version,
        "ModelApprovalStatus": approval,
        # metadata.json holds the metrics (and the gate's verdict): SageMaker shows it as model quality.
        "ModelMetrics": {
            "ModelQuality": {"Statistics": {"ContentType": JSON_CONTENT_TYPE, "S3Uri": metadata_uri}}
        },
        "CustomerMetadataProperties": {k: v[:MAX_PROPERTY_VALUE_CHARS] for k, v in properties.items() if v},
    }


class ModelPackageGroup:
    """One Model Package Group through a boto3 SageMaker client (AWS, or moto locally)."""

    def __init__(self, sagemaker: Any, group: str) -> None:
        self.sagemaker, self.group = sagemaker, group

    def packages(self) -> list[Package]:
        """Every package version of the group, oldest first."""
        try:
            paginator = self.sagemaker.get_paginator("list_model_packages")
            summaries = [
                s
                for page in paginator.paginate(ModelPackageGroupName=self.group)
                for s in page["ModelPackageSummaryList"]
            ]
        except Exception as exc:
            raise CommandError(f"cannot list model package group {self.group}: {exc}") from exc
        packages = []
        for s in summaries:
            match = DESCRIPTION_PATTERN.match(s.get("ModelPackageDescription") or "")
            packages.append(
                Package(
                    s["ModelPackageArn"],
                    int(s.get("ModelPackageVersion") or 0),
                    match["version"] if match else None,
                    s.get("ModelApprovalStatus", ""),
                )
            )
        return sorted(packages, key=lambda p: p.number)

    def serving_package(self) -> Package | None:
        """The newest approved package (by the rule above, the version that serves)."""
        approved = [p for p in self.packages() if p.status == APPROVED]
        return approved[-1] if approved else None

    def register(self, bucket: str, version: str, metadata: dict[str, Any], *, note: str) -> str:
        request = package_request(self.group, bucket, version, metadata, approval=APPROVED)
        # CreateModelPackage takes no ApprovalDescription: why it was approved goes with the properties.
        request["CustomerMetadataProperties"]["approval_note"] = note[:MAX_PROPERTY_VALUE_CHARS]
        try:
            return self.sagemaker.create_model_package(**request)["ModelPackageArn"]
        except Exception as exc:
            raise CommandError(f"cannot register model {version} in {self.group}: {exc}") from exc

    def reject(self, version: str, note: str) -> list[str]:
        """Mark every approved package of ``version`` Rejected; the ARNs changed."""
        changed = []
        for package in self.packages():
            if package.version == version and package.status == APPROVED:
                described = self.sagemaker.describe_model_package(ModelPackageName=package.arn)
                self.sagemaker.update_model_package(
                    ModelPackageArn=package.arn,
                    ModelApprovalStatus=REJECTED,
                    ApprovalDescription=note[:MAX_APPROVAL_DESCRIPTION_CHARS],
                    # re-sent: an update without them may drop them (moto does)
                    CustomerMetadataProperties=described.get("CustomerMetadataProperties", {}),
                )
                changed.append(package.arn)
        return changed

    def sync(
        self,
        bucket: str,
        serving_version: str,
        metadata: dict[str, Any],
        *,
        note: str,
        rolled_back_from: str | None = None,
    ) -> str:
        """Make the newest approved package the serving version (see the module docstring); its ARN."""
        if rolled_back_from is not None and rolled_back_from != serving_version:
            self.reject(rolled_back_from, f"rolled back: {serving_version} serves again")
        current = self.serving_package()
        if current is not None and current.version == serving_version:
            return current.arn
        return self.register(bucket, serving_version, metadata, note=note)


def sync_serving(
    group: str | None,
    bucket: str,
    serving_version: str,
    metadata: dict[str, Any],
    *,
    note: str,
    rolled_back_from: str | None = None,
    sagemaker: Any = None,
) -> str | None:
    """``ModelPackageGroup.sync`` when a group is configured (None otherwise)."""
    if group is None:
        return None
    if sagemaker is None:
        from wildrydes_lambda import aws

        sagemaker = aws.make_client("sagemaker")
    return ModelPackageGroup(sagemaker, group).sync(
        bucket, serving_version, metadata, note=note, rolled_back_from=rolled_back_from
    )
