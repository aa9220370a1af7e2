"""Scoring engines for an extracted Linear Learner model directory.

* ``mxnet`` — what SageMaker itself runs: ``mx.mod.Module.load`` on the artifact's symbol + params, bound
  once for batch size 1 (the common API call); a batch of another size gets its own bound module, cached
  for the most recent sizes. Needs the MXNet layer; imported lazily so the rest of the function does not
  depend on it.
* ``numpy`` — reads the same ``.params`` with ``wildrydes_lambda.model_format.linear_learner`` and computes
  sigmoid(x·w + b): with real numpy when it is importable (the MXNet layer ships numpy 2.4; one matrix-vector
  product per batch), otherwise in pure Python (``math.fsum``), so the function needs no layer at all.

Both return the score SageMaker returns (probability for a binary classifier); they agree to ~1e-6
(MXNet computes in float32, the numpy engine in float64 on the same float32 weights).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from wildrydes_lambda.model_format import linear_learner

ENGINE_MXNET = "mxnet"
ENGINE_NUMPY = "numpy"
ENGINES = (ENGINE_MXNET, ENGINE_NUMPY)
MXNET_INPUT_NAME = "data"  # the symbol's input variable in every Linear Learner graph
INITIAL_BATCH_SIZE = 1  # API requests are usually single rows: bind for that once
# Bound modules kept per batch size (each holds one copy of the feature_dim + 1 parameters).
MAX_BOUND_BATCH_SIZES = 8


class Engine(Protocol):
    name: str
    feature_dim: int

    def score(self, rows: Sequence[Sequence[float]]) -> list[float]: ...


BACKEND_NUMPY = "numpy"  # NumpyEngine.backend when real numpy does the arithmetic
BACKEND_PYTHON = "python"  # ... and when it falls back to linear_learner's pure-Python scoring


def _import_numpy():
    try:
        import numpy
    except ImportError:
        return None
    return numpy


class NumpyEngine:
    """sigmoid(x·w + b) on the artifact's float32 weights, in float64: with numpy when importable (the layer's),
    else pure Python through ``linear_learner.LinearModel`` (works without any layer). Both paths agree to
    ~1e-12; ``backend`` says which one runs. ``use_numpy=False`` forces the pure-Python path."""

    name = ENGINE_NUMPY

    def __init__(self, model: linear_learner.LinearModel, *, use_numpy: bool = True) -> None:
        self.model = model
        self.feature_dim = model.feature_dim
        self._np = _import_numpy() if use_numpy else None
        self.backend = BACKEND_NUMPY if self._np is not None else BACKEND_PYTHON
        if self._np is not None:
            self._weights = self._np.asarray(model.weights, dtype=self._np.float64)

    @classmethod
    def from_dir(cls, model_dir: Path) -> NumpyEngine:
        return cls(linear_learner.load_model_dir(model_dir))

    def score(self, rows: Sequence[Sequence[float]]) -> list[float]:
        np = self._np
        if np is None or not rows:
            return self.model.score(rows)
        for number, row in enumerate(rows):  # the same message as the pure-Python path
            if len(row) != self.feature_dim:
                raise ValueError(
                    f"row {number} has {len(row)} features, the model expects {self.feature_dim}"
                )
        linear = np.asarray(rows, dtype=np.float64) @ self._weights + self.model.bias
        if self.model.predictor_type != linear_learner.BINARY_CLASSIFIER:
            return [float(v) for v in linear]
        # 0.5 * (1 + tanh(z / 2)) is the logistic function without exp() overflow for large |z|
        return [float(v) for v in 0.5 * (1.0 + np.tanh(0.5 * linear))]


class MxnetEngine:
    """MXNet Module loaded and bound once for batch size 1; other batch sizes get their own bound module,
    kept for the few most recent sizes so alternating sizes do not re-bind on every request."""

    name = ENGINE_MXNET

    def __init__(self, model_dir: Path, feature_dim: int) -> None:
        import mxnet as mx  # the layer; deferred so a numpy-engine function never pays for it

        self._mx = mx
        self.feature_dim = feature_dim
        self._prefix = str(Path(model_dir) / linear_learner.MODULE_PREFIX)
        self._by_batch_size: OrderedDict[int, object] = OrderedDict(
            {INITIAL_BATCH_SIZE: self._bound_module(INITIAL_BATCH_SIZE)}
        )

    def _bound_module(self, batch_size: int):
        # label_names=None: we only predict, so the graph's label input (out_label) is not bound.
        module = self._mx.mod.Module.load(self._prefix, 0, label_names=None)
        # Module.reshape (and shared_module) refuse on this graph: the unbound out_label would change shape
        # too. So each batch size gets its own module; a Linear Learner's parameters are only
        # feature_dim + 1 floats, so the copies cost next to nothing.
        module.bind(data_shapes=[(MXNET_INPUT_NAME, (batch_size, self.feature_dim))], for_training=False)
        return module

    def _module_for(self, batch_size: int):
        module = self._by_batch_size.get(batch_size)
        if module is None:
            module = self._bound_module(batch_size)
            self._by_batch_size[batch_size] = module
            if len(self._by_batch_size) > MAX_BOUND_BATCH_SIZES:
                # Evict the least recently used size, but keep the single-row module (the common case).
                oldest = next(size for size in self._by_batch_size if size != INITIAL_BATCH_SIZE)
                del self._by_batch_size[oldest]
        self._by_batch_size.move_to_end(batch_size)
        return module

    @classmethod
    def from_dir(cls, model_dir: Path) -> MxnetEngine:
        # feature_dim comes from the params (the graph does not record it in every artifact).
        return cls(model_dir, linear_learner.load_model_dir(model_dir).feature_dim)

    def score(self, rows: Sequence[Sequence[float]]) -> list[float]:
        if not rows:
            return []
        for number, row in enumerate(rows):
            if len(row) != self.feature_dim:
                raise ValueError(
                    f"row {number} has {len(row)} features, the model expects {self.feature_dim}"
                )
        module = self._module_for(len(rows))
        module.forward(self._mx.io.DataBatch(data=[self._mx.nd.array(rows, dtype="float32")]), is_train=False)
        return [float(v) for v in module.get_outputs()[0].asnumpy().reshape(-1)]


def load_engine(name: str, model_dir: Path, model: linear_learner.LinearModel | None = None) -> Engine:
    """Build the engine ``name`` for an extracted model directory (see ``linear_learner.extract_artifact``);
    pass ``model`` when it is already loaded from that directory to skip reading the params twice."""
    if model is None:
        model = linear_learner.load_model_dir(model_dir)
    if name == ENGINE_MXNET:
        return MxnetEngine(model_dir, model.feature_dim)
    if name == ENGINE_NUMPY:
        return NumpyEngine(model)
    raise ValueError(f"unknown inference engine {name!r}; choose one of {', '.join(ENGINES)}")
