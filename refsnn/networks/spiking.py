"""Converted spiking networks: a network of time-linear layers and neuron layers.

A :class:`SpikingNetwork` is a list of time-linear layers from :mod:`refsnn.networks.layers`
(``Conv2d``, ``Linear``, ``AvgPool2d``, ``Flatten``) and BatchNorm, and neuron layers
(:mod:`refsnn.networks.neuron_layers`: :class:`ParallelNeurons` or :class:`IFNeurons`).
The input is direct-encoded: the analog image is repeated at every one of the T steps.
The output at step t is the last layer's logits for that step; the prediction is the
argmax of their sum over the T steps, as in the authors' evaluation (see
``tutorials/00_notation.md``, "Evaluation and timing in the released code").

Three ways to run a network (all give the same predictions, up to float ties;
:mod:`refsnn.networks.modes`):

``"sequential"`` (IF networks)
    T full forward passes, one per step; every IF layer keeps its membrane between steps.
``"faithful"`` (parallel networks)
    One pass over a batch of T·B inputs, time-major, as in the authors' code, in groups
    of about :data:`FAITHFUL_GROUP_IMAGES` // T samples.
``"collapsed"`` (parallel networks)
    One pass over B carrying the time sums Σ_t x_t, whose cost does not grow with T
    (``tutorials/00_notation.md``, "Collapsed inference").

Only time-linear layers (:data:`TIME_LINEAR`) may sit between neuron layers: an
activation or max pooling does not commute with the sum over time, so faithful and
collapsed mode would disagree (:mod:`refsnn.networks.layers`). :class:`SpikingNetwork`
refuses any other layer, except in its analog prefix: the first top-level layers, before
any neuron layer, which run once on the analog input (:data:`ANALOG`; the class's Notes
say why that is exact under direct encoding).

Limits
    Faithful mode holds T copies of a group's layer inputs and outputs (and per-step
    logits and spike trains of the whole batch when :meth:`SpikingNetwork.run` returns
    them), and sequential mode's :meth:`SpikingNetwork.run` returns T·B logits (and T·B
    spike trains if recorded). A run whose estimate of these T-sized arrays exceeds
    :data:`MAX_BYTES` (2 GiB, change it if you have the memory) is refused before
    anything is allocated; the collapsed mode never holds T copies. No layer keeps
    anything for a backward pass (:class:`~refsnn.networks.base.no_backward`): a run
    holds nothing once it returns. Collapsed mode computes the time sums T·x in
    float32 and is refused at T >= :data:`COLLAPSED_MAX_T` = 2²², where the count
    estimate of the neuron kernels stops being exact (``HADAMARD_MAX_T`` in
    :mod:`refsnn.neurons.parallel_kernels`) and, from 2²⁴ on, T itself is no longer a
    float32.

Finiteness
    Every run refuses input X with NaN or infinity. A neuron layer that receives NaN or
    infinity from finite input, or logits that are not finite, raise a
    :class:`~refsnn.networks.base.NonFiniteError` (a ValueError) that names the first
    layer whose output is not finite (weights that hold NaN or infinity, or an
    overflow), so that no mode ever predicts from NaNs.
"""

import numpy as np

from .._checks import as_int, check_choice, check_samples
from . import fast_snn, modes, sample_runs
from .activations import ACTIVATIONS
from .base import NonFiniteError, no_backward
from .containers import Sequential, iter_layers, leaves
from .fast_snn import COLLAPSED_MAX_T
from .layers import AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d
from .neuron_layers import IFNeurons, ParallelNeurons, channel_view
from .normalization import BatchNorm

__all__ = ["ParallelNeurons", "IFNeurons", "SpikingNetwork", "TIME_LINEAR", "ANALOG", "MAX_BYTES",
           "COLLAPSED_MAX_T", "FAITHFUL_GROUP_IMAGES", "first_neuron_layer"]

#: Largest estimated memory, in bytes, of the arrays that grow with T in one run (the
#: T·B copies of faithful mode, the stacked steps and spike trains of sequential mode).
#: A run above it is refused with a ValueError; a module-level setting, change it freely.
MAX_BYTES = 2 * 2**30
#: Faithful mode runs the samples of a batch in groups of about this many images, T
#: copies of each (T·group ≈ FAITHFUL_GROUP_IMAGES), so that every layer's input and
#: output stay in the CPU's cache; the samples are independent, so the grouping changes a
#: result at most by float rounding (of a product over fewer samples). A module-level
#: setting, like :data:`MAX_BYTES`.
FAITHFUL_GROUP_IMAGES = 256
#: The time-linear layers: f(Σ_t x_t) = Σ_t f(x_t) up to a constant, so they may sit
#: between neuron layers (BatchNorm in evaluation mode).
TIME_LINEAR = (Conv2d, Linear, AvgPool2d, Flatten, BatchNorm)
#: The layers of an analog prefix: any function of the analog input (class Notes), so
#: the time-linear layers, max pooling and the ANN activations (ReLU stays ReLU there).
ANALOG = TIME_LINEAR + (MaxPool2d,) + ACTIVATIONS


class SpikingNetwork:
    """A converted SNN: a network of time-linear layers and neuron layers.

    Parameters
    ----------
    net : Sequential or list
        The network: a :class:`~refsnn.networks.containers.Sequential` (containers such as
        :class:`~refsnn.networks.containers.Residual` may be nested inside it) or a list
        of layers. Its leaves are time-linear layers (``Conv2d``, ``Linear``,
        ``AvgPool2d``, ``Flatten``, ``BatchNorm`` in evaluation mode) and neuron layers,
        :class:`ParallelNeurons` or :class:`IFNeurons` (not both). Any other layer (an
        activation, max pooling) is a TypeError: it does not commute with the sum over time.
        A BatchNorm in training mode is a ValueError, at construction and on every run
        (``set_training(net, True)`` may come later).
    T : int
        Number of time steps.
    analog_prefix : int, default 0
        How many top-level layers of ``net`` form the analog prefix: layers of
        :data:`ANALOG` (max pooling and activations allowed) that run once per batch,
        outside the time dimension, before the first neuron layer (Notes). 0: none.

    Attributes
    ----------
    net : Sequential
        The network.
    layers : list
        Its top-level layers (``net.layers``).
    prefix, body : Sequential
        ``net``'s first ``analog_prefix`` top-level layers and the rest (``net`` itself
        when there is no prefix); every mode runs the body on the prefix's output.
    kind : {"parallel", "if"}

    Notes
    -----
    **Why every mode runs residual networks.** Between neuron layers every operation is
    affine, and a residual block adds two such paths: Σ_t (m_t + s_t) = Σ_t m_t + Σ_t s_t,
    so the time sum of a block is the sum of its paths' time sums, and the neuron layer
    after it receives exactly the total current Σ_t I_t that the faithful mode feeds it
    step by step (:mod:`refsnn.networks.modes`).

    **The analog prefix.** Under direct encoding the input is the same analog image x at
    every step, so any function g of it, max pooling and ReLU included, gives the same
    g(x) at every step: running g once and repeating its output is the same as running
    it at every step, and the time sum of the constant g(x) is T·g(x), what collapsed
    mode feeds on. So the layers before the first neuron layer may be any layers; the
    authors' conversion leaves the stem of their torchvision ResNets (conv → BN → ReLU →
    MaxPool2d(3, 2, 1)) analog in this way. After the first neuron layer the inputs are
    spikes that change from step to step, and only time-linear layers are allowed.
    """

    def __init__(self, net, T, analog_prefix=0):
        if isinstance(net, (list, tuple)):
            net = Sequential(*net)
        if not isinstance(net, Sequential):
            raise TypeError(f"net must be a Sequential or a list of layers, got {type(net).__name__}")
        self.net = net
        self.T = as_int("T", T)
        k = self.analog_prefix = as_int("analog_prefix", analog_prefix, minimum=0)
        if k and k >= len(net.layers):
            raise ValueError(f"analog_prefix={k} leaves no layer to spike: net has {len(net.layers)} top-level layers")
        self.prefix, self.body = Sequential(*net.layers[:k]), (net if k == 0 else Sequential(*net.layers[k:]))
        for path, layer in iter_layers(net):
            analog = int(path.split(".")[0]) < k
            if analog and not isinstance(layer, ANALOG):
                raise TypeError(f"layer {path} ({layer!r}) cannot be part of the analog prefix, which holds "
                                "time-linear layers, max pooling and activations, but no neuron layer")
            if not analog and not isinstance(layer, TIME_LINEAR + (ParallelNeurons, IFNeurons)):
                raise TypeError(
                    f"layer {path} ({layer!r}, of type {type(layer).__name__}) cannot be part of a "
                    "SpikingNetwork: only the time-linear layers Conv2d, Linear, AvgPool2d, Flatten and "
                    "BatchNorm and neuron layers (ParallelNeurons or IFNeurons) are allowed, because "
                    "activations and max pooling do not commute with the sum over time (they are "
                    "allowed only in the analog prefix, before the first neuron layer)"
                )
            if isinstance(layer, BatchNorm) and layer.training:  # checked on every run too (modes)
                raise modes.training_error(self, layer)
        kinds = {type(layer) for layer in self.neuron_layers}
        if len(kinds) != 1:
            raise ValueError("a SpikingNetwork needs neuron layers of exactly one kind (parallel or IF)")
        self.kind = "parallel" if kinds == {ParallelNeurons} else "if"
        for layer in self.neuron_layers:
            if isinstance(layer, ParallelNeurons) and layer.T != self.T:
                raise ValueError(f"{layer!r} has T={layer.T}, but the network has T={self.T}")

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        prefix = f", analog_prefix={self.analog_prefix}" if self.analog_prefix else ""
        return f"SpikingNetwork(T={self.T}, kind={self.kind!r}{prefix}, [{inner}])"

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

    def _check_memory(self, X, mode, steps, record):
        """Refuse a run whose T-sized arrays would exceed :data:`MAX_BYTES` (estimate).

        The estimate comes from a dry run of one zero sample (:func:`refsnn.networks.modes.sample_sizes`),
        which also raises every shape or channel error up front. Faithful mode holds, at
        once, a few arrays of T copies of one group of samples (one layer's input and
        output, :func:`refsnn.networks.modes.arrays_alive`); both modes hold the
        per-step logits (float32) and spike trains (one byte a spike) of the whole batch
        if asked for, twice while the groups or steps are stacked into one array.
        """
        if mode == "collapsed" or (mode == "sequential" and not steps and record != "spikes"):
            return
        B, T = X.shape[0], self.T
        sizes, neuron_sizes, alive = fast_snn.kept_sample_sizes(self, X, modes.sample_sizes)
        results = 2 * B * (sizes[-1] * 4 * steps + sum(neuron_sizes) * (record == "spikes"))  # per step
        if mode == "faithful":  # one group of samples at a time (modes.faithful)
            group = min(B, max(1, FAITHFUL_GROUP_IMAGES // T))
            need = T * (alive * group * max(sizes) * 4 + results)
            what = (f"T={T} copies of {group} samples through a layer of {max(sizes)} values, float32"
                    + (", and the per-step results of the whole batch" if results else ""))
            advice = 'use mode="collapsed" (same predictions, memory independent of T) or a smaller batch'
        else:
            need = T * results
            what = f"T={T} steps of a batch of {B}: logits per step and, if recorded, spike trains"
            advice = "use predict(), which sums the steps as it goes, or a smaller batch"
        if need > MAX_BYTES:
            raise ValueError(
                f"mode={mode!r} would hold about {need / 2**30:.2f} GiB ({what}), more than "
                f"refsnn.networks.spiking.MAX_BYTES = {MAX_BYTES / 2**30:.2f} GiB; {advice}, "
                "or raise MAX_BYTES"
            )

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
            mode at T >= :data:`COLLAPSED_MAX_T`; a BatchNorm in training mode (naming
            it, before it runs); or NaN or infinity produced inside the
            network (a :class:`~refsnn.networks.base.NonFiniteError` whose message names
            the first such layer).
        """
        mode = self._check_mode(mode)
        X = check_samples(X, dtype=np.float32)
        outputs, records = self._forward(X, mode, steps=True, record="spikes" if record else None)
        return (outputs, records) if record else outputs

    def _forward(self, X, mode, steps, record):
        """Run a checked batch. ``steps``: per-step outputs (T, B, K), else their sum
        (B, K); ``record``: None, ``"counts"`` or ``"spikes"`` (trains and counts).

        No backward pass follows, so the layers keep nothing for one
        (:class:`~refsnn.networks.base.no_backward`): in faithful mode that would be T
        copies of every layer's input, held after the run. With more than one thread,
        faithful and collapsed mode run a run of samples on each
        (:mod:`~refsnn.networks.sample_runs`; equal to one thread to float rounding).
        """
        with no_backward():
            X = self._analog(X)
            self._check_memory(X, mode, steps, record)
            try:
                if mode != "sequential" and len(sample_runs.runs(len(X))) > 1:  # a run of samples per thread
                    parts = sample_runs.on_runs(lambda lo, hi: self._in_mode(X[lo:hi], mode, steps, record), len(X))
                    out, records = modes.join_samples(parts, steps and mode == "faithful")
                else:
                    out, records = self._in_mode(X, mode, steps, record)
            except NonFiniteError:
                raise modes.diagnose(self, X, mode) from None
            if not np.isfinite(out).all():
                raise modes.diagnose(self, X, mode)
        return out, records

    def _in_mode(self, X, mode, steps, record):
        """(outputs, records) of the analog batch X in ``mode`` (:mod:`~refsnn.networks.modes`)."""
        if mode == "sequential":
            return modes.sequential(self, X, steps, record)
        if mode == "faithful":
            return modes.faithful(self, X, steps, record, group=max(1, FAITHFUL_GROUP_IMAGES // self.T))
        return modes.collapsed(self, X, record)

    def _analog(self, X):
        """The analog prefix's output on X, computed once: under direct encoding it is the
        same at every step (class Notes). X itself when there is no prefix."""
        if not self.prefix.layers:
            return X
        for layer in leaves(self.prefix):
            if isinstance(layer, BatchNorm) and layer.training:
                raise modes.training_error(self, layer)
        out = self.prefix.forward(X)
        self.prefix.check_output(X, out)
        return out

    # ----------------------------------------------------------------- results

    def _runs(self, X, mode, batch_size, steps=False, record=None):
        """:meth:`_forward` over the batches of X, checked once as a whole: (outputs, records) per batch."""
        batch_size = as_int("batch_size", batch_size)
        X = check_samples(X, dtype=np.float32)
        for start in range(0, X.shape[0], batch_size):
            yield self._forward(X[start:start + batch_size], mode, steps, record)

    def predict(self, X, mode=None, batch_size=256):
        """Predicted class per sample: argmax of the logits summed over T, shape (B,).

        Records nothing and, in sequential mode, sums the logits step by step instead of
        stacking the T steps.
        """
        mode = self._check_mode(mode)
        preds = [out.argmax(axis=-1) for out, _ in self._runs(X, mode, batch_size)]
        return preds[0] if len(preds) == 1 else np.concatenate(preds)

    def cumulative_predictions(self, X, batch_size=256):
        """Prediction after each step t from the logits summed up to t, shape (T, B).

        Row T−1 equals :meth:`predict`. Not available in collapsed mode, which has no
        steps; a parallel network uses its faithful mode here.
        """
        runs = self._runs(X, self.default_mode, batch_size, steps=True)
        return np.concatenate([np.cumsum(out, axis=0).argmax(axis=-1) for out, _ in runs], axis=1)

    def predict_and_rates(self, X, mode=None, batch_size=256):
        """Predictions (B,) and every neuron layer's rate (B, ...) from one run.

        The rate of a layer is its time-mean output θ_post·N/T, the value that the
        ANN activation it replaces is compared with.
        """
        mode = self._check_mode(mode)
        preds, parts = [], [[] for _ in self.neuron_layers]
        for out, records in self._runs(X, mode, batch_size, record="counts"):
            preds.append(out.argmax(axis=-1))
            for k, (layer, rec) in enumerate(zip(self.neuron_layers, records)):
                counts = rec["counts"].astype(np.float32)
                step = channel_view(layer, "theta_post", layer.theta_post, counts) / np.float32(self.T)
                parts[k].append(step * counts)  # (θ/T)·N, QCFS's op order
        return np.concatenate(preds), [np.concatenate(p) for p in parts]

    def layer_rates(self, X, mode=None, batch_size=256):
        """Time-mean output (θ_post·N/T) of every neuron layer, a list of (B, ...) arrays."""
        return self.predict_and_rates(X, mode, batch_size)[1]

    def spike_counts(self, X, mode=None, batch_size=256):
        """Total number of spikes per neuron layer over the batch, a list of ints."""
        mode = self._check_mode(mode)
        totals = np.zeros(len(self.neuron_layers), dtype=np.int64)
        for _, records in self._runs(X, mode, batch_size, record="counts"):
            totals += [int(rec["counts"].sum()) for rec in records]
        return totals.tolist()

    def spike_trains(self, X, layer):
        """Boolean spike trains (T, B, ...) of neuron layer number ``layer`` (0-based)."""
        index = as_int("layer", layer, minimum=0)
        if index >= len(self.neuron_layers):
            raise ValueError(f"layer must be < {len(self.neuron_layers)} (the number of neuron layers), got {index}")
        _, records = self.run(X, record=True)
        return records[index]["spikes"]


def first_neuron_layer(net):
    """(path, layer) of the first neuron layer in the tree ``net``, or None; paths as in
    :func:`~refsnn.networks.containers.iter_layers`.

    A network that holds neuron layers is the network of a spiking network
    (``snn.net``), not an ANN: run as one, its neuron layers would read the batch axis
    as time, firing the B samples as the B steps of one sample. Batched ANN inference
    asks on every call, so the paths are built only when there is one.
    """
    if not any(isinstance(layer, (ParallelNeurons, IFNeurons)) for layer in leaves(net)):
        return None
    return next((path, layer) for path, layer in iter_layers(net) if isinstance(layer, (ParallelNeurons, IFNeurons)))

