"""Load the published model from S3 once per cold start and notice when a new one is published.

The workshop's function downloaded and untarred the model at import with ``os.system`` and re-bound MXNet
on every request. Here a ``ModelCache`` downloads ``model.tar.gz`` + ``metadata.json`` on first use,
extracts into the temp dir, builds the engine once, and afterwards asks S3 for the objects' ETags (HEAD,
no download) at most every ``recheck_seconds``; a changed ETag loads the new model, so publishing to the
same ``latest`` key takes effect without a redeploy.

Failures: if no model can be loaded at all the cache raises ``ModelUnavailable`` (the API answers 503). If
a re-check or a reload fails (S3 hiccup, a half-published model whose metadata does not match), the model
already loaded keeps serving and the next re-check tries again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wildrydes_lambda.model_format import linear_learner
from wildrydes_lambda.serving import engine as inference_engine
from wildrydes_lambda.serving.request import FeatureSchema

logger = logging.getLogger(__name__)

WORK_DIR_NAME = "wildrydes-model"  # under tempfile.gettempdir() (/tmp on Lambda)
ARTIFACT_FILE_NAME = "model.tar.gz"
MAX_METADATA_BYTES = 1024 * 1024  # metadata.json is a few hundred bytes; refuse anything absurd
S3_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})


class ModelUnavailable(Exception):
    """No usable model could be loaded (missing object, unreadable artifact, metadata mismatch)."""


@dataclass(frozen=True)
class LoadedModel:
    engine: inference_engine.Engine
    schema: FeatureSchema
    threshold: float | None  # None for a regressor (no predicted_label)
    model_version: str
    model_etag: str
    metadata_etag: str | None
    model_dir: Path


def _s3_error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code"))
    return None


def build_loaded_model(
    model_dir: Path,
    metadata: dict[str, Any],
    engine_name: str,
    *,
    model_etag: str = "",
    metadata_etag: str | None = None,
) -> LoadedModel:
    """Engine + schema for an extracted model directory and its metadata (also used by `wildrydes predict`)."""
    try:
        model = linear_learner.load_model_dir(model_dir)
        schema = FeatureSchema.from_metadata(metadata)
    except (ValueError, OSError) as exc:
        raise ModelUnavailable(f"model unreadable: {exc}") from exc
    if len(schema.features) != model.feature_dim:
        raise ModelUnavailable(
            f"metadata lists {len(schema.features)} features but the model has "
            f"{model.feature_dim} weights (model and metadata from different versions?)"
        )
    if model.predictor_type == linear_learner.BINARY_CLASSIFIER:
        # metadata.json records the threshold the publisher chose; the artifact's own is the fallback.
        threshold: float | None = float(metadata.get("threshold", model.threshold))
    else:
        threshold = None
    version = str(metadata.get("model_version") or model_etag or "unknown")
    engine = inference_engine.load_engine(engine_name, model_dir, model)
    return LoadedModel(engine, schema, threshold, version, model_etag, metadata_etag, model_dir)


class ModelCache:
    """One per Lambda execution environment (module level in the handler)."""

    def __init__(
        self,
        s3_client: Any,
        bucket: str,
        model_key: str,
        metadata_key: str,
        engine_name: str,
        recheck_seconds: float,
        *,
        work_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if engine_name not in inference_engine.ENGINES:
            raise ValueError(f"unknown inference engine {engine_name!r}")
        self._s3 = s3_client
        self.bucket, self.model_key, self.metadata_key = bucket, model_key, metadata_key
        self.engine_name = engine_name
        self.recheck_seconds = recheck_seconds
        self.work_dir = work_dir or Path(tempfile.gettempdir()) / WORK_DIR_NAME
        self._clock = clock
        self._current: LoadedModel | None = None
        self._checked_at = 0.0
        self.loads = 0  # how many times a model was (re)loaded, for logs and tests

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    def get(self) -> LoadedModel:
        """The model to score with; loads it on first use and re-checks the ETags when due."""
        now = self._clock()
        if self._current is None:
            self._current = self._load()
            self._checked_at = now
        elif now - self._checked_at >= self.recheck_seconds:
            self._checked_at = now
            self._refresh_if_changed()
        return self._current

    # ------------------------------------------------------------------ SnapStart (python3.12+)
    def before_snapshot(self) -> None:
        """Runs once before Lambda snapshots the initialized environment: load the model so every restored
        environment starts warm. No model yet is fine: the first request loads it (and answers 503 until then)."""
        try:
            self.get()
        except ModelUnavailable as exc:
            logger.warning("no model in the snapshot (the first request loads it): %s", exc)

    def after_restore(self) -> None:
        """Runs in each environment restored from the snapshot, which may be hours old: the next request
        re-checks the published ETags (and reloads a changed model); a model whose files are gone is reloaded."""
        self._checked_at = -math.inf
        if self._current is not None and not self._current.model_dir.exists():
            self._current = None

    # ------------------------------------------------------------------ internals
    def _refresh_if_changed(self) -> None:
        assert self._current is not None
        try:
            model_etag = self._head_etag(self.model_key)
            metadata_etag = self._head_etag(self.metadata_key)
        except ModelUnavailable as exc:  # keep serving what we have; S3 may be back at the next check
            logger.warning("model re-check failed, keeping version %s: %s", self._current.model_version, exc)
            return
        if (model_etag, metadata_etag) == (self._current.model_etag, self._current.metadata_etag):
            return
        previous = self._current
        try:
            self._current = self._load()
        except ModelUnavailable as exc:
            logger.warning("new model not loadable, keeping version %s: %s", previous.model_version, exc)
            return
        logger.info("model changed: %s -> %s", previous.model_version, self._current.model_version)
        if previous.model_dir != self._current.model_dir:
            shutil.rmtree(previous.model_dir.parent, ignore_errors=True)

    def _head_etag(self, key: str) -> str:
        try:
            return self._s3.head_object(Bucket=self.bucket, Key=key)["ETag"]
        except Exception as exc:  # botocore ClientError / EndpointConnectionError: both mean "not now"
            raise ModelUnavailable(f"s3://{self.bucket}/{key}: {_s3_error_code(exc) or exc}") from exc

    def _get_object(self, key: str) -> dict[str, Any]:
        try:
            return self._s3.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            code = _s3_error_code(exc)
            what = "not found" if code in S3_NOT_FOUND_CODES else (code or str(exc))
            raise ModelUnavailable(f"s3://{self.bucket}/{key}: {what}") from exc

    def _load(self) -> LoadedModel:
        started = time.perf_counter()
        metadata_response = self._get_object(self.metadata_key)
        raw_metadata = metadata_response["Body"].read(MAX_METADATA_BYTES + 1)
        if len(raw_metadata) > MAX_METADATA_BYTES:
            raise ModelUnavailable(
                f"s3://{self.bucket}/{self.metadata_key} is larger than {MAX_METADATA_BYTES} bytes"
            )
        try:
            metadata = json.loads(raw_metadata)
        except ValueError as exc:
            raise ModelUnavailable(f"s3://{self.bucket}/{self.metadata_key} is not JSON: {exc}") from exc
        if not isinstance(metadata, dict):
            raise ModelUnavailable(f"s3://{self.bucket}/{self.metadata_key} is not a JSON object")

        model_response = self._get_object(self.model_key)
        model_etag = model_response["ETag"]
        # One directory per ETag: a reload never overwrites files an engine still has open.
        version_dir = self.work_dir / hashlib.sha256(model_etag.encode()).hexdigest()[:16]
        shutil.rmtree(version_dir, ignore_errors=True)
        version_dir.mkdir(parents=True)
        artifact_path = version_dir / ARTIFACT_FILE_NAME
        with open(artifact_path, "wb") as out:
            shutil.copyfileobj(model_response["Body"], out)
        try:
            model_dir = linear_learner.extract_artifact(artifact_path, version_dir / "model")
        except (linear_learner.ArtifactError, OSError) as exc:
            shutil.rmtree(version_dir, ignore_errors=True)
            raise ModelUnavailable(f"s3://{self.bucket}/{self.model_key}: {exc}") from exc
        artifact_path.unlink()  # the extracted files are all the engines read
        try:
            loaded = build_loaded_model(
                model_dir,
                metadata,
                self.engine_name,
                model_etag=model_etag,
                metadata_etag=metadata_response.get("ETag"),
            )
        except ModelUnavailable:
            shutil.rmtree(version_dir, ignore_errors=True)
            raise
        self.loads += 1
        logger.info(
            "model %s loaded with engine %s in %.0f ms",
            loaded.model_version,
            self.engine_name,
            (time.perf_counter() - started) * 1000,
        )
        return loaded


# Lambda's python3.12+ runtimes provide this module when SnapStart is on; absent elsewhere (tests, LocalStack).
SNAPSTART_HOOKS_MODULE = "snapshot_restore_py"


def register_snapstart_hooks(cache: ModelCache) -> bool:
    """Register the cache's ``before_snapshot``/``after_restore`` with the runtime hooks; False (and nothing
    registered) when the hooks module is absent, so the same handler runs with SnapStart on or off."""
    try:
        hooks = __import__(SNAPSTART_HOOKS_MODULE)
    except ImportError:
        return False
    hooks.register_before_snapshot(cache.before_snapshot)
    hooks.register_after_restore(cache.after_restore)
    return True
