"""Converted spiking networks: parallel conversion neurons and the IF baseline.

A :class:`SpikingNetwork` is a list of time-linear layers from :mod:`refsnn.networks.layers`
(``Conv2d``, ``Linear``, ``AvgPool2d``, ``Flatten``) and neuron layers. The input is
direct-encoded: the analog image is repeated at every one of the T steps. The output at
step t is the last layer's logits for that step; the prediction is the argmax of their
sum over the T steps, as in the authors' evaluation (see ``tutorials/00_notation.md``,
"Evaluation and timing in the released code").

Neuron layers
    :class:`ParallelNeurons` fire all T steps at once from the total input current (the
    parallel conversion neuron, "Parallel firing rule") with dual thresholds: θ_pre
    decides firing, and each spike carries the amplitude θ_post = θ + φ_DA. A DA-QCFS
    input shift ψ_DA is merged into the offset as ψ = θ/2 + T·ψ_DA ("DA-QCFS").
    :class:`IFNeurons` integrate one step at a time with soft reset ("IF neuron") and
    are the sequential baseline.

Three ways to run a network (all give the same predictions, up to float ties):

``"sequential"`` (IF networks)
    T full forward passes, one per step; every IF layer keeps its membrane between steps.
``"faithful"`` (parallel networks)
    One pass over a batch of T·B inputs, time-major, as in the authors' code: every
    linear layer runs on all T copies and every neuron layer fires all T steps at once.
    The samples go through in groups of about :data:`FAITHFUL_GROUP_IMAGES` // T, so
    that the T copies of a group stay in the CPU's cache (samples are independent: the
    grouping changes no result).
``"collapsed"`` (parallel networks)
    The prior control matrix only needs the time sum, and the linear layers commute with
    it: Σ_t (W x_t + b) = W Σ_t x_t + T·b. So one pass over B carries the summed
    outputs θ_post·N from layer to layer, and its cost does not grow with T. Spike trains
    are produced only when asked for, from the counts (``tutorials/00_notation.md``,
    "Collapsed inference").

Only time-linear layers may sit between neuron layers: an activation or max pooling
does not commute with the sum over time, so faithful and collapsed mode would disagree
(:mod:`refsnn.networks.layers`). :class:`SpikingNetwork` refuses any other layer.

Limits
    Faithful mode holds T copies of a group's layer outputs (of the whole batch when
    :meth:`SpikingNetwork.run` returns per-step logits or spike trains), and sequential
    mode's :meth:`SpikingNetwork.run` returns T·B logits (and T·B spike trains if recorded).
    A run whose estimate of these T-sized arrays exceeds :data:`MAX_BYTES` (2 GiB,
    change it if you have the memory) is refused before anything is allocated; the
    collapsed mode never holds T copies. Collapsed mode computes the time sums T·x in
    float32 and is refused at T >= :data:`COLLAPSED_MAX_T` = 2²², where the count
    estimate of the neuron kernels stops being exact (``HADAMARD_MAX_T`` in
    :mod:`refsnn.neurons.parallel_kernels`) and, from 2²⁴ on, T itself is no longer a
    float32.

Finiteness
    Every run refuses input X with NaN or infinity. A neuron layer that receives NaN or
    infinity from finite input, or logits that are not finite, raise a ValueError that
    names the first layer whose output is not finite (weights that hold NaN or infinity,
    or an overflow), so that no mode ever predicts from NaNs.
"""

import numpy as np

from .._checks import _check_finite_after, as_float_array, as_int, check_choice
from ..neurons import parallel_kernels
from ..neurons.integrate_fire import _if_kernel, if_neuron
from ..neurons.parallel import ORDERS, first_spike_step_from_total, parallel_neuron
from .base import Layer, channel_param, nonfinite_error
from .containers import iter_layers, run
from .layers import AvgPool2d, Conv2d, Flatten, Linear
from .normalization import BatchNorm

__all__ = ["ParallelNeurons", "IFNeurons", "SpikingNetwork", "MAX_BYTES", "COLLAPSED_MAX_T",
           "FAITHFUL_GROUP_IMAGES"]

#: Largest estimated memory, in bytes, of the arrays that grow with T in one run (the
#: T·B copies of faithful mode, the stacked steps and spike trains of sequential mode).
#: A run above it is refused with a ValueError; a module-level setting, change it freely.
MAX_BYTES = 2 * 2**30
#: Collapsed mode and the lean collapsed kernel are exact only for T below this (2²²,
#: the ``HADAMARD_MAX_T`` of the neuron kernels; float32 stops holding T at 2²⁴).
COLLAPSED_MAX_T = 2**22
#: Faithful mode runs the samples of a batch in groups of about this many images, T
#: copies of each (T·group ≈ FAITHFUL_GROUP_IMAGES), so that every layer's input and
#: output stay in the CPU's cache; the samples are independent, so the grouping changes
#: no result. A module-level setting, like :data:`MAX_BYTES`.
FAITHFUL_GROUP_IMAGES = 256

TIME_LINEAR = (Conv2d, Linear, AvgPool2d, Flatten, BatchNorm)


def _check_sizes(layer, **params):
    """Per-channel parameters must be scalars (size 1) or all of the same size C."""
    sizes = {name: p.size for name, p in params.items() if p.size != 1}
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{name} has {size}" for name, size in sizes.items())
        raise ValueError(
            f"{type(layer).__name__}: parameters must be scalars or all of shape (C,) with the "
            f"same C, but {listed} channels"
        )


def _channel_view(layer, name, param, x):
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


def _offset(layer):
    """The constant c of a time-linear layer f(x) = A x + c, per output channel, or None.

    Conv2d and Linear: their bias. BatchNorm (evaluation mode): β − a·μ. Average
    pooling and flattening: none.
    """
    if isinstance(layer, BatchNorm):
        return layer.scale_and_shift()[1]
    return getattr(layer, "bias", None) if isinstance(layer, (Conv2d, Linear)) else None


class _NeuronLayer(Layer):
    """A neuron layer: it has no trainable parameters and no backward pass (an SNN here
    is converted, not trained), and it runs inside a :class:`SpikingNetwork`, whose
    modes decide how it is fed (the class Notes there)."""

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
        return tuple(_channel_view(self, name, getattr(self, name), x) for name in ("theta", "psi", "theta_post"))

    def spikes(self, currents):
        """Boolean spikes (T, B, ...) for per-step currents (T, B, ...)."""
        theta, psi, _ = self._params(currents[0])
        return parallel_neuron(currents, theta, psi, order=self.order)

    def forward(self, currents):
        """Weighted spikes θ_post·s, shape (T, B, ...), float like ``currents``."""
        _, _, theta_post = self._params(currents[0])
        return self.spikes(currents) * theta_post

    def counts_from_total(self, total):
        """Spike counts N = clip(floor((Σ + ψ)/θ), 0, T) from summed currents (B, ...)."""
        theta, psi, _ = self._params(total)
        return self.T + 1 - first_spike_step_from_total(total, theta, self.T, psi)

    def _fire_from_total(self, total, counts_wanted=True):
        """Lean :meth:`counts_from_total` for the network's collapsed mode: the counts and
        the summed outputs θ_post·N of a finite float array (B, C, ...) or (B, C). With
        ``counts_wanted=False`` the counts come back as None and are never written (what
        ``predict`` needs: only the outputs).

        The network has already checked its input, so this skips the public checks;
        anything unusual (not float32, not finite, or T >= :data:`COLLAPSED_MAX_T`, where
        the kernel's float32 count estimate is no longer exact) takes the checked path
        (binary search) instead, which raises the documented errors. The kernel itself
        reports a sum that is not finite, so finite sums are read once.
        """
        if (total.dtype != np.float32 or total.ndim < 2 or self.T >= COLLAPSED_MAX_T
                or max(self.theta.size, self.psi.size, self.theta_post.size) not in (1, total.shape[1])):
            return self._checked_fire_from_total(total)
        flat = np.ascontiguousarray(total).reshape(total.shape[0], total.shape[1], -1)
        counts = np.empty(flat.shape if counts_wanted else (0, 0, 0), dtype=np.int64)
        out = np.empty_like(flat)
        if parallel_kernels._collapsed_kernel(flat, self.theta, self.psi, self.theta_post, np.float32(self.T),
                                              counts, out) != 0:  # a NaN or infinite sum
            return self._checked_fire_from_total(total)
        return (counts.reshape(total.shape) if counts_wanted else None), out.reshape(total.shape)

    def _checked_fire_from_total(self, total):
        """:meth:`_fire_from_total` through the public, checked path."""
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
    shift, is added to the current of every step; 0 by default. Each step runs the kernel
    of :func:`refsnn.neurons.integrate_fire.if_neuron` on the one-step current I_t + ψ_DA,
    starting from the membrane ``v`` kept from the previous step, so the layer and the
    function cannot drift apart (and NaN or infinite currents are refused). The kernel is
    called directly, with the per-neuron thresholds kept from step to step, because the
    function's checks cost about 20 times the kernel's work at batch 1; anything unusual
    (a dtype other than float32 or float64, an empty or reshaped input) goes through
    ``if_neuron`` itself, which raises its documented errors.

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
        self._thresholds = (None, None)  # (key, per-neuron θ) of the last step's input

    def __repr__(self):
        return f"IFNeurons(C={self.theta.size})"

    def reset(self):
        """Forget the membrane potential; the next step starts from v0 = θ/2."""
        self.v = None

    def _neuron_thresholds(self, theta, current):
        """θ for every neuron of ``current``, flat and contiguous; kept while the input's
        shape and dtype and the layer's θ stay the same."""
        key = (current.shape, current.dtype.str, self.theta.tobytes())
        if self._thresholds[0] != key:
            self._thresholds = (key, np.ascontiguousarray(np.broadcast_to(theta, current.shape)).reshape(-1))
        return self._thresholds[1]

    def step(self, current):
        """Advance one step. ``current`` (B, ...) → boolean spikes (B, ...)."""
        current = np.asarray(current)
        theta = _channel_view(self, "theta", self.theta, current)
        psi_da = _channel_view(self, "psi_da", self.psi_da, current)
        shifted = current + psi_da
        if (shifted.dtype not in (np.float32, np.float64) or shifted.size == 0
                or (self.v is not None and self.v.shape != shifted.shape)):
            spikes, membrane = if_neuron(shifted[None], theta, v0=self.v, return_membrane=True)
            self.v = membrane[0]  # v0 = None on the first step: if_neuron starts from θ/2
            return spikes[0]
        # what if_neuron(shifted[None], theta, v0=self.v, return_membrane=True) computes
        flat = np.ascontiguousarray(shifted).reshape(1, -1)
        thresholds = self._neuron_thresholds(theta.astype(shifted.dtype), shifted)
        v0 = thresholds / shifted.dtype.type(2) if self.v is None else np.ascontiguousarray(self.v).reshape(-1)
        spikes = np.empty(flat.shape, dtype=np.bool_)
        membrane = np.empty_like(flat)
        state = _if_kernel(flat, thresholds, v0, spikes, membrane, True)
        _check_finite_after(flat, state)  # a NaN or infinite current is a ValueError
        self.v = membrane[0].reshape(shifted.shape)
        return spikes[0].reshape(shifted.shape)

    def forward(self, current):
        """Weighted spikes θ_post·s_t for one step (the same as :meth:`forward_step`)."""
        return self.forward_step(current)

    def forward_step(self, current):
        """Weighted spikes θ_post·s_t for one step."""
        current = np.asarray(current)
        return self.step(current) * _channel_view(self, "theta_post", self.theta_post, current)


class SpikingNetwork:
    """A converted SNN: a network of time-linear layers and neuron layers.

    Parameters
    ----------
    net : Sequential or list
        The network: a :class:`~refsnn.networks.layers.Sequential` (containers such as
        :class:`~refsnn.networks.containers.Residual` may be nested inside it) or a list
        of layers. Its leaves are time-linear layers (``Conv2d``, ``Linear``,
        ``AvgPool2d``, ``Flatten``, ``BatchNorm`` in evaluation mode) and neuron layers,
        :class:`ParallelNeurons` or :class:`IFNeurons` (not both). Any other layer (an
        activation, max pooling) is a TypeError: it does not commute with the sum over time.
    T : int
        Number of time steps.

    Attributes
    ----------
    net : Sequential
        The network.
    layers : list
        Its top-level layers (``net.layers``).
    kind : {"parallel", "if"}

    Notes
    -----
    **Why every mode runs residual networks.** Between neuron layers every operation f
    is affine, f(x) = A x + c: a convolution or linear layer (c = its bias), BatchNorm
    in evaluation mode (A = diag(a), c = β − a·μ), average pooling and flattening (c = 0).
    Summed over the T steps of direct-encoded or spiking input,

    .. math::

        \\sum_{t=1}^T f(x_t) = A \\sum_t x_t + T c = f\\Big(\\sum_t x_t\\Big) + (T - 1)\\,c,

    so the collapsed mode applies f to the time sum once and adds the offset c another
    T − 1 times. A residual block adds two such paths, and a sum commutes with the sum
    over time: Σ_t (m_t + s_t) = Σ_t m_t + Σ_t s_t, so its time sum is the sum of its
    paths' time sums, and the neuron layer after it receives exactly the total current
    Σ_t I_t that the faithful mode feeds it step by step.
    """

    def __init__(self, net, T):
        from .layers import Sequential

        if isinstance(net, (list, tuple)):
            net = Sequential(*net)
        if not isinstance(net, Sequential):
            raise TypeError(f"net must be a Sequential or a list of layers, got {type(net).__name__}")
        self.net = net
        self.T = as_int("T", T)
        self._kept_sizes = (None, None)  # (key, result) of the last _sample_sizes
        for path, layer in iter_layers(net):
            if not isinstance(layer, TIME_LINEAR + (ParallelNeurons, IFNeurons)):
                raise TypeError(
                    f"layer {path} ({layer!r}, of type {type(layer).__name__}) cannot be part of a "
                    "SpikingNetwork: only the time-linear layers Conv2d, Linear, AvgPool2d, Flatten and "
                    "BatchNorm and neuron layers (ParallelNeurons or IFNeurons) are allowed, because "
                    "activations and max pooling do not commute with the sum over time"
                )
            if isinstance(layer, BatchNorm) and layer.training:
                raise ValueError(
                    f"layer {path} ({layer!r}) is in training mode, where it normalises with batch "
                    "statistics, which do not commute with the sum over time; call "
                    "refsnn.networks.containers.set_training(net, False) first"
                )
        kinds = {type(layer) for layer in self.neuron_layers}
        if len(kinds) != 1:
            raise ValueError("a SpikingNetwork needs neuron layers of exactly one kind (parallel or IF)")
        self.kind = "parallel" if kinds == {ParallelNeurons} else "if"
        for layer in self.neuron_layers:
            if isinstance(layer, ParallelNeurons) and layer.T != self.T:
                raise ValueError(f"{layer!r} has T={layer.T}, but the network has T={self.T}")

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"SpikingNetwork(T={self.T}, kind={self.kind!r}, [{inner}])"

    @property
    def layers(self):
        return self.net.layers

    @property
    def neuron_layers(self):
        """The neuron layers in forward order (the order of every per-layer result)."""
        return [layer for _, layer in iter_layers(self.net) if isinstance(layer, (ParallelNeurons, IFNeurons))]

    @property
    def default_mode(self):
        return "sequential" if self.kind == "if" else "faithful"

    # ----------------------------------------------------------------- checks

    def _check_mode(self, mode):
        mode = self.default_mode if mode is None else mode
        allowed = ("sequential",) if self.kind == "if" else ("faithful", "collapsed")
        check_choice("mode", mode, allowed)
        if mode == "collapsed" and self.T >= COLLAPSED_MAX_T:
            raise ValueError(
                f'mode="collapsed" computes the time sums T·x in float32, exact only for '
                f"T < {COLLAPSED_MAX_T} (2**22); this network has T={self.T}"
            )
        return mode

    @staticmethod
    def _check_X(X):
        """X as a finite float32 batch of shape (B, ...) with B >= 1."""
        X = as_float_array("X", X)
        if X.ndim < 2 or X.shape[0] == 0:
            raise ValueError(f"X must be a non-empty batch of shape (B, ...), got shape {X.shape}")
        return X.astype(np.float32, copy=False)

    def _sample_sizes(self, X):
        """Per-sample sizes of the input and of every leaf's output, from one sample.

        A dry run on one zero sample also raises every shape or channel error up front.
        Returns the list of sizes and the sizes of the IF layers' outputs. The result is
        kept for the next call with the same sample shape, dtype and layers (at batch 1
        the dry run cost about a third of a faithful run); a parameter edited since then
        is still checked by the run itself.
        """
        key = (X.shape[1:], X.dtype.str, tuple(id(layer) for _, layer in iter_layers(self.net)))
        if self._kept_sizes[0] == key:
            return self._kept_sizes[1]
        sizes, if_sizes = [int(np.prod(X.shape[1:]))], []

        def dry(layer, x):
            if isinstance(layer, ParallelNeurons):
                layer._params(x)
                out = x
            elif isinstance(layer, IFNeurons):
                _channel_view(layer, "theta", layer.theta, x)
                out = x
                if_sizes.append(int(np.prod(x.shape[1:])))
            else:
                out = layer.forward(x)
            sizes.append(int(np.prod(out.shape[1:])))
            return out

        run(self.net, np.zeros((1,) + X.shape[1:], dtype=X.dtype), dry)
        self._kept_sizes = (key, (sizes, if_sizes))
        return sizes, if_sizes

    def _check_memory(self, X, mode, steps, record):
        """Refuse a run whose T-sized arrays would exceed :data:`MAX_BYTES` (estimate)."""
        if mode == "collapsed" or (mode == "sequential" and not steps and record != "spikes"):
            return
        B, T = X.shape[0], self.T
        sizes, if_sizes = self._sample_sizes(X)
        if mode == "faithful":  # predict holds one group of samples at a time (_run_faithful)
            held = B if (steps or record == "spikes") else min(B, max(1, FAITHFUL_GROUP_IMAGES // T))
            need = T * held * max(sizes) * 4
            what = f"T={T} copies of {held} samples through a layer of {max(sizes)} values, float32"
            advice = 'use mode="collapsed" (same predictions, memory independent of T) or a smaller batch'
        else:
            need = T * B * (sizes[-1] * 4 * steps + sum(if_sizes) * (record == "spikes"))
            what = f"T={T} steps of a batch of {B}: logits per step and, if recorded, spike trains"
            advice = "use predict(), which sums the steps as it goes, or a smaller batch"
        if need > MAX_BYTES:
            raise ValueError(
                f"mode={mode!r} would hold about {need / 2**30:.2f} GiB ({what}), more than "
                f"refsnn.networks.spiking.MAX_BYTES = {MAX_BYTES / 2**30:.2f} GiB; {advice}, "
                "or raise MAX_BYTES"
            )

    def _diagnose(self, X, mode):
        """The error for NaN or infinity produced inside the network from the finite X.

        Runs the same mode again, checking the output of every layer, and names the first
        whose output is not finite (weights that hold NaN or infinity, or an overflow).
        Called only after a run went wrong: a normal run checks its logits once.
        """
        paths = {id(layer): path for path, layer in iter_layers(self.net)}

        class Found(Exception):
            pass

        def checked(hook):
            def check(layer, x):
                out = hook(layer, x)
                out = layer.forward(x) if out is None else out
                if not np.isfinite(out).all():
                    raise Found(nonfinite_error(paths[id(layer)], layer))
                return out
            return check

        try:
            if mode == "collapsed":
                total = X * np.float32(self.T)
                if not np.isfinite(total).all():
                    return ValueError(f"the summed input T·X overflows float32 at T={self.T}")
                run(self.net, total, checked(self._collapsed_hook([], None)))
            elif mode == "faithful":
                x = np.broadcast_to(X, (self.T,) + X.shape).reshape((self.T * X.shape[0],) + X.shape[1:])
                run(self.net, x, checked(self._faithful_hook(X.shape[0], [], None)))
            else:
                for layer in self.neuron_layers:
                    layer.reset()
                hook = checked(self._sequential_hook([], None))
                for _ in range(self.T):
                    run(self.net, X, hook)
        except Found as found:
            return found.args[0]
        return ValueError("the network produces NaN or infinity")

    # ----------------------------------------------------------------- running

    def run(self, X, mode=None, record=False):
        """Run the network on a batch.

        Parameters
        ----------
        X : numpy.ndarray, shape (B, ...)
            Analog input, repeated at every step (direct encoding); finite, B >= 1.
        mode : {"sequential", "faithful", "collapsed"}, optional
            How to run it (module docstring); the network's default if omitted.
        record : bool
            Also return, per neuron layer, its spike counts (B, ...) and, except in
            collapsed mode, its spike trains (T, B, ...). Without it no train is built.

        Returns
        -------
        outputs : numpy.ndarray
            Logits per step, shape (T, B, K); in collapsed mode the logits summed over
            time, shape (B, K).
        records : list of dict, only if ``record``
            ``{"counts": ..., "spikes": ...}`` per neuron layer, in forward order.

        Raises
        ------
        ValueError
            For an empty, 0-d or non-finite X; a run above :data:`MAX_BYTES`; collapsed
            mode at T >= :data:`COLLAPSED_MAX_T`; or NaN or infinity produced inside the
            network (the message names the first such layer).
        """
        mode = self._check_mode(mode)
        X = self._check_X(X)
        outputs, records = self._forward(X, mode, steps=True, record="spikes" if record else None)
        return (outputs, records) if record else outputs

    def _forward(self, X, mode, steps, record):
        """Run a checked batch. ``steps``: per-step outputs (T, B, K), else their sum
        (B, K); ``record``: None, ``"counts"`` or ``"spikes"`` (trains and counts)."""
        self._check_memory(X, mode, steps, record)
        try:
            if mode == "sequential":
                out, records = self._run_sequential(X, steps, record)
            elif mode == "faithful":
                out, records = self._run_faithful(X, steps, record)
            else:
                out, records = self._run_collapsed(X, record)
        except ValueError as error:
            if "finite" not in str(error):
                raise
            raise self._diagnose(X, mode) from None
        if not np.isfinite(out).all():
            raise self._diagnose(X, mode)
        return out, records

    def _sequential_hook(self, records, record):
        """Hook for one step of sequential mode: IF layers step and emit θ_post·s_t."""
        index = {id(layer): k for k, layer in enumerate(self.neuron_layers)}

        def hook(layer, x):
            if not isinstance(layer, IFNeurons):
                return None
            fired = layer.step(x)
            if record:
                rec = records[index[id(layer)]]
                rec["counts"] = fired.astype(np.int64) if rec["counts"] is None else rec["counts"] + fired
                if record == "spikes":
                    rec["spikes"].append(fired)
            theta_post = _channel_view(layer, "theta_post", layer.theta_post, x)
            return np.multiply(fired, theta_post.astype(x.dtype))  # s·θ_post in x's dtype
        return hook

    def _run_sequential(self, X, steps, record):
        for layer in self.neuron_layers:
            layer.reset()
        records = [{"counts": None, "spikes": []} for _ in self.neuron_layers]
        hook = self._sequential_hook(records, record)
        outputs, total = [], None
        for _ in range(self.T):
            x = run(self.net, X, hook)
            if steps:
                outputs.append(x)
            elif total is None:
                total = np.array(x, copy=True)
            else:
                total += x  # the order of np.sum over the stacked steps
        if record == "spikes":
            for rec in records:
                rec["spikes"] = np.stack(rec["spikes"])
        elif record:
            for rec in records:
                del rec["spikes"]
        return (np.stack(outputs) if steps else total), (records if record else [])

    def _faithful_hook(self, B, records, record):
        """Hook for faithful mode: parallel layers fire the T steps of a (T·B, ...) batch."""
        T = self.T

        def hook(layer, x):
            if not isinstance(layer, ParallelNeurons):
                return None
            currents = x.reshape((T, B) + x.shape[1:])
            spikes = layer.spikes(currents)
            if record:
                rec = {"counts": spikes.sum(axis=0)}
                if record == "spikes":
                    rec["spikes"] = spikes
                records.append(rec)
            _, _, theta_post = layer._params(currents[0])
            return np.multiply(spikes, theta_post.astype(x.dtype)).reshape(x.shape)  # s·θ_post in x's dtype
        return hook

    def _run_faithful(self, X, steps, record):
        """The T·B batch through the network, in groups of samples (:data:`FAITHFUL_GROUP_IMAGES`)."""
        B, T = X.shape[0], self.T
        group = max(1, FAITHFUL_GROUP_IMAGES // T)
        outputs, groups = [], []
        for start in range(0, B, group):
            Xg = X[start:start + group]
            n = Xg.shape[0]
            x = np.broadcast_to(Xg, (T,) + Xg.shape).reshape((T * n,) + Xg.shape[1:])
            records = []
            out = run(self.net, x, self._faithful_hook(n, records, record))
            out = out.reshape((T, n) + out.shape[1:])
            outputs.append(out if steps else out.sum(axis=0))
            groups.append(records)
        if len(outputs) == 1:
            return outputs[0], groups[0]
        records = [{key: np.concatenate([g[k][key] for g in groups], axis=1 if key == "spikes" else 0)
                    for key in groups[0][k]} for k in range(len(groups[0]))]
        return np.concatenate(outputs, axis=1 if steps else 0), records

    def _collapsed_hook(self, records, record):
        """Hook for collapsed mode: affine layers add their offset T − 1 more times,
        parallel layers fire from the time sums (class Notes)."""
        def hook(layer, total):
            if isinstance(layer, ParallelNeurons):
                counts, out = layer._fire_from_total(total, counts_wanted=bool(record))
                if record:
                    records.append({"counts": counts})
                return out
            offset = _offset(layer)
            if offset is None:
                return None
            if isinstance(layer, Conv2d):  # added in the pass that adds the bias: the same floats
                return layer.forward_with_offset(total, np.float32(self.T - 1) * offset)
            out = layer.forward(total)  # a new array: the offset is added in place
            if isinstance(layer, Linear):  # its bias, one per output feature
                offset = offset.reshape((-1,) + (1,) * (out.ndim - 2))
            else:
                offset = _channel_view(layer, "offset", offset, out)
            out += np.float32(self.T - 1) * offset
            return out
        return hook

    def _run_collapsed(self, X, record):
        total = X * np.float32(self.T)  # Σ_t x_t of the direct-encoded input
        if not np.isfinite(total).all():
            raise ValueError(f"the summed input T·X overflows float32 at T={self.T}: not finite")
        records = []
        return run(self.net, total, self._collapsed_hook(records, record)), records

    # ----------------------------------------------------------------- results

    def _batches(self, X, batch_size):
        """Checked batches of X; X is checked once, as a whole."""
        batch_size = as_int("batch_size", batch_size)
        X = self._check_X(X)
        for start in range(0, X.shape[0], batch_size):
            yield X[start:start + batch_size]

    def predict(self, X, mode=None, batch_size=256):
        """Predicted class per sample: argmax of the logits summed over T, shape (B,).

        Records nothing and, in sequential mode, sums the logits step by step instead of
        stacking the T steps.
        """
        mode = self._check_mode(mode)
        preds = [self._forward(xb, mode, steps=False, record=None)[0].argmax(axis=-1)
                 for xb in self._batches(X, batch_size)]
        return preds[0] if len(preds) == 1 else np.concatenate(preds)

    def cumulative_predictions(self, X, batch_size=256):
        """Prediction after each step t from the logits summed up to t, shape (T, B).

        Row T−1 equals :meth:`predict`. Not available in collapsed mode, which has no
        steps; a parallel network uses its faithful mode here.
        """
        mode = "sequential" if self.kind == "if" else "faithful"
        return np.concatenate(
            [np.cumsum(self._forward(xb, mode, steps=True, record=None)[0], axis=0).argmax(axis=-1)
             for xb in self._batches(X, batch_size)],
            axis=1,
        )

    def predict_and_rates(self, X, mode=None, batch_size=256):
        """Predictions (B,) and every neuron layer's rate (B, ...) from one run.

        The rate of a layer is its time-mean output θ_post·N/T, the value that the
        ANN activation it replaces is compared with.
        """
        mode = self._check_mode(mode)
        preds, parts = [], [[] for _ in self.neuron_layers]
        for xb in self._batches(X, batch_size):
            out, records = self._forward(xb, mode, steps=False, record="counts")
            preds.append(out.argmax(axis=-1))
            for k, (layer, rec) in enumerate(zip(self.neuron_layers, records)):
                counts = rec["counts"]
                amp = _channel_view(layer, "theta_post", layer.theta_post, counts.astype(np.float32))
                step = amp / np.float32(self.T)
                parts[k].append(step * counts.astype(np.float32))  # (θ/T)·N, QCFS's op order
        return np.concatenate(preds), [np.concatenate(p) for p in parts]

    def layer_rates(self, X, mode=None, batch_size=256):
        """Time-mean output (θ_post·N/T) of every neuron layer, a list of (B, ...) arrays."""
        return self.predict_and_rates(X, mode, batch_size)[1]

    def spike_counts(self, X, mode=None, batch_size=256):
        """Total number of spikes per neuron layer over the batch, a list of ints."""
        mode = self._check_mode(mode)
        totals = np.zeros(len(self.neuron_layers), dtype=np.int64)
        for xb in self._batches(X, batch_size):
            _, records = self._forward(xb, mode, steps=False, record="counts")
            totals += [int(rec["counts"].sum()) for rec in records]
        return totals.tolist()

    def spike_trains(self, X, layer):
        """Boolean spike trains (T, B, ...) of neuron layer number ``layer`` (0-based)."""
        index = as_int("layer", layer, minimum=0)
        if index >= len(self.neuron_layers):
            raise ValueError(f"layer must be < {len(self.neuron_layers)} (the number of neuron layers), got {index}")
        _, records = self.run(X, record=True)
        return records[index]["spikes"]
