"""Neuron layers of a converted SNN: parallel conversion neurons and IF neurons.

:class:`ParallelNeurons` fire all T steps at once from the total input current (the
parallel conversion neuron, "Parallel firing rule") with dual thresholds: θ_pre decides
firing, and each spike carries the amplitude θ_post = θ + φ_DA. A DA-QCFS input shift
ψ_DA is merged into the offset as ψ = θ/2 + T·ψ_DA ("DA-QCFS"). :class:`IFNeurons`
integrate one step at a time with soft reset ("IF neuron") and are the sequential
baseline. Both run inside a :class:`refsnn.networks.spiking.SpikingNetwork`, whose modes
decide how they are fed (:mod:`refsnn.networks.modes`).

The formulas live in :mod:`refsnn.neurons`; these classes add per-channel parameters and
the one-step state of an IF layer. A neuron layer that receives NaN or infinity raises
:class:`~refsnn.networks.base.NonFiniteError`.
"""

import numpy as np

from .._checks import as_int, channel_param, check_choice
from ..neurons.parallel import ORDERS, first_spike_step_from_total, parallel_neuron
from . import fast_snn
from .base import Layer, NonFiniteError

__all__ = ["ParallelNeurons", "IFNeurons"]


def _check_sizes(layer, **params):
    """Per-channel parameters must be scalars (size 1) or all of the same size C."""
    sizes = {name: p.size for name, p in params.items() if p.size != 1}
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{name} has {size}" for name, size in sizes.items())
        raise ValueError(
            f"{type(layer).__name__}: parameters must be scalars or all of shape (C,) with the "
            f"same C, but {listed} channels"
        )


def channel_view(layer, name, param, x):
    """``param`` (size 1 or C) in ``x``'s dtype, shaped to broadcast along axis 1 of x (B, C, ...).

    A size-1 parameter applies to every neuron. A per-channel one needs x.shape[1] == C;
    otherwise a ValueError names the layer and both sizes.
    """
    param = param.astype(x.dtype)
    if param.size == 1:
        return param.reshape(())
    if x.ndim < 2 or x.shape[1] != param.size:
        got = f"{x.shape[1]} channels on axis 1" if x.ndim >= 2 else "no channel axis"
        raise ValueError(
            f"{layer!r}: {name} has {param.size} channels, but the input of shape {x.shape} has {got}"
        )
    return param.reshape((-1,) + (1,) * (x.ndim - 2))


def _as_nonfinite(error, x):
    """The ValueError that a neuron function raised on ``x``, as a NonFiniteError if ``x``
    holds NaN or infinity (then that is what the function refused)."""
    return NonFiniteError(str(error)) if not np.isfinite(x).all() else error


class _NeuronLayer(Layer):
    """A neuron layer: it has no trainable parameters and no backward pass (an SNN here
    is converted, not trained), and it runs inside a SpikingNetwork."""

    def backward(self, grad_out):
        raise NotImplementedError(f"{type(self).__name__} has no backward pass: refsnn converts SNNs, "
                                  "it does not train them; train the ANN instead")


class ParallelNeurons(_NeuronLayer):
    """A layer of parallel conversion neurons with dual thresholds (the parallel conversion neuron).

    .. math::

        s_x = H\\left(\\frac{\\Sigma + \\psi}{T - x + 1} - \\theta_{pre}\\right),\\qquad
        \\text{output}_x = \\theta_{post}\\, s_x

    Parameters
    ----------
    theta : float or array_like, shape (C,)
        Firing threshold θ_pre > 0, per layer or per channel.
    T : int
        Number of time steps.
    psi : float or array_like, shape (C,), optional
        Offset ψ merged with the DA-QCFS shift: θ/2 + T·ψ_DA. θ/2 by default.
    theta_post : float or array_like, shape (C,), optional
        Spike amplitude θ + φ_DA; θ by default.
    order : {"paper", "code"}
        Spike order (see :func:`refsnn.parallel_neuron`).

    Every parameter is stored as a float64 array of shape (1,) or (C,); the sizes must
    agree (a size-1 parameter applies to every channel), and at run time C must equal
    the size of the input's channel axis 1.
    """

    def __init__(self, theta, T, psi=None, theta_post=None, order="paper"):
        self.theta = channel_param("theta", theta, positive=True, scalar=True)
        self.T = as_int("T", T)
        self.psi = self.theta / 2 if psi is None else channel_param("psi", psi, scalar=True)
        self.theta_post = (self.theta.copy() if theta_post is None
                           else channel_param("theta_post", theta_post, scalar=True))
        _check_sizes(self, theta=self.theta, psi=self.psi, theta_post=self.theta_post)
        self.order = check_choice("order", order, ORDERS)

    def __repr__(self):
        return f"ParallelNeurons(C={self.theta.size}, T={self.T}, order={self.order!r})"

    def _params(self, x):
        """θ, ψ and θ_post shaped for one step's input ``x`` of shape (B, C, ...)."""
        return tuple(channel_view(self, name, getattr(self, name), x) for name in ("theta", "psi", "theta_post"))

    def spikes(self, currents):
        """Boolean spikes (T, B, ...) for per-step currents (T, B, ...)."""
        theta, psi, _ = self._params(currents[0])
        try:
            return parallel_neuron(currents, theta, psi, order=self.order)
        except ValueError as error:
            raise _as_nonfinite(error, currents)

    def forward(self, currents):
        """Weighted spikes θ_post·s, shape (T, B, ...), float like ``currents``."""
        _, _, theta_post = self._params(currents[0])
        return self.spikes(currents) * theta_post

    def counts_from_total(self, total):
        """Spike counts N = clip(floor((Σ + ψ)/θ), 0, T) from summed currents (B, ...)."""
        theta, psi, _ = self._params(total)
        try:
            return self.T + 1 - first_spike_step_from_total(total, theta, self.T, psi)
        except ValueError as error:
            raise _as_nonfinite(error, total)

    def fire_from_total(self, total):
        """The counts N (B, ...) and the summed outputs θ_post·N, in ``total``'s dtype, of
        summed currents Σ (B, ...): what the layer passes on in collapsed mode."""
        _, _, theta_post = self._params(total)  # a channel mismatch names the layer
        counts = self.counts_from_total(total)
        return counts, (counts * theta_post).astype(total.dtype)

    def train_from_counts(self, counts):
        """The spike train (T, B, ...) that a given count array produces in this order."""
        steps = np.arange(1, self.T + 1).reshape((self.T,) + (1,) * counts.ndim)
        return steps > self.T - counts if self.order == "paper" else steps <= counts


class IFNeurons(_NeuronLayer):
    """A layer of IF neurons with soft reset, run one step at a time (the IF neuron).

    .. math::

        m_t = v_{t-1} + I_t + \\psi_{DA},\\qquad s_t = H(m_t - \\theta),\\qquad
        v_t = m_t - \\theta s_t,\\qquad v_0 = \\theta/2,

    and each spike carries the amplitude θ_post (θ by default). ψ_DA, a DA-QCFS input
    shift, is added to the current of every step; 0 by default. Each step is one step of
    :func:`refsnn.neurons.integrate_fire.if_neuron` on the current I_t + ψ_DA, starting
    from the membrane ``v`` kept from the previous step, so the layer and the function
    cannot drift apart (and NaN or infinite currents are refused).

    Parameters
    ----------
    theta : float or array_like, shape (C,)
        Threshold θ > 0.
    psi_da : float or array_like, shape (C,)
        Per-step input shift ψ_DA.
    theta_post : float or array_like, shape (C,), optional
        Spike amplitude θ + φ_DA; θ by default.

    Parameters are stored as float64 arrays of shape (1,) or (C,) with agreeing sizes;
    at run time C must equal the size of the input's channel axis 1.
    """

    def __init__(self, theta, psi_da=0.0, theta_post=None):
        self.theta = channel_param("theta", theta, positive=True, scalar=True)
        self.psi_da = channel_param("psi_da", psi_da, scalar=True)
        self.theta_post = (self.theta.copy() if theta_post is None
                           else channel_param("theta_post", theta_post, scalar=True))
        _check_sizes(self, theta=self.theta, psi_da=self.psi_da, theta_post=self.theta_post)
        self.v = None

    def __repr__(self):
        return f"IFNeurons(C={self.theta.size})"

    def reset(self):
        """Forget the membrane potential; the next step starts from v0 = θ/2."""
        self.v = None

    def step(self, current):
        """Advance one step. ``current`` (B, ...) → boolean spikes (B, ...)."""
        current = np.asarray(current)
        theta = channel_view(self, "theta", self.theta, current)
        shifted = current + channel_view(self, "psi_da", self.psi_da, current) if self.psi_da.any() else current
        # I_t + ψ_DA; with ψ_DA = 0 the current itself (x + 0 = x, but for the sign of a zero)
        try:
            # if_neuron(shifted[None], theta, v0=self.v, return_membrane=True), its one step
            spikes, self.v = fast_snn.if_step(self, shifted, theta)
        except ValueError as error:
            raise _as_nonfinite(error, shifted)
        return spikes

    def forward(self, current):
        """Weighted spikes θ_post·s_t for one step (the same as :meth:`forward_step`)."""
        return self.forward_step(current)

    def forward_step(self, current):
        """Weighted spikes θ_post·s_t for one step."""
        current = np.asarray(current)
        return self.step(current) * channel_view(self, "theta_post", self.theta_post, current)
