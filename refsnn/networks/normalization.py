"""Batch normalisation, and folding it into the layer before it.

The paper's deep networks (VGG, ResNet) normalise every convolution with BatchNorm. In
training mode BatchNorm normalises with the statistics of the batch; in evaluation mode
it uses running averages and is a fixed affine map per channel,

.. math::

    \\mathrm{BN}(x)_c = a_c x_c + c_c, \\qquad a_c = \\frac{\\gamma_c}{\\sqrt{\\sigma_c^2 + \\varepsilon}},
    \\qquad c_c = \\beta_c - a_c \\mu_c,

which commutes with the sum over time like any affine map: Σ_t BN(x_t) = a·Σ_t x_t + T·c.
So a converted SNN may keep BatchNorm between its spiking layers; refsnn keeps it (the
SNN then mirrors the ANN layer for layer, and the rate errors of each layer can be
compared), and :func:`fold_batchnorm` removes it by merging it into the convolution or
linear layer before it, which saves one pass per layer and changes results only by
float rounding.
"""

import copy

import numpy as np

from .._checks import as_float, as_input, as_int, check_ndim, check_positive, float_dtype
from .. import threads
from . import layer_kernels

from .base import Layer, keeps_for_backward
from .containers import Sequential, is_container, map_children
from .layers import Conv2d, Linear

__all__ = ["BatchNorm", "fold_batchnorm", "batchnorm_eval_reference", "batchnorm_train_reference",
           "batchnorm_backward_reference"]


class BatchNorm(Layer):
    """Batch normalisation over the channel axis 1 of (B, C) or (B, C, H, W) inputs.

    Training mode (``training=True``, the default after construction):

    .. math::

        \\hat x = \\frac{x - \\mu_B}{\\sqrt{\\sigma_B^2 + \\varepsilon}}, \\qquad
        y = \\gamma \\hat x + \\beta,

    with the mean μ_B and biased variance σ²_B of each channel over the batch (and space),
    and running averages updated as r ← (1 − m)·r + m·(batch value), with the unbiased
    variance, as in PyTorch. Evaluation mode (``training=False``) uses the running
    averages: y = a·x + c (module docstring).

    Parameters
    ----------
    channels : int
        C.
    eps : float, default 1e-5
        ε > 0.
    momentum : float in (0, 1], default 0.1
        m, the weight of the new batch in the running averages.
    dtype : {float32, float64}, default float32

    Attributes
    ----------
    weight, bias : ndarray, shape (C,)
        γ (ones) and β (zeros), trained.
    running_mean, running_var : ndarray, shape (C,)
        μ (zeros) and σ² (ones), updated in training mode.
    training : bool
        Which statistics ``forward`` uses; set it with
        :func:`refsnn.networks.containers.set_training` for a whole network.
    """

    def __init__(self, channels, eps=1e-5, momentum=0.1, dtype=np.float32):
        self.channels = as_int("channels", channels)
        dtype = float_dtype("dtype", dtype)
        self.eps, self.momentum = check_positive("eps", eps), as_float("momentum", momentum, "(0, 1]")
        self.weight = np.ones(self.channels, dtype=dtype)
        self.bias = np.zeros(self.channels, dtype=dtype)
        self.running_mean = np.zeros(self.channels, dtype=dtype)
        self.running_var = np.ones(self.channels, dtype=dtype)
        self.weight_grad = np.zeros_like(self.weight)
        self.bias_grad = np.zeros_like(self.bias)
        self.training = True
        self._x = None

    def __repr__(self):
        return f"BatchNorm({self.channels}, training={self.training})"

    def _view(self, v, ndim):
        """A (C,) vector shaped to broadcast along axis 1 of an ``ndim``-D input."""
        return v.reshape((-1,) + (1,) * (ndim - 2))

    def _check(self, x):
        x = as_input(self, x, self.weight.dtype)
        check_ndim(self, x, (2, 4), "(B, C, H, W) or (B, C)")
        if x.shape[1] != self.channels:
            raise ValueError(f"{self!r}: expected {self.channels} channels on axis 1, got input shape {x.shape}")
        return x

    def scale_and_shift(self):
        """The evaluation-mode map y = a·x + c: a = γ/√(σ² + ε), c = β − a·μ, shape (C,)."""
        a = self.weight / np.sqrt(self.running_var + self.weight.dtype.type(self.eps))
        return a, self.bias - a * self.running_mean

    def forward(self, x):
        x = self._check(x)
        if not self.training:
            a, c = self.scale_and_shift()
            self._x, self._x_hat, self._inv_std = (x if keeps_for_backward() else None), None, None
            if not x.flags.c_contiguous:
                return batchnorm_eval_reference(x, a, c)
            out = np.empty_like(x)  # one compiled pass of the twin's two
            shape = (x.shape[0], self.channels, x.size // (x.shape[0] * self.channels))
            x3, out3 = x.reshape(shape), out.reshape(shape)
            threads.run_ranges(lambda lo, hi: layer_kernels._batchnorm_eval_kernel(
                x3[:, lo:hi], a[lo:hi], c[lo:hi], out3[:, lo:hi]), self.channels, x.size // self.channels)
            return out
        n = x.size // self.channels
        if n < 2:
            raise ValueError(f"{self!r}: training mode needs more than one value per channel, got shape {x.shape}")
        x = np.ascontiguousarray(x)
        flat = x.reshape(x.shape[0], self.channels, -1)  # (B, C, S): one compiled pass per step
        out, x_hat = np.empty_like(x), np.empty_like(x)
        mean, var = np.empty(self.channels), np.empty(self.channels)
        inv_std = np.empty(self.channels, dtype=x.dtype)
        out3, x_hat3, eps = out.reshape(flat.shape), x_hat.reshape(flat.shape), x.dtype.type(self.eps)
        threads.run_ranges(lambda lo, hi: layer_kernels._batchnorm_train_kernel(  # channels on their own
            flat[:, lo:hi], self.weight[lo:hi], self.bias[lo:hi], eps, out3[:, lo:hi], x_hat3[:, lo:hi],
            mean[lo:hi], var[lo:hi], inv_std[lo:hi]), self.channels, n, threads.SUM_GRAIN)
        m = self.weight.dtype.type(self.momentum)
        self.running_mean[...] = (1 - m) * self.running_mean + m * mean.astype(x.dtype)
        self.running_var[...] = (1 - m) * self.running_var + m * var.astype(x.dtype) * (n / (n - 1))
        self._x, self._x_hat, self._inv_std = (x, x_hat, inv_std) if keeps_for_backward() else (None, None, None)
        return out

    def backward(self, grad_out):
        """Training mode: the gradient through the batch statistics,

        .. math::

            \\frac{\\partial L}{\\partial x} = \\frac{\\gamma}{n\\sqrt{\\sigma_B^2+\\varepsilon}}
            \\left(n g - \\sum g - \\hat x \\sum g \\hat x\\right),

        with sums over the n values of a channel. Evaluation mode: ∂L/∂x = a·g.
        Both: ∂L/∂β = Σ g and ∂L/∂γ = Σ g·x̂.
        """
        x = self._saved("_x")
        g = self._check_grad(grad_out, x.shape).astype(x.dtype, copy=False)
        axes = (0,) if x.ndim == 2 else (0, 2, 3)
        if self._x_hat is None:  # evaluation mode: a fixed affine map
            self.bias_grad[...] = g.sum(axis=axes)
            a, _ = self.scale_and_shift()
            std = np.sqrt(self.running_var + x.dtype.type(self.eps))
            x_hat = (x - self._view(self.running_mean, x.ndim)) / self._view(std, x.ndim)
            self.weight_grad[...] = (g * x_hat).sum(axis=axes)
            return g * self._view(a, x.ndim)
        x_hat, inv_std = self._x_hat, self._inv_std
        g = np.ascontiguousarray(g)
        shape = (x.shape[0], self.channels, x.size // (x.shape[0] * self.channels))
        dx = np.empty_like(x)
        sum_g, sum_gx = np.empty(self.channels), np.empty(self.channels)
        g3, x_hat3, dx3 = g.reshape(shape), x_hat.reshape(shape), dx.reshape(shape)
        threads.run_ranges(lambda lo, hi: layer_kernels._batchnorm_backward_kernel(
            g3[:, lo:hi], x_hat3[:, lo:hi], self.weight[lo:hi], inv_std[lo:hi], dx3[:, lo:hi],
            sum_g[lo:hi], sum_gx[lo:hi]), self.channels, x.size // self.channels, threads.SUM_GRAIN)
        self.bias_grad[...] = sum_g
        self.weight_grad[...] = sum_gx
        return dx

    def params(self):
        return {"weight": self.weight, "bias": self.bias}

    def grads(self):
        return {"weight": self.weight_grad, "bias": self.bias_grad}


def batchnorm_eval_reference(x, a, c):
    """BatchNorm's evaluation-mode forward y = a·x + c in NumPy, the product rounded, then
    the sum (readable twin of the compiled pass that :meth:`BatchNorm.forward` runs,
    equal bit for bit); ``a``, ``c`` (C,) from :meth:`BatchNorm.scale_and_shift`."""
    view = (lambda v: v) if x.ndim == 2 else (lambda v: v.reshape(-1, 1, 1))
    out = view(a) * x
    out += view(c)
    return out


def batchnorm_train_reference(x, weight, bias, eps):
    """BatchNorm's training-mode forward in NumPy (readable twin of the compiled pass that
    :meth:`BatchNorm.forward` runs; equal to float rounding, as this sums in float32).

    .. math::  \\hat x = \\frac{x - \\mu_B}{\\sqrt{\\sigma_B^2 + \\varepsilon}}, \\qquad y = \\gamma \\hat x + \\beta,

    with the batch mean μ_B and biased variance σ_B² per channel (over the batch and, for
    (B, C, H, W) input, the positions).

    Returns
    -------
    out, x_hat : ndarray, shape of ``x``
    mean, var, inv_std : ndarray, shape (C,)
    """
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    view = (lambda v: v) if x.ndim == 2 else (lambda v: v.reshape(-1, 1, 1))
    mean = x.mean(axis=axes)
    var = x.var(axis=axes)
    inv_std = 1 / np.sqrt(var + x.dtype.type(eps))
    x_hat = (x - view(mean)) * view(inv_std)
    return view(weight) * x_hat + view(bias), x_hat, mean, var, inv_std


def batchnorm_backward_reference(grad, x_hat, weight, inv_std):
    """BatchNorm's training-mode backward in NumPy (readable twin of the compiled pass of
    :meth:`BatchNorm.backward`; equal to float rounding).

    Returns
    -------
    dx : ndarray, shape of ``grad``
    sum_g, sum_gx : ndarray, shape (C,)
        ∂L/∂β = Σ g and ∂L/∂γ = Σ g·x̂.
    """
    axes = (0,) if grad.ndim == 2 else (0, 2, 3)
    view = (lambda v: v) if grad.ndim == 2 else (lambda v: v.reshape(-1, 1, 1))
    n = grad.size // weight.size
    sum_g = grad.sum(axis=axes)
    sum_gx = (grad * x_hat).sum(axis=axes)
    dx = view(weight * inv_std / n) * (n * grad - view(sum_g) - x_hat * view(sum_gx))
    return dx, sum_g, sum_gx


def _fold_into(layer, bn):
    """A copy of ``layer`` (Conv2d or Linear) with ``bn`` (evaluation mode) merged in:
    W' = a·W (per output channel), b' = a·b + c."""
    if not isinstance(layer, (Conv2d, Linear)):
        return None
    if layer.weight.shape[0] != bn.channels:
        raise ValueError(f"{bn!r} follows {layer!r}, which has {layer.weight.shape[0]} output channels")
    a, c = (v.astype(np.float64) for v in bn.scale_and_shift())
    folded = copy.deepcopy(layer)
    dtype = layer.weight.dtype
    folded.weight[...] = (layer.weight.astype(np.float64) * a.reshape((-1,) + (1,) * (layer.weight.ndim - 1))).astype(dtype)
    folded.bias[...] = (a * layer.bias.astype(np.float64) + c).astype(dtype)
    return folded


def fold_batchnorm(net):
    """A copy of ``net`` with every BatchNorm merged into the Conv2d or Linear before it.

    In evaluation mode BN(W x + b) = a·(W x + b) + c = (a·W) x + (a·b + c), so the pair
    becomes one layer with weights a·W and bias a·b + c. The result equals the original
    network in evaluation mode up to float rounding (the folded weights are rounded once
    to the weights' dtype). A BatchNorm that does not directly follow a Conv2d or Linear
    in the same container is kept.

    Parameters
    ----------
    net : Sequential, or any container of :mod:`refsnn.networks.containers`

    Returns
    -------
    A new network with no BatchNorm directly after a Conv2d or Linear.
    """
    def fold(layer):
        if isinstance(layer, Sequential):
            out = []
            for child in layer:
                child = fold(child)
                if isinstance(child, BatchNorm) and out:
                    folded = _fold_into(out[-1], child)
                    if folded is not None:
                        out[-1] = folded
                        continue
                out.append(child)
            return Sequential(*out)
        return map_children(layer, fold)

    if not is_container(net):
        raise TypeError(f"net must be a Sequential or Residual network, got {type(net).__name__}")
    return fold(copy.deepcopy(net))
