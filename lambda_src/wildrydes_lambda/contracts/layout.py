"""The data bucket's layout: every key prefix a stage reads or writes (the storage module's ``layout``
output is the Terraform side of the same contract)."""

from __future__ import annotations

from enum import StrEnum


class Prefix(StrEnum):
    """Top-level key prefixes of the data bucket; member names are the Terraform layout keys upper-cased."""

    RAW = "raw/"
    QUARANTINE = "quarantine/"
    MANIFESTS = "manifests/"
    PROCESSED = "processed/"
    WEATHER = "nygroundstationdata/"
    TRAINING = "training/"
    MODELS = "models/"
    ARTIFACTS = "artifacts/"
    ATHENA_RESULTS = "athena-results/"
    TMP = "tmp/"


# Models (docs/training.md "Versions, the gate and rollback"): every trained model is written once under
# versions/<model_version>/ (model_version = the first 16 hex digits of the artifact's sha256); the small
# pointer object names the version that serves and is replaced atomically by promote/rollback.
MODEL_PREFIX = f"{Prefix.MODELS}linear-learner/"
MODEL_VERSIONS_PREFIX = f"{MODEL_PREFIX}versions/"
MODEL_POINTER_KEY = f"{MODEL_PREFIX}serving.json"
MODEL_ARTIFACT_NAME = "model.tar.gz"
METADATA_FILE_NAME = "metadata.json"
# Where SageMaker training jobs write their artifacts (inside the models/ prefix the training role may write).
MODEL_JOBS_PREFIX = f"{MODEL_PREFIX}jobs/"


def model_version_prefix(version: str, versions_prefix: str = MODEL_VERSIONS_PREFIX) -> str:
    return f"{versions_prefix}{version}/"


def model_artifact_key(version: str, versions_prefix: str = MODEL_VERSIONS_PREFIX) -> str:
    return model_version_prefix(version, versions_prefix) + MODEL_ARTIFACT_NAME


def model_metadata_key(version: str, versions_prefix: str = MODEL_VERSIONS_PREFIX) -> str:
    return model_version_prefix(version, versions_prefix) + METADATA_FILE_NAME
