"""A refsnn network redone in torch, layer for layer with the same weights: the peer that
``refsnn bench --peers`` and ``--full-size`` time refsnn against.

The twin walks the same tree as :func:`refsnn.networks.containers.run`
(:class:`~refsnn.networks.containers.Sequential`, :class:`~refsnn.networks.containers.Residual`:
activation(main(x) + shortcut(x))) and turns every leaf into a torch function
``f(x, scale=1.0)``, ``scale`` being how many times an affine layer adds its offset:

* ``Conv2d``, ``Linear``: ``F.conv2d`` and ``F.linear``, the bias times ``scale``;
* ``BatchNorm``: in the ANN, ``F.batch_norm`` (with the batch's statistics in training
  mode, the running averages otherwise, as a torch user runs it); in the SNN's
  collapsed form the affine map a·x + scale·c of its evaluation mode, a = γ/√(σ² + ε),
  c = β − a·μ (:meth:`~refsnn.networks.normalization.BatchNorm.scale_and_shift`);
* ``AvgPool2d``, ``MaxPool2d``, ``Flatten``: ``F.avg_pool2d``, ``F.max_pool2d``,
  ``torch.flatten``;
* the neuron layers: QCFS (:class:`_QCFS`) in the ANN; in the SNN the closed-form count
  (collapsed), the rank-1 parallel neuron (faithful, :func:`torch_rank1`) or SpikingJelly
  IF nodes (sequential).

:func:`torch_ann` is the QCFS ANN, :class:`TorchSNN` a converted SNN. BatchNorm and a
convolution sum in another order than refsnn's, so on a general network the logits
agree to float rounding (and the predictions, which the benches report as agreement);
on a network whose values are exact in float32 (dyadic weights) they agree to the bit.
"""

import numpy as np

from ...networks.activations import QCFS
from ...networks.containers import Residual, Sequential
from ...networks.layers import AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d
from ...networks.normalization import BatchNorm
from ...networks.spiking import IFNeurons, ParallelNeurons

__all__ = ["TorchSNN", "torch_ann", "torch_rank1"]


def torch_rank1(torch, currents, theta, psi=None):
    """The rank-1 parallel neuron in plain torch: s_x = [(Σ + ψ)/(T − x + 1) >= θ], paper order.

    Σ is summed one step at a time, the order of refsnn's twin ``hadamard_reference``
    (``currents.sum(0)`` adds in another order: at N = 2²⁰ a few neurons then sit on the
    other side of a threshold), so the spikes equal ``parallel_neuron``'s bit for bit.
    """
    T = currents.shape[0]
    psi = theta / 2 if psi is None else psi
    total = torch.zeros_like(currents[0])
    for step in currents:
        total = total + step
    denominators = torch.arange(T, 0, -1, dtype=currents.dtype).reshape((T,) + (1,) * (currents.dim() - 1))
    return (total + psi) / denominators >= theta


def _tensor(torch, array, trainable):
    """A torch copy of a refsnn array: a Parameter when ``trainable``."""
    t = torch.from_numpy(np.array(array, copy=True))
    return torch.nn.Parameter(t) if trainable else t


def _channels(t, x):
    """A (C,) tensor shaped to broadcast along axis 1 of ``x``."""
    return t.reshape((-1,) + (1,) * (x.dim() - 2))


def _affine(torch, layer, params, trainable, collapsed):
    """f(x, scale) of an affine or pooling leaf, or None if ``layer`` is none of them."""
    F = torch.nn.functional
    if isinstance(layer, (Conv2d, Linear)):
        w, b = _tensor(torch, layer.weight, trainable), _tensor(torch, layer.bias, trainable)
        params += [w, b] if trainable else []
        scaled = lambda scale: b if scale == 1.0 else b * scale  # noqa: E731
        if isinstance(layer, Conv2d):
            return lambda x, scale=1.0: F.conv2d(x, w, scaled(scale), stride=layer.stride, padding=layer.padding)
        return lambda x, scale=1.0: F.linear(x, w, scaled(scale))
    if isinstance(layer, BatchNorm):
        return _batchnorm(torch, layer, params, trainable, collapsed)
    if isinstance(layer, AvgPool2d):
        return lambda x, scale=1.0: F.avg_pool2d(x, layer.kernel_size)
    if isinstance(layer, MaxPool2d):
        return lambda x, scale=1.0: F.max_pool2d(x, layer.kernel_size, layer.stride, layer.padding)
    if isinstance(layer, Flatten):
        return lambda x, scale=1.0: torch.flatten(x, 1)
    return None


def _batchnorm(torch, layer, params, trainable, collapsed):
    """BatchNorm in torch: ``F.batch_norm`` in the layer's mode, or, in collapsed form,
    a·x + scale·c (module docstring)."""
    if collapsed:
        a, c = (torch.from_numpy(v) for v in layer.scale_and_shift())
        return lambda x, scale=1.0: x * _channels(a, x) + _channels(c, x) * scale
    w, b = _tensor(torch, layer.weight, trainable), _tensor(torch, layer.bias, trainable)
    params += [w, b] if trainable else []
    mean, var = _tensor(torch, layer.running_mean, False), _tensor(torch, layer.running_var, False)
    training = layer.training
    return lambda x, scale=1.0: torch.nn.functional.batch_norm(x, mean, var, w, b, training, layer.momentum,
                                                               layer.eps)


def _tree(torch, layer, neuron, params=None, trainable=False, collapsed=False):
    """The torch function ``f(x, scale)`` of a refsnn tree; ``neuron(leaf)`` gives the
    function of a neuron or activation leaf (or None, then the leaf is not supported)."""
    params = [] if params is None else params
    if isinstance(layer, Sequential):
        steps = [_tree(torch, child, neuron, params, trainable, collapsed) for child in layer.layers]

        def sequence(x, scale=1.0):
            for step in steps:
                x = step(x, scale)
            return x
        return sequence
    if isinstance(layer, Residual):
        main = _tree(torch, layer.main, neuron, params, trainable, collapsed)
        shortcut = None if layer.shortcut is None else _tree(torch, layer.shortcut, neuron, params, trainable,
                                                             collapsed)
        act = None if layer.activation is None else _tree(torch, layer.activation, neuron, params, trainable,
                                                          collapsed)

        def block(x, scale=1.0):
            total = main(x, scale) + (x if shortcut is None else shortcut(x, scale))
            return total if act is None else act(total, scale)
        return block
    fn = _affine(torch, layer, params, trainable, collapsed) or neuron(layer)
    if fn is None:
        raise ValueError(f"no torch version of {layer!r}")
    return fn


def _scalar(layer, name):
    value = np.asarray(getattr(layer, name), dtype=np.float64).reshape(-1)
    if value.size != 1:
        raise ValueError(f"the torch peers take one {name} per layer, {layer!r} has {value.size}")
    return float(value[0])


class TorchSNN:
    """A converted refsnn SNN (:class:`~refsnn.networks.spiking.SpikingNetwork`) redone in
    torch: its affine layers with the same weights, its neuron layers as the rank-1
    parallel neuron (:meth:`faithful`), its closed-form count (:meth:`collapsed`) or
    SpikingJelly IF nodes (:meth:`sequential`). Single-threshold neuron layers, no
    analog prefix."""

    def __init__(self, torch, snn):
        if snn.analog_prefix:
            raise ValueError("the torch peers take SNNs without an analog prefix")
        self.torch, self.T, self._nodes, self._net = torch, snn.T, [], snn.net
        for kind in ("collapsed", "faithful"):
            setattr(self, f"_{kind}", self._build(kind))
        self._sequential = None  # built on the first call: it needs SpikingJelly, the others don't

    def _build(self, kind):
        neuron = lambda layer: self._neuron(layer, kind)  # noqa: E731
        return _tree(self.torch, self._net, neuron, collapsed=kind == "collapsed")

    def _neuron(self, layer, kind):
        if not isinstance(layer, (ParallelNeurons, IFNeurons)):
            return None
        if isinstance(layer, IFNeurons) and _scalar(layer, "psi_da") != 0:
            raise ValueError("the SpikingJelly peer has no input shift ψ_DA")
        p = {name: _scalar(layer, name) for name in ("theta", "psi", "theta_post") if hasattr(layer, name)}
        torch, T = self.torch, self.T
        if kind == "collapsed":
            return lambda total, scale=1.0: torch.clamp(torch.floor((total + p["psi"]) / p["theta"]), 0, T) \
                * p["theta_post"]
        if kind == "faithful":
            def fire(h, scale=1.0):
                currents = h.reshape((T, h.shape[0] // T) + tuple(h.shape[1:]))
                spikes = torch_rank1(torch, currents, p["theta"], p["psi"])
                return (spikes.to(h.dtype) * p["theta_post"]).reshape(h.shape)
            return fire
        return self._if_node(p)

    def _if_node(self, p):
        """A multi-step SpikingJelly IF node, started from v₀ = θ/2 on every call of
        :meth:`sequential` (which resets it)."""
        from spikingjelly.activation_based import neuron

        node = neuron.IFNode(v_threshold=p["theta"], v_reset=None, step_mode="m")
        state = {"node": node, "fresh": True}
        self._nodes.append(state)
        T = self.T

        def fire(h, scale=1.0):
            steps = h.reshape((T, h.shape[0] // T) + tuple(h.shape[1:]))
            if state["fresh"]:
                node.v = self.torch.full(tuple(steps.shape[1:]), p["theta"] / 2)
                state["fresh"] = False
            return (node(steps) * p["theta_post"]).reshape(h.shape)
        return fire

    def _time_major(self, x):
        return x.repeat((self.T,) + (1,) * (x.dim() - 1))  # (T·B, ...)

    def _summed(self, h, B):
        return h.reshape((self.T, B) + tuple(h.shape[1:])).sum(0)

    def collapsed(self, x):
        """One pass over the time sums T·x; every affine layer adds its offset T times."""
        return self._collapsed(x * self.T, self.T)

    def faithful(self, x):
        """The T·B batch through every layer, the rank-1 neuron on each layer's T steps."""
        return self._summed(self._faithful(self._time_major(x)), x.shape[0])

    def sequential(self, x):
        """Multi-step SpikingJelly IF nodes between the torch layers (each layer on the
        T·B steps at once, each node integrating its T steps in order). The nodes are
        reset on every call, as a SpikingJelly user would."""
        from spikingjelly.activation_based import functional

        if self._sequential is None:
            self._sequential = self._build("sequential")
        for state in self._nodes:
            functional.reset_net(state["node"])
            state["fresh"] = True
        return self._summed(self._sequential(self._time_major(x)), x.shape[0])


class _QCFS:
    """QCFS in torch: for training, with the straight-through floor and a learnable
    threshold, as the authors train it; for inference, the plain forward pass
    clip(⌊(L·z + θ/2)/θ⌋, 0, L)·θ/L, the operations of refsnn's QCFS, on a plain tensor."""

    def __init__(self, torch, layer, trainable=True):
        self.torch, self.levels, self.trainable = torch, layer.levels, trainable
        theta = torch.tensor(float(layer.theta[0]), dtype=torch.float32)
        self.theta = torch.nn.Parameter(theta) if trainable else theta

    def __call__(self, z, scale=1.0):
        L, theta = self.levels, self.theta
        if not self.trainable:
            return self.torch.clamp(self.torch.floor((z * L + theta / 2) / theta), 0, L) * (theta / L)
        u = z * L / theta + 0.5
        floored = u + (self.torch.floor(u) - u).detach()  # straight-through floor
        return self.torch.clamp(floored, 0, L) * (theta / L)


def torch_ann(torch, net, trainable=True):
    """The QCFS ANN as a torch forward function and its trainable parameters.

    BatchNorm runs in the mode each refsnn BatchNorm is in (training: batch statistics,
    updating torch copies of the running averages). With ``trainable=False`` (inference,
    as a torch user would run it) the weights are plain tensors, so torch records no
    autograd graph, and the parameter list is empty.
    """
    params = []

    def neuron(layer):
        if not isinstance(layer, QCFS):
            return None
        q = _QCFS(torch, layer, trainable)
        params.extend([q.theta] if trainable else [])
        return q

    tree = _tree(torch, net, neuron, params, trainable)
    return (lambda x: tree(x)), params
