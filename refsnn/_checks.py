"""Input checks shared by every public function.

Each check raises ``ValueError`` or ``TypeError`` with a message that names the
parameter and says what was expected, so that bad input never turns into a silent,
wrong answer.

Dtype rule for the whole package: float32 input is computed in float32; every other
numeric input (float64, integers, booleans) is computed in float64.
"""

import numbers

import numpy as np


def working_dtype(x):
    """Return the float dtype used to compute on an array ``x``."""
    return np.dtype(np.float32) if x.dtype == np.float32 else np.dtype(np.float64)


def as_float_array(name, value):
    """Convert ``value`` to a finite float32/float64 array.

    Raises ``TypeError`` for non-numeric data and ``ValueError`` for NaN or infinity.
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # e.g. ragged nested lists
        raise TypeError(f"{name} must be a numeric array, got {type(value).__name__}") from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must have a real numeric dtype, got dtype {arr.dtype}")
    arr = arr.astype(working_dtype(arr), copy=False)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, but it contains NaN or infinity")
    return arr


def as_currents(currents, name="currents"):
    """Check input currents of shape ``(T, ...)`` and return them as a float array."""
    arr = as_float_array(name, currents)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have a leading time axis, shape (T, ...), got a scalar")
    if arr.shape[0] < 1:
        raise ValueError(f"{name} must have at least one time step (T >= 1), got shape {arr.shape}")
    return arr


def as_param(name, value, shape, dtype, positive=False):
    """Broadcast a parameter (scalar, per channel or per neuron) to ``shape``.

    Parameters
    ----------
    name : str
        Parameter name used in error messages.
    value : array_like
        The parameter. It must broadcast to ``shape`` by NumPy's rules.
    shape : tuple of int
        The neuron shape, e.g. ``currents.shape[1:]``.
    dtype : numpy.dtype
        The working dtype.
    positive : bool
        Require every entry to be > 0 (thresholds).

    Returns
    -------
    numpy.ndarray
        A C-contiguous array of ``shape`` and ``dtype``.
    """
    arr = as_float_array(name, value)
    one = _single_value(name, arr, shape, dtype, positive)
    if one is not None:  # one number: checked once, then filled in
        return np.full(shape, one[0], dtype=dtype)
    try:
        arr = np.broadcast_to(arr, shape)
    except ValueError:
        raise ValueError(
            f"{name} of shape {arr.shape} does not broadcast to the neuron shape {shape}"
        ) from None
    if positive and not (arr > 0).all():
        raise ValueError(f"{name} must be > 0 everywhere, got a minimum of {arr.min()}")
    return np.asarray(arr, dtype=dtype, order="C")  # keeps 0-d arrays 0-d


def single_param(name, value, shape, dtype, positive=False):
    """A parameter that is one number, checked like :func:`as_param`, as an array of shape
    (1,) and ``dtype``; ``None`` if it has more than one entry. Kernels read the one
    value for every neuron instead of a fresh array of copies."""
    if np.size(value) != 1:  # before converting: a larger parameter is converted once, elsewhere
        return None
    return _single_value(name, as_float_array(name, value), shape, dtype, positive)


def _single_value(name, arr, shape, dtype, positive):
    """:func:`single_param` for an array already through :func:`as_float_array`."""
    if arr.size != 1:
        return None
    if arr.ndim > len(shape):  # one number broadcasts to ``shape`` unless it adds axes
        raise ValueError(f"{name} of shape {arr.shape} does not broadcast to the neuron shape {shape}")
    if positive and not arr.reshape(1)[0] > 0:
        raise ValueError(f"{name} must be > 0 everywhere, got a minimum of {arr.min()}")
    return arr.reshape(1).astype(dtype)


def as_int(name, value, minimum=1):
    """Check that ``value`` is an integer >= ``minimum`` and return it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_choice(name, value, choices):
    """Check that ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def _currents_unchecked(currents):
    """``currents`` as a float array of shape (T, ...), checked except for finiteness.

    The common case, a float32/float64 array with a time axis, passes through without a
    copy or a pass over the data; anything else goes through the full check
    :func:`as_currents`, which raises the documented errors. The kernels
    return a state that is non-finite whenever an input was, and
    :func:`_check_finite_after` finishes the check from it.
    """
    try:
        arr = np.asarray(currents)
    except Exception:  # ragged lists and the like: let the full check name the problem
        return as_currents(currents)
    if arr.dtype in (np.float32, np.float64) and arr.ndim >= 1 and arr.shape[0] >= 1:
        return arr
    return as_currents(currents)


def _check_finite_after(currents, state):
    """Raise the ValueError of ``as_currents`` if ``state`` reveals a NaN or infinity.

    A non-finite state means either a non-finite current (then ``as_currents`` raises)
    or a float overflow of finite currents (then the result stands, as in the twin).
    """
    if not np.isfinite(state).all():
        as_currents(currents)


def check_out(out, shape, dtype, inputs=()):
    """Check an ``out=`` array (NumPy's convention) and return it viewed as (T, N).

    ``out`` must be a writeable, C-contiguous ``numpy.ndarray`` of exactly ``shape`` and
    ``dtype`` that shares no memory with any of ``inputs``; anything else is a TypeError
    (not an array, wrong dtype) or a ValueError (shape, layout, read-only, overlap)
    naming ``out``.
    """
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"out must have dtype {np.dtype(dtype)}, got {out.dtype}")
    if out.shape != tuple(shape):
        raise ValueError(f"out must have shape {tuple(shape)} (the shape of the result), got {out.shape}")
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous")
    if not out.flags.writeable:
        raise ValueError("out must be writeable")
    if any(np.may_share_memory(out, x) for x in inputs):
        raise ValueError("out must not share memory with the input currents")
    return out.reshape(shape[0], int(np.prod(shape[1:])))  # a view: out is C-contiguous


def block_param(name, value, shape, dtype, block, positive=False):
    """A neuron parameter for the blocked kernels, flat.

    A single number (the usual scalar threshold) becomes ``min(block, N)`` copies, which
    the kernels read for every block of ``block`` neurons, instead of N copies (a fresh
    array of N values would cost a pass over memory and its page faults on every call);
    anything else is :func:`as_param` flattened to N values. Checked like
    :func:`as_param`. ``shape`` is the neuron shape, N its size.
    """
    n = int(np.prod(shape))
    if np.size(value) == 1 and n > block:
        return np.full(block, single_param(name, value, shape, dtype, positive)[0], dtype=dtype)
    return as_param(name, value, shape, dtype, positive=positive).reshape(-1)


def per_neuron_pair(a, b, n, dtype):
    """Two :func:`block_param` results that a blocked kernel reads side by side: if one
    holds a value per neuron (``n`` values) and the other the copies of a single number,
    the copies become ``n`` values too, so that both are indexed alike."""
    if a.size == b.size:
        return a, b
    return tuple(x if x.size == n else np.full(n, x[0], dtype) for x in (a, b))
