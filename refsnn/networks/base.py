"""The base class shared by every layer in :mod:`refsnn.networks.layers`, and its input checks.

A layer is an object with

* ``forward(x)`` → output, remembering whatever the backward pass needs;
* ``backward(grad_out)`` → the gradient of the loss for ``x`` of the last forward call,
  writing parameter gradients **in place** into the arrays that ``grads()`` returns;
* ``params()`` and ``grads()`` → dicts name → ndarray with the same keys. Both return
  the layer's own arrays (not copies), so an optimizer can update ``params()`` in place
  and read fresh gradients from the same ``grads()`` arrays after every backward pass.

Dtype rule: layers with weights compute in the dtype of their weights (float32 by
default, float64 on request, for gradient checks); any other weight dtype is a
TypeError. Layers without weights compute in the input's dtype if it is float32 or
float64, and in float32 otherwise.

Naming rule for learned or calibrated values: constructor arguments keep their paper
names (``theta``, ``psi_da``, ``phi_da``) even when training or calibration updates them
in place; an attribute that exists only after fitting and is attached to a result gets a
trailing underscore (``thresholds_`` on the output of
:func:`refsnn.networks.conversion.record_thresholds`), as in scikit-learn. Gradients
(``weight_grad``, ``theta_grad``) exist from construction and carry no underscore;
what ``forward`` saves for ``backward`` is private (``_x``, ``_z``).
"""

import numpy as np

from .._checks import as_float_array, as_int


class Layer:
    """Base class: no parameters, ``layer(x)`` is ``layer.forward(x)``."""

    def __call__(self, x):
        return self.forward(x)

    def params(self):
        """Trainable arrays, name → ndarray (updated in place by an optimizer)."""
        return {}

    def grads(self):
        """Gradients of the last backward pass, same keys as :meth:`params`."""
        return {}

    def _saved(self, name):
        """Return what forward stored under ``name``, or fail if forward never ran."""
        value = getattr(self, name, None)
        if value is None:
            raise RuntimeError(f"{self!r}: call forward() before backward()")
        return value

    def _check_grad(self, grad_out, expected_shape):
        """``grad_out`` must have the shape of the last output."""
        grad_out = np.asarray(grad_out)
        if grad_out.shape != tuple(expected_shape):
            raise ValueError(
                f"{self!r}: grad_out has shape {grad_out.shape}, "
                f"expected the output shape {tuple(expected_shape)}"
            )
        return grad_out


def as_input(layer, x, dtype=None):
    """Convert ``x`` to a float array (``dtype``, or float32/float64 as is)."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{layer!r}: input must be numeric, got dtype {x.dtype}")
    if dtype is None:
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
    return x.astype(dtype, copy=False)


def check_ndim(layer, x, allowed, what):
    """Raise ValueError naming ``layer`` unless ``x.ndim`` is in ``allowed``."""
    if x.ndim not in allowed:
        raise ValueError(f"{layer!r}: expected input of shape {what}, got shape {x.shape}")


def per_channel(layer, param, x):
    """View a per-channel parameter of shape (C,) so it broadcasts along axis 1 of ``x``.

    ``x`` of shape (B, C, H, W) gets ``param.reshape(C, 1, 1)``; ``x`` of shape (B, C)
    gets ``param`` unchanged. Any other shape, or a channel mismatch, is a ValueError.
    """
    check_ndim(layer, x, (2, 4), "(B, C, H, W) or (B, C)")
    if x.shape[1] != param.shape[0]:
        raise ValueError(
            f"{layer!r}: expected {param.shape[0]} channels on axis 1, got input shape {x.shape}"
        )
    return param.reshape(-1, 1, 1) if x.ndim == 4 else param


def kaiming_normal(rng, shape, fan_in, dtype):
    """He et al. (2015) normal initialisation N(0, 2/fan_in), suited to ReLU-like units."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)


def positive_int(name, value):
    """Return ``value`` as int if it is an integer >= 1 (bools are rejected)."""
    return as_int(name, value, minimum=1)


def float_dtype(name, dtype):
    """Return ``dtype`` as a numpy dtype if it is float32 or float64, else raise TypeError."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}")
    return dt


class NonFiniteError(ValueError):
    """NaN or infinity where a network needs finite numbers: in a layer's output on
    finite input, or in the current that a neuron layer receives."""


def nonfinite_error(index, layer, where="layer"):
    """The :class:`NonFiniteError` for a layer whose output holds NaN or infinity on finite input.

    It names the layer (``where`` ``index`` and its repr) and says why: parameters that
    hold NaN or infinity, or else a float overflow of finite values.
    """
    params = layer.params() if hasattr(layer, "params") else {}
    bad = [name for name, p in params.items() if not np.isfinite(p).all()]
    if bad:
        reason = f"its {', '.join(bad)} hold NaN or infinity"
    else:
        reason = "its finite weights or inputs overflowed the float range"
    return NonFiniteError(f"{where} {index} ({layer!r}) outputs NaN or infinity on finite input: {reason}")


def check_finite_input(name, x):
    """Raise ValueError naming ``name`` if the numeric array ``x`` holds NaN or infinity."""
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite, but it contains NaN or infinity")


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
