"""Converted spiking networks: parallel conversion neurons and the IF baseline (spec §6).

A :class:`SpikingNetwork` is a list of time-linear layers from :mod:`refsnn.networks.layers`
(``Conv2d``, ``Linear``, ``AvgPool2d``, ``Flatten``) and neuron layers. The input is
direct-encoded: the analog image is repeated at every one of the T steps. The output at
step t is the last layer's logits for that step; the prediction is the argmax of their
sum over the T steps, as in the authors' evaluation (spec §9.8).

Neuron layers
    :class:`ParallelNeurons` fire all T steps at once from the total input current (spec
    §3) with dual thresholds (spec §4.4): θ_pre decides firing, and each spike carries the
    amplitude θ_post = θ + φ_DA. A DA-QCFS input shift ψ_DA is merged into the offset as
    ψ = θ/2 + T·ψ_DA. :class:`IFNeurons` integrate one step at a time with soft reset
    (spec §2.2) and are the sequential baseline.

Three ways to run a network (all give the same predictions, up to float ties):

``"sequential"`` (IF networks)
    T full forward passes, one per step; every IF layer keeps its membrane between steps.
``"faithful"`` (parallel networks)
    One pass over a batch of T·B inputs, time-major, as in the authors' code: every
    linear layer runs on all T copies and every neuron layer fires all T steps at once.
``"collapsed"`` (parallel networks)
    The prior control matrix only needs the time sum, and the linear layers commute with
    it: Σ_t (W x_t + b) = W Σ_t x_t + T·b. So one pass over B carries the summed
    outputs θ_post·N from layer to layer, and its cost does not grow with T. Spike trains
    are produced only when asked for, from the counts.
"""

import numpy as np

from ..neurons.parallel import ORDERS, _collapsed_kernel, first_spike_step_from_total, parallel_neuron
from .._checks import as_int, check_choice

__all__ = ["ParallelNeurons", "IFNeurons", "SpikingNetwork"]


def _channelwise(param, x):
    """Shape a (C,) parameter for per-step input x of shape (B, C, H, W) or (B, C)."""
    return param.reshape(-1, 1, 1) if x.ndim == 4 else param


def _as_channels(name, value, positive=False):
    arr = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if arr.ndim != 1 or not np.isfinite(arr).all():
        raise ValueError(f"{name} must be a finite scalar or 1-D array of shape (C,), got {value!r}")
    if positive and not (arr > 0).all():
        raise ValueError(f"{name} must be > 0 in every channel, got a minimum of {arr.min()}")
    return arr


class ParallelNeurons:
    """A layer of parallel conversion neurons with dual thresholds (spec §3, §4.4).

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
    """

    def __init__(self, theta, T, psi=None, theta_post=None, order="paper"):
        self.theta = _as_channels("theta", theta, positive=True)
        self.T = as_int("T", T)
        self.psi = self.theta / 2 if psi is None else _as_channels("psi", psi)
        self.theta_post = self.theta.copy() if theta_post is None else _as_channels("theta_post", theta_post)
        self.order = check_choice("order", order, ORDERS)

    def __repr__(self):
        return f"ParallelNeurons(C={self.theta.size}, T={self.T}, order={self.order!r})"

    def _params(self, x):
        dtype = x.dtype
        return tuple(_channelwise(p.astype(dtype), x) for p in (self.theta, self.psi, self.theta_post))

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

    def _fire_from_total(self, total):
        """Lean :meth:`counts_from_total` for the network's collapsed mode: the counts and
        the summed outputs θ_post·N of a finite float array (B, C, ...) or (B, C).

        The network has already checked its input, so this skips the public checks;
        anything unusual (not float32, parameters that do not match the channels, not
        finite) takes the checked path instead, which raises the documented errors.
        """
        sizes = {p.size for p in (self.theta, self.psi, self.theta_post)}
        if (total.dtype != np.float32 or total.ndim < 2 or not sizes <= {1, total.shape[1]}
                or not np.isfinite(total).all()):
            counts = self.counts_from_total(total)
            _, _, theta_post = self._params(total)
            return counts, (counts * theta_post).astype(total.dtype)
        flat = np.ascontiguousarray(total).reshape(total.shape[0], total.shape[1], -1)
        counts = np.empty(flat.shape, dtype=np.int64)
        out = np.empty_like(flat)
        _collapsed_kernel(flat, self.theta, self.psi, self.theta_post, np.float32(self.T), counts, out)
        return counts.reshape(total.shape), out.reshape(total.shape)

    def train_from_counts(self, counts):
        """The spike train (T, B, ...) that a given count array produces in this order."""
        steps = np.arange(1, self.T + 1).reshape((self.T,) + (1,) * counts.ndim)
        return steps > self.T - counts if self.order == "paper" else steps <= counts


class IFNeurons:
    """A layer of IF neurons with soft reset, run one step at a time (spec §2.2).

    m_t = v_{t−1} + I_t + b, s_t = H(m_t − θ), v_t = m_t − θ s_t, v_0 = θ/2, and each spike
    carries ``amplitude`` (θ by default). ``bias`` b is a per-step input shift (a
    DA-QCFS ψ_DA); 0 by default.
    """

    def __init__(self, theta, bias=0.0, amplitude=None):
        self.theta = _as_channels("theta", theta, positive=True)
        self.bias = _as_channels("bias", bias)
        self.amplitude = self.theta.copy() if amplitude is None else _as_channels("amplitude", amplitude)
        self.v = None

    def __repr__(self):
        return f"IFNeurons(C={self.theta.size})"

    def reset(self):
        """Forget the membrane potential; the next step starts from v0 = θ/2."""
        self.v = None

    def step(self, current):
        """Advance one step. ``current`` (B, ...) → boolean spikes (B, ...)."""
        theta = _channelwise(self.theta.astype(current.dtype), current)
        bias = _channelwise(self.bias.astype(current.dtype), current)
        if self.v is None:
            self.v = np.broadcast_to(theta / 2, current.shape).copy()
        self.v += current + bias
        fired = self.v >= theta
        self.v -= fired * theta
        return fired

    def forward_step(self, current):
        """Weighted spikes amplitude·s_t for one step."""
        return self.step(current) * _channelwise(self.amplitude.astype(current.dtype), current)


class SpikingNetwork:
    """A converted SNN: time-linear layers interleaved with neuron layers.

    Parameters
    ----------
    layers : list
        ``Conv2d``, ``Linear``, ``AvgPool2d``, ``Flatten`` and :class:`ParallelNeurons`
        or :class:`IFNeurons` (not both).
    T : int
        Number of time steps.

    Attributes
    ----------
    kind : {"parallel", "if"}
    """

    def __init__(self, layers, T):
        self.layers = list(layers)
        self.T = as_int("T", T)
        kinds = {type(layer) for layer in self.layers} & {ParallelNeurons, IFNeurons}
        if len(kinds) != 1:
            raise ValueError("a SpikingNetwork needs neuron layers of exactly one kind (parallel or IF)")
        self.kind = "parallel" if kinds == {ParallelNeurons} else "if"
        for layer in self.layers:
            if isinstance(layer, ParallelNeurons) and layer.T != self.T:
                raise ValueError(f"{layer!r} has T={layer.T}, but the network has T={self.T}")

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"SpikingNetwork(T={self.T}, kind={self.kind!r}, [{inner}])"

    @property
    def neuron_layers(self):
        return [layer for layer in self.layers if isinstance(layer, (ParallelNeurons, IFNeurons))]

    @property
    def default_mode(self):
        return "sequential" if self.kind == "if" else "faithful"

    # ----------------------------------------------------------------- running

    def _check_mode(self, mode):
        mode = self.default_mode if mode is None else mode
        allowed = ("sequential",) if self.kind == "if" else ("faithful", "collapsed")
        return check_choice("mode", mode, allowed)

    def run(self, X, mode=None, record=False):
        """Run the network on a batch.

        Parameters
        ----------
        X : numpy.ndarray, shape (B, ...)
            Analog input, repeated at every step (direct encoding).
        mode : {"sequential", "faithful", "collapsed"}, optional
            How to run it (module docstring); the network's default if omitted.
        record : bool
            Also return, per neuron layer, its spike counts (B, ...) and, except in
            collapsed mode, its spike trains (T, B, ...).

        Returns
        -------
        outputs : numpy.ndarray
            Logits per step, shape (T, B, K); in collapsed mode the logits summed over
            time, shape (B, K).
        records : list of dict, only if ``record``
            ``{"counts": ..., "spikes": ...}`` per neuron layer.
        """
        mode = self._check_mode(mode)
        X = np.asarray(X, dtype=np.float32)
        runner = {"sequential": self._run_sequential, "faithful": self._run_faithful,
                  "collapsed": self._run_collapsed}[mode]
        outputs, records = runner(X)
        return (outputs, records) if record else outputs

    def _run_sequential(self, X):
        for layer in self.neuron_layers:
            layer.reset()
        steps, trains = [], [[] for _ in self.neuron_layers]
        for _ in range(self.T):
            x, k = X, 0
            for layer in self.layers:
                if isinstance(layer, IFNeurons):
                    fired = layer.step(x)
                    trains[k].append(fired)
                    x = fired * _channelwise(layer.amplitude.astype(x.dtype), x)
                    k += 1
                else:
                    x = layer.forward(x)
            steps.append(x)
        records = [{"spikes": np.stack(s), "counts": np.sum(s, axis=0)} for s in trains]
        return np.stack(steps), records

    def _run_faithful(self, X):
        B, T = X.shape[0], self.T
        x = np.broadcast_to(X, (T,) + X.shape).reshape((T * B,) + X.shape[1:])
        records = []
        for layer in self.layers:
            if isinstance(layer, ParallelNeurons):
                currents = x.reshape((T, B) + x.shape[1:])
                spikes = layer.spikes(currents)
                records.append({"spikes": spikes, "counts": spikes.sum(axis=0)})
                theta_post = _channelwise(layer.theta_post.astype(x.dtype), currents[0])
                x = (spikes * theta_post).reshape(x.shape)
            else:
                x = layer.forward(x)
        return x.reshape((T, B) + x.shape[1:]), records

    def _run_collapsed(self, X):
        T = self.T
        total = X * np.float32(T)  # Σ_t x_t of the direct-encoded input
        records = []
        for layer in self.layers:
            if isinstance(layer, ParallelNeurons):
                counts, total = layer._fire_from_total(total)
                records.append({"counts": counts})
            else:
                total = layer.forward(total)
                bias = getattr(layer, "bias", None)
                if bias is not None:  # Σ_t (W x_t + b) = W Σ_t x_t + T·b
                    total = total + np.float32(T - 1) * _channelwise(bias.astype(total.dtype), total)
        return total, records

    # ----------------------------------------------------------------- results

    def _batches(self, X, batch_size):
        X = np.asarray(X)
        if X.ndim < 2 or X.shape[0] == 0:
            raise ValueError(f"X must be a non-empty batch of shape (B, ...), got shape {X.shape}")
        for start in range(0, X.shape[0], batch_size):
            yield X[start:start + batch_size]

    def predict(self, X, mode=None, batch_size=256):
        """Predicted class per sample: argmax of the logits summed over T, shape (B,)."""
        mode = self._check_mode(mode)
        preds = []
        for xb in self._batches(X, batch_size):
            out = self.run(xb, mode)
            preds.append((out if mode == "collapsed" else out.sum(axis=0)).argmax(axis=-1))
        return np.concatenate(preds)

    def cumulative_predictions(self, X, batch_size=256):
        """Prediction after each step t from the logits summed up to t, shape (T, B).

        Row T−1 equals :meth:`predict`. Not available in collapsed mode, which has no
        steps; a parallel network uses its faithful mode here.
        """
        mode = "sequential" if self.kind == "if" else "faithful"
        return np.concatenate(
            [np.cumsum(self.run(xb, mode), axis=0).argmax(axis=-1) for xb in self._batches(X, batch_size)],
            axis=1,
        )

    def predict_and_rates(self, X, mode=None, batch_size=256):
        """Predictions (B,) and every neuron layer's rate (B, ...) from one run.

        The rate of a layer is its time-mean output amplitude·N/T, the value that the
        ANN activation it replaces is compared with.
        """
        mode = self._check_mode(mode)
        preds, parts = [], [[] for _ in self.neuron_layers]
        for xb in self._batches(X, batch_size):
            out, records = self.run(xb, mode, record=True)
            preds.append((out if mode == "collapsed" else out.sum(axis=0)).argmax(axis=-1))
            for k, (layer, rec) in enumerate(zip(self.neuron_layers, records)):
                amp = layer.theta_post if isinstance(layer, ParallelNeurons) else layer.amplitude
                counts = rec["counts"]
                step = _channelwise(amp.astype(np.float32), counts) / np.float32(self.T)
                parts[k].append(step * counts.astype(np.float32))  # (θ/T)·N, QCFS's op order
        return np.concatenate(preds), [np.concatenate(p) for p in parts]

    def layer_rates(self, X, mode=None, batch_size=256):
        """Time-mean output (amplitude·N/T) of every neuron layer, a list of (B, ...) arrays."""
        return self.predict_and_rates(X, mode, batch_size)[1]

    def spike_counts(self, X, mode=None, batch_size=256):
        """Total number of spikes per neuron layer over the batch, a list of ints."""
        mode = self._check_mode(mode)
        totals = np.zeros(len(self.neuron_layers), dtype=np.int64)
        for xb in self._batches(X, batch_size):
            _, records = self.run(xb, mode, record=True)
            totals += [int(rec["counts"].sum()) for rec in records]
        return totals.tolist()

    def spike_trains(self, X, layer):
        """Boolean spike trains (T, B, ...) of neuron layer number ``layer`` (0-based)."""
        index = as_int("layer", layer, minimum=0)
        if index >= len(self.neuron_layers):
            raise ValueError(f"layer must be < {len(self.neuron_layers)} (the number of neuron layers), got {index}")
        X = np.asarray(X)
        _, records = self.run(X, record=True)
        return records[index]["spikes"]
