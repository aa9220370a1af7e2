"""Immutable model versions and the serving pointer in the data bucket (S3 only: AWS or LocalStack).

    models/linear-learner/versions/<model_version>/model.tar.gz   the artifact (model_version: its hash)
    models/linear-learner/versions/<model_version>/metadata.json  features, threshold, metrics, gate verdict
    models/linear-learner/versions/<model_version>/holdout.csv    the held-out rows the gate scores
    models/linear-learner/versions/<model_version>/promotions/<UTC time>.json  one record per promotion
    models/linear-learner/serving.json                            {"model_version": ..., "previous": [...]}

A version is written once and never changed; what serves is the pointer, replaced by one PUT (atomic in S3).
The inference function reads the pointer, then the version it names, so weights and metadata always come
from the same version. ``previous`` (most recent first) is what ``rollback`` goes back to.
"""

from __future__ import annotations

import getpass
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from wildrydes.errors import CommandError
from wildrydes.training.dataset import FEATURE_COLUMNS, LABEL_COLUMN, Dataset
from wildrydes.training.local import metadata_bytes
from wildrydes.training.metrics import scores_of
from wildrydes_lambda.contracts import layout, model_pointer
from wildrydes_lambda.model_format import linear_learner as ll

HOLDOUT_NAME = "holdout.csv"
PROMOTIONS_DIR = "promotions/"
MAX_HISTORY = 50  # versions remembered in the pointer for rollback
HOLDOUT_ID_COLUMN = "ride_id"


def holdout_frame(dataset: Dataset, validation_idx: np.ndarray) -> pd.DataFrame:
    """The held-out rows with every known feature (request names) and the label, so any model — also the
    serving one, whatever features it uses — can be scored on exactly these rows."""
    frame = dataset.frame.iloc[validation_idx]
    out = pd.DataFrame({HOLDOUT_ID_COLUMN: dataset.ride_ids[validation_idx]})
    for name, column in FEATURE_COLUMNS.items():
        out[name] = frame[column].to_numpy(dtype=np.float64)
    out[LABEL_COLUMN] = dataset.y[validation_idx]
    return out


def holdout_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, float_format="%.10g", lineterminator="\n").encode()


def read_holdout(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), dtype={HOLDOUT_ID_COLUMN: str})


def model_scores(model: ll.LinearModel, features: list[str], holdout: pd.DataFrame) -> np.ndarray:
    """Scores of ``model`` (trained on ``features``, in that order) on the held-out rows."""
    missing = [f for f in features if f not in holdout.columns]
    if missing:
        raise CommandError(f"held-out rows lack feature(s) {', '.join(missing)} the model needs")
    return scores_of(model, holdout[features].to_numpy(dtype=np.float64))


@dataclass
class StoredVersion:
    version: str
    metadata: dict[str, Any]


class ModelRegistry:
    """The versions and the pointer of one bucket."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3, self.bucket = s3, bucket

    # ------------------------------------------------------------------ raw objects
    def _get(self, key: str) -> bytes | None:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except Exception as exc:
            code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                return None
            raise CommandError(f"cannot read s3://{self.bucket}/{key}: {exc}") from exc

    def _put(self, key: str, body: bytes, content_type: str) -> None:
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        except Exception as exc:
            raise CommandError(f"cannot write s3://{self.bucket}/{key}: {exc}") from exc

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    # ------------------------------------------------------------------ versions
    def store(self, artifact: bytes, metadata: dict[str, Any], holdout: pd.DataFrame) -> tuple[str, bool]:
        """Write a version once: (version, True) when written now, (version, False) when it already existed
        (same artifact bytes = same version: nothing is overwritten)."""
        version = _checked(str(metadata["model_version"]))
        if self._get(layout.model_metadata_key(version)) is not None:
            return version, False
        # metadata.json last: a version is listed (and promotable) only once all its files are there.
        self._put(layout.model_artifact_key(version), artifact, "application/gzip")
        self._put(layout.model_version_prefix(version) + HOLDOUT_NAME, holdout_bytes(holdout), "text/csv")
        self._put(layout.model_metadata_key(version), metadata_bytes(metadata), "application/json")
        return version, True

    def metadata(self, version: str) -> dict[str, Any]:
        _checked(version)
        raw = self._get(layout.model_metadata_key(version))
        if raw is None:
            raise CommandError(
                f"no model version {version} in s3://{self.bucket}/{layout.MODEL_VERSIONS_PREFIX}"
            )
        return json.loads(raw)

    def model(self, version: str) -> ll.LinearModel:
        raw = self._get(layout.model_artifact_key(version))
        if raw is None:
            raise CommandError(f"model version {version} has no {layout.MODEL_ARTIFACT_NAME}")
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / layout.MODEL_ARTIFACT_NAME
            path.write_bytes(raw)
            return ll.load_artifact(path)

    def holdout(self, version: str) -> pd.DataFrame:
        raw = self._get(layout.model_version_prefix(version) + HOLDOUT_NAME)
        if raw is None:
            raise CommandError(f"model version {version} has no {HOLDOUT_NAME}: the gate cannot evaluate it")
        return read_holdout(raw)

    def versions(self) -> list[StoredVersion]:
        """Every complete version (one with metadata.json), oldest first by creation time."""
        paginator = self.s3.get_paginator("list_objects_v2")
        names: list[str] = []
        for page in paginator.paginate(
            Bucket=self.bucket, Prefix=layout.MODEL_VERSIONS_PREFIX, Delimiter="/"
        ):
            names += [
                p["Prefix"][len(layout.MODEL_VERSIONS_PREFIX) :].rstrip("/")
                for p in page.get("CommonPrefixes", [])
            ]
        stored = []
        for name in names:
            raw = self._get(layout.model_metadata_key(name))
            if raw is not None:
                stored.append(StoredVersion(name, json.loads(raw)))
        return sorted(stored, key=lambda v: (str(v.metadata.get("created_at", "")), v.version))

    # ------------------------------------------------------------------ the pointer
    def pointer(self) -> dict[str, Any] | None:
        raw = self._get(layout.MODEL_POINTER_KEY)
        if raw is None:
            return None
        try:
            return model_pointer.decode(raw)
        except ValueError as exc:
            raise CommandError(f"{self.uri(layout.MODEL_POINTER_KEY)}: {exc}") from None

    def serving_version(self) -> str | None:
        pointer = self.pointer()
        return None if pointer is None else pointer["model_version"]

    def _switch(self, version: str, previous: list[str], record: dict[str, Any]) -> dict[str, Any]:
        pointer = {
            "model_version": version,
            "previous": previous[:MAX_HISTORY],
            "switched_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "switched_by": _who(),
            **record,
        }
        # One PUT replaces the whole object: readers see the old pointer or the new one, never a mix.
        self._put(layout.MODEL_POINTER_KEY, model_pointer.encode(pointer), "application/json")
        return pointer

    def promote(self, version: str, *, forced: bool, gate: dict[str, Any] | None) -> dict[str, Any]:
        self.metadata(version)  # must exist
        current = self.pointer()
        previous: list[str] = []
        if current is not None:
            if current["model_version"] == version:
                return current
            previous = [current["model_version"], *current.get("previous", [])]
        record = {
            "action": "promote",
            "forced": forced,
            "gate_passed": None if gate is None else gate["passed"],
        }
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        log = {
            "model_version": version,
            "previous_version": previous[0] if previous else None,
            **record,
            "gate": gate,
            "at": stamp,
            "by": _who(),
        }
        self._put(
            layout.model_version_prefix(version) + f"{PROMOTIONS_DIR}{stamp}.json",
            (json.dumps(log, indent=2, sort_keys=True, allow_nan=True) + "\n").encode(),
            "application/json",
        )
        return self._switch(version, previous, record)

    def rollback(self) -> dict[str, Any]:
        current = self.pointer()
        if current is None or not current.get("previous"):
            raise CommandError("nothing to roll back to: the pointer names no previous version")
        target, *rest = current["previous"]
        self.metadata(target)
        return self._switch(
            target,
            rest,
            {
                "action": "rollback",
                "rolled_back_from": current["model_version"],
                "forced": False,
                "gate_passed": None,
            },
        )


def _checked(version: str) -> str:
    try:
        return model_pointer.check_version(version)
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"
