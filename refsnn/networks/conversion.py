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
"""

import copy
import numbers
import warnings

import numpy as np

from .._checks import as_float_array, as_int, check_choice
from ..neurons.quantization import clip_relu, da_qcfs_shift, qcfs
from .activations import ACTIVATIONS, DAQCFS, QCFS, ClipReLU, ReLU
from .containers import (
    Sequential, children, find_nonfinite, is_container, iter_layers, map_children, run, set_training,
)
from .layers import Conv2d, Linear
from .normalization import BatchNorm
from .spiking import TIME_LINEAR, IFNeurons, ParallelNeurons, SpikingNetwork

__all__ = ["record_thresholds", "calibrate", "to_parallel_snn", "to_if_snn", "activation_outputs"]


def _check_network(net, name="net"):
    """``net`` must be a Sequential whose leaves are time-linear layers or activations
    (residual blocks and other containers may be nested)."""
    if not isinstance(net, Sequential):
        raise TypeError(f"{name} must be a refsnn.networks.containers.Sequential network, got {type(net).__name__}")
    for path, layer in iter_layers(net):
        if not isinstance(layer, TIME_LINEAR + ACTIVATIONS):
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


def _activation_paths(net):
    return {id(layer): path for path, layer in iter_layers(net) if isinstance(layer, ACTIVATIONS)}


def _check_data(X, name="X"):
    """``X`` as a finite float32 batch of shape (B, ...) with B >= 1."""
    X = as_float_array(name, X)
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty batch of shape (B, ...), got shape {X.shape}")
    return X.astype(np.float32, copy=False)


def _reduce_axes(z):
    """Axes of batch and space: everything except the channel axis 1."""
    return (0,) + tuple(range(2, z.ndim))


def activation_outputs(net, X, batch_size=256):
    """Outputs of every activation layer of an ANN, a list of (B, ...) arrays.

    These are the values that each neuron layer of the converted SNN replaces; the demo
    compares them with the SNN's rates. The network runs in evaluation mode (BatchNorm
    with its running statistics), like the converted SNN.

    Parameters
    ----------
    net : refsnn.networks.layers.Sequential
        Residual blocks may be nested inside.
    X : numpy.ndarray, shape (B, ...)
        Finite, B >= 1.
    batch_size : int
        >= 1.

    Returns
    -------
    list of numpy.ndarray, one (B, ...) array per activation layer, in forward order
    (the order of the SNN's neuron layers).

    Raises
    ------
    ValueError
        Also if a layer outputs NaN or infinity (the message names the first one).
    """
    _check_network(net)
    X = _check_data(X)
    batch_size = as_int("batch_size", batch_size)
    net = _evaluation_copy(net)
    parts = []
    for start in range(0, X.shape[0], batch_size):
        xb, outs = X[start:start + batch_size], []

        def hook(layer, x):
            if isinstance(layer, ACTIVATIONS):
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
        parts.append(outs)
    return [np.concatenate(p) for p in zip(*parts)]


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


def record_thresholds(relu_net, X, batch_size=256):
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
    relu_net : refsnn.networks.layers.Sequential
        A network with ReLU activations; residual blocks may be nested inside. It runs in
        evaluation mode.
    X : numpy.ndarray, shape (B, ...)
        Data to record on (the authors use the whole training set).
    batch_size : int

    Returns
    -------
    refsnn.networks.layers.Sequential
        A copy with ClipReLU(θ_c) in place of every ReLU; ``thresholds_`` holds the θ_c
        in forward order.
    """
    _check_network(relu_net, "relu_net")
    X = _check_data(X)
    batch_size = as_int("batch_size", batch_size)
    net = _evaluation_copy(relu_net)
    paths = {id(layer): path for path, layer in iter_layers(net) if isinstance(layer, ReLU)}
    if not paths:
        raise ValueError("relu_net has no ReLU layer: there is nothing to record")
    maxima = {}

    def hook(layer, x):
        if isinstance(layer, ReLU):
            m = x.max(axis=_reduce_axes(x)).astype(np.float64)
            maxima[id(layer)] = np.maximum(maxima[id(layer)], m) if id(layer) in maxima else m
        return None

    for start in range(0, X.shape[0], batch_size):
        run(net, X[start:start + batch_size], hook)
    thresholds, notes = [], []

    def replace(path, layer):
        if not isinstance(layer, ReLU):
            return layer
        theta = maxima[id(layer)]
        silent = np.flatnonzero(theta <= 0)
        if silent.size:
            how = ("they are made silent (zero weights and bias, θ = 1)" if _silence(net, path, silent)
                   else "nothing before the ReLU can silence them, so they keep θ = 1")
            notes.append(f"ReLU layer {path}: channels {silent.tolist()} never receive positive input; {how}")
            theta = np.where(theta <= 0, 1.0, theta)
        clip = ClipReLU(theta)
        thresholds.append(clip.theta)
        return clip

    out = _replace(net, replace)
    for note in notes:
        warnings.warn(note, RuntimeWarning, stacklevel=2)
    out.thresholds_ = thresholds
    return out


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
              calibrate_linear=True, progress=None):
    """Stage 2: layer-wise DA-QCFS calibration of ψ_DA and φ_DA.

    The teacher is the network itself: ClipReLU for the training-free pipeline, or QCFS
    at its trained level T̃. Its student copy runs DA-QCFS at level T. Each batch runs both
    through the same weights; at every activation layer, in forward order,

    .. math::

        e_{pre} = \\overline{z_{teacher} - z_{student}},\\quad
        \\psi_{DA} \\leftarrow (1-\\alpha)\\psi_{DA} + \\alpha e_{pre},\\quad
        e_{post} = \\overline{y_{teacher} - r_{DA}(z_{student})},

    with means over batch and space per channel, and then φ_DA is updated by
    ``phi_update``:

    ``"ema_residual"`` (the authors' code)
        φ ← (1 − α)φ + α·e_post. Its fixed point leaves a mean residual of φ* itself: it
        removes only a fraction E[s]/(1 + E[s]) of the output bias
        (``tutorials/00_notation.md``, "Calibration details").
    ``"accumulate"``
        φ ← φ + α·e_post, which drives the mean residual to zero.

    Later layers see a student path already corrected upstream (greedy, layer by layer).

    Parameters
    ----------
    net : refsnn.networks.layers.Sequential
        A ClipReLU network (from :func:`record_thresholds`) or a QCFS network; residual
        blocks may be nested inside. It runs in evaluation mode.
    X : numpy.ndarray, shape (B, ...)
        Calibration data (the authors use one epoch of the training set).
    T : int
        The SNN's number of time steps, the level of every DA-QCFS.
    teacher : None or int
        ``None``: each activation teaches its own DA-QCFS student — ClipReLU in the
        training-free pipeline, QCFS at its trained level T̃ for a QCFS network. An int
        L makes every QCFS teacher run at level L instead; the authors' code hard-codes
        L = 8 ("resnet_qcfs 8, vgg16_qcfs 4 or 16"; ``tutorials/00_notation.md``,
        "Where the released code differs").
    alpha : real number in (0, 1]
        Momentum of the running averages; the code's 0.01. A non-number (or a bool) is
        a TypeError.
    phi_update : {"ema_residual", "accumulate"}
    epochs : int
        Passes over ``X``. With α = 0.01 a running average needs a few hundred batches
        to converge; small data sets need several epochs. ``epochs=0`` skips the
        calibration: every activation becomes DA-QCFS at level T with ψ_DA = φ_DA = 0
        (QCFS at level T with the layer's thresholds), the "without calibration"
        baseline.
    batch_size : int
    calibrate_linear : bool
        Also calibrate activations on 2-D (B, F) inputs. The paper's DA-QCFS is defined
        per channel for every layer, so True by default; the authors' code calibrates
        only 4-D (convolutional) layers, which is ``False``.
    progress : callable, optional
        Called as ``progress(epoch, layer_errors)`` after each epoch, where
        ``layer_errors`` is the list of mean |e_post| per calibrated layer.

    Returns
    -------
    refsnn.networks.layers.Sequential
        A copy with DAQCFS layers at level T.
    """
    _check_network(net)
    X = _check_data(X)
    T = as_int("T", T)
    epochs = as_int("epochs", epochs, minimum=0)
    batch_size = as_int("batch_size", batch_size)
    check_choice("phi_update", phi_update, ("ema_residual", "accumulate"))
    teacher_levels = None if teacher is None else as_int("teacher", teacher)
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a real number in (0, 1], got {alpha!r}")
    if not 0 < alpha <= 1:  # NaN fails too
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    alpha = float(alpha)
    net = _evaluation_copy(net)
    paths = _activation_paths(net)
    if not paths:
        raise ValueError("net has no activation layer: there is nothing to calibrate")
    if any(isinstance(layer, ReLU) for _, layer in iter_layers(net)):
        raise ValueError("net still has ReLU layers: run record_thresholds first")

    students, teachers, frozen = {}, {}, set()
    errors = {}

    def hook(layer, x):
        """Teacher and student run as the two halves of one batch (as in the released
        code), through the same weights; at an activation both are updated here."""
        if not isinstance(layer, ACTIVATIONS):
            return None
        half = x.shape[0] // 2
        xs, xt = x[:half], x[half:]
        key = id(layer)
        if key not in students:
            students[key], teachers[key] = _to_daqcfs(layer, T, xs, teacher_levels)
            if xs.ndim == 2 and not calibrate_linear:
                frozen.add(key)
        student, teach = students[key], teachers[key]
        axes = _reduce_axes(xs)
        update = updating and key not in frozen
        if update:  # ψ_DA first, from the raw student input
            e_pre = (xt - xs).mean(axis=axes, dtype=np.float64)
            student.psi_da[:] = (1 - alpha) * student.psi_da + alpha * e_pre
        ys, yt = student.forward(xs), teach(xt)
        if update:  # then φ_DA, from the residual of this batch
            e_post = (yt - ys).mean(axis=axes, dtype=np.float64)
            if phi_update == "ema_residual":
                student.phi_da[:] = (1 - alpha) * student.phi_da + alpha * e_post
            else:
                student.phi_da[:] = student.phi_da + alpha * e_post
            errors.setdefault(key, []).append(np.abs(e_post).mean())
        return np.concatenate([ys, yt])

    updating = False  # epochs = 0: one pass only builds the DA-QCFS layers (ψ_DA = φ_DA = 0)
    if epochs == 0:
        xb = X[:batch_size]
        run(net, np.concatenate([xb, xb]), hook)
    updating = True
    order = list(paths)
    for epoch in range(epochs):
        errors.clear()
        for start in range(0, X.shape[0], batch_size):
            xb = X[start:start + batch_size]
            run(net, np.concatenate([xb, xb]), hook)
        if progress is not None:
            progress(epoch, [float(np.mean(errors[k])) for k in order if k in errors])
    return _replace(net, lambda path, layer: students.get(id(layer), layer))


# --------------------------------------------------------------------------- stage 3


def _neuron_copy(net, what):
    _check_network(net)
    net = _evaluation_copy(net)
    if not _activation_paths(net):
        raise ValueError(f"net has no activation layer: there is nothing to convert to {what}")
    return net


def _check_level(path, layer, T):
    """A DA-QCFS converts exactly only at its own level L = T."""
    if layer.levels != T:
        raise ValueError(f"layer {path} is DA-QCFS at level {layer.levels}; calibrate at T={T} first")


def to_parallel_snn(net, T, order="paper"):
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
    net : refsnn.networks.layers.Sequential
    T : int
    order : {"paper", "code"}

    Returns
    -------
    refsnn.networks.spiking.SpikingNetwork
    """
    T = as_int("T", T)

    def neuron(path, layer):
        if isinstance(layer, QCFS):
            return ParallelNeurons(float(layer.theta[0]), T, order=order)
        if isinstance(layer, DAQCFS):
            _check_level(path, layer, T)
            psi = da_qcfs_shift(layer.theta, T, layer.psi_da)
            return ParallelNeurons(layer.theta, T, psi=psi, theta_post=layer.theta + layer.phi_da, order=order)
        if isinstance(layer, (ReLU, ClipReLU)):
            raise ValueError(
                f"layer {path} is {layer!r}: a parallel SNN needs QCFS or DA-QCFS layers; "
                "run record_thresholds and calibrate first"
            )
        return layer

    return SpikingNetwork(_replace(_neuron_copy(net, "a parallel SNN"), neuron), T)


def to_if_snn(net, T):
    """The sequential IF baseline: every activation becomes IF neurons (the IF neuron).

    QCFS(θ) and ClipReLU(θ) become IFNeurons(θ) with v0 = θ/2 and soft reset; DA-QCFS
    becomes IFNeurons with a per-step input shift ψ_DA and spike amplitude θ + φ_DA. For
    constant input z + ψ_DA (the first neuron layer under direct encoding) the IF count
    is then the DA-QCFS level at L = T; a DA-QCFS at another level is refused, as in
    :func:`to_parallel_snn`.

    Parameters
    ----------
    net : refsnn.networks.layers.Sequential
    T : int

    Returns
    -------
    refsnn.networks.spiking.SpikingNetwork
    """
    T = as_int("T", T)

    def neuron(path, layer):
        if isinstance(layer, (QCFS, ClipReLU)):
            return IFNeurons(layer.theta)
        if isinstance(layer, DAQCFS):
            _check_level(path, layer, T)
            return IFNeurons(layer.theta, psi_da=layer.psi_da, theta_post=layer.theta + layer.phi_da)
        if isinstance(layer, ReLU):
            raise ValueError(f"layer {path} is ReLU: an IF SNN needs thresholds; run record_thresholds first")
        return layer

    return SpikingNetwork(_replace(_neuron_copy(net, "an IF SNN"), neuron), T)
