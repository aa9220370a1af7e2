"""Both inference engines give the same scores: our own artifacts and a real SageMaker one."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from wildrydes_lambda.model_format import linear_learner as ll
from wildrydes_lambda.serving import engine as ie
from wildrydes_lambda.serving.model_cache import ModelUnavailable, build_loaded_model
from wildrydes_lambda.serving.request import FeatureSchema, parse_payload

REPO_ROOT = Path(__file__).resolve().parents[3]
# A real SageMaker Linear Learner artifact, committed with its provenance note (tests/fixtures/.../PROVENANCE.md).
SAGEMAKER_FIXTURE = (
    REPO_ROOT / "tests" / "fixtures" / "sagemaker-linear-learner" / "binary-classifier-fd5000.model.tar.gz"
)
FIXTURE_FEATURE_DIM = 5000
SCORE_ATOL = 1e-6  # MXNet computes in float32, the numpy engine in float64 on the same float32 weights
WEATHER_MODEL = ll.LinearModel(weights=(0.08, -0.004, 0.006, 0.002), bias=-2.0, threshold=0.4)
WEATHER_METADATA = {
    "model_version": "v-test",
    "features": ["distance", "TMIN", "TMAX", "PRCP"],
    "units": {
        "distance": "miles",
        "TMIN": "tenths of degC",
        "TMAX": "tenths of degC",
        "PRCP": "tenths of mm",
    },
    "threshold": 0.4,
}


@pytest.fixture(scope="module")
def weather_model_dir(tmp_path_factory) -> Path:
    tar = tmp_path_factory.mktemp("art") / "model.tar.gz"
    ll.write_artifact(WEATHER_MODEL, tar)
    return ll.extract_artifact(tar, tmp_path_factory.mktemp("weather"))


@pytest.fixture(scope="module")
def sagemaker_model_dir(tmp_path_factory) -> Path:
    if not SAGEMAKER_FIXTURE.is_file():
        pytest.fail(f"SageMaker fixture missing at {SAGEMAKER_FIXTURE}")
    return ll.extract_artifact(SAGEMAKER_FIXTURE, tmp_path_factory.mktemp("sagemaker"))


def sparse_rows(count: int, dim: int, seed: int) -> list[list[float]]:
    """Sparse rows of float32-exact values: the fixture's weights are large (|w| up to ~56), so a few
    non-zero entries keep the scores spread over (0, 1) instead of saturating at 0 or 1."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        row = [0.0] * dim
        for index in rng.sample(range(dim), 8):
            row[index] = rng.choice([-0.25, -0.125, 0.125, 0.25])
        rows.append(row)
    return rows


def test_engines_agree_on_a_weather_model_for_single_rows_and_batches(weather_model_dir):
    numpy_engine = ie.load_engine("numpy", weather_model_dir)
    mxnet_engine = ie.load_engine("mxnet", weather_model_dir)
    rows = [[30, 300, 333, 100], [2.5, -50, 20, 0], [60, 250, 310, 40], [0, 0, 0, 0], [7, 100, 150, 30]]
    expected = WEATHER_MODEL.as_float32().score(rows)
    # single row (the bound batch size), then a batch (re-bind), then a single row again
    assert mxnet_engine.score(rows[:1]) == pytest.approx(expected[:1], abs=SCORE_ATOL)
    assert mxnet_engine.score(rows) == pytest.approx(expected, abs=SCORE_ATOL)
    assert mxnet_engine.score(rows[2:3]) == pytest.approx(expected[2:3], abs=SCORE_ATOL)
    assert numpy_engine.score(rows) == pytest.approx(expected, abs=1e-12)
    assert min(expected) > 0.05 and max(expected) < 0.999  # scores are informative, not saturated


def test_engines_agree_on_the_real_sagemaker_artifact(sagemaker_model_dir):
    numpy_engine = ie.load_engine("numpy", sagemaker_model_dir)
    mxnet_engine = ie.load_engine("mxnet", sagemaker_model_dir)
    assert numpy_engine.feature_dim == mxnet_engine.feature_dim == FIXTURE_FEATURE_DIM
    rows = sparse_rows(12, FIXTURE_FEATURE_DIM, seed=7)
    numpy_scores = numpy_engine.score(rows)
    assert mxnet_engine.score(rows) == pytest.approx(numpy_scores, abs=SCORE_ATOL)
    assert mxnet_engine.score(rows[:1]) == pytest.approx(numpy_scores[:1], abs=SCORE_ATOL)
    assert len({round(s, 3) for s in numpy_scores}) > 3  # distinct, informative scores


def test_sagemaker_artifact_through_request_parsing_with_generated_metadata(sagemaker_model_dir):
    # The fixture has no metadata.json: describe its 5000 anonymous features the way a publisher would.
    metadata = {"model_version": "fake-news-2020", "features": [f"f{i}" for i in range(FIXTURE_FEATURE_DIM)]}
    loaded = {name: build_loaded_model(sagemaker_model_dir, metadata, name) for name in ie.ENGINES}
    assert loaded["mxnet"].threshold == pytest.approx(0.030055705457925797)  # from additional-params.json
    rows = sparse_rows(3, FIXTURE_FEATURE_DIM, seed=11)
    request = parse_payload({"instances": [{"features": r} for r in rows]}, loaded["numpy"].schema)
    numpy_scores = loaded["numpy"].engine.score(request.rows)
    assert loaded["mxnet"].engine.score(request.rows) == pytest.approx(numpy_scores, abs=SCORE_ATOL)


def test_metadata_feature_count_must_match_the_model(weather_model_dir):
    with pytest.raises(ModelUnavailable, match="3 features but the model has 4"):
        build_loaded_model(weather_model_dir, {"features": ["distance", "TMIN", "TMAX"]}, "numpy")


def test_metadata_threshold_overrides_the_artifact_threshold(weather_model_dir):
    loaded = build_loaded_model(weather_model_dir, {**WEATHER_METADATA, "threshold": 0.7}, "numpy")
    assert loaded.threshold == 0.7 and loaded.model_version == "v-test"
    assert loaded.schema == FeatureSchema.from_metadata(WEATHER_METADATA)


def test_wrong_row_width_is_an_error_in_both_engines(weather_model_dir):
    for name in ie.ENGINES:
        with pytest.raises(ValueError, match="expects 4"):
            ie.load_engine(name, weather_model_dir).score([[1, 2, 3]])


def test_unknown_engine_is_rejected(weather_model_dir):
    with pytest.raises(ValueError, match="unknown inference engine"):
        ie.load_engine("tensorflow", weather_model_dir)


def test_mxnet_engine_keeps_scoring_right_across_many_batch_sizes(weather_model_dir):
    engine = ie.load_engine("mxnet", weather_model_dir)
    base = [[30, 300, 333, 100], [2.5, -50, 20, 0], [60, 250, 310, 40], [0, 0, 0, 0], [7, 100, 150, 30]]
    # more distinct sizes than the engine keeps bound, then back to evicted ones and to single rows
    sizes = [*range(2, ie.MAX_BOUND_BATCH_SIZES + 4), 2, 1, 3, 1]
    for size in sizes:
        rows = [base[i % len(base)] for i in range(size)]
        assert engine.score(rows) == pytest.approx(WEATHER_MODEL.as_float32().score(rows), abs=SCORE_ATOL)
