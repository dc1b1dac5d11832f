"""The three ways to run a :class:`~refsnn.networks.spiking.SpikingNetwork` on a checked batch.

Each mode is one function ``(network, X, ...) → (outputs, records)``, a forward pass
over the network's tree (:func:`refsnn.networks.containers.run`) with a hook that fires
the neuron layers; ``records`` holds, per neuron layer in forward order, its spike
counts ``"counts"`` (B, ...) and, if asked for, its spike trains ``"spikes"`` (T, B, ...).
``record`` is None, ``"counts"`` or ``"spikes"`` (trains and counts). Every mode runs the
network's ``body``; its ``X`` is the output of the analog prefix, which ran once before
(:class:`~refsnn.networks.spiking.SpikingNetwork`, "The analog prefix").

:func:`sequential` (IF networks)
    T full forward passes, one per step; every IF layer keeps its membrane between steps.
:func:`faithful` (parallel networks)
    One pass over a batch of T·B inputs, time-major, as in the authors' code: every
    linear layer runs on all T copies and every neuron layer fires all T steps at once.
    The samples go through in groups, so that the T copies of a group stay in the CPU's
    cache (samples are independent: the grouping changes a result at most by float
    rounding, where the BLAS rounds a product over fewer samples otherwise).
:func:`collapsed` (parallel networks)
    One pass over B carrying the time sums. Between neuron layers every operation f is
    affine, f(x) = A x + c (a convolution or linear layer: c = its bias; BatchNorm in
    evaluation mode: c = β − a·μ; pooling and flattening: c = 0), so

    .. math::

        \\sum_{t=1}^T f(x_t) = f\\Big(\\sum_t x_t\\Big) + (T - 1)\\,c,

    and a residual sum commutes with the sum over time. Each neuron layer receives the
    total current Σ_t I_t that faithful mode feeds it step by step, fires its counts N
    from it, and passes on θ_post·N (``tutorials/00_notation.md``, "Collapsed inference").

Every hook first checks that a BatchNorm it meets is in evaluation mode
(:func:`training_error`). :func:`diagnose` runs a mode again to name the first layer
whose output is not finite.
"""

import numpy as np

from . import fast_conv, fast_snn
from .base import NonFiniteError
from .containers import Residual, children, find_nonfinite, iter_layers, run
from .layers import Conv2d, Linear
from .neuron_layers import IFNeurons, ParallelNeurons, channel_view
from .normalization import BatchNorm

__all__ = ["sequential", "faithful", "collapsed", "diagnose", "sample_sizes", "arrays_alive", "training_error"]


def sequential(network, X, steps, record):
    """T passes of X; per-step logits (T, B, K) if ``steps``, else their sum (B, K)."""
    for layer in network.neuron_layers:
        layer.reset()
    records = [{"counts": None, "spikes": []} for _ in network.neuron_layers]
    hook = _sequential_hook(network, records, record)
    outputs, total = [], None
    for _ in range(network.T):
        x = run(network.body, X, hook)
        if steps:
            outputs.append(x)
        elif total is None:
            total = np.array(x, copy=True)
        else:
            total += x  # the order of np.sum over the stacked steps
    for rec in records:
        if rec["counts"] is not None:
            rec["counts"] = rec["counts"].astype(np.int64)  # the documented dtype
        if record == "spikes":
            rec["spikes"] = np.stack(rec["spikes"])
        elif record:
            del rec["spikes"]
    return (np.stack(outputs) if steps else total), (records if record else [])


def _sequential_hook(network, records, record):
    """Hook for one step of sequential mode: IF layers step and emit θ_post·s_t."""
    index = {id(layer): k for k, layer in enumerate(network.neuron_layers)}

    def hook(layer, x):
        if isinstance(layer, BatchNorm) and layer.training:
            raise training_error(network, layer)
        if not isinstance(layer, IFNeurons):
            return None
        rec = records[index[id(layer)]] if record else None
        if rec is not None and rec["counts"] is None:  # int16 while counts <= T fit: a quarter of the traffic
            rec["counts"] = np.zeros(x.shape, np.int16 if network.T < 2**15 else np.int64)
        lean = fast_snn.if_forward_step(layer, x, None if rec is None else rec["counts"])  # the same, fused
        if lean is not None:
            fired, out = lean
        else:
            fired = layer.step(x)
            if rec is not None:
                np.add(rec["counts"], fired, out=rec["counts"])  # in place: no new array per step
            theta_post = channel_view(layer, "theta_post", layer.theta_post, x)
            out = np.multiply(fired, theta_post.astype(x.dtype))  # s·θ_post in x's dtype
        if record == "spikes":
            rec["spikes"].append(fired)
        return out
    return hook


def faithful(network, X, steps, record, group):
    """The T·B batch through the network, ``group`` samples (T·group inputs) at a time;
    per-step logits (T, B, K) if ``steps``, else their sum (B, K)."""
    T = network.T
    outputs, groups = [], []
    for start in range(0, X.shape[0], group):
        Xg = X[start:start + group]
        n = Xg.shape[0]
        records = []
        out = run(network.body, _time_major(Xg, T), _faithful_hook(network, n, records, record))
        out = out.reshape((T, n) + out.shape[1:])
        outputs.append(out if steps else out.sum(axis=0))
        groups.append(records)
    return join_samples(list(zip(outputs, groups)), steps)


def join_samples(parts, steps):
    """The (outputs, records) of consecutive runs of samples, joined along the samples:
    outputs (T, n, K) if ``steps`` else (n, K), records' counts (n, ...) and spike trains
    (T, n, ...) of each neuron layer."""
    if len(parts) == 1:
        return parts[0]
    outputs, groups = zip(*parts)
    records = [{key: np.concatenate([g[k][key] for g in groups], axis=1 if key == "spikes" else 0)
                for key in groups[0][k]} for k in range(len(groups[0]))]
    return np.concatenate(outputs, axis=1 if steps else 0), records


def _time_major(X, T):
    """The direct-encoded input: X repeated at every step, shape (T·B, ...), time-major."""
    return np.broadcast_to(X, (T,) + X.shape).reshape((T * X.shape[0],) + X.shape[1:])


def _faithful_hook(network, B, records, record):
    """Hook for faithful mode: parallel layers fire the T steps of a (T·B, ...) batch."""
    T = network.T

    def hook(layer, x):
        if isinstance(layer, BatchNorm) and layer.training:
            raise training_error(network, layer)
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


def collapsed(network, X, record):
    """One pass of the time sums: the logits summed over time (B, K)."""
    total = X * np.float32(network.T)  # Σ_t x_t of the direct-encoded input
    if not np.isfinite(total).all():
        raise NonFiniteError(f"the summed input T·X overflows float32 at T={network.T}")
    records = []
    return run(network.body, total, _collapsed_hook(network, records, record)), records


def _offset(layer):
    """The constant c of a time-linear layer f(x) = A x + c, per output channel, or None.

    Conv2d and Linear: their bias. BatchNorm (evaluation mode): β − a·μ. Average
    pooling and flattening: none.
    """
    if isinstance(layer, BatchNorm):
        return layer.scale_and_shift()[1]
    return getattr(layer, "bias", None) if isinstance(layer, (Conv2d, Linear)) else None


def _collapsed_hook(network, records, record):
    """Hook for collapsed mode: affine layers add their offset T − 1 more times,
    parallel layers fire from the time sums."""
    more = np.float32(network.T - 1)

    def hook(layer, total):
        if isinstance(layer, ParallelNeurons):
            counts, out = fast_snn.fire_from_total(layer, total, counts_wanted=bool(record))
            if record:
                records.append({"counts": counts})
            return out
        if isinstance(layer, BatchNorm) and layer.training:
            raise training_error(network, layer)
        offset = _offset(layer)
        if offset is None:
            return None
        if isinstance(layer, Conv2d):  # added in the pass that adds the bias: the same floats
            return fast_conv.forward(layer, layer.checked_input(total), more * offset)
        out = layer.forward(total)  # a new array: the offset is added in place
        if isinstance(layer, Linear):  # its bias, one per output feature
            offset = offset.reshape((-1,) + (1,) * (out.ndim - 2))
        else:
            offset = channel_view(layer, "offset", offset, out)
        out += more * offset
        return out
    return hook


def training_error(network, layer):
    """The ValueError for a BatchNorm ``layer`` of ``network`` found in training mode.

    In training mode BatchNorm normalises with the statistics of its batch (T·B copies,
    time sums or one step) instead of the running averages, which do not commute with
    the sum over time, and overwrites those averages: no mode would compute the
    converted network. ``set_training(snn.net, True)`` can do that at any time after
    construction, so every hook checks each BatchNorm before it runs (one
    ``isinstance`` per leaf).
    """
    path = next(path for path, leaf in iter_layers(network.net) if leaf is layer)
    return ValueError(
        f"layer {path} ({layer!r}) is in training mode, where it normalises with batch "
        "statistics, which do not commute with the sum over time (and overwrites its running "
        "statistics); call refsnn.networks.containers.set_training(net, False) first"
    )


def diagnose(network, X, mode):
    """The NonFiniteError for NaN or infinity produced inside the network from the finite X.

    Runs the same mode again, checking the output of every layer
    (:func:`refsnn.networks.containers.find_nonfinite`), and names the first whose output
    is not finite (weights that hold NaN or infinity, or an overflow). Called only after
    a run went wrong: a normal run checks its logits once.
    """
    error = None
    if mode == "collapsed":
        total = X * np.float32(network.T)
        if not np.isfinite(total).all():
            return NonFiniteError(f"the summed input T·X overflows float32 at T={network.T}")
        error = find_nonfinite(network.body, total, _collapsed_hook(network, [], None))
    elif mode == "faithful":
        error = find_nonfinite(network.body, _time_major(X, network.T), _faithful_hook(network, X.shape[0], [], None))
    else:
        for layer in network.neuron_layers:
            layer.reset()
        hook = _sequential_hook(network, [], None)
        for _ in range(network.T):
            error = error or find_nonfinite(network.body, X, hook)
    return error or NonFiniteError("the network produces NaN or infinity")


def sample_sizes(network, X):
    """Per-sample sizes of the input and of every leaf's output, from one zero sample.

    Returns the list of sizes, the list of the neuron layers' output sizes, and how many
    arrays of the largest size are alive at once in a pass (:func:`arrays_alive`). The
    dry run also raises every shape or channel error up front.
    """
    sizes, neuron_sizes = [int(np.prod(X.shape[1:]))], []

    def dry(layer, x):
        if isinstance(layer, BatchNorm) and layer.training:
            raise training_error(network, layer)
        if isinstance(layer, ParallelNeurons):
            layer._params(x)
            out = x
        elif isinstance(layer, IFNeurons):
            channel_view(layer, "theta", layer.theta, x)
            out = x
        else:
            out = layer.forward(x)
        if isinstance(layer, (ParallelNeurons, IFNeurons)):
            neuron_sizes.append(int(np.prod(x.shape[1:])))
        sizes.append(int(np.prod(out.shape[1:])))
        return out

    run(network.body, np.zeros((1,) + X.shape[1:], dtype=X.dtype), dry)
    return sizes, neuron_sizes, arrays_alive(network.body)


def arrays_alive(net):
    """How many float arrays of a layer's output size a pass of ``net`` holds at once, at most.

    A pass holds a layer's input and its output, and a neuron layer also its boolean
    spikes (a quarter of a float array): 2.25. Inside a residual block the block's input
    stays alive for the shortcut, and the main path's output while the shortcut runs and
    their sum is formed: 4 (input, main output, shortcut output, sum).
    """
    return 4 if _holds_residual(net) else 2.25


def _holds_residual(layer):
    return isinstance(layer, Residual) or any(_holds_residual(child) for _, child in children(layer))
