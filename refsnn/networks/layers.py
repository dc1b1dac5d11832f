"""Small neural networks in NumPy: the ANNs that refsnn converts into SNNs.

Every layer has ``forward(x)``, ``backward(grad_out)``, ``params()`` and ``grads()``
(see :mod:`refsnn.networks.base`); :class:`~refsnn.networks.containers.Sequential` chains
them. Together with the activations of :mod:`refsnn.networks.activations` and
:mod:`refsnn.networks.training` this is enough to train the small CNNs of the examples on a CPU.

Layers: :class:`Linear`, :class:`Conv2d` (im2col + one matrix product),
:class:`AvgPool2d` and :class:`Flatten`, with a readable NumPy twin of every compiled step
(``*_reference``). The blocked convolution that :class:`Conv2d` runs is in
:mod:`refsnn.networks.fast_conv`.

**Why there is no max pooling.** In the converted SNN, every operation between two
spiking layers is applied to each time step separately, while the next neuron reads
only the time-mean of its input (the prior control matrix). That is lossless only for operations that
commute with the sum over time, i.e. linear ones: (1/T)Σ_t W s_t = W ((1/T)Σ_t s_t).
Convolutions, linear layers, average pooling and flattening are linear. Max pooling
is not: mean_t max(s_t) ≠ max(mean_t s_t); for example the spike trains (1, 0) and
(0, 1) have time-means ½ and ½, but the per-step maximum is 1 at both steps. So only
time-linear operations are allowed between spiking layers, and
:class:`refsnn.networks.spiking.SpikingNetwork` refuses anything else. :class:`MaxPool2d`
exists for the analog prefix only: the layers before the first spiking layer, which see
the same analog image at every step (the stem of the torchvision ResNets).

**Dtype.** Weights are float32 by default and inputs are cast to the weights' dtype,
so a whole network runs in float32, the precision that BLAS runs fastest.
Pass ``dtype=np.float64`` to the constructors for gradient checks.

**Initialisation.** Weights are Kaiming-normal with fan-in, N(0, 2/fan_in), and
biases are zero. Every constructor that creates weights takes a
``numpy.random.Generator``, so the same seed gives the same network.
"""

import math
import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import threads
from .._checks import as_input, as_int, check_ndim, float_dtype
from .base import Layer, kaiming_normal, keeps_for_backward
from . import activations, containers, fast_conv, layer_kernels

__all__ = [
    "Linear", "Conv2d", "AvgPool2d", "MaxPool2d", "Flatten",
    "conv2d_reference", "im2col_reference", "col2im_reference", "conv_output_reference",
    "avg_pool2d_reference",
]

# ---------------------------------------------------------------- readable twins

def im2col_reference(x, kernel_size, stride=1, padding=0):
    """The patch matrix of a batch: every k×k patch of the zero-padded input as a row.

    .. math::  \\mathrm{cols}[(b H_{out} + i) W_{out} + j,\\ (c k + u) k + v]
               = x^{pad}_{b,\\,c,\\,s i + u,\\,s j + v}

    Parameters
    ----------
    x : ndarray, shape (B, C, H, W)
    kernel_size, stride, padding : int

    Returns
    -------
    ndarray, shape (B·H_out·W_out, C·k·k)
        Readable twin of the compiled gather of :meth:`Conv2d.forward`, which writes the
        transpose of this matrix (equal bit for bit).
    """
    k, s, p = kernel_size, stride, padding
    B, C = x.shape[:2]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x
    patches = sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]  # (B, C, Ho, Wo, k, k)
    Ho, Wo = patches.shape[2:4]
    # rows (b, i, j), columns (c, u, v): the order of weight.reshape(O, C·k·k)
    return patches.transpose(0, 2, 3, 1, 4, 5).reshape(B * Ho * Wo, C * k * k)


def col2im_reference(dcols, input_shape, kernel_size, stride=1, padding=0):
    """Scatter patch gradients back onto the input: the adjoint of :func:`im2col_reference`.

    Kernel tap (u, v) of output (i, j) touched padded input (s·i + u, s·j + v); its
    gradient is added there, tap after tap, and the padding is cropped off.

    Parameters
    ----------
    dcols : ndarray, shape (B·H_out·W_out, C·k·k)
        In the layout of :func:`im2col_reference`; the compiled scatter of
        :meth:`Conv2d.backward` reads the transpose.
    input_shape : tuple (B, C, H, W)

    Returns
    -------
    ndarray, shape (B, C, H, W)
        Readable twin of the compiled scatter (equal bit for bit).
    """
    B, C, H, W = input_shape
    k, s, p = kernel_size, stride, padding
    Ho, Wo = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
    taps = dcols.reshape(B, Ho, Wo, C, k, k)
    dxp = np.zeros((B, C, H + 2 * p, W + 2 * p), dtype=dcols.dtype)
    for u in range(k):
        for v in range(k):
            dxp[:, :, u:u + s * Ho:s, v:v + s * Wo:s] += taps[:, :, :, :, u, v].transpose(0, 3, 1, 2)
    return dxp[:, :, p:p + H, p:p + W]


def conv2d_reference(x, weight, bias, stride=1, padding=0):
    """Convolution as one matrix product over the whole batch (readable twin of
    :meth:`Conv2d.forward`).

    .. math::  y_{b,o,i,j} = b_o + \\sum_{c,u,v} W_{o,c,u,v}\\, x^{pad}_{b,c,s i+u,s j+v}

    :meth:`Conv2d.forward` multiplies the same rows by the same weights in blocks of
    images; BLAS may order a row's products differently in a smaller matrix, so the two
    agree to float32 rounding (``tests/test_layers.py`` allows 1e-6 relative), and
    exactly whenever the sums are exact (the dyadic networks of the conversion tests).

    Shapes: x (B, C, H, W), weight (O, C, k, k), bias (O,) → (B, O, H_out, W_out).
    """
    O, C, k, _ = weight.shape
    x = np.asarray(x, dtype=weight.dtype)
    B, _, H, W = x.shape
    Ho, Wo = (H + 2 * padding - k) // stride + 1, (W + 2 * padding - k) // stride + 1
    out = im2col_reference(x, k, stride, padding) @ weight.reshape(O, -1).T + bias
    return np.ascontiguousarray(out.reshape(B, Ho, Wo, O).transpose(0, 3, 1, 2))


def conv_output_reference(product, bias, n, images_inner=False, extra=None):
    """The output of a block of n images from its matrix product, with the bias added
    (readable twin of the copy in :meth:`Conv2d.forward`, equal bit for bit).

    .. math::  y_{b,o,r} = (P_{o,\\,\\mathrm{col}(b, r)} + b_o) + e_o

    ``product`` P (O, n·R) holds the weights times the block's patch columns, R =
    H_out·W_out, with col(b, r) = b·R + r (columns in (b, i, j) order) or r·n + b
    (``images_inner``: columns in (i, j, b) order). ``extra`` e (O,) is added after the
    bias, in a second rounding (the ``offset`` of :func:`refsnn.networks.fast_conv.forward`); None for none.
    Returns (n, O, R).
    """
    O = product.shape[0]
    R = product.shape[1] // n
    if images_inner:
        out = product.reshape(O, R, n).transpose(2, 0, 1) + bias[:, None]
    else:
        out = product.reshape(O, n, R).transpose(1, 0, 2) + bias[:, None]
    if extra is not None:
        out += extra[:, None]
    return out


def avg_pool2d_reference(x, kernel_size):
    """Mean over k×k windows, written as the sum of the k² strided slices, taps in
    row-major order, divided by k² (readable twin of :meth:`AvgPool2d.forward`, equal
    bit for bit).

    .. math::  y_{b,c,i,j} = \\frac{1}{k^2} \\sum_{u,v < k} x_{b,c,k i + u,k j + v}

    Shapes: (B, C, H, W) → (B, C, H//k, W//k); rows and columns that do not fill a
    window are dropped.
    """
    k = kernel_size
    H, W = x.shape[2:]
    Ho, Wo = H // k, W // k
    total = sum(x[:, :, u:Ho * k:k, v:Wo * k:k] for u in range(k) for v in range(k))
    return total / x.dtype.type(k * k)



class Linear(Layer):
    """Fully connected layer y = x Wᵀ + b.

    Parameters
    ----------
    in_features, out_features : int
    rng : numpy.random.Generator
        Source of the Kaiming-normal initial weights.
    dtype : {float32, float64}, default float32
        Any other dtype is a TypeError.

    Attributes
    ----------
    weight : ndarray, shape (out_features, in_features)
    bias : ndarray, shape (out_features,)

    Shapes: input (B, in_features) → output (B, out_features).
    """

    def __init__(self, in_features, out_features, rng, dtype=np.float32):
        self.in_features = as_int("in_features", in_features)
        self.out_features = as_int("out_features", out_features)
        dtype = float_dtype("dtype", dtype)
        self.weight = kaiming_normal(rng, (self.out_features, self.in_features), self.in_features, dtype)
        self.bias = np.zeros(self.out_features, dtype=dtype)
        self.weight_grad = np.zeros_like(self.weight)
        self.bias_grad = np.zeros_like(self.bias)
        self._x = None

    def __repr__(self):
        return f"Linear({self.in_features}->{self.out_features})"

    def forward(self, x):
        x = as_input(self, x, self.weight.dtype)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"{self!r}: expected input of shape (B, {self.in_features}), got {x.shape}")
        self._x = x if keeps_for_backward() else None
        out = threads.matmul(x, self.weight.T)  # x Wᵀ (on more threads, a part of it on each)
        out += self.bias
        return out

    def backward(self, grad_out):
        """dL/dW = gᵀx, dL/db = Σ_batch g, dL/dx = g W."""
        x = self._saved("_x")
        g = self._check_grad(grad_out, (x.shape[0], self.out_features)).astype(x.dtype, copy=False)
        threads.matmul(g.T, x, out=self.weight_grad)
        np.sum(g, axis=0, out=self.bias_grad)
        return threads.matmul(g, self.weight)

    def params(self):
        return {"weight": self.weight, "bias": self.bias}

    def grads(self):
        return {"weight": self.weight_grad, "bias": self.bias_grad}


class Conv2d(Layer):
    """2-D convolution (cross-correlation, as in PyTorch) with zero padding.

    .. math::

        y_{b,o,i,j} = b_o + \\sum_{c,u,v} W_{o,c,u,v}\\,
                      x^{pad}_{b,\\,c,\\,s i + u,\\,s j + v}

    computed as a matrix product: the k×k patches of the zero-padded input are gathered
    into a matrix with rows (b, i, j) and columns (c, u, v) ("im2col",
    :func:`im2col_reference`) and multiplied by the weights reshaped to (O, C·k·k)
    (:func:`conv2d_reference`). The backward pass multiplies back and scatters the patch
    gradients onto the input ("col2im", :func:`col2im_reference`). The layer runs both
    passes in blocks of images, with compiled gathers and scatters, in
    :mod:`refsnn.networks.fast_conv`.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int
        Square kernel k.
    stride : int, default 1
    padding : int, default 0
        Zeros added on every side.
    rng : numpy.random.Generator
    dtype : {float32, float64}, default float32
        Any other dtype is a TypeError.

    Attributes
    ----------
    weight : ndarray, shape (out_channels, in_channels, k, k)
    bias : ndarray, shape (out_channels,)

    Shapes: input (B, C, H, W) → output (B, O, H_out, W_out) with
    H_out = (H + 2·padding − k)//stride + 1, likewise W_out.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, *, rng,
                 dtype=np.float32):
        self.in_channels = as_int("in_channels", in_channels)
        self.out_channels = as_int("out_channels", out_channels)
        self.kernel_size = as_int("kernel_size", kernel_size)
        self.stride = as_int("stride", stride)
        self.padding = as_int("padding", padding, minimum=0)
        dtype = float_dtype("dtype", dtype)
        k = self.kernel_size
        fan_in = self.in_channels * k * k
        self.weight = kaiming_normal(rng, (self.out_channels, self.in_channels, k, k), fan_in, dtype)
        self.bias = np.zeros(self.out_channels, dtype=dtype)
        self.weight_grad = np.zeros_like(self.weight)
        self.bias_grad = np.zeros_like(self.bias)
        # kept by fast_conv between the passes: the input, its patches, whether backward ran
        self._x, self._patches, self._backward_ran = None, None, False

    def __repr__(self):
        return (f"Conv2d({self.in_channels}->{self.out_channels}, k={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding})")

    def output_shape(self, height, width):
        """Spatial output size (H_out, W_out) for an input of size (height, width)."""
        k, s, p = self.kernel_size, self.stride, self.padding
        return (height + 2 * p - k) // s + 1, (width + 2 * p - k) // s + 1

    def checked_input(self, x):
        """``x`` as a C-contiguous (B, in_channels, H, W) array in the weights' dtype, at
        least as large as the kernel after padding; anything else is a ValueError naming
        the layer."""
        x = as_input(self, x, self.weight.dtype)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r}: expected input of shape (B, {self.in_channels}, H, W), got {x.shape}"
            )
        if min(x.shape[2:]) + 2 * self.padding < self.kernel_size:
            raise ValueError(f"{self!r}: input {x.shape} is smaller than the kernel after padding")
        return np.ascontiguousarray(x)

    def forward(self, x):
        """y = b + W ⋆ x_pad (the class equation), by :func:`refsnn.networks.fast_conv.forward`."""
        return fast_conv.forward(self, self.checked_input(x))

    def backward(self, grad_out):
        """dL/dW = g · patchesᵀ, dL/db = Σ g, dL/dx = col2im(Wᵀ g), by
        :func:`refsnn.networks.fast_conv.backward`."""
        x = self._saved("_x")
        g4 = self._check_grad(grad_out, (x.shape[0], self.out_channels) + self.output_shape(*x.shape[2:]))
        return fast_conv.backward(self, g4.astype(x.dtype, copy=False))

    def params(self):
        return {"weight": self.weight, "bias": self.bias}

    def grads(self):
        return {"weight": self.weight_grad, "bias": self.bias_grad}


class AvgPool2d(Layer):
    """Average pooling over non-overlapping k×k windows (stride = k).

    .. math::  y_{b,c,i,j} = \\frac{1}{k^2} \\sum_{u,v < k} x_{b,c,k i + u,k j + v}

    As in PyTorch, rows and columns that do not fill a whole window are dropped
    (they get zero gradient). Shapes: (B, C, H, W) → (B, C, H//k, W//k).

    The forward pass is a Numba kernel that reads the input once; its readable twin
    :func:`avg_pool2d_reference` sums the k² strided slices in the same order.
    """

    def __init__(self, kernel_size):
        self.kernel_size = as_int("kernel_size", kernel_size)
        self._x_shape = None

    def __repr__(self):
        return f"AvgPool2d({self.kernel_size})"

    def forward(self, x):
        x = as_input(self, x)
        check_ndim(self, x, (4,), "(B, C, H, W)")
        k = self.kernel_size
        B, C, H, W = x.shape
        if H < k or W < k:
            raise ValueError(f"{self!r}: input {x.shape} is smaller than the {k}x{k} window")
        Ho, Wo = H // k, W // k
        self._x_shape, self._dtype = (x.shape, x.dtype) if keeps_for_backward() else (None, None)
        out = np.empty((B, C, Ho, Wo), dtype=x.dtype)
        # compiled twins of avg_pool2d_reference: one pass over the input
        if k == 2:
            layer_kernels._avg_pool_2x2_kernel(x, x.dtype.type(0.25), out)
        else:
            layer_kernels._avg_pool_kernel(x, k, x.dtype.type(k * k), out)
        return out

    def backward(self, grad_out):
        """Each input of a window receives 1/k² of the window's gradient."""
        B, C, H, W = self._saved("_x_shape")
        k = self.kernel_size
        Ho, Wo = H // k, W // k
        g = self._check_grad(grad_out, (B, C, Ho, Wo)).astype(self._dtype, copy=False)
        share = g / self._dtype.type(k * k)
        whole = H == Ho * k and W == Wo * k
        dx = np.empty((B, C, H, W), dtype=self._dtype) if whole else np.zeros((B, C, H, W), dtype=self._dtype)
        for u in range(k):
            for v in range(k):
                dx[:, :, u:Ho * k:k, v:Wo * k:k] = share
        return dx


class MaxPool2d(Layer):
    """Max pooling over k×k windows with a stride and padding, as ``torch.nn.MaxPool2d``.

    .. math::  y_{b,c,i,j} = \\max_{u,v < k} x^{pad}_{b,c,\\,s i + u,\\,s j + v}

    where x^pad is x padded by p on every side with −∞ (padding never wins a window).
    Shapes: (B, C, H, W) → (B, C, ⌊(H + 2p − k)/s⌋ + 1, ⌊(W + 2p − k)/s⌋ + 1).

    Max pooling does not commute with the sum over time (module docstring), so a
    :class:`~refsnn.networks.spiking.SpikingNetwork` accepts it only in its analog prefix,
    the layers before the first neuron layer, which run once on the analog input.

    Parameters
    ----------
    kernel_size : int
    stride : int, optional
        Default ``kernel_size``.
    padding : int, default 0
        At most ``kernel_size // 2``, as in PyTorch.
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size = as_int("kernel_size", kernel_size)
        self.stride = self.kernel_size if stride is None else as_int("stride", stride)
        self.padding = as_int("padding", padding, minimum=0)
        if self.padding > self.kernel_size // 2:
            raise ValueError(f"padding must be at most kernel_size // 2 = {self.kernel_size // 2}, got {padding}")
        self._x = None

    def __repr__(self):
        return f"MaxPool2d({self.kernel_size}, stride={self.stride}, padding={self.padding})"

    def output_shape(self, H, W):
        k, s, p = self.kernel_size, self.stride, self.padding
        return (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1

    def _windows(self, x):
        """Every k×k window of the −∞-padded input, shape (B, C, Ho, Wo, k, k)."""
        p, s = self.padding, self.stride
        padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
        return sliding_window_view(padded, (self.kernel_size,) * 2, axis=(2, 3))[:, :, ::s, ::s]

    def forward(self, x):
        x = as_input(self, x)
        check_ndim(self, x, (4,), "(B, C, H, W)")
        if x.shape[2] + 2 * self.padding < self.kernel_size or x.shape[3] + 2 * self.padding < self.kernel_size:
            raise ValueError(f"{self!r}: input {x.shape} is smaller than the window")
        self._x = x
        return self._windows(x).max(axis=(4, 5))

    def backward(self, grad_out):
        """Each window's gradient goes to its largest input (the first in row-major order
        at a tie); overlapping windows add up."""
        x = self._saved("_x")
        B, C, H, W = x.shape
        Ho, Wo = self.output_shape(H, W)
        g = self._check_grad(grad_out, (B, C, Ho, Wo)).astype(x.dtype, copy=False)
        k, s, p = self.kernel_size, self.stride, self.padding
        first = self._windows(x).reshape(B, C, Ho, Wo, k * k).argmax(axis=-1)
        rows = s * np.arange(Ho)[:, None] + first // k  # padded coordinates of each maximum
        cols = s * np.arange(Wo)[None, :] + first % k
        dx = np.zeros((B, C, H + 2 * p, W + 2 * p), dtype=x.dtype)
        b, c = np.arange(B)[:, None, None, None], np.arange(C)[None, :, None, None]
        np.add.at(dx, (b, c, rows, cols), g)
        return dx[:, :, p:p + H, p:p + W]


class Flatten(Layer):
    """Reshape (B, d1, d2, …) → (B, d1·d2·…), in C order like ``torch.flatten(x, 1)``.

    An empty batch (B = 0) gives an empty (0, d1·d2·…) output.
    """

    def __init__(self):
        self._x_shape = None

    def __repr__(self):
        return "Flatten()"

    def forward(self, x):
        x = as_input(self, x)
        if x.ndim < 2:
            raise ValueError(f"{self!r}: expected input of shape (B, ...), got {x.shape}")
        self._x_shape = x.shape if keeps_for_backward() else None
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))  # -1 fails when B = 0

    def backward(self, grad_out):
        shape = self._saved("_x_shape")
        g = self._check_grad(grad_out, (shape[0], math.prod(shape[1:])))
        return g.reshape(shape)


#: Names that this module once re-exported, and their one home now.
_MOVED = {"Sequential": containers, **{name: activations for name in ("ReLU", "ClipReLU", "QCFS", "DAQCFS")}}


def __getattr__(name):
    """``refsnn.networks.layers.Sequential`` and the activations still resolve, with a
    DeprecationWarning naming the module that defines them (PEP 562)."""
    if name in _MOVED:
        home = _MOVED[name].__name__
        warnings.warn(f"import {name} from {home}, its home; refsnn.networks.layers.{name} will be removed",
                      DeprecationWarning, stacklevel=2)
        return getattr(_MOVED[name], name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
