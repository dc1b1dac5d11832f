"""Lean paths of a spiking network's inner loop; a reader can skip this module.

Each function here returns what a readable, checked call returns, bit for bit, and takes
that call itself for anything unusual, so that the documented errors stay the same:

:func:`if_step`
    One step of an IF layer: the kernel of :func:`refsnn.neurons.integrate_fire.if_neuron`,
    called without the function's checks and with the per-neuron thresholds kept from
    step to step (at batch 1 the checks cost more than the kernel's work).
:func:`if_forward_step`
    One step of an IF layer in sequential mode, fused into one compiled pass
    (:func:`_if_step_kernel`): the step of :func:`if_step`, the output θ_post·s_t and the
    spike counts added in place, with the thresholds read per channel.
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
from numba import njit

from .._checks import check_finite_after
from ..neurons import parallel_kernels
from ..neurons.integrate_fire import if_kernel, if_neuron
from .containers import iter_layers

__all__ = ["if_step", "if_forward_step", "fire_from_total", "kept_sample_sizes", "COLLAPSED_MAX_T"]

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


def if_forward_step(layer, x, counts=None):
    """One step of the IF ``layer`` (ψ_DA = 0) on the current ``x`` (B, C, ...): the spikes
    s_t and the output θ_post·s_t in ``x``'s dtype, with ``layer.v`` advanced and s_t
    added into ``counts`` (int64, shape ``x.shape``) in place if given; equal, bit for
    bit, to ``layer.step(x)``, ``np.multiply(s_t, θ_post)`` and ``counts += s_t``.

    Returns None for anything unusual (ψ_DA ≠ 0, a dtype other than float32 or float64,
    an empty or 1-D input, a membrane of another shape, parameters that are neither
    scalars nor one per channel of axis 1): the caller then takes the readable path.
    """
    if (x.dtype not in (np.float32, np.float64) or x.ndim < 2 or x.size == 0 or layer.psi_da.any()
            or (layer.v is not None and layer.v.shape != x.shape)
            or max(layer.theta.size, layer.psi_da.size, layer.theta_post.size) not in (1, x.shape[1])):
        return None
    flat = np.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], -1)
    theta, theta_post = layer.theta.astype(x.dtype), layer.theta_post.astype(x.dtype)
    half = theta / x.dtype.type(2)  # v0 = θ/2, as if_step starts
    first = layer.v is None
    v = half[:1].reshape(1, 1, 1) if first else np.ascontiguousarray(layer.v).reshape(flat.shape)
    spikes, membrane, out = np.empty(flat.shape, np.bool_), np.empty_like(flat), np.empty_like(flat)
    tally = counts.reshape(flat.shape) if counts is not None else np.empty((0, 0, 0), np.int64)
    if _if_step_kernel(flat, theta, half, theta_post, v, first, spikes, membrane, out, tally) and not np.isfinite(
            flat).all():
        layer.step(x)  # raises the readable path's error for a NaN or infinite current; an overflow stands
    layer.v = membrane.reshape(x.shape)
    return spikes.reshape(x.shape), out.reshape(x.shape)


@njit(cache=True, error_model="numpy")
def _if_step_kernel(current, theta, half, theta_post, v, first, spikes, membrane, out, counts):  # pragma: no cover
    """Compiled step of :func:`if_forward_step` on (B, C, S) arrays: m = v + I (v = θ/2 on
    the ``first`` step), s = [m >= θ], v ← m − θ·s, out = θ_post·s, counts += s (if
    ``counts`` is not empty); θ, θ/2 and θ_post hold one value or one per channel. The
    operations of :func:`refsnn.neurons.integrate_fire.if_kernel` in the same float type.
    Returns True if a new membrane potential is NaN or infinite."""
    B, C, S = current.shape
    count = counts.size > 0
    bad = False
    for b in range(B):
        for c in range(C):
            h = theta[c if theta.size > 1 else 0]
            h0 = half[c if half.size > 1 else 0]
            tp = theta_post[c if theta_post.size > 1 else 0]
            zero = tp * (tp - tp)  # 0·θ_post, with its sign, in its dtype
            for j in range(S):
                m = (h0 if first else v[b, c, j]) + current[b, c, j]  # m_t = v_{t-1} + I_t
                s = m >= h  # s_t = H(m_t - θ)
                m = m - h if s else m  # v_t = m_t - θ s_t
                membrane[b, c, j] = m
                spikes[b, c, j] = s
                out[b, c, j] = tp if s else zero  # θ_post·s_t
                if count:
                    counts[b, c, j] += s
                bad |= (m - m) != 0  # x − x is NaN exactly when x is NaN or infinite
    return bad


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
