"""The argument and array checks of the package, in one vocabulary.

Each check raises a ``TypeError`` for a value of the wrong type (a string for a number,
a bool for an integer, a non-numeric array) and a ``ValueError`` for a value of the
right type that is out of range (a negative count, NaN, a wrong shape), with a message
that names the parameter and says what was expected, so that bad input never turns
into a silent, wrong answer. Most checks return the value converted (``as_int`` an
``int``, ``as_float`` a ``float``), so a caller writes ``T = as_int("T", T)``. The
vocabulary follows scikit-learn's parameter constraints
(https://scikit-learn.org/stable/modules/generated/sklearn.utils.check_scalar.html):
a type, then an interval or a set of choices.

Dtype rule for the whole package: a float32 or float64 array is computed in its own
dtype; any other numeric input (integers, booleans, float16) is promoted to float64 in
the neuron functions of :mod:`refsnn.neurons` (exact for every integer up to 2**53) and
to float32, the networks' dtype, in a network layer without weights. A layer with
weights computes in its weights' dtype whatever its input (float32 by default, float64
on request, for gradient checks); the converted SNNs and the conversion pipeline take
their samples as float32. :func:`working_dtype` is the rule, with the default float as
its argument.
"""

import numbers

import numpy as np


# --------------------------------------------------------------------------- numbers


def as_int(name, value, minimum=1, maximum=None):
    """Check that ``value`` is an integer in [``minimum``, ``maximum``] and return it as ``int``.

    A bool is not an integer here (``True`` for a number of steps is a mistake).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an integer in {minimum}..{maximum}, got {value}")
    return int(value)


def as_float(name, value, interval="(-inf, inf)"):
    """Check that ``value`` is a finite real number in ``interval`` and return it as ``float``.

    ``interval`` is written as in mathematics: ``"(0, 1]"`` is 0 < value <= 1, a round
    bracket excluding its end and a square one including it. NaN and infinity are never
    inside. A bool is not a number here.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    low, high = (float(end) for end in interval[1:-1].split(","))
    above = value >= low if interval[0] == "[" else value > low
    below = value <= high if interval[-1] == "]" else value < high
    if not (np.isfinite(value) and above and below):  # NaN fails every comparison
        where = "" if interval == "(-inf, inf)" else f" in {interval}"
        raise ValueError(f"{name} must be a finite number{where}, got {value}")
    return float(value)


def check_positive(name, value):
    """Check that ``value`` is a finite real number > 0 and return it as ``float``."""
    return as_float(name, value, "(0, inf)")


def check_choice(name, value, choices):
    """Check that ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_bool(name, value):
    """Check that ``value`` is ``True`` or ``False`` (a NumPy bool too) and return it as ``bool``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def float_dtype(name, dtype):
    """Return ``dtype`` as a numpy dtype if it is float32 or float64, else raise TypeError."""
    try:
        dt = np.dtype(dtype)
    except TypeError:  # not a dtype at all, e.g. a misspelt name
        dt = np.dtype(object)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}")
    return dt


# --------------------------------------------------------------------------- arrays


def working_dtype(x, default=np.float64):
    """The float dtype to compute on an array ``x`` in (the package's dtype rule): its own
    if it is float32 or float64, else ``default``."""
    return x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(default)


def as_float_array(name, value, dtype=None, ndim=None):
    """Convert ``value`` to a finite float array.

    Parameters
    ----------
    name : str
        Parameter name used in error messages.
    value : array_like
        Real numeric data (booleans and integers too).
    dtype : numpy dtype, optional
        The dtype of the result; by default :func:`working_dtype`'s (float32 stays
        float32, anything else becomes float64).
    ndim : int or tuple of int, optional
        The allowed numbers of dimensions.

    Raises ``TypeError`` for non-numeric data and ``ValueError`` for another ``ndim``
    or for NaN or infinity.
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # e.g. ragged nested lists
        raise TypeError(f"{name} must be a numeric array, got {type(value).__name__}") from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must have a real numeric dtype, got dtype {arr.dtype}")
    arr = arr.astype(working_dtype(arr) if dtype is None else dtype, copy=False)
    if ndim is not None and arr.ndim not in np.atleast_1d(ndim):
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, but it contains NaN or infinity")
    return arr


def check_samples(X, name="X", dtype=None):
    """``X`` as a finite float batch of shape (B, ...) with B >= 1, the samples a network
    runs on (in ``dtype`` if given, else by the dtype rule)."""
    X = as_float_array(name, X, dtype)
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(
            f"{name} must be a non-empty batch of shape (B, ...), at least one sample along "
            f"its first axis, got shape {X.shape}"
        )
    return X

def as_spikes(name, spikes):
    """Check a spike array of shape (T, N) holding only 0/1 (or bools); return it as bool."""
    arr = np.asarray(spikes)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape (T, N) (time × neurons), got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have at least one step and one neuron, got shape {arr.shape}")
    if arr.dtype != bool:
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{name} must hold only 0/1 or booleans, got dtype {arr.dtype}")
        if not np.isin(arr, (0, 1)).all():
            raise ValueError(f"{name} must hold only 0/1 or booleans")
        arr = arr.astype(bool)
    return arr


def check_finite_input(name, x):
    """Raise ValueError naming ``name`` if the numeric array ``x`` holds NaN or infinity."""
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite, but it contains NaN or infinity")


# --------------------------------------------------------------------------- layers


def as_input(layer, x, dtype=None):
    """The input ``x`` of ``layer`` as a float array: in ``dtype`` (a layer's weights'),
    or by the dtype rule with float32 as the default. Not numeric is a TypeError naming
    ``layer``."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{layer!r}: input must be numeric, got dtype {x.dtype}")
    return x.astype(working_dtype(x, np.float32) if dtype is None else dtype, copy=False)


def check_ndim(layer, x, allowed, what):
    """Raise ValueError naming ``layer`` unless ``x.ndim`` is in ``allowed``."""
    if x.ndim not in allowed:
        raise ValueError(f"{layer!r}: expected input of shape {what}, got shape {x.shape}")


def channel_param(name, value, positive=False, scalar=False):
    """A per-channel parameter as a float64 array of shape (C,), C >= 1.

    With ``scalar=True`` a scalar is accepted too and becomes shape (1,), which applies
    to every channel. Non-numeric values are a TypeError; any other shape, an empty
    array, NaN or infinity, or (with ``positive``) a value <= 0 a ValueError.
    """
    arr = as_float_array(name, value).astype(np.float64)
    if scalar and arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.size == 0:
        what = "a scalar or " if scalar else ""
        raise ValueError(f"{name} must be {what}a non-empty 1-D array of shape (C,), got shape {arr.shape}")
    if positive and not (arr > 0).all():
        raise ValueError(f"{name} must be > 0 in every channel, got a minimum of {arr.min()}")
    return arr.copy()


# --------------------------------------------------------------------------- neurons


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




def currents_unchecked(currents):
    """``currents`` as a float array of shape (T, ...), checked except for finiteness.

    The common case, a float32/float64 array with a time axis, passes through without a
    copy or a pass over the data; anything else goes through the full check
    :func:`as_currents`, which raises the documented errors. The kernels
    return a state that is non-finite whenever an input was, and
    :func:`check_finite_after` finishes the check from it.
    """
    try:
        arr = np.asarray(currents)
    except Exception:  # ragged lists and the like: let the full check name the problem
        return as_currents(currents)
    if arr.dtype in (np.float32, np.float64) and arr.ndim >= 1 and arr.shape[0] >= 1:
        return arr
    return as_currents(currents)


def check_finite_after(currents, state):
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
