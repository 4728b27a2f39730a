"""Shared helpers for the indicators: input checks, leading-NaN handling, output allocation and
access to the compiled kernels (core/indicators/_kernels.py, numba).

The kernels module is imported on the first indicator call, not at ``import core.indicators``:
numba's own import takes ~0.5 s, and the app imports this package on the GUI thread at start while
it computes indicators on worker threads.
"""

from __future__ import annotations

import importlib
import numbers
from types import ModuleType

import numpy as np

from core.errors import InputError


def kernels() -> ModuleType:
    """The compiled kernels (imported once; later calls are a sys.modules lookup)."""
    return importlib.import_module("core.indicators._kernels")


# -- input checks -----------------------------------------------------------------------------
def as_series(name: str, values: object) -> np.ndarray:
    """A read-only, contiguous 1-D float64 view of ``values`` (no copy when it already is one), or
    InputError naming ``name``."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(name, f"must be numeric ({exc})") from exc
    if arr.ndim != 1:
        raise InputError(name, f"must be a 1-D array, got {arr.ndim}-D")
    return kernel_input(arr)


def kernel_input(arr: np.ndarray) -> np.ndarray:
    """A C-contiguous, read-only view of ``arr`` (a copy only if it is strided). numba compiles a
    kernel once per argument type, and layout and writability are part of the type: pandas hands
    out read-only arrays, numpy writable ones. One canonical type halves the compile work."""
    if not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr)
    view = arr.view()
    view.flags.writeable = False  # the caller's array keeps its own flag
    return view


def same_length(**arrays: np.ndarray) -> int:
    """The common length, or InputError naming the first array whose length differs."""
    items = list(arrays.items())
    first_name, first = items[0]
    for name, arr in items[1:]:
        if len(arr) != len(first):
            raise InputError(name, f"length {len(arr)} differs from {first_name} length {len(first)}")
    return len(first)


def check_period(name: str, n: object, minimum: int = 1) -> int:
    """A window length: an int (bools rejected) >= minimum, else InputError naming ``name``."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise InputError(name, f"must be an integer, got {n!r}")
    if n < minimum:
        raise InputError(name, f"must be >= {minimum}, got {n}")
    return int(n)


def check_positive(name: str, value: object) -> float:
    """A finite number > 0, else InputError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise InputError(name, f"must be a finite number, got {value!r}")
    if value <= 0:
        raise InputError(name, f"must be > 0, got {value}")
    return float(value)


def nan_array(n: int) -> np.ndarray:
    out = np.empty(n, dtype=np.float64)
    out.fill(np.nan)
    return out


def outputs(size: int, start: int, count: int) -> list[np.ndarray]:
    """``count`` float64 outputs for a kernel that writes every bar from ``start`` on; bars before
    ``start`` (leading NaNs of the input) are NaN. No full NaN pre-fill: that would touch 8 MB per
    million bars for nothing."""
    result = []
    for _ in range(count):
        out = np.empty(size, dtype=np.float64)
        out[:start] = np.nan
        result.append(out)
    return result


def leading_nans(*arrays: np.ndarray) -> int:
    """Index of the first bar where no input is NaN (TA-Lib's Python wrapper skips leading NaNs,
    so chained indicators such as EMA(RSI) line up with it). O(1) in the common no-NaN case."""
    if len(arrays[0]) == 0 or not any(np.isnan(a[0]) for a in arrays):
        return 0
    bad = np.isnan(arrays[0])
    for a in arrays[1:]:
        bad |= np.isnan(a)
    good = np.flatnonzero(~bad)
    return int(good[0]) if len(good) else len(arrays[0])
