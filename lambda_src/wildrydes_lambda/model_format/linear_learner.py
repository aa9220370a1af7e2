"""Read and write SageMaker Linear Learner model artifacts without MXNet (and without numpy).

Layout (see ../shared/design/linear-learner-and-ghcn.md): ``model.tar.gz`` holds one member,
``model_algo-1``, a ZIP (stored) of the MXNet module files:

* ``mx-mod-symbol.json``   graph: dot(data, fc0_weight) -> broadcast_add(fc0_bias) -> *RegressionOutput
* ``mx-mod-0000.params``   ``arg:fc0_bias`` (1, 1) and ``arg:fc0_weight`` (feature_dim, 1), float32
* ``manifest.json``        fixed content
* ``additional-params.json`` the calibrated threshold and the predictor type

The inference Lambda's numpy engine must run without the MXNet layer (and possibly without numpy), so
everything here is stdlib; numpy is used only for conversions when it is importable.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

_np: Any
try:  # optional: only for ParamArray.to_numpy / numpy inputs to write_params
    import numpy as _np
except ImportError:  # pragma: no cover - exercised in the Lambda without the layer
    _np = None

# --------------------------------------------------------------------------- artifact layout
ARTIFACT_MEMBER = "model_algo-1"
SYMBOL_FILE = "mx-mod-symbol.json"
PARAMS_FILE = "mx-mod-0000.params"
MANIFEST_FILE = "manifest.json"
ADDITIONAL_PARAMS_FILE = "additional-params.json"
MODULE_PREFIX = "mx-mod"  # Module.load(<dir>/mx-mod, 0) reads the symbol and epoch-0 params
# Order SageMaker used in the reference artifact; any order loads, a fixed one keeps output deterministic.
ZIP_MEMBER_ORDER = (ADDITIONAL_PARAMS_FILE, SYMBOL_FILE, MANIFEST_FILE, PARAMS_FILE)
MODEL_FILES = frozenset(ZIP_MEMBER_ORDER)
REQUIRED_MODEL_FILES = (SYMBOL_FILE, PARAMS_FILE)
MANIFEST = {"additional-params.json": "json", "mx-mod": "mxnet_module", "version": 1}

WEIGHT_KEY = "arg:fc0_weight"
BIAS_KEY = "arg:fc0_bias"

DEFAULT_THRESHOLD = 0.5  # what SageMaker uses when additional-params.json has none
THRESHOLD_MIN, THRESHOLD_MAX = 0.0, 1.0  # a threshold on a probability

BINARY_CLASSIFIER = "binary_classifier"
REGRESSOR = "regressor"
# The graph's output op decides how the linear score is turned into a prediction.
OUTPUT_OP_BY_PREDICTOR = {BINARY_CLASSIFIER: "LogisticRegressionOutput", REGRESSOR: "LinearRegressionOutput"}
LOSS_BY_PREDICTOR = {BINARY_CLASSIFIER: "logistic", REGRESSOR: "squared_loss"}
# SageMaker's artifacts are saved by MXNet 1.3.1; writing the same version keeps loaders on one path.
SAVED_BY_MXNET_VERSION = 10301

# Fixed metadata so the same model always produces the same bytes.
ZIP_TIMESTAMP = (2020, 1, 1, 0, 0, 0)
ZIP_UNIX_FILE_MODE = 0o100644
ZIP_CREATE_SYSTEM_UNIX = 3
TAR_MTIME = 1577836800  # 2020-01-01T00:00:00Z, matches ZIP_TIMESTAMP
TAR_FILE_MODE = 0o644
# The .params arrays of a linear model are 2-d; anything beyond this is corrupt (MXNet caps ndim at 32).
MAX_NDIM = 32
# Guards against hostile archives (the fixture's zip is ~22 kB; a 1M-feature model is ~4 MB).
MAX_MEMBER_BYTES = 256 * 1024 * 1024

# --------------------------------------------------------------------------- .params (mx.nd.save)
PARAMS_FILE_MAGIC = 0x112
NDARRAY_V2_MAGIC = 0xF993FAC9
NDARRAY_V1_MAGIC = 0xF993FAC8
DENSE_STORAGE = 0
CPU_DEVICE_TYPE = 1
# type_flag -> (dtype name, struct code); struct codes with "<" are fixed-size little-endian.
_DTYPES_BY_FLAG = {
    0: ("float32", "f"),
    1: ("float64", "d"),
    2: ("float16", "e"),
    3: ("uint8", "B"),
    4: ("int32", "i"),
    5: ("int8", "b"),
    6: ("int64", "q"),
}
_FLAG_BY_DTYPE = {name: flag for flag, (name, _code) in _DTYPES_BY_FLAG.items()}
_FLOAT_DTYPES = frozenset({"float32", "float64", "float16"})


class ArtifactError(ValueError):
    """The bytes are not a Linear Learner artifact we can read (message says what is wrong)."""


class ParamArray(NamedTuple):
    """A dense array from a ``.params`` file: its shape, dtype name and values flattened row-major.

    It is also the ``(shape, dtype, values)`` triple that ``write_params`` accepts, so a read dict can be
    written back unchanged.
    """

    shape: tuple[int, ...]
    dtype: str
    values: tuple[Any, ...]

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def to_numpy(self):
        if _np is None:
            raise RuntimeError("numpy is not installed")
        return _np.array(self.values, dtype=self.dtype).reshape(self.shape)

    def __array__(self, dtype=None):  # lets np.asarray(param_array) work
        arr = self.to_numpy()
        return arr if dtype is None else arr.astype(dtype)


def _unpack(fmt: str, data: bytes, offset: int) -> tuple[tuple, int]:
    try:
        size = struct.calcsize(fmt)
    except struct.error as exc:  # e.g. a count no struct format can hold
        raise ArtifactError(f"params file: unreadable field at byte {offset} ({exc})") from None
    if offset + size > len(data):
        raise ArtifactError(f"params file truncated at byte {offset} (need {size} more bytes)")
    return struct.unpack_from(fmt, data, offset), offset + size


def read_params(data: bytes) -> dict[str, ParamArray]:
    """Parse the bytes ``mx.nd.save(dict)`` writes; keys keep the file's order."""
    (magic, _reserved, count), pos = _unpack("<QQQ", data, 0)
    if magic != PARAMS_FILE_MAGIC:
        raise ArtifactError(f"not an MXNet params file (magic {magic:#x}, expected {PARAMS_FILE_MAGIC:#x})")
    arrays: list[ParamArray] = []
    for index in range(count):
        (array_magic,), pos = _unpack("<I", data, pos)
        if array_magic != NDARRAY_V2_MAGIC:
            version = "V1 (pre-1.0 MXNet)" if array_magic == NDARRAY_V1_MAGIC else f"{array_magic:#x}"
            raise ArtifactError(f"array {index}: unsupported NDArray format {version}")
        (stype, ndim), pos = _unpack("<ii", data, pos)
        if stype != DENSE_STORAGE:
            raise ArtifactError(f"array {index}: sparse storage type {stype} is not supported")
        if not 0 <= ndim <= MAX_NDIM:
            raise ArtifactError(f"array {index}: ndim {ndim} is outside 0..{MAX_NDIM}")
        shape, pos = _unpack(f"<{ndim}q", data, pos)
        if ndim == 0:  # MXNet writes nothing more for an empty (shape-less) array
            arrays.append(ParamArray((), "float32", ()))
            continue
        (_dev_type, _dev_id, type_flag), pos = _unpack("<iii", data, pos)
        if type_flag not in _DTYPES_BY_FLAG:
            raise ArtifactError(f"array {index}: unknown dtype flag {type_flag}")
        dtype, code = _DTYPES_BY_FLAG[type_flag]
        if any(dim < 0 for dim in shape):
            raise ArtifactError(f"array {index}: negative dimension in shape {shape}")
        values, pos = _unpack(f"<{math.prod(shape)}{code}", data, pos)
        arrays.append(ParamArray(tuple(shape), dtype, values))
    (name_count,), pos = _unpack("<Q", data, pos)
    names = []
    for _ in range(name_count):
        (length,), pos = _unpack("<Q", data, pos)
        (raw,), pos = _unpack(f"<{length}s", data, pos)
        try:
            names.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ArtifactError(f"params file: parameter name is not UTF-8 ({exc})") from None
    if pos != len(data):
        raise ArtifactError(f"{len(data) - pos} unexpected trailing bytes in params file")
    if name_count == 0:  # saved from a list: MXNet loads it as a list, we index by position
        names = [str(i) for i in range(count)]
    elif name_count != count:
        raise ArtifactError(f"params file has {count} arrays but {name_count} names")
    return dict(zip(names, arrays, strict=True))


def _flatten(values: Any) -> list:
    if _np is not None and isinstance(values, _np.ndarray):
        return values.ravel().tolist()
    flat: list = []
    stack = [iter(values)]
    while stack:  # iterative flatten of nested sequences, row-major
        for item in stack[-1]:
            if isinstance(item, (list, tuple)) or (_np is not None and isinstance(item, _np.ndarray)):
                stack.append(iter(item))
                break
            flat.append(item)
        else:
            stack.pop()
    return flat


def write_params(arrays: Mapping[str, tuple[Sequence[int], str, Any]]) -> bytes:
    """Serialize ``{name: (shape, dtype, values)}`` exactly as ``mx.nd.save(dict)`` does (dict order kept).

    ``values`` may be flat or nested (row-major) or a numpy array.
    """
    out = io.BytesIO()
    out.write(struct.pack("<QQQ", PARAMS_FILE_MAGIC, 0, len(arrays)))
    for name, (shape, dtype, values) in arrays.items():
        shape = tuple(int(d) for d in shape)
        dtype = str(getattr(dtype, "name", dtype))  # accepts "float32" or np.dtype("float32")
        if dtype not in _FLAG_BY_DTYPE:
            raise ValueError(f"{name}: dtype {dtype!r} not supported by the params format")
        flat = _flatten(values)
        if len(flat) != math.prod(shape):
            raise ValueError(f"{name}: {len(flat)} values do not fill shape {shape}")
        flag = _FLAG_BY_DTYPE[dtype]
        code = _DTYPES_BY_FLAG[flag][1]
        if dtype not in _FLOAT_DTYPES:
            flat = [int(v) for v in flat]
        out.write(struct.pack("<Iii", NDARRAY_V2_MAGIC, DENSE_STORAGE, len(shape)))
        out.write(struct.pack(f"<{len(shape)}q", *shape))
        out.write(struct.pack("<iii", CPU_DEVICE_TYPE, 0, flag))
        out.write(struct.pack(f"<{len(flat)}{code}", *flat))
    out.write(struct.pack("<Q", len(arrays)))
    for name in arrays:
        encoded = name.encode("utf-8")
        out.write(struct.pack("<Q", len(encoded)))
        out.write(encoded)
    return out.getvalue()


# --------------------------------------------------------------------------- the model
def _sigmoid(z: float) -> float:
    # Two branches so neither exp() overflows for large |z|.
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def to_float32(value: float) -> float:
    """The float32 nearest to ``value`` (what the params file stores), as a Python float."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


@dataclass(frozen=True)
class LinearModel:
    """A Linear Learner model in raw-feature space: score = link(x·weights + bias).

    ``threshold`` is the calibrated decision threshold on the score (binary classifier only).
    """

    weights: tuple[float, ...]
    bias: float
    threshold: float = 0.5
    predictor_type: str = BINARY_CLASSIFIER

    def __post_init__(self) -> None:
        if self.predictor_type not in OUTPUT_OP_BY_PREDICTOR:
            raise ValueError(f"unsupported predictor_type {self.predictor_type!r}")
        if not self.weights:
            raise ValueError("a model needs at least one weight")
        object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))
        object.__setattr__(self, "bias", float(self.bias))
        object.__setattr__(self, "threshold", float(self.threshold))

    @property
    def feature_dim(self) -> int:
        return len(self.weights)

    def linear(self, rows: Iterable[Sequence[float]]) -> list[float]:
        out = []
        for number, row in enumerate(rows):
            if len(row) != self.feature_dim:
                raise ValueError(
                    f"row {number} has {len(row)} features, the model expects {self.feature_dim}"
                )
            out.append(math.fsum(float(x) * w for x, w in zip(row, self.weights, strict=True)) + self.bias)
        return out

    def score(self, rows: Iterable[Sequence[float]]) -> list[float]:
        """Scores as SageMaker reports them: the probability for a classifier, the value for a regressor."""
        linear = self.linear(rows)
        if self.predictor_type == BINARY_CLASSIFIER:
            return [_sigmoid(z) for z in linear]
        return linear

    def predicted_label(self, score: float) -> int:
        """1 when the score reaches the calibrated threshold (classifier only)."""
        if self.predictor_type != BINARY_CLASSIFIER:
            raise ValueError("predicted_label is defined for binary classifiers only")
        return int(score >= self.threshold)

    def predictions(self, rows: Iterable[Sequence[float]]) -> list[dict[str, float | int]]:
        """The SageMaker endpoint's response entries: ``{"score": s, "predicted_label": 0|1}``."""
        if self.predictor_type != BINARY_CLASSIFIER:
            return [{"score": s} for s in self.score(rows)]
        return [{"score": s, "predicted_label": self.predicted_label(s)} for s in self.score(rows)]

    def as_float32(self) -> LinearModel:
        """The model exactly as it reads back from an artifact (weights and bias stored as float32)."""
        return replace(self, weights=tuple(to_float32(w) for w in self.weights), bias=to_float32(self.bias))


# --------------------------------------------------------------------------- reading artifacts
def _output_op(symbol: Mapping[str, Any]) -> str:
    try:
        head_node = symbol["heads"][0][0]
        op = symbol["nodes"][head_node]["op"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ArtifactError(f"{SYMBOL_FILE} is not an MXNet symbol graph") from exc
    if not isinstance(op, str):
        raise ArtifactError(f"{SYMBOL_FILE}: the output node's op is not a name")
    return op


def model_from_files(files: Mapping[str, bytes]) -> LinearModel:
    """Build the model from the module files' bytes (keys are the file names). Whatever is wrong with the
    bytes is an ``ArtifactError`` (never a struct.error, TypeError, ... escaping to the caller)."""
    try:
        return _model_from_files(files)
    except ArtifactError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, struct.error) as exc:
        raise ArtifactError(f"artifact unreadable: {type(exc).__name__}: {exc}") from exc


def _model_from_files(files: Mapping[str, bytes]) -> LinearModel:
    missing = [name for name in REQUIRED_MODEL_FILES if name not in files]
    if missing:
        raise ArtifactError(f"artifact lacks {', '.join(missing)}")
    try:
        symbol = json.loads(files[SYMBOL_FILE])
        extra = json.loads(files[ADDITIONAL_PARAMS_FILE]) if ADDITIONAL_PARAMS_FILE in files else {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"artifact JSON is malformed: {exc}") from exc
    if not isinstance(extra, dict):
        raise ArtifactError(f"{ADDITIONAL_PARAMS_FILE} is not a JSON object")
    predictor_by_op = {op: predictor for predictor, op in OUTPUT_OP_BY_PREDICTOR.items()}
    op = _output_op(symbol)
    if op not in predictor_by_op:
        raise ArtifactError(f"graph ends in {op!r}, not a Linear Learner output")
    predictor_type = predictor_by_op[op]
    declared = extra.get("predictor_type", predictor_type)
    # A multiclass model also ends in a different op; a mismatch means we would mis-score silently.
    if declared != predictor_type:
        raise ArtifactError(f"additional params say {declared!r} but the graph is a {predictor_type}")

    params = read_params(files[PARAMS_FILE])
    for key in (WEIGHT_KEY, BIAS_KEY):
        if key not in params:
            raise ArtifactError(f"params lack {key} (found {sorted(params)})")
    weight, bias = params[WEIGHT_KEY], params[BIAS_KEY]
    # Linear Learner stores (feature_dim, 1); one output column is all a binary model may have.
    if len(weight.shape) != 2 or 1 not in weight.shape or bias.size != 1:
        raise ArtifactError(f"unexpected shapes: weight {weight.shape}, bias {bias.shape}")
    if weight.size == 0:
        raise ArtifactError("the weight vector is empty")
    weights = tuple(float(v) for v in weight.values)
    if not all(math.isfinite(w) for w in weights) or not math.isfinite(float(bias.values[0])):
        raise ArtifactError("weights or bias are not finite (NaN or infinity)")
    threshold = extra.get("threshold", DEFAULT_THRESHOLD) if isinstance(extra, dict) else DEFAULT_THRESHOLD
    return LinearModel(
        weights=weights,
        bias=float(bias.values[0]),
        threshold=checked_threshold(threshold, ADDITIONAL_PARAMS_FILE),
        predictor_type=predictor_type,
    )


def checked_threshold(value: Any, where: str) -> float:
    """A decision threshold as float: a JSON number (not a bool), finite and within [0, 1]; ArtifactError
    naming ``where`` otherwise (a NaN or 7 would silently make every predicted_label 0)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ArtifactError(f"{where}: threshold {value!r} is not a number")
    if not (math.isfinite(value) and THRESHOLD_MIN <= value <= THRESHOLD_MAX):
        raise ArtifactError(f"{where}: threshold {value!r} is not a finite number in [0, 1]")
    return float(value)


def _read_zip_members(zip_bytes: bytes) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(zip_bytes))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise ArtifactError(f"{ARTIFACT_MEMBER} is not a zip file") from exc
    files: dict[str, bytes] = {}
    with archive:
        for info in archive.infolist():
            # Only the known flat names are taken: nothing else can be written outside dest_dir.
            if info.filename not in MODEL_FILES or info.is_dir():
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                raise ArtifactError(f"{info.filename} is larger than {MAX_MEMBER_BYTES} bytes")
            try:
                files[info.filename] = archive.read(info)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as exc:
                # a bad CRC, a truncated member or an unsupported compression method
                raise ArtifactError(f"{ARTIFACT_MEMBER}: cannot read {info.filename} ({exc})") from exc
    return files


def read_artifact_files(model_tar_gz_path: str | Path) -> dict[str, bytes]:
    """The module files inside a ``model.tar.gz``, in memory (nothing touches the file system)."""
    try:
        with tarfile.open(model_tar_gz_path, mode="r:*") as tar:
            member = next((m for m in tar.getmembers() if m.name.lstrip("./") == ARTIFACT_MEMBER), None)
            if member is None or not member.isfile():
                raise ArtifactError(f"{model_tar_gz_path}: no regular file {ARTIFACT_MEMBER} in the archive")
            if member.size > MAX_MEMBER_BYTES:
                raise ArtifactError(f"{ARTIFACT_MEMBER} is larger than {MAX_MEMBER_BYTES} bytes")
            extracted = tar.extractfile(member)
            if extracted is None:
                raise ArtifactError(f"{model_tar_gz_path}: {ARTIFACT_MEMBER} cannot be read from the archive")
            zip_bytes = extracted.read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:  # zlib.error: a corrupt deflate stream
        if isinstance(exc, FileNotFoundError):
            raise
        raise ArtifactError(f"{model_tar_gz_path}: not a readable tar.gz ({exc})") from exc
    return _read_zip_members(zip_bytes)


def extract_artifact(model_tar_gz_path: str | Path, dest_dir: str | Path) -> Path:
    """Unpack ``model.tar.gz`` -> ``model_algo-1`` -> the module files into ``dest_dir``; return it.

    Safe by construction: only the fixed file names are written, directly in ``dest_dir``. The result
    loads with ``mx.mod.Module.load(str(dest / MODULE_PREFIX), 0, label_names=None)``.
    """
    files = read_artifact_files(model_tar_gz_path)
    model_from_files(files)  # validate before writing anything
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (dest / name).write_bytes(data)
    return dest


def load_model_dir(path: str | Path) -> LinearModel:
    """Load a directory holding the extracted module files."""
    directory = Path(path)
    files = {name: (directory / name).read_bytes() for name in MODEL_FILES if (directory / name).is_file()}
    return model_from_files(files)


def load_artifact(path: str | Path) -> LinearModel:
    """Load a ``model.tar.gz`` (or a directory of extracted files)."""
    if Path(path).is_dir():
        return load_model_dir(path)
    return model_from_files(read_artifact_files(path))


# --------------------------------------------------------------------------- writing artifacts
def build_symbol_json(feature_dim: int, predictor_type: str = BINARY_CLASSIFIER) -> str:
    """The Linear Learner graph for ``feature_dim`` inputs, as MXNet's symbol JSON."""
    output_op = OUTPUT_OP_BY_PREDICTOR[predictor_type]
    nodes = [
        {"op": "null", "name": "data", "inputs": []},
        {"op": "null", "name": "fc0_weight", "attrs": {"__shape__": f"({feature_dim}, 1)"}, "inputs": []},
        {"op": "dot", "name": "dot0", "inputs": [[0, 0, 0], [1, 0, 0]]},
        {"op": "null", "name": "fc0_bias", "attrs": {"__shape__": "(1, 1)"}, "inputs": []},
        {"op": "broadcast_add", "name": "broadcast_plus0", "inputs": [[2, 0, 0], [3, 0, 0]]},
        {"op": "null", "name": "out_label", "inputs": []},
        {"op": output_op, "name": output_op.lower() + "0", "inputs": [[4, 0, 0], [5, 0, 0]]},
    ]
    graph = {
        "nodes": nodes,
        "arg_nodes": [0, 1, 3, 5],
        "node_row_ptr": list(range(len(nodes) + 1)),
        "heads": [[len(nodes) - 1, 0, 0]],
        "attrs": {"mxnet_version": ["int", SAVED_BY_MXNET_VERSION]},
    }
    return json.dumps(graph, indent=2)


def additional_params_json(model: LinearModel) -> str:
    metrics_params = {"positive_example_weight_mult": 1.0, "threshold": model.threshold, "f_beta": 1.0}
    return json.dumps(
        {
            "threshold": model.threshold,
            "loss_type": LOSS_BY_PREDICTOR[model.predictor_type],
            "metrics_params": metrics_params,
            "predictor_type": model.predictor_type,
        }
    )


def model_files(model: LinearModel, *, symbol_json_text: str | None = None) -> dict[str, bytes]:
    """The four module files for ``model`` (weights stored as float32, bias first like SageMaker)."""
    params = write_params(
        {
            BIAS_KEY: ((1, 1), "float32", [model.bias]),
            WEIGHT_KEY: ((model.feature_dim, 1), "float32", list(model.weights)),
        }
    )
    symbol = (
        symbol_json_text
        if symbol_json_text is not None
        else build_symbol_json(model.feature_dim, model.predictor_type)
    )
    return {
        ADDITIONAL_PARAMS_FILE: additional_params_json(model).encode(),
        SYMBOL_FILE: symbol.encode(),
        MANIFEST_FILE: json.dumps(MANIFEST).encode(),
        PARAMS_FILE: params,
    }


def _zip_bytes(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in ZIP_MEMBER_ORDER:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = ZIP_UNIX_FILE_MODE << 16
            info.create_system = ZIP_CREATE_SYSTEM_UNIX
            archive.writestr(info, files[name])
    return buffer.getvalue()


def artifact_bytes(model: LinearModel, *, symbol_json: str | None = None) -> bytes:
    """``model.tar.gz`` bytes in SageMaker's layout; the same model always gives the same bytes."""
    zip_data = _zip_bytes(model_files(model, symbol_json_text=symbol_json))
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo(ARTIFACT_MEMBER)
        info.size, info.mtime, info.mode = len(zip_data), TAR_MTIME, TAR_FILE_MODE
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        tar.addfile(info, io.BytesIO(zip_data))
    gz_buffer = io.BytesIO()
    # mtime=0 and no file name in the gzip header: the header does not vary between runs.
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_buffer, mtime=0) as gz:
        gz.write(tar_buffer.getvalue())
    return gz_buffer.getvalue()


def write_artifact(model: LinearModel, out_path: str | Path, *, symbol_json: str | None = None) -> None:
    """Write ``model`` as SageMaker's ``model.tar.gz`` to ``out_path`` (parent dirs are created)."""
    data = artifact_bytes(model, symbol_json=symbol_json)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)  # readers never see a half-written artifact
