"""Compatibility module for mxnet 1.9.1 on numpy 2.x and Python >= 3.12 (imported first by mxnet/__init__.py).

mxnet 1.9.1 (the last release) reads numpy names at import time that numpy has since removed, and imports
``distutils.version``, which left the standard library in Python 3.12. This module puts back exactly the names
that ``import mxnet`` plus ``Module.load``/``bind``/``forward`` need with the pinned numpy (found by running
that path under ``-W error`` and adding one name per failure; docs/runtime.md). Names numpy still has are
never touched, so on an older numpy this module changes nothing it does not have to.
"""

from __future__ import annotations

import importlib.util
import math
import re
import sys
import types

import numpy as _np

# NEP 52 (numpy 2.0) removed these aliases; mxnet/numpy/utils.py and mxnet/numpy/fallback.py bind them at import.
_CONSTANTS = {
    "PZERO": 0.0,
    "NZERO": -0.0,
    "PINF": math.inf,
    "NINF": -math.inf,
    "NAN": math.nan,
    "NaN": math.nan,
    "Inf": math.inf,
}
_FUNCTIONS = {
    "alltrue": _np.all,
    "sometrue": _np.any,
    "product": _np.prod,
    "round_": _np.round,
    "trapz": getattr(_np, "trapezoid", None),  # removed in numpy 2.4; trapezoid is the same function
    "in1d": lambda ar1, ar2, assume_unique=False, invert=False: _np.isin(  # removed in numpy 2.4
        ar1, ar2, assume_unique=assume_unique, invert=invert
    ).ravel(),
    "msort": lambda a: _np.sort(a, axis=0),  # removed in numpy 2.0
}
# NEP 32 (numpy 1.20) moved the financial functions to numpy_financial; numpy < 2 still answered these names
# with a stub that raised when called. mxnet's fallback table only references them: give the same stub.
_FINANCIAL = ("mirr", "npv", "pmt", "ppmt", "pv", "rate")


def _financial_stub(name: str):
    def removed(*args, **kwargs):
        raise RuntimeError(f"numpy.{name} was removed from NumPy (NEP 32); use the numpy_financial package")

    removed.__name__ = removed.__qualname__ = name
    return removed


def _restore_numpy_names() -> list[str]:
    restored = []
    wanted = {**_CONSTANTS, **_FUNCTIONS, **{name: _financial_stub(name) for name in _FINANCIAL}}
    for name, value in wanted.items():
        if value is not None and name not in _np.__dict__:
            setattr(_np, name, value)
            restored.append(name)
    return restored


class _Version:
    """What mxnet uses of distutils' LooseVersion/StrictVersion: build from a string, compare, print."""

    def __init__(self, vstring: str) -> None:
        self.vstring = str(vstring)
        self.version = tuple(
            int(part) if part.isdigit() else part for part in re.findall(r"\d+|[a-z]+", self.vstring.lower())
        )

    def _key(self, other):
        other = other if isinstance(other, _Version) else type(self)(other)
        # Numbers sort before strings at the same position (1.17 < 1.17rc1 is not needed by mxnet).
        return (
            [(0, p) if isinstance(p, int) else (1, p) for p in self.version],
            [(0, p) if isinstance(p, int) else (1, p) for p in other.version],
        )

    def __eq__(self, other):
        a, b = self._key(other)
        return a == b

    def __lt__(self, other):
        a, b = self._key(other)
        return a < b

    def __le__(self, other):
        a, b = self._key(other)
        return a <= b

    def __gt__(self, other):
        a, b = self._key(other)
        return a > b

    def __ge__(self, other):
        a, b = self._key(other)
        return a >= b

    __hash__ = None

    def __str__(self) -> str:
        return self.vstring

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vstring!r})"


class LooseVersion(_Version):
    pass


class StrictVersion(_Version):
    pass


def _provide_distutils_version() -> bool:
    """mxnet imports ``distutils.version`` (numpy_op_fallback, numpy_dispatch_protocol); Python 3.12 removed
    distutils. Register a two-class stand-in only when no real distutils can be imported."""
    if "distutils.version" in sys.modules or importlib.util.find_spec("distutils") is not None:
        return False
    package = types.ModuleType("distutils")
    package.__path__ = []  # a package, so `import distutils.version` resolves through sys.modules
    version = types.ModuleType("distutils.version")
    version.LooseVersion, version.StrictVersion = LooseVersion, StrictVersion
    package.version = version
    sys.modules["distutils"], sys.modules["distutils.version"] = package, version
    return True


RESTORED_NUMPY_NAMES = tuple(_restore_numpy_names())
PROVIDED_DISTUTILS = _provide_distutils_version()
