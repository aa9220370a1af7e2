"""Broken model publishes, one builder per way a publish can go wrong (used by test_bad_publish.py).

Each builder returns ``(artifact bytes, metadata dict or raw bytes)`` for a publish that must be rejected at
load time. The artifacts are made from a good model's files, then damaged the way a real fault would.
"""

from __future__ import annotations

import gzip
import io
import math
import struct
import tarfile
from collections.abc import Callable

from wildrydes_lambda.model_format import linear_learner as ll

FEATURES = ["distance", "TMIN", "TMAX", "PRCP"]
UNITS = {"distance": "miles", "TMIN": "tenths of degC", "TMAX": "tenths of degC", "PRCP": "tenths of mm"}
GOOD_MODEL = ll.LinearModel(weights=(0.08, -0.004, 0.006, 0.002), bias=-2.0, threshold=0.5)
OTHER_MODEL = ll.LinearModel(weights=(-0.02, 0.001, -0.003, 0.004), bias=0.5, threshold=0.5)
# Offsets in a .params file written by ll.write_params: 3 x uint64 header, then per array uint32 magic,
# int32 storage type, int32 ndim.
PARAMS_HEADER_BYTES = 24
FIRST_NDIM_OFFSET = PARAMS_HEADER_BYTES + 4 + 4


def metadata_for(version: str, threshold: object = 0.5, features: list[str] | None = None) -> dict:
    return {
        "model_version": version,
        "features": FEATURES if features is None else features,
        "units": UNITS,
        "threshold": threshold,
    }


def tar_gz(zip_bytes: bytes) -> bytes:
    """model.tar.gz around an arbitrary model_algo-1 member."""
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w") as tar:
        info = tarfile.TarInfo(ll.ARTIFACT_MEMBER)
        info.size = len(zip_bytes)
        tar.addfile(info, io.BytesIO(zip_bytes))
    return gzip.compress(tar_buffer.getvalue(), mtime=0)


def artifact_with_params(params: bytes, feature_dim: int = len(FEATURES)) -> bytes:
    files = ll.model_files(GOOD_MODEL)
    files[ll.PARAMS_FILE] = params
    files[ll.SYMBOL_FILE] = ll.build_symbol_json(feature_dim).encode()
    return tar_gz(ll._zip_bytes(files))


def good_params() -> bytes:
    return ll.model_files(GOOD_MODEL)[ll.PARAMS_FILE]


# ----------------------------------------------------------------------------- the bad publishes
def bad_crc(version: str):
    zip_bytes = bytearray(ll._zip_bytes(ll.model_files(GOOD_MODEL)))
    params = good_params()
    at = bytes(zip_bytes).index(params) + len(params) - 2  # inside the stored (uncompressed) weights
    zip_bytes[at] ^= 0xFF
    return tar_gz(bytes(zip_bytes)), metadata_for(version)


def negative_ndim(version: str):
    params = bytearray(good_params())
    struct.pack_into("<i", params, FIRST_NDIM_OFFSET, -1)
    return artifact_with_params(bytes(params)), metadata_for(version)


def undecodable_names(version: str):
    params = bytearray(good_params())
    name = ll.BIAS_KEY.encode()
    at = bytes(params).rindex(name)
    params[at : at + len(name)] = b"\xff" * len(name)
    return artifact_with_params(bytes(params)), metadata_for(version)


def empty_weights(version: str):
    params = ll.write_params(
        {ll.BIAS_KEY: ((1, 1), "float32", [0.0]), ll.WEIGHT_KEY: ((0, 1), "float32", [])}
    )
    return artifact_with_params(params, feature_dim=0), metadata_for(version)


def nan_weights(version: str):
    model = ll.LinearModel(weights=(math.nan, 0.0, 0.0, 0.0), bias=0.0)
    return ll.artifact_bytes(model), metadata_for(version)


def infinite_bias(version: str):
    return ll.artifact_bytes(ll.LinearModel(weights=(0.1, 0.0, 0.0, 0.0), bias=math.inf)), metadata_for(
        version
    )


def not_a_tarball(version: str):
    return b"not a tarball", metadata_for(version)


def truncated_gzip(version: str):
    data = ll.artifact_bytes(GOOD_MODEL)
    return data[: len(data) // 2], metadata_for(version)


def threshold(value: object) -> Callable[[str], tuple[bytes, dict]]:
    def build(version: str):
        return ll.artifact_bytes(OTHER_MODEL), metadata_for(version, threshold=value)

    build.__name__ = f"threshold_{value!r}"
    return build


def feature_count_mismatch(version: str):
    return ll.artifact_bytes(OTHER_MODEL), metadata_for(version, features=["distance"])


def metadata_not_json(version: str):
    return ll.artifact_bytes(OTHER_MODEL), b"{not json"


def metadata_not_an_object(version: str):
    return ll.artifact_bytes(OTHER_MODEL), b"[1, 2]"


def artifact_threshold_out_of_range(version: str):
    metadata = metadata_for(version)
    del metadata["threshold"]  # the artifact's own threshold (7) would be used
    return ll.artifact_bytes(ll.LinearModel(weights=OTHER_MODEL.weights, bias=0.5, threshold=7.0)), metadata


BAD_PUBLISHES: dict[str, Callable[[str], tuple[bytes, dict | bytes]]] = {
    "bad_zip_crc": bad_crc,
    "negative_ndim": negative_ndim,
    "undecodable_param_names": undecodable_names,
    "empty_weight_vector": empty_weights,
    "nan_weights": nan_weights,
    "infinite_bias": infinite_bias,
    "not_a_tarball": not_a_tarball,
    "truncated_gzip": truncated_gzip,
    "threshold_null": threshold(None),
    "threshold_string": threshold("abc"),
    "threshold_nan": threshold(math.nan),
    "threshold_7": threshold(7),
    "threshold_negative": threshold(-0.1),
    "threshold_bool": threshold(True),
    "artifact_threshold_7": artifact_threshold_out_of_range,
    "feature_count_mismatch": feature_count_mismatch,
    "metadata_not_json": metadata_not_json,
    "metadata_not_an_object": metadata_not_an_object,
}
