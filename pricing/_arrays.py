"""Broadcasting and result-shaping helpers shared by the vectorized pricing functions."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StatusArray = npt.NDArray[np.int8]
ArrayLike = npt.ArrayLike


def broadcast_flat(*args: ArrayLike) -> tuple[tuple[int, ...], list[FloatArray]]:
    """Broadcast the arguments together; return the common shape and flat float64 copies."""
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in args))
    shape = arrays[0].shape if arrays else ()
    return shape, [np.array(a, dtype=np.float64).reshape(-1) for a in arrays]


def option_sign(is_call: ArrayLike, shape: tuple[int, ...]) -> FloatArray:
    """+1.0 for calls and -1.0 for puts, broadcast to ``shape`` and flattened."""
    flags = np.broadcast_to(np.asarray(is_call, dtype=bool), shape).reshape(-1)
    return np.where(flags, 1.0, -1.0)


def shaped(values: npt.NDArray[Any], shape: tuple[int, ...]) -> Any:
    """Reshape a flat result; a 0-d result comes back as a numpy scalar, like a ufunc's."""
    return values.reshape(shape)[()]
