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
from .activations import DAQCFS, QCFS, ClipReLU, ReLU
from .base import first_nonfinite
from .layers import AvgPool2d, Conv2d, Flatten, Linear, Sequential
from ..neurons.quantization import clip_relu, da_qcfs_shift, qcfs
from .spiking import IFNeurons, ParallelNeurons, SpikingNetwork

__all__ = ["record_thresholds", "calibrate", "to_parallel_snn", "to_if_snn", "activation_outputs"]

LINEAR_LAYERS = (Conv2d, Linear, AvgPool2d, Flatten)
ACTIVATIONS = (ReLU, ClipReLU, QCFS, DAQCFS)


def _check_network(net, name="net"):
    if not isinstance(net, Sequential):
        raise TypeError(f"{name} must be a refsnn.networks.layers.Sequential network, got {type(net).__name__}")
    for i, layer in enumerate(net):
        if not isinstance(layer, LINEAR_LAYERS + ACTIVATIONS):
            raise ValueError(
                f"{name} layer {i} ({layer!r}) cannot be converted: between spiking layers only "
                "Conv2d, Linear, AvgPool2d and Flatten are allowed"
            )
    return net


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
    compares them with the SNN's rates.

    Parameters
    ----------
    net : refsnn.networks.layers.Sequential
    X : numpy.ndarray, shape (B, ...)
        Finite, B >= 1.
    batch_size : int
        >= 1.

    Returns
    -------
    list of numpy.ndarray, one (B, ...) array per activation layer, in network order.

    Raises
    ------
    ValueError
        Also if a layer outputs NaN or infinity (the message names the first one).
    """
    _check_network(net)
    X = _check_data(X)
    batch_size = as_int("batch_size", batch_size)
    parts = []
    for start in range(0, X.shape[0], batch_size):
        xb = X[start:start + batch_size]
        x, outs = xb, []
        try:  # QCFS layers refuse NaN pre-activations themselves
            for layer in net:
                x = layer.forward(x)
                if isinstance(layer, ACTIVATIONS):
                    outs.append(x)
        except ValueError:
            error = first_nonfinite(list(net), xb)
            if error is None:
                raise
            raise error from None
        if not np.isfinite(x).all() or not all(np.isfinite(a).all() for a in outs):
            raise first_nonfinite(list(net), xb) or ValueError("net outputs NaN or infinity")
        parts.append(outs)
    return [np.concatenate(p) for p in zip(*parts)]


# --------------------------------------------------------------------------- stage 1


def record_thresholds(relu_net, X, batch_size=256):
    """Stage 1: record channel-wise thresholds and replace each ReLU by ClipReLU.

    θ_c is the running maximum of the ReLU's *input* (pre-activation) over the batch and
    spatial axes, over all batches of ``X``. A channel whose input is never positive
    would get θ_c <= 0, which no neuron can use (``tutorials/00_notation.md``,
    "Non-positive thresholds"). Such a channel is made
    silent: its incoming weights and bias are set to zero, so its pre-activation is 0 and
    both ClipReLU and every neuron output 0, and θ_c is set to 1. A warning names it.

    Parameters
    ----------
    relu_net : refsnn.networks.layers.Sequential
        A network with ReLU activations, each directly after a Conv2d or Linear.
    X : numpy.ndarray, shape (B, ...)
        Data to record on (the authors use the whole training set).
    batch_size : int

    Returns
    -------
    refsnn.networks.layers.Sequential
        A copy with ClipReLU(θ_c) in place of every ReLU; ``thresholds_`` holds the θ_c.
    """
    _check_network(relu_net, "relu_net")
    X = _check_data(X)
    batch_size = as_int("batch_size", batch_size)
    relu_index = [i for i, layer in enumerate(relu_net) if isinstance(layer, ReLU)]
    if not relu_index:
        raise ValueError("relu_net has no ReLU layer: there is nothing to record")
    maxima = {i: None for i in relu_index}
    for start in range(0, X.shape[0], batch_size):
        x = X[start:start + batch_size]
        for i, layer in enumerate(relu_net):
            if i in maxima:
                m = x.max(axis=_reduce_axes(x)).astype(np.float64)
                maxima[i] = m if maxima[i] is None else np.maximum(maxima[i], m)
            x = layer.forward(x)
    net = copy.deepcopy(relu_net)
    layers = list(net)
    for i in relu_index:
        theta = maxima[i]
        silent = np.flatnonzero(theta <= 0)
        if silent.size:
            source = layers[i - 1] if i > 0 else None
            if not isinstance(source, (Conv2d, Linear)):
                raise ValueError(
                    f"ReLU layer {i} has channels {silent.tolist()} that never become positive, and "
                    "it does not follow a Conv2d or Linear layer whose weights could silence them"
                )
            warnings.warn(
                f"ReLU layer {i}: channels {silent.tolist()} never receive positive input; "
                "they are made silent (zero weights and bias, θ = 1)",
                RuntimeWarning,
                stacklevel=2,
            )
            source.weight[silent] = 0
            source.bias[silent] = 0
            theta = np.where(theta <= 0, 1.0, theta)
        layers[i] = ClipReLU(theta)
    out = Sequential(*layers)
    out.thresholds_ = [layers[i].theta for i in relu_index]
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
        A ClipReLU network (from :func:`record_thresholds`) or a QCFS network.
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
        to converge; small data sets need several epochs.
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
    epochs = as_int("epochs", epochs)
    batch_size = as_int("batch_size", batch_size)
    check_choice("phi_update", phi_update, ("ema_residual", "accumulate"))
    teacher_levels = None if teacher is None else as_int("teacher", teacher)
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a real number in (0, 1], got {alpha!r}")
    if not 0 < alpha <= 1:  # NaN fails too
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    alpha = float(alpha)
    layers = list(copy.deepcopy(net))
    if not any(isinstance(layer, ACTIVATIONS) for layer in layers):
        raise ValueError("net has no activation layer: there is nothing to calibrate")
    if any(isinstance(layer, ReLU) for layer in layers):
        raise ValueError("net still has ReLU layers: run record_thresholds first")

    students, teachers, frozen = {}, {}, set()
    for epoch in range(epochs):
        errors = {}
        for start in range(0, X.shape[0], batch_size):
            xs = xt = X[start:start + batch_size]
            for i, layer in enumerate(layers):
                if not isinstance(layer, ACTIVATIONS):
                    xs, xt = layer.forward(xs), layer.forward(xt)
                    continue
                if i not in students:
                    students[i], teachers[i] = _to_daqcfs(layer, T, xs, teacher_levels)
                    if xs.ndim == 2 and not calibrate_linear:
                        frozen.add(i)
                student, teacher = students[i], teachers[i]
                axes = _reduce_axes(xs)
                if i not in frozen:  # ψ_DA first, from the raw student input
                    e_pre = (xt - xs).mean(axis=axes, dtype=np.float64)
                    student.psi_da[:] = (1 - alpha) * student.psi_da + alpha * e_pre
                ys, yt = student.forward(xs), teacher(xt)
                if i not in frozen:  # then φ_DA, from the residual of this batch
                    e_post = (yt - ys).mean(axis=axes, dtype=np.float64)
                    if phi_update == "ema_residual":
                        student.phi_da[:] = (1 - alpha) * student.phi_da + alpha * e_post
                    else:
                        student.phi_da[:] = student.phi_da + alpha * e_post
                    errors.setdefault(i, []).append(np.abs(e_post).mean())
                xs, xt = ys, yt
        if progress is not None:
            progress(epoch, [float(np.mean(errors[i])) for i in sorted(errors)])
    for i, student in students.items():
        layers[i] = student
    return Sequential(*layers)


# --------------------------------------------------------------------------- stage 3


def _neuron_layers(net, what):
    _check_network(net)
    layers = list(copy.deepcopy(net))
    if not any(isinstance(layer, ACTIVATIONS) for layer in layers):
        raise ValueError(f"net has no activation layer: there is nothing to convert to {what}")
    return layers


def _check_level(i, layer, T):
    """A DA-QCFS converts exactly only at its own level L = T."""
    if layer.levels != T:
        raise ValueError(f"layer {i} is DA-QCFS at level {layer.levels}; calibrate at T={T} first")


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
    layers = _neuron_layers(net, "a parallel SNN")
    for i, layer in enumerate(layers):
        if isinstance(layer, QCFS):
            layers[i] = ParallelNeurons(float(layer.theta[0]), T, order=order)
        elif isinstance(layer, DAQCFS):
            _check_level(i, layer, T)
            psi = da_qcfs_shift(layer.theta, T, layer.psi_da)
            layers[i] = ParallelNeurons(layer.theta, T, psi=psi, theta_post=layer.theta + layer.phi_da, order=order)
        elif isinstance(layer, (ReLU, ClipReLU)):
            raise ValueError(
                f"layer {i} is {layer!r}: a parallel SNN needs QCFS or DA-QCFS layers; "
                "run record_thresholds and calibrate first"
            )
    return SpikingNetwork(layers, T)


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
    layers = _neuron_layers(net, "an IF SNN")
    for i, layer in enumerate(layers):
        if isinstance(layer, (QCFS, ClipReLU)):
            layers[i] = IFNeurons(layer.theta)
        elif isinstance(layer, DAQCFS):
            _check_level(i, layer, T)
            layers[i] = IFNeurons(layer.theta, bias=layer.psi_da, amplitude=layer.theta + layer.phi_da)
        elif isinstance(layer, ReLU):
            raise ValueError(f"layer {i} is ReLU: an IF SNN needs thresholds; run record_thresholds first")
    return SpikingNetwork(layers, T)
