"""The three-stage pipeline: ReLU → ClipReLU → DA-QCFS → parallel SNN.

Stage 1, :func:`record_thresholds`
    Record each ReLU's channel-wise maximum input θ_c over data; ReLU → ClipReLU(θ_c).
Stage 2, :func:`calibrate`
    Replace each ClipReLU or QCFS by DA-QCFS at the SNN's level T and calibrate its
    channel-wise ψ_DA and φ_DA layer by layer against a teacher (DA-QCFS calibration).
Stage 3, :func:`to_parallel_snn`
    Replace each QCFS or DA-QCFS by parallel conversion neurons with dual thresholds
    θ_pre = θ and θ_post = θ + φ_DA, merging ψ_DA into the offset as θ/2 + T·ψ_DA.

:func:`to_if_snn` builds the sequential IF baseline from the same network. A QCFS ANN
trained at level T̃ converts directly with :func:`to_parallel_snn` (lossless at T = T̃,
Theorem 4.1), optionally after :func:`calibrate` when T ≠ T̃.

Every function returns a new network and leaves its input untouched.
:func:`activation_outputs` returns what every activation layer of an ANN outputs, the
values that the neuron layers of the converted SNN replace.

The equations are in ``tutorials/00_notation.md`` ("The three-stage pipeline",
"DA-QCFS"); what refsnn adds to the calibration is in "Calibration details".

**The analog prefix.** Every function takes ``analog_prefix`` k (default 0): the first k
top-level layers of the network stay as they are, their activations analog ReLU (or
whatever they are) and max pooling allowed among them; only the activations after them
are recorded, calibrated and converted, and the SNN runs the prefix once on the analog
input (:class:`~refsnn.networks.spiking.SpikingNetwork`, "The analog prefix"). That is
what the authors' conversion does with the stem conv → BN → ReLU → MaxPool2d of their
torchvision ResNets, whose ReLU is a function call, not a module it replaces.
"""

import copy
import warnings

import numpy as np

from .._checks import as_float, as_int, check_bool, check_choice, check_samples
from ..neurons.quantization import clip_relu, da_qcfs_shift, qcfs
from .activations import ACTIVATIONS, DAQCFS, QCFS, ClipReLU, ReLU
from .containers import (
    Sequential, children, find_nonfinite, is_container, iter_layers, map_children, run, set_training,
)
from .layers import Conv2d, Linear
from .normalization import BatchNorm
from .spiking import ANALOG, TIME_LINEAR, IFNeurons, ParallelNeurons, SpikingNetwork

__all__ = ["record_thresholds", "calibrate", "to_parallel_snn", "to_if_snn", "activation_outputs"]


def _check_network(net, name="net", analog_prefix=0):
    """``net`` must be a Sequential whose leaves are time-linear layers or activations
    (residual blocks and other containers may be nested); in its first ``analog_prefix``
    top-level layers max pooling is allowed too."""
    if not isinstance(net, Sequential):
        raise TypeError(f"{name} must be a refsnn.networks.containers.Sequential network, got {type(net).__name__}")
    k = as_int("analog_prefix", analog_prefix, minimum=0)
    if k and k >= len(net.layers):
        raise ValueError(f"analog_prefix={k} leaves nothing to convert: {name} has {len(net.layers)} top-level layers")
    for path, layer in iter_layers(net):
        if _in_prefix(path, k) and not isinstance(layer, ANALOG):
            raise ValueError(f"{name} layer {path} ({layer!r}) cannot be part of the analog prefix")
        if not _in_prefix(path, k) and not isinstance(layer, TIME_LINEAR + ACTIVATIONS):
            raise ValueError(
                f"{name} layer {path} ({layer!r}) cannot be converted: between spiking layers only "
                "Conv2d, Linear, AvgPool2d, Flatten and BatchNorm are allowed"
            )
    return net


def _evaluation_copy(net):
    """A deep copy of ``net`` with every BatchNorm in evaluation mode: conversion is
    defined for the trained network as it predicts, not as it trains."""
    return set_training(copy.deepcopy(net), False)


def _replace(net, fn):
    """``net`` (already a copy) with every leaf replaced by ``fn(path, leaf)``."""
    def walk(layer, path):
        if not is_container(layer):
            return fn(path, layer)
        names = iter(name for name, _ in children(layer))
        return map_children(layer, lambda child: walk(child, _join(path, next(names))))
    return walk(net, "")


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _in_prefix(path, analog_prefix):
    """Whether the leaf at ``path`` is in the first ``analog_prefix`` top-level layers."""
    return int(path.split(".")[0]) < analog_prefix


def _activation_paths(net, analog_prefix=0):
    """id → path of every activation after the analog prefix: those that become neurons."""
    return {id(layer): path for path, layer in iter_layers(net)
            if isinstance(layer, ACTIVATIONS) and not _in_prefix(path, analog_prefix)}


def _reduce_axes(z):
    """Axes of batch and space: everything except the channel axis 1."""
    return (0,) + tuple(range(2, z.ndim))


def activation_outputs(net, X, batch_size=256, analog_prefix=0):
    """Outputs of every activation layer of an ANN, a list of (B, ...) arrays.

    These are the values that each neuron layer of the converted SNN replaces; the demo
    compares them with the SNN's rates. The network runs in evaluation mode (BatchNorm
    with its running statistics), like the converted SNN.

    Parameters
    ----------
    net : refsnn.networks.containers.Sequential
        Residual blocks may be nested inside.
    X : numpy.ndarray, shape (B, ...)
        Finite, B >= 1.
    batch_size : int
        >= 1.
    analog_prefix : int, default 0
        The activations of the first ``analog_prefix`` top-level layers stay analog in
        the SNN (module docstring) and are left out.

    Returns
    -------
    list of numpy.ndarray, one (B, ...) array per activation layer after the analog
    prefix, in forward order (the order of the SNN's neuron layers).

    Raises
    ------
    ValueError
        Also if a layer outputs NaN or infinity (the message names the first one).
    """
    _check_network(net, analog_prefix=analog_prefix)
    X = check_samples(X, dtype=np.float32)
    batch_size = as_int("batch_size", batch_size)
    net = _evaluation_copy(net)
    spiking = _activation_paths(net, analog_prefix)
    starts = range(0, X.shape[0], batch_size)
    parts = [_batch_activations(net, X[start:start + batch_size], spiking) for start in starts]
    return [np.concatenate(p) for p in zip(*parts)]


def _batch_activations(net, xb, spiking):
    """What every activation layer of ``net`` whose id is in ``spiking`` outputs on the
    batch ``xb``, in forward order; a NaN or infinity is a ValueError naming the first
    layer that produced it."""
    outs = []

    def hook(layer, x):
        if id(layer) in spiking:
            outs.append(layer.forward(x))
            return outs[-1]
        return None

    try:  # QCFS layers refuse NaN pre-activations themselves
        out = run(net, xb, hook)
    except ValueError:
        error = find_nonfinite(net, xb)
        if error is None:
            raise
        raise error from None
    if not np.isfinite(out).all() or not all(np.isfinite(a).all() for a in outs):
        raise find_nonfinite(net, xb) or ValueError("net outputs NaN or infinity")
    return outs


# --------------------------------------------------------------------------- stage 1


def _silence(net, path, silent):
    """Make the channels ``silent`` of the activation at ``path`` output exactly 0 by
    zeroing the layer just before it in the same Sequential: the weights and bias of a
    Conv2d or Linear, or γ and β of a BatchNorm (then a·x + c = 0). Returns whether it could."""
    *parent_path, index = path.split(".")
    parent = net
    for name in parent_path:
        parent = dict(children(parent))[name]
    if not isinstance(parent, Sequential) or int(index) == 0:
        return False
    source = parent.layers[int(index) - 1]
    if isinstance(source, (Conv2d, Linear, BatchNorm)):
        source.weight[silent] = 0
        source.bias[silent] = 0
        return True
    return False


def record_thresholds(relu_net, X, batch_size=256, analog_prefix=0):
    """Stage 1: record channel-wise thresholds and replace each ReLU by ClipReLU.

    θ_c is the running maximum of the ReLU's *input* (pre-activation) over the batch and
    spatial axes, over all batches of ``X``. A channel whose input is never positive
    would get θ_c <= 0, which no neuron can use (``tutorials/00_notation.md``,
    "Non-positive thresholds"). Such a channel is made silent when the layer just
    before the ReLU is a Conv2d, Linear or BatchNorm: its weights and bias for that
    channel are set to zero, so its pre-activation is 0 and both ClipReLU and every
    neuron output 0. Its θ_c is set to 1. A warning names it. (Where nothing can silence
    it, after a residual sum, the channel keeps θ_c = 1 and the warning says so.)

    Parameters
    ----------
    relu_net : Sequential
        A network with ReLU activations, residual blocks allowed; it runs in evaluation mode.
    X : numpy.ndarray, shape (B, ...)
        Data to record on (the authors use the whole training set).
    batch_size : int
    analog_prefix : int, default 0
        The ReLUs of the first ``analog_prefix`` top-level layers stay ReLU (module docstring).

    Returns
    -------
    Sequential
        A copy with ClipReLU(θ_c) for every ReLU; ``thresholds_`` holds the θ_c in forward order.
    """
    _check_network(relu_net, "relu_net", analog_prefix)
    X = check_samples(X, dtype=np.float32)
    batch_size = as_int("batch_size", batch_size)
    net = _evaluation_copy(relu_net)
    relus = {id(layer) for path, layer in iter_layers(net)
             if isinstance(layer, ReLU) and not _in_prefix(path, analog_prefix)}
    if not relus:
        raise ValueError("relu_net has no ReLU layer (after the analog prefix): there is nothing to record")
    maxima, thresholds, notes = _input_maxima(net, X, batch_size, relus), [], []

    def replace(path, layer):
        if id(layer) not in relus:
            return layer
        clip = ClipReLU(_usable_thresholds(net, path, maxima[id(layer)], notes, len(thresholds) + 1))
        thresholds.append(clip.theta)
        return clip

    out = _replace(net, replace)
    for note in notes:
        warnings.warn(note, RuntimeWarning, stacklevel=2)
    out.thresholds_ = thresholds
    return out


def _input_maxima(net, X, batch_size, relus):
    """id(ReLU) → the channel-wise maximum of its input over all batches of ``X``, float64,
    for the ReLUs whose ids are in ``relus``."""
    maxima = {}

    def hook(layer, x):
        if id(layer) in relus:
            m = x.max(axis=_reduce_axes(x)).astype(np.float64)
            maxima[id(layer)] = np.maximum(maxima[id(layer)], m) if id(layer) in maxima else m
        return None

    for start in range(0, X.shape[0], batch_size):
        run(net, X[start:start + batch_size], hook)
    return maxima


def _usable_thresholds(net, path, theta, notes, number):
    """``theta`` with every θ_c <= 0 set to 1, after silencing those channels of the ReLU
    at ``path``, the ``number``-th converted one (spiking layer ``number`` after conversion),
    if :func:`_silence` can; a note for the warning says what happened."""
    silent = np.flatnonzero(theta <= 0)
    if silent.size:
        how = ("they are made silent (zero weights and bias, θ = 1)" if _silence(net, path, silent)
               else "nothing before the ReLU can silence them, so they keep θ = 1")
        notes.append(f"ReLU layer {path} (activation {number}, spiking layer {number} after conversion): "
                     f"channels {silent.tolist()} never receive positive input; {how}")
        theta = np.where(theta <= 0, 1.0, theta)
    return theta


# --------------------------------------------------------------------------- stage 2


def _to_daqcfs(layer, T, x, teacher_levels=None):
    """A DA-QCFS at level T with the layer's thresholds, and the teacher function.

    The teacher is the layer itself: ClipReLU, or QCFS at its trained level T̃ unless
    ``teacher_levels`` overrides it (the authors' code hard-codes 8).
    """
    channels = x.shape[1]
    if isinstance(layer, ClipReLU):
        theta = layer.theta
        return DAQCFS(theta, T), lambda z: clip_relu(z, theta.reshape((-1,) + (1,) * (z.ndim - 2)).astype(z.dtype))
    if isinstance(layer, QCFS):
        theta = float(layer.theta[0])
        levels = layer.levels if teacher_levels is None else teacher_levels
        return DAQCFS(np.full(channels, theta), T), lambda z: qcfs(z, theta, levels)
    if isinstance(layer, DAQCFS):
        raise ValueError(f"{layer!r} is already calibrated; calibrate the ClipReLU or QCFS network")
    raise ValueError(f"{layer!r} cannot be calibrated: record thresholds first (ReLU → ClipReLU)")


def calibrate(net, X, T, teacher=None, alpha=0.01, phi_update="ema_residual", epochs=1, batch_size=32,
              calibrate_linear=True, progress=None, analog_prefix=0):
    """Stage 2: layer-wise DA-QCFS calibration of ψ_DA and φ_DA.

    A student copy runs DA-QCFS at level T; layer by layer (greedy), its ψ_DA and φ_DA follow
    running averages of its mean input and output errors against the teacher, the network
    itself (equations in :meth:`_Calibration.hook`).

    Parameters
    ----------
    net : Sequential
        A ClipReLU (from :func:`record_thresholds`) or QCFS network, run in evaluation mode.
    X : numpy.ndarray, shape (B, ...)
        Calibration data (the authors use one epoch of the training set).
    T : int
        The SNN's number of time steps, the level of every DA-QCFS.
    teacher : None or int
        ``None``: each activation teaches its student; an int L runs every QCFS teacher at
        level L, the code's 8 (notation page, "Where the released code differs").
    alpha : real number in (0, 1]
        Momentum of the running averages; the code's 0.01.
    phi_update : {"ema_residual", "accumulate"}
        φ ← (1 − α)φ + α·e_post, the authors' code, or φ ← φ + α·e_post, which drives the
        mean output residual to zero.
    epochs, batch_size : int
        Passes over ``X`` (α = 0.01 needs a few hundred batches; 0 keeps ψ_DA = φ_DA = 0).
    calibrate_linear : bool
        Also calibrate activations on 2-D (B, F) inputs, as the paper does (the code: ``False``).
    progress : callable, optional
        ``progress(epoch, mean |e_post| of each calibrated layer)`` after each epoch.
    analog_prefix : int, default 0
        The first ``analog_prefix`` top-level layers stay analog, uncalibrated (module docstring).

    Returns
    -------
    Sequential
        A copy with DAQCFS layers at level T.
    """
    X, epochs, batch_size, calibration = _check_calibration(
        net, X, T, teacher, alpha, phi_update, epochs, batch_size, calibrate_linear, analog_prefix)
    net = _evaluation_copy(net)
    calibration.spiking = _activation_paths(net, analog_prefix)
    if epochs == 0:  # one pass only builds the DA-QCFS layers (ψ_DA = φ_DA = 0)
        calibration.run_batch(net, X[:batch_size], updating=False)
    for epoch in range(epochs):
        layer_errors = calibration.run_epoch(net, X, batch_size)
        if progress is not None:
            progress(epoch, layer_errors)
    return _replace(net, lambda path, layer: calibration.students.get(id(layer), layer))


def _check_calibration(net, X, T, teacher, alpha, phi_update, epochs, batch_size, calibrate_linear, analog_prefix):
    """The arguments of :func:`calibrate`, checked: ``X``, ``epochs`` and ``batch_size``,
    and the others as a fresh :class:`_Calibration`."""
    _check_network(net, analog_prefix=analog_prefix)
    X = check_samples(X, dtype=np.float32)
    T = as_int("T", T)
    epochs = as_int("epochs", epochs, minimum=0)
    batch_size = as_int("batch_size", batch_size)
    check_choice("phi_update", phi_update, ("ema_residual", "accumulate"))
    teacher_levels = None if teacher is None else as_int("teacher", teacher)
    alpha = as_float("alpha", alpha, "(0, 1]")
    calibrate_linear = check_bool("calibrate_linear", calibrate_linear)
    spiking = _activation_paths(net, analog_prefix)
    if not spiking:
        raise ValueError("net has no activation layer: there is nothing to calibrate")
    if any(isinstance(layer, ReLU) for _, layer in iter_layers(net) if id(layer) in spiking):
        raise ValueError("net still has ReLU layers: run record_thresholds first")
    return X, epochs, batch_size, _Calibration(T, teacher_levels, alpha, phi_update, calibrate_linear)


class _Calibration:
    """The state of one :func:`calibrate` run, and the hook that updates it.

    Teacher and student run as the two halves of one batch (as in the released code),
    through the same weights. At each activation layer, the first time, :meth:`hook`
    builds the DA-QCFS student and the teacher function (:func:`_to_daqcfs`); while
    ``updating``, it then updates the student's ψ_DA and φ_DA.

    Attributes
    ----------
    T, teacher_levels, alpha, phi_update, calibrate_linear
        The checked arguments of :func:`calibrate`.
    updating : bool
        Whether :meth:`hook` updates ψ_DA and φ_DA (False: it only builds the students).
    students : dict id(layer) -> DAQCFS
    teachers : dict id(layer) -> callable, the teacher's output for its input
    frozen : set of id(layer)
        Students left uncalibrated (2-D input with ``calibrate_linear=False``).
    errors : dict id(layer) -> list of float
        The mean |e_post| of every batch since it was last cleared.
    spiking : dict id(layer) -> path
        The activations to calibrate, those after the analog prefix; set by :func:`calibrate`
        for its copy of the network.
    """

    def __init__(self, T, teacher_levels, alpha, phi_update, calibrate_linear):
        self.T, self.teacher_levels, self.alpha = T, teacher_levels, alpha
        self.phi_update, self.calibrate_linear = phi_update, calibrate_linear
        self.updating = False
        self.students, self.teachers, self.frozen, self.errors = {}, {}, set(), {}
        self.spiking = {}

    def run_batch(self, net, xb, updating):
        """Run the batch ``xb`` through ``net`` as student and teacher, side by side."""
        self.updating = updating
        run(net, np.concatenate([xb, xb]), self.hook)

    def run_epoch(self, net, X, batch_size):
        """One updating pass over ``X``; returns the mean |e_post| of each calibrated layer,
        in forward order."""
        self.errors.clear()
        for start in range(0, X.shape[0], batch_size):
            self.run_batch(net, X[start:start + batch_size], updating=True)
        return [float(np.mean(self.errors[key])) for key in self.spiking if key in self.errors]

    def hook(self, layer, x):
        """At an activation layer, update the student's ψ_DA from the inputs z and then its
        φ_DA from the outputs y of this batch (the calibration's equations); return both
        halves' outputs.

        .. math::

            e_{pre} = \\overline{z_{teacher} - z_{student}},\\quad
            \\psi_{DA} \\leftarrow (1-\\alpha)\\psi_{DA} + \\alpha e_{pre},\\quad
            e_{post} = \\overline{y_{teacher} - r_{DA}(z_{student})},

        with means over batch and space per channel, and then by ``phi_update``:
        ``"ema_residual"`` (the authors' code) φ_DA ← (1 − α)φ_DA + α·e_post, whose fixed
        point leaves a mean residual of φ* itself, removing only a fraction
        E[s]/(1 + E[s]) of the output bias (``tutorials/00_notation.md``, "Calibration
        details"); ``"accumulate"`` φ_DA ← φ_DA + α·e_post, which drives the mean
        residual to zero.
        """
        if id(layer) not in self.spiking:
            return None
        half = x.shape[0] // 2
        xs, xt = x[:half], x[half:]
        key = id(layer)
        if key not in self.students:
            self.students[key], self.teachers[key] = _to_daqcfs(layer, self.T, xs, self.teacher_levels)
            if xs.ndim == 2 and not self.calibrate_linear:
                self.frozen.add(key)
        student, teach = self.students[key], self.teachers[key]
        axes = _reduce_axes(xs)
        update = self.updating and key not in self.frozen
        if update:  # ψ_DA first, from the raw student input
            e_pre = (xt - xs).mean(axis=axes, dtype=np.float64)
            student.psi_da[:] = (1 - self.alpha) * student.psi_da + self.alpha * e_pre
        ys, yt = student.forward(xs), teach(xt)
        if update:  # then φ_DA, from the residual of this batch
            e_post = (yt - ys).mean(axis=axes, dtype=np.float64)
            if self.phi_update == "ema_residual":
                student.phi_da[:] = (1 - self.alpha) * student.phi_da + self.alpha * e_post
            else:
                student.phi_da[:] = student.phi_da + self.alpha * e_post
            self.errors.setdefault(key, []).append(np.abs(e_post).mean())
        return np.concatenate([ys, yt])


# --------------------------------------------------------------------------- stage 3


def _neuron_copy(net, what, analog_prefix):
    _check_network(net, analog_prefix=analog_prefix)
    net = _evaluation_copy(net)
    if not _activation_paths(net, analog_prefix):
        raise ValueError(f"net has no activation layer: there is nothing to convert to {what}")
    return net


def _check_level(path, layer, T):
    """A DA-QCFS converts exactly only at its own level L = T."""
    if layer.levels != T:
        raise ValueError(f"layer {path} is DA-QCFS at level {layer.levels}; calibrate at T={T} first")


def to_parallel_snn(net, T, order="paper", analog_prefix=0):
    """Stage 3: a parallel SNN from a QCFS or DA-QCFS network (the three-stage pipeline).

    QCFS(θ) becomes ParallelNeurons(θ) at T steps: lossless at T = T̃ (Theorem 4.1); at
    T ≠ T̃ the SNN equals the QCFS network run at level T. DA-QCFS(θ, ψ_DA, φ_DA) becomes
    ParallelNeurons with θ_pre = θ, θ_post = θ + φ_DA and the offset
    ψ' = ``da_qcfs_shift(θ, T, ψ_DA)`` = θ/2 + T·ψ_DA. That is exact when the DA-QCFS
    level is T: under direct encoding every step of a neuron layer's input repeats the
    ANN's pre-activation z, so its total current is Σ = T·z, the neuron fires
    N = clip(floor((Σ + ψ')/θ), 0, T) = clip(floor((T·z + θ/2 + T·ψ_DA)/θ), 0, T)
    spikes, which is the DA-QCFS level at L = T, and each spike carries θ + φ_DA. A
    DA-QCFS at another level is refused.

    Parameters
    ----------
    net : refsnn.networks.containers.Sequential
    T : int
    order : {"paper", "code"}
    analog_prefix : int, default 0
        The first ``analog_prefix`` top-level layers stay as they are and become the SNN's
        analog prefix (module docstring).

    Returns
    -------
    refsnn.networks.spiking.SpikingNetwork
    """
    T = as_int("T", T)

    def neuron(path, layer):
        if _in_prefix(path, analog_prefix):
            return layer
        if isinstance(layer, QCFS):
            return ParallelNeurons(float(layer.theta[0]), T, order=order)
        if isinstance(layer, DAQCFS):
            _check_level(path, layer, T)
            psi = da_qcfs_shift(layer.theta, T, layer.psi_da)
            theta_post = layer.spike_amplitude(f"layer {path} ({layer!r})")
            return ParallelNeurons(layer.theta, T, psi=psi, theta_post=theta_post, order=order)
        if isinstance(layer, (ReLU, ClipReLU)):
            raise ValueError(
                f"layer {path} is {layer!r}: a parallel SNN needs QCFS or DA-QCFS layers; "
                "run record_thresholds and calibrate first"
            )
        return layer

    net = _neuron_copy(net, "a parallel SNN", analog_prefix)
    return SpikingNetwork(_replace(net, neuron), T, analog_prefix=analog_prefix)


def to_if_snn(net, T, analog_prefix=0):
    """The sequential IF baseline: every activation becomes IF neurons (the IF neuron).

    QCFS(θ) and ClipReLU(θ) become IFNeurons(θ) with v0 = θ/2 and soft reset; DA-QCFS
    becomes IFNeurons with a per-step input shift ψ_DA and spike amplitude θ + φ_DA. For
    constant input z + ψ_DA (the first neuron layer under direct encoding) the IF count
    is then the DA-QCFS level at L = T; a DA-QCFS at another level is refused, as in
    :func:`to_parallel_snn`.

    Parameters
    ----------
    net : refsnn.networks.containers.Sequential
    T : int
    analog_prefix : int, default 0
        As in :func:`to_parallel_snn`.

    Returns
    -------
    refsnn.networks.spiking.SpikingNetwork
    """
    T = as_int("T", T)

    def neuron(path, layer):
        if _in_prefix(path, analog_prefix):
            return layer
        if isinstance(layer, (QCFS, ClipReLU)):
            return IFNeurons(layer.theta)
        if isinstance(layer, DAQCFS):
            _check_level(path, layer, T)
            return IFNeurons(layer.theta, psi_da=layer.psi_da,
                             theta_post=layer.spike_amplitude(f"layer {path} ({layer!r})"))
        if isinstance(layer, ReLU):
            raise ValueError(f"layer {path} is ReLU: an IF SNN needs thresholds; run record_thresholds first")
        return layer

    net = _neuron_copy(net, "an IF SNN", analog_prefix)
    return SpikingNetwork(_replace(net, neuron), T, analog_prefix=analog_prefix)
