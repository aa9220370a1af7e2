"""Load the serving model from S3 once per cold start and notice when another version is promoted.

Models are immutable versions (``models/linear-learner/versions/<model_version>/model.tar.gz`` +
``metadata.json``); a small pointer object (``models/linear-learner/serving.json``) names the version that
serves. A ``ModelCache`` reads the pointer, then the version it names — weights and metadata always from the
same version — extracts the artifact into its own fresh directory under the temp dir, validates it and builds
the engine once; afterwards it re-reads the pointer (a few hundred bytes) at most every ``recheck_seconds``,
so a promote or rollback takes effect without a redeploy.

A publish can never break the API:

* Anything that fails to load or validate (unreadable archive, bad CRC, corrupt ``.params``, metadata that is
  not JSON, a threshold that is not a finite number in [0, 1], a feature list that does not match the weight
  count, non-finite weights) is **rejected**: the model already loaded keeps serving, the reason is logged
  once, and the rejected model is not downloaded again; the next re-check (not the next request) looks again.
* With no good model ever loaded the cache raises ``ModelUnavailable`` (the API answers 503 JSON with
  ``Retry-After``) and tries again at the re-check interval.
* Each load extracts into a directory of its own, so a reload never deletes or overwrites the files of the
  model that serves; the previous directory is removed only after the new model took over.
"""

from __future__ import annotations

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

from wildrydes_lambda.contracts import layout, model_pointer
from wildrydes_lambda.model_format import linear_learner
from wildrydes_lambda.serving import engine as inference_engine
from wildrydes_lambda.serving.request import FeatureSchema

logger = logging.getLogger(__name__)

WORK_DIR_NAME = "wildrydes-model"  # under tempfile.gettempdir() (/tmp on Lambda)
LOAD_DIR_PREFIX = "load-"  # one fresh directory per load attempt under WORK_DIR_NAME
ARTIFACT_FILE_NAME = "model.tar.gz"
MAX_METADATA_BYTES = 1024 * 1024  # metadata.json is a few hundred bytes; refuse anything absurd
S3_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})


class ModelUnavailable(Exception):
    """No usable model could be loaded (missing object, S3 unreachable, or every candidate rejected)."""


class ModelRejected(ModelUnavailable):
    """A published model was read but fails to load or validate; it is not tried again until it changes."""


@dataclass(frozen=True)
class Published:
    """What is published right now: ``identity`` changes whenever a new model is published."""

    identity: str
    model_key: str
    metadata_key: str
    # The versions that served before (the pointer's "previous", most recent first): an environment that has
    # no good model yet falls back to them when the named version is rejected.
    fallbacks: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoadedModel:
    engine: inference_engine.Engine
    schema: FeatureSchema
    threshold: float | None  # None for a regressor (no predicted_label)
    model_version: str
    identity: str  # what the cache compares with the published identity (Published.identity)
    source: str | None  # where the artifact came from (an s3:// URI), for logs
    model_dir: Path


def _s3_error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code"))
    return None


def _metadata_threshold(metadata: dict[str, Any], model: linear_learner.LinearModel) -> float | None:
    if model.predictor_type != linear_learner.BINARY_CLASSIFIER:
        return None
    if "threshold" not in metadata:  # the artifact's own (already validated) threshold is the fallback
        return model.threshold
    return linear_learner.checked_threshold(metadata["threshold"], "metadata.json")


def build_loaded_model(
    model_dir: Path,
    metadata: dict[str, Any],
    engine_name: str,
    *,
    identity: str = "",
    source: str | None = None,
) -> LoadedModel:
    """Engine + schema for an extracted model directory and its metadata (also used by `wildrydes predict`).

    Raises ``ModelRejected`` for anything that makes the pair unusable; never anything else."""
    try:
        model = linear_learner.load_model_dir(model_dir)
        schema = FeatureSchema.from_metadata(metadata)
        threshold = _metadata_threshold(metadata, model)
    except (ValueError, OSError) as exc:  # ArtifactError is a ValueError
        raise ModelRejected(f"model unreadable: {exc}") from exc
    if len(schema.features) != model.feature_dim:
        raise ModelRejected(
            f"metadata lists {len(schema.features)} features but the model has "
            f"{model.feature_dim} weights (model and metadata from different versions?)"
        )
    version = metadata.get("model_version")
    if not isinstance(version, str) or not version:
        version = identity or "unknown"
    try:
        engine = inference_engine.load_engine(engine_name, model_dir, model)
    except Exception as exc:  # MXNet refusing the files: the model is unusable, the function is not broken
        raise ModelRejected(
            f"engine {engine_name} cannot load the model: {type(exc).__name__}: {exc}"
        ) from exc
    return LoadedModel(engine, schema, threshold, version, identity, source, model_dir)


class ModelCache:
    """One per Lambda execution environment (module level in the handler)."""

    def __init__(
        self,
        s3_client: Any,
        bucket: str,
        pointer_key: str,
        versions_prefix: str,
        engine_name: str,
        recheck_seconds: float,
        *,
        work_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if engine_name not in inference_engine.ENGINES:
            raise ValueError(f"unknown inference engine {engine_name!r}")
        self._s3 = s3_client
        self.bucket, self.pointer_key, self.versions_prefix = bucket, pointer_key, versions_prefix
        self.engine_name = engine_name
        self.recheck_seconds = recheck_seconds
        self.work_dir = work_dir or Path(tempfile.gettempdir()) / WORK_DIR_NAME
        self._clock = clock
        self._current: LoadedModel | None = None
        self._checked_at = -math.inf
        self._last_failure = "no model loaded yet"
        self._rejected: dict[str, str] = {}  # identity -> reason, so a bad publish is fetched and logged once
        self.loads = 0  # models (re)loaded, for logs, metrics and tests
        self.rejects = 0  # publishes rejected at load time

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    def get(self) -> LoadedModel:
        """The model to score with. S3 is asked at most every ``recheck_seconds`` (also while no model is
        loaded); ``ModelUnavailable`` when no good model was ever loaded."""
        now = self._clock()
        if now - self._checked_at >= self.recheck_seconds:
            self._checked_at = now
            self._refresh()
        if self._current is None:
            raise ModelUnavailable(self._last_failure)
        return self._current

    # ------------------------------------------------------------------ SnapStart (python3.12+)
    def before_snapshot(self) -> None:
        """Runs once before Lambda snapshots the initialized environment: load the model so every restored
        environment starts warm. No model yet is fine: the first request loads it (503 until then)."""
        self._checked_at = -math.inf  # whatever happened before, look now
        try:
            self.get()
        except ModelUnavailable as exc:
            logger.warning("no model in the snapshot (the first request loads it): %s", exc)

    def after_restore(self) -> None:
        """Runs in each environment restored from the snapshot, which may be hours old: the next request
        re-checks what is published (and loads a changed model); a model whose files are gone is reloaded."""
        self._checked_at = -math.inf
        if self._current is not None and not self._current.model_dir.exists():
            self._current = None

    # ------------------------------------------------------------------ internals
    def _refresh(self) -> None:
        """Look at what is published and switch to it if it is new and good; never raises."""
        current = self._current
        try:
            published = self._resolve()
        except ModelUnavailable as exc:  # S3 down or nothing published: keep what we have, try again later
            self._fail(f"model re-check failed: {exc}")
            return
        if current is not None and published.identity == current.identity:
            return
        loaded = self._try(published)
        if loaded is None and current is None:
            # A fresh environment and a bad publish: serve what served before rather than answer 503.
            for version in published.fallbacks:
                loaded = self._try(self._published(version))
                if loaded is not None:
                    logger.warning(
                        "serving %s from the pointer's previous versions: %s is rejected",
                        version,
                        published.identity,
                    )
                    break
        if loaded is None:
            return
        self._current = loaded
        if current is None:
            logger.info("model %s serving", loaded.model_version)
            return
        logger.info("model changed: %s -> %s", current.model_version, loaded.model_version)
        # Only now, with the new model serving, the previous one's files may go.
        shutil.rmtree(current.model_dir.parent, ignore_errors=True)

    def _try(self, published: Published) -> LoadedModel | None:
        """Load ``published`` unless it was rejected before; a rejection is remembered, counted and logged
        once, a transient failure is not remembered (the next re-check retries)."""
        if published.identity in self._rejected:
            self._last_failure = f"published model rejected: {self._rejected[published.identity]}"
            return None
        try:
            return self._load(published)
        except ModelRejected as exc:
            self._rejected[published.identity] = str(exc)
            self.rejects += 1
            self._last_failure = f"published model rejected: {exc}"
            logger.error("model rejected, %s: %s", self._serving_note(), exc)
        except ModelUnavailable as exc:
            self._fail(str(exc))
        return None

    def _serving_note(self) -> str:
        if self._current is None:
            return "no good model loaded (answering 503)"
        return f"keeping version {self._current.model_version}"

    def _fail(self, reason: str) -> None:
        self._last_failure = reason
        logger.warning("%s, %s", reason, self._serving_note())

    def _resolve(self) -> Published:
        """The version the pointer names (ModelUnavailable when there is no readable pointer)."""
        response = self._get_object(self.pointer_key)
        try:
            raw = response["Body"].read(model_pointer.MAX_POINTER_BYTES + 1)
            pointer = model_pointer.decode(raw)
        except Exception as exc:  # a read failure or a malformed pointer: not a model to reject, try later
            raise ModelUnavailable(f"s3://{self.bucket}/{self.pointer_key}: {exc}") from exc
        previous = tuple(pointer[model_pointer.PREVIOUS_FIELD])
        return self._published(pointer[model_pointer.VERSION_FIELD], previous)

    def _published(self, version: str, fallbacks: tuple[str, ...] = ()) -> Published:
        return Published(
            version,
            layout.model_artifact_key(version, self.versions_prefix),
            layout.model_metadata_key(version, self.versions_prefix),
            fallbacks,
        )

    def _get_object(self, key: str) -> dict[str, Any]:
        try:
            return self._s3.get_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            code = _s3_error_code(exc)
            what = "not found" if code in S3_NOT_FOUND_CODES else (code or str(exc))
            raise ModelUnavailable(f"s3://{self.bucket}/{key}: {what}") from exc

    def _read_metadata(self, key: str) -> dict[str, Any]:
        response = self._get_object(key)
        try:
            raw = response["Body"].read(MAX_METADATA_BYTES + 1)
        except Exception as exc:
            raise ModelUnavailable(f"s3://{self.bucket}/{key}: read failed: {exc}") from exc
        if len(raw) > MAX_METADATA_BYTES:
            raise ModelRejected(f"s3://{self.bucket}/{key} is larger than {MAX_METADATA_BYTES} bytes")
        try:
            metadata = json.loads(raw)
        except ValueError as exc:  # also UnicodeDecodeError
            raise ModelRejected(f"s3://{self.bucket}/{key} is not JSON: {exc}") from exc
        if not isinstance(metadata, dict):
            raise ModelRejected(f"s3://{self.bucket}/{key} is not a JSON object")
        return metadata

    def _load(self, published: Published) -> LoadedModel:
        started = time.perf_counter()
        metadata = self._read_metadata(published.metadata_key)
        named = metadata.get("model_version", published.identity)
        if named != published.identity:  # every file of a version must be that version's
            raise ModelRejected(f"{published.metadata_key} names model_version {named!r}")
        model_response = self._get_object(published.model_key)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        # A fresh directory per attempt: never the directory of the model that serves.
        load_dir = Path(tempfile.mkdtemp(prefix=LOAD_DIR_PREFIX, dir=self.work_dir))
        try:
            artifact_path = load_dir / ARTIFACT_FILE_NAME
            try:
                with open(artifact_path, "wb") as out:
                    shutil.copyfileobj(model_response["Body"], out)
            except Exception as exc:
                raise ModelUnavailable(
                    f"s3://{self.bucket}/{published.model_key}: download failed: {exc}"
                ) from exc
            try:
                model_dir = linear_learner.extract_artifact(artifact_path, load_dir / "model")
            except (linear_learner.ArtifactError, OSError) as exc:
                raise ModelRejected(f"s3://{self.bucket}/{published.model_key}: {exc}") from exc
            artifact_path.unlink()  # the extracted files are all the engines read
            loaded = build_loaded_model(
                model_dir,
                metadata,
                self.engine_name,
                identity=published.identity,
                source=f"s3://{self.bucket}/{published.model_key}",
            )
        except BaseException:
            shutil.rmtree(load_dir, ignore_errors=True)
            raise
        self.loads += 1
        logger.info(
            "model %s loaded with engine %s in %.0f ms",
            loaded.model_version,
            self.engine_name,
            (time.perf_counter() - started) * 1000,
        )
        return loaded


# Lambda's python3.12+ runtimes provide this module with SnapStart on; absent elsewhere (tests, LocalStack).
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
