"""The base class shared by every layer in :mod:`refsnn.networks.layers`, and its input checks.

A layer is an object with

* ``forward(x)`` → output, remembering whatever the backward pass needs;
* ``backward(grad_out)`` → gradient with respect to ``x`` of the last forward call,
  writing parameter gradients **in place** into the arrays that ``grads()`` returns;
* ``params()`` and ``grads()`` → dicts name → ndarray with the same keys. Both return
  the layer's own arrays (not copies), so an optimizer can update ``params()`` in place
  and read fresh gradients from the same ``grads()`` arrays after every backward pass.

Dtype rule: layers with weights compute in the dtype of their weights (float32 by
default, float64 on request, for gradient checks). Layers without weights compute in
the input's dtype if it is float32 or float64, and in float32 otherwise.
"""

import numpy as np

from .._checks import as_int


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
