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


# The published Linear Learner model: what the inference function serves and `wildrydes train --publish` writes.
MODEL_LATEST_PREFIX = f"{Prefix.MODELS}linear-learner/latest/"
MODEL_ARTIFACT_NAME = "model.tar.gz"
METADATA_FILE_NAME = "metadata.json"
MODEL_KEY = f"{MODEL_LATEST_PREFIX}{MODEL_ARTIFACT_NAME}"
METADATA_KEY = f"{MODEL_LATEST_PREFIX}{METADATA_FILE_NAME}"
# Where SageMaker training jobs write their artifacts (inside the models/ prefix the training role may write).
MODEL_JOBS_PREFIX = f"{Prefix.MODELS}linear-learner/jobs/"
