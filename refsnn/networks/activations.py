"""Activation layers: ReLU, ClipReLU, QCFS and DA-QCFS.

The formulas live in :mod:`refsnn.neurons.quantization`; these classes only add what a layer needs
(per-channel broadcasting, a backward pass, parameters for the optimizer). All accept
inputs of shape (B, C, H, W) or (B, C); per-channel parameters of shape (C,) act along
axis 1. They compute in the input's dtype (float32 in a network, see :mod:`refsnn.networks.layers`).

Which activation appears where:

* ``ReLU`` in an ordinary ANN, the start of the three-stage pipeline;
* ``ClipReLU`` after recording channel-wise thresholds θ_c (stage 1 of the pipeline);
* ``QCFS`` in a QCFS ANN, with one learnable scalar threshold per layer (the QCFS
  activation of Bu et al., which Theorem 4.1 assumes);
* ``DAQCFS`` after DA-QCFS calibration (stage 2), forward only.

The equations are in ``tutorials/00_notation.md`` ("QCFS activation", "DA-QCFS").
"""

import numpy as np

from .. import threads
from . import layer_kernels
from .._checks import as_input, as_int, channel_param
from .base import Layer, keeps_for_backward, per_channel
from ..neurons.quantization import clip_relu, da_qcfs, qcfs, qcfs_kernel

__all__ = ["ReLU", "ClipReLU", "QCFS", "DAQCFS", "ACTIVATIONS", "qcfs_backward_reference"]


class ReLU(Layer):
    """max(z, 0), with derivative 1 where z > 0 and 0 elsewhere. Any input shape."""

    def __init__(self):
        self._z = None

    def __repr__(self):
        return "ReLU()"

    def forward(self, z):
        z = as_input(self, z)
        self._z = z if keeps_for_backward() else None
        return np.maximum(z, 0)

    def backward(self, grad_out):
        z = self._saved("_z")
        return self._check_grad(grad_out, z.shape) * (z > 0)


class ClipReLU(Layer):
    """ReLU clipped at channel-wise thresholds: min(max(z, 0), θ_c) (stage 1 of the three-stage pipeline).

    Parameters
    ----------
    theta : array_like, shape (C,)
        Recorded threshold θ_c > 0 of every channel (e.g. the channel maxima of the
        ReLU's input). Stored as ``theta`` (float64). It is a recorded buffer, not a
        trainable parameter: ``params()`` is empty.

    The backward pass (for fine-tuning the weights) has derivative 1 where
    0 < z < θ_c and 0 elsewhere.
    """

    def __init__(self, theta):
        self.theta = channel_param("theta", theta, positive=True)
        self._z = None

    def __repr__(self):
        return f"ClipReLU(C={self.theta.size})"

    def forward(self, z):
        z = as_input(self, z)
        theta = per_channel(self, self.theta, z)
        self._z = z if keeps_for_backward() else None
        return clip_relu(z, theta)

    def backward(self, grad_out):
        z = self._saved("_z")
        theta = per_channel(self, self.theta, z)
        return self._check_grad(grad_out, z.shape) * ((z > 0) & (z < theta))


def qcfs_backward_reference(z, out, grad_out, theta):
    """The straight-through backward pass of :class:`QCFS`, in NumPy (readable twin of
    the compiled pass that :meth:`QCFS.backward` runs).

    With m = [0 ≤ z ≤ θ]: dL/dz = g·m and dL/dθ = Σ g·([z > θ] + m·(y/θ − z/θ)),
    every term in the dtype of ``z``, summed in float64.

    Parameters
    ----------
    z, out, grad_out : ndarray, same shape
        The input z and output y of the forward pass, and the gradient g of the output.
    theta : float
        The threshold θ.

    Returns
    -------
    dx : ndarray, shape of ``z``
    theta_grad : float
    """
    g = np.asarray(grad_out).astype(z.dtype, copy=False)
    theta = z.dtype.type(theta)
    inside = (z >= 0) & (z <= theta)
    dtheta = (z > theta) + inside * (out / theta - z / theta)
    return g * inside, float(np.sum(g * dtheta, dtype=np.float64))


class QCFS(Layer):
    """QCFS activation with a learnable scalar threshold (Bu et al., ICLR 2022).

    .. math::

        y = \\frac{\\theta}{L}\\,
            \\operatorname{clip}\\left(\\left\\lfloor \\frac{L z + \\theta/2}{\\theta}
            \\right\\rfloor, 0, L\\right)

    Parameters
    ----------
    theta : float, default 8.0
        Initial threshold θ > 0 (the authors' initial ``up``).
    levels : int, default 4
        Quantization level L >= 1 (T̃ of the QCFS ANN).

    Attributes
    ----------
    theta : ndarray of float64, shape (1,)
        The threshold, shape (1,) like the authors' ``up`` parameter, so that an
        optimizer can update it in place. ``params()`` returns it as ``"theta"``.

    Notes
    -----
    The backward pass is the straight-through estimator of QCFS training: the floor is
    treated as the identity. Writing q = y/θ ∈ [0, 1] and m = [0 ≤ z ≤ θ],

    .. math::

        \\frac{\\partial y}{\\partial z} = m, \\qquad
        \\frac{\\partial y}{\\partial \\theta} = [z > \\theta] + m\\,(q - z/\\theta).

    The second term is what autograd gives for θ·clip(floor(Lz/θ + ½)/L, 0, 1) with a
    straight-through floor, as in the authors' code; it is the quantization residual and
    vanishes without the floor. The mask m uses z itself, whereas autograd's mask
    extends half a quantization step (θ/2L) beyond 0 and θ.
    """

    def __init__(self, theta=8.0, levels=4):
        theta = float(theta)
        if not np.isfinite(theta) or theta <= 0:
            raise ValueError(f"QCFS threshold theta must be finite and > 0, got {theta}")
        self.levels = as_int("levels", levels)
        self.theta = np.array([theta], dtype=np.float64)
        self.theta_grad = np.zeros(1, dtype=np.float64)
        self._z = None

    def __repr__(self):
        return f"QCFS(theta={self.theta[0]:.4g}, levels={self.levels})"

    def forward(self, z):
        z = as_input(self, z)
        if not self.theta[0] > 0:
            raise ValueError(f"{self!r}: the threshold must stay > 0, got {self.theta[0]}")
        if z.flags.c_contiguous and np.isfinite(z).all():  # qcfs's kernel, without its checks
            theta = self.theta.astype(z.dtype)
            out = np.empty_like(z)
            flat, flat_out, L, half = z.reshape(-1), out.reshape(-1), z.dtype.type(self.levels), theta / z.dtype.type(2)
            threads.run_ranges(lambda lo, hi: qcfs_kernel(flat[lo:hi], theta, L, half, flat_out[lo:hi]), z.size)
        else:  # the checked path, which names a non-finite input
            out = qcfs(z, self.theta, self.levels)
        self._z, self._out = (z, out) if keeps_for_backward() else (None, None)
        return out

    def backward(self, grad_out):
        """The straight-through gradients of the class Notes, in one compiled pass
        (:func:`qcfs_backward_reference` is its readable twin)."""
        z = self._saved("_z")
        g = np.ascontiguousarray(self._check_grad(grad_out, z.shape), dtype=z.dtype)
        dx, terms = np.empty(z.shape, z.dtype), np.empty(z.shape, z.dtype)
        flat = [np.ascontiguousarray(a).reshape(-1) for a in (z, self._out, g, dx, terms)]
        theta, one = z.dtype.type(self.theta[0]), z.dtype.type(1)
        threads.run_ranges(lambda lo, hi: layer_kernels._qcfs_backward_kernel(
            *(a[lo:hi] for a in flat[:3]), theta, one, *(a[lo:hi] for a in flat[3:])), z.size)
        self.theta_grad[0] = np.sum(terms, dtype=np.float64)  # as the twin sums
        return dx

    def params(self):
        return {"theta": self.theta}

    def grads(self):
        return {"theta": self.theta_grad}


class DAQCFS(Layer):
    """Distribution-aware QCFS (DA-QCFS) with channel-wise calibration. Forward only.

    .. math::

        y = \\frac{\\theta + \\varphi_{DA}}{L}\\,
            \\operatorname{clip}\\left(\\left\\lfloor
            \\frac{(z + \\psi_{DA}) L + \\theta/2}{\\theta}\\right\\rfloor, 0, L\\right)

    Parameters
    ----------
    theta : array_like, shape (C,)
        Channel thresholds θ_c > 0. For a QCFS network pass ``np.full(C, θ)``.
    levels : int
        Level L >= 1; the SNN's T in the authors' code.
    psi_da, phi_da : array_like, shape (C,), optional
        Input shift ψ_DA and output-scale correction φ_DA; zeros by default (then the
        layer equals QCFS with channel thresholds).

    Notes
    -----
    Attributes ``theta``, ``psi_da``, ``phi_da`` are float64 arrays of shape (C,); a
    calibration routine may update them in place. φ_DA >= −θ in every channel
    (:meth:`spike_amplitude`). ``params()`` is empty because they are
    calibrated by running averages (DA-QCFS calibration), not by gradient descent.
    """

    def __init__(self, theta, levels, psi_da=None, phi_da=None):
        self.theta = channel_param("theta", theta, positive=True)
        self.levels = as_int("levels", levels)
        zeros = np.zeros_like(self.theta)
        self.psi_da = channel_param("psi_da", zeros if psi_da is None else psi_da)
        self.phi_da = channel_param("phi_da", zeros if phi_da is None else phi_da)
        for name in ("psi_da", "phi_da"):
            if getattr(self, name).shape != self.theta.shape:
                raise ValueError(
                    f"{name} has shape {getattr(self, name).shape}, expected {self.theta.shape} like theta"
                )
        self.spike_amplitude()

    def __repr__(self):
        return f"DAQCFS(C={self.theta.size}, levels={self.levels})"

    def spike_amplitude(self, where=None):
        """θ + φ_DA per channel, shape (C,): the output scale of the layer and the spike
        amplitude θ_post of the neurons it converts to.

        Raises ValueError, naming the layer (or ``where``), the channel and the values,
        if it is negative in a channel (φ_DA < −θ): the converted neurons would fire
        negative spikes. Checked at construction and at conversion, after calibration.
        """
        amplitude = self.theta + self.phi_da
        negative = np.flatnonzero(amplitude < 0)
        if negative.size:
            c = negative[0]
            raise ValueError(f"{where or repr(self)}: in channel {c} (of {negative.size} such), phi_da = "
                             f"{self.phi_da[c]} is below -theta (theta = {self.theta[c]}): the spike amplitude "
                             f"theta + phi_da would be {amplitude[c]} < 0")
        return amplitude

    def forward(self, z):
        z = as_input(self, z)
        theta, psi_da, phi_da = (per_channel(self, p, z) for p in (self.theta, self.psi_da, self.phi_da))
        return da_qcfs(z, theta, self.levels, psi_da, phi_da)

    def backward(self, grad_out):
        raise NotImplementedError(
            "DAQCFS is forward only: its ψ_DA and φ_DA are calibrated by running averages "
            "(DA-QCFS calibration), not trained; fine-tune the network with QCFS or ClipReLU instead"
        )


#: Every activation layer: what the three-stage pipeline replaces by neuron layers.
ACTIVATIONS = (ReLU, ClipReLU, QCFS, DAQCFS)
