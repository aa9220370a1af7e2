"""Scoring engines for an extracted Linear Learner model directory.

* ``mxnet`` — what SageMaker itself runs: ``mx.mod.Module.load`` on the artifact's symbol + params, bound
  once for batch size 1 (the common API call) and re-bound when a batch of another size arrives. Needs the
  MXNet layer; imported lazily so the rest of the function does not depend on it.
* ``numpy`` — reads the same ``.params`` with ``wildrydes_common.linear_learner`` and computes
  sigmoid(x·w + b) in Python (no layer, no numpy needed despite the name, kept for the API/config).

Both return the score SageMaker returns (probability for a binary classifier); they agree to ~1e-6
(MXNet computes in float32, the numpy engine in float64 on the same float32 weights).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from wildrydes_common import linear_learner

ENGINE_MXNET = "mxnet"
ENGINE_NUMPY = "numpy"
ENGINES = (ENGINE_MXNET, ENGINE_NUMPY)
MXNET_INPUT_NAME = "data"  # the symbol's input variable in every Linear Learner graph
INITIAL_BATCH_SIZE = 1  # API requests are usually single rows: bind for that once


class Engine(Protocol):
    name: str
    feature_dim: int

    def score(self, rows: Sequence[Sequence[float]]) -> list[float]: ...


class NumpyEngine:
    """Pure-Python scoring through ``linear_learner.LinearModel`` (works without the MXNet layer)."""

    name = ENGINE_NUMPY

    def __init__(self, model: linear_learner.LinearModel) -> None:
        self.model = model
        self.feature_dim = model.feature_dim

    @classmethod
    def from_dir(cls, model_dir: Path) -> NumpyEngine:
        return cls(linear_learner.load_model_dir(model_dir))

    def score(self, rows: Sequence[Sequence[float]]) -> list[float]:
        return self.model.score(rows)


class MxnetEngine:
    """MXNet Module loaded and bound once; re-bound (not re-loaded) when the batch size changes."""

    name = ENGINE_MXNET

    def __init__(self, model_dir: Path, feature_dim: int) -> None:
        import mxnet as mx  # the layer; deferred so a numpy-engine function never pays for it

        self._mx = mx
        self.feature_dim = feature_dim
        prefix = str(Path(model_dir) / linear_learner.MODULE_PREFIX)
        # label_names=None: we only predict, so the graph's label input (out_label) is not bound.
        self._module = mx.mod.Module.load(prefix, 0, label_names=None)
        self._batch_size = INITIAL_BATCH_SIZE
        self._module.bind(data_shapes=[(MXNET_INPUT_NAME, (self._batch_size, feature_dim))], for_training=False)

    @classmethod
    def from_dir(cls, model_dir: Path) -> MxnetEngine:
        # feature_dim comes from the params (the graph does not record it in every artifact).
        return cls(model_dir, linear_learner.load_model_dir(model_dir).feature_dim)

    def score(self, rows: Sequence[Sequence[float]]) -> list[float]:
        if not rows:
            return []
        for number, row in enumerate(rows):
            if len(row) != self.feature_dim:
                raise ValueError(f"row {number} has {len(row)} features, the model expects {self.feature_dim}")
        mx = self._mx
        if len(rows) != self._batch_size:
            # Module.reshape refuses here: the unbound label input (out_label) would change shape too.
            # Re-binding keeps the loaded parameters (params_initialized) and only builds a new executor.
            self._batch_size = len(rows)
            self._module.bind(data_shapes=[(MXNET_INPUT_NAME, (self._batch_size, self.feature_dim))],
                              for_training=False, force_rebind=True)
        batch = mx.io.DataBatch(data=[mx.nd.array(rows, dtype="float32")])
        self._module.forward(batch, is_train=False)
        return [float(v) for v in self._module.get_outputs()[0].asnumpy().reshape(-1)]


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
