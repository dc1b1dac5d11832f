"""Lean paths of a spiking network's inner loop; a reader can skip this module.

Each function here returns what a readable, checked call returns, bit for bit, and takes
that call itself for anything unusual, so that the documented errors stay the same:

:func:`if_step`
    One step of an IF layer: the kernel of :func:`refsnn.neurons.integrate_fire.if_neuron`,
    called without the function's checks and with the per-neuron thresholds kept from
    step to step (at batch 1 the checks cost more than the kernel's work).
:func:`fire_from_total`
    A parallel layer in collapsed mode: counts and summed outputs in one compiled pass
    (:func:`refsnn.neurons.parallel_kernels.collapsed_kernel`) instead of
    :meth:`~refsnn.networks.neuron_layers.ParallelNeurons.fire_from_total`.
:func:`kept_sample_sizes`
    The memory estimate's dry run, kept for the next run with the same sample shape.

``tests/test_spiking.py`` checks each against its readable call. The state they keep
lives on the layer or network, under a private attribute that only this module uses.
"""

import numpy as np

from .._checks import check_finite_after
from ..neurons import parallel_kernels
from ..neurons.integrate_fire import if_kernel, if_neuron
from .containers import iter_layers

__all__ = ["if_step", "fire_from_total", "kept_sample_sizes", "COLLAPSED_MAX_T"]

#: Collapsed mode and :func:`fire_from_total` are exact only for T below this (2²², the
#: ``HADAMARD_MAX_T`` of the neuron kernels; float32 stops holding T at 2²⁴).
COLLAPSED_MAX_T = parallel_kernels.HADAMARD_MAX_T


def if_step(layer, shifted, theta):
    """One step of the IF ``layer`` on the current ``shifted`` (B, ...) from its membrane
    ``layer.v``: (spikes, membrane), each of shape ``shifted.shape``, equal to the one step
    of ``if_neuron(shifted[None], theta, v0=layer.v, return_membrane=True)``.

    Anything unusual (a dtype other than float32 or float64, an empty input, or a
    membrane of another shape) goes through ``if_neuron`` itself.
    """
    if (shifted.dtype not in (np.float32, np.float64) or shifted.size == 0
            or (layer.v is not None and layer.v.shape != shifted.shape)):
        spikes, membrane = if_neuron(shifted[None], theta, v0=layer.v, return_membrane=True)
        return spikes[0], membrane[0]  # v0 = None on the first step: if_neuron starts from θ/2
    flat = np.ascontiguousarray(shifted).reshape(1, -1)
    thresholds = _neuron_thresholds(layer, theta.astype(shifted.dtype), shifted)
    v0 = thresholds / shifted.dtype.type(2) if layer.v is None else np.ascontiguousarray(layer.v).reshape(-1)
    spikes = np.empty(flat.shape, dtype=np.bool_)
    membrane = np.empty_like(flat)
    state = if_kernel(flat, thresholds, v0, spikes, membrane, True)
    check_finite_after(flat, state)  # a NaN or infinite current is a ValueError
    return spikes[0].reshape(shifted.shape), membrane[0].reshape(shifted.shape)


def _neuron_thresholds(layer, theta, current):
    """θ for every neuron of ``current``, flat and contiguous; kept on the layer while the
    input's shape and dtype and the layer's θ stay the same."""
    key = (current.shape, current.dtype.str, layer.theta.tobytes())
    kept = getattr(layer, "_kept_thresholds", None)
    if kept is None or kept[0] != key:
        kept = layer._kept_thresholds = (key, np.ascontiguousarray(np.broadcast_to(theta, current.shape)).reshape(-1))
    return kept[1]


def fire_from_total(layer, total, counts_wanted=True):
    """``layer.fire_from_total(total)`` for a parallel layer in collapsed mode: the counts
    and the summed outputs θ_post·N of a float array (B, C, ...) or (B, C). With
    ``counts_wanted=False`` the counts come back as None and are never written (what
    ``predict`` needs: only the outputs).

    Anything unusual (not float32, T >= :data:`COLLAPSED_MAX_T`, where the kernel's
    float32 count estimate is no longer exact, a channel mismatch, or a sum that is not
    finite, which the kernel reports as it reads) takes the checked path, which raises
    the documented errors.
    """
    if (total.dtype != np.float32 or total.ndim < 2 or layer.T >= COLLAPSED_MAX_T
            or max(layer.theta.size, layer.psi.size, layer.theta_post.size) not in (1, total.shape[1])):
        return layer.fire_from_total(total)
    flat = np.ascontiguousarray(total).reshape(total.shape[0], total.shape[1], -1)
    counts = np.empty(flat.shape if counts_wanted else (0, 0, 0), dtype=np.int64)
    out = np.empty_like(flat)
    if parallel_kernels.collapsed_kernel(flat, layer.theta, layer.psi, layer.theta_post, np.float32(layer.T),
                                         counts, out) != 0:  # a NaN or infinite sum
        return layer.fire_from_total(total)
    return (counts.reshape(total.shape) if counts_wanted else None), out.reshape(total.shape)


def kept_sample_sizes(network, X, sample_sizes):
    """``sample_sizes(network, X)``, kept on the network for the next call with the same
    sample shape, dtype and layers (a parameter edited since then is still checked by
    the run itself)."""
    key = (X.shape[1:], X.dtype.str, tuple(id(layer) for _, layer in iter_layers(network.net)))
    kept = getattr(network, "_kept_sizes", None)
    if kept is None or kept[0] != key:
        kept = network._kept_sizes = (key, sample_sizes(network, X))
    return kept[1]
