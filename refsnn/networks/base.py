"""The base class shared by every layer in :mod:`refsnn.networks.layers`.

A layer is an object with

* ``forward(x)`` → output, remembering whatever the backward pass needs, except inside
  :class:`no_backward`, where no backward pass follows and it remembers nothing;
* ``backward(grad_out)`` → the gradient of the loss for ``x`` of the last forward call,
  writing parameter gradients **in place** into the arrays that ``grads()`` returns;
* ``params()`` and ``grads()`` → dicts name → ndarray with the same keys. Both return
  the layer's own arrays (not copies), so an optimizer can update ``params()`` in place
  and read fresh gradients from the same ``grads()`` arrays after every backward pass.

The dtype rule (a layer with weights computes in its weights' dtype) and the layers'
input checks are in :mod:`refsnn._checks`.

Naming rule for learned or calibrated values: constructor arguments keep their paper
names (``theta``, ``psi_da``, ``phi_da``) even when training or calibration updates them
in place; an attribute that exists only after fitting and is attached to a result gets a
trailing underscore (``thresholds_`` on the output of
:func:`refsnn.networks.conversion.record_thresholds`), as in scikit-learn. Gradients
(``weight_grad``, ``theta_grad``) exist from construction and carry no underscore;
what ``forward`` saves for ``backward`` is private (``_x``, ``_z``), and None where
:func:`keeps_for_backward` is False.
"""

import contextvars

import numpy as np

from .._checks import check_ndim

#: False inside :class:`no_backward`: forward passes then keep nothing for a backward pass.
_KEEPING = contextvars.ContextVar("refsnn_keep_for_backward", default=True)


class no_backward:
    """``with no_backward():`` runs a block of forward passes that no backward pass
    follows: every layer keeps nothing for one (its input, a convolution's patches,
    BatchNorm's normalised input) and forgets what an earlier forward pass kept.

    Why: what a layer keeps for backward is as large as its input, and it stays alive
    until the layer's next forward pass. Every run of a
    :class:`~refsnn.networks.spiking.SpikingNetwork`, which never runs backward, is such
    a block: in faithful mode the kept inputs would be T copies of every layer's input.
    Outputs are the same as outside the block, bit for bit. A ``backward()`` after a
    forward pass inside the block is a RuntimeError. Blocks nest, and each thread (each
    :mod:`contextvars` context) has its own setting. (A class rather than a generator
    function: entering it costs less, and a spiking network enters it on every run.)
    """

    def __enter__(self):
        self._token = _KEEPING.set(False)

    def __exit__(self, *exc_info):
        _KEEPING.reset(self._token)


def keeps_for_backward():
    """True unless called inside :class:`no_backward`: whether a forward pass keeps what
    a backward pass needs."""
    return _KEEPING.get()


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
        """Return what forward stored under ``name``, or fail if forward never ran
        (or ran inside :class:`no_backward`)."""
        value = getattr(self, name, None)
        if value is None:
            raise RuntimeError(f"{self!r}: call forward() before backward(), outside no_backward()")
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
