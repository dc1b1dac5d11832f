"""The parallel conversion neuron: dense, rank-1 (Hadamard) and binary-search firing.

Spec §3. With Σ = Σ_t I_t the total input current, the membrane potential of step x is

.. math::

    H_x = (\\Lambda_{pc} I)_x + b_x = \\frac{\\Sigma + \\psi}{T - x + 1},
    \\qquad s_x = H(H_x - \\theta), \\qquad x = 1, \\dots, T,

so step x fires iff the count floor((Σ + ψ)/θ) is at least T − x + 1. The count is

.. math::

    N = \\operatorname{clip}\\left(\\left\\lfloor \\frac{\\Sigma + \\psi}{\\theta} \\right\\rfloor, 0, T\\right),

which is the QCFS level of the mean current (Theorem 4.1, case T = T̃), and the spikes
fill the last N steps ("paper" order, back-loaded: the sorting property of §3.5).

Three ways to compute the same spikes:

``"dense"``
    The explicit matrix product Λ_pc·I + b, O(T²) per neuron.
``"hadamard"``
    Λ_pc = u·𝟙ᵀ has rank 1, so sum once and scale: H_x = (Σ + ψ)/(T − x + 1), O(T).
    The scaling is a division, so an exact tie H_x = θ stays exact in floating point.
    The twin divides for every x; the kernel uses that the predicate is monotone in x,
    finds the count with three divisions per neuron and writes the train by comparing
    each step with the count, with the same result bit for bit (``_firing_count``).
``"binary"``
    The firing predicate is monotone in x, so binary search finds the first spike step
    in at most ⌈log2(T + 1)⌉ comparisons (spec §3.5).

``order="code"`` reproduces the authors' released code, where step x fires iff the
count is >= x: the spikes fill the *first* N steps (spec §3.3). It is computed as the
exact time-reverse of the paper order, so counts are identical. (The code's own float
formula, (T/x)·mean + ψ/x >= θ, can differ from this at ties, spec §10.)

Each method has a NumPy twin (``*_reference``) that mirrors the equation; the public
functions run the Numba kernels, and ``tests/test_parallel.py`` proves that they agree.
In floating point, ``"hadamard"`` and ``"binary"`` always agree exactly; ``"dense"`` sums
rounded matrix entries such as 1/3 and can miss an exact tie by one spike.
"""

import numpy as np
from numba import njit

from .._checks import _check_finite_after, _currents_unchecked, as_float_array, as_int, as_param, check_choice
from .matrices import parallel_conversion_matrix, step_offsets

__all__ = [
    "parallel_neuron",
    "first_spike_step",
    "first_spike_step_from_total",
    "closed_form_count",
    "binary_search_probes",
    "dense_reference",
    "hadamard_reference",
    "binary_reference",
]

METHODS = ("dense", "hadamard", "binary")
ORDERS = ("paper", "code")


# --------------------------------------------------------------------------- references


def total_current(currents):
    """Σ_t I_t accumulated one step at a time, shape ``currents.shape[1:]``.

    The explicit loop fixes the summation order, so the kernels reproduce it exactly.
    """
    total = np.zeros_like(currents[0])
    for step in currents:
        total = total + step
    return total


def closed_form_count(total, theta, psi, T):
    """Spike count N = clip(floor((Σ + ψ)/θ), 0, T) (spec §3.2), as int64."""
    return np.clip(np.floor((total + psi) / theta), 0, T).astype(np.int64)


def dense_reference(currents, theta, psi):
    """Paper-order spikes from the explicit product H = Λ_pc·I + b, O(T²) per neuron.

    Parameters
    ----------
    currents : numpy.ndarray, shape (T, N)
    theta, psi : numpy.ndarray, shape (N,)

    Returns
    -------
    numpy.ndarray of bool, shape (T, N)
    """
    T = currents.shape[0]
    Lpc = parallel_conversion_matrix(T).astype(currents.dtype)
    H = np.zeros_like(currents)
    for t in range(T):  # the matrix product, written as a sum over t
        H = H + Lpc[:, t, None] * currents[t]
    H = H + step_offsets(T, psi)
    return H >= theta


def hadamard_reference(currents, theta, psi):
    """Paper-order spikes from the rank-1 form H_x = (Σ + ψ)/(T − x + 1), O(T) per neuron."""
    T = currents.shape[0]
    denominators = (T - np.arange(T)).astype(currents.dtype)  # T − x + 1 for x = 1..T
    H = (total_current(currents) + psi) / denominators[:, None]
    return H >= theta


def binary_reference(currents, theta, psi):
    """First spike step by binary search, vectorised over neurons.

    Returns
    -------
    first_step : numpy.ndarray of int64, shape (N,)
        t_fir in 1..T, or T + 1 for a silent neuron.
    comparisons : numpy.ndarray of int64, shape (N,)
        How many times each neuron evaluated the firing predicate.
    """
    T = currents.shape[0]
    shifted = total_current(currents) + psi
    lo = np.ones(shifted.shape, dtype=np.int64)
    hi = np.full(shifted.shape, T + 1, dtype=np.int64)
    comparisons = np.zeros(shifted.shape, dtype=np.int64)
    while (lo < hi).any():
        active = lo < hi
        mid = np.where(active, (lo + hi) // 2, T)  # finished neurons probe a dummy step
        fires = shifted / (T - mid + 1).astype(shifted.dtype) >= theta  # H_mid >= θ
        hi = np.where(active & fires, mid, hi)
        lo = np.where(active & ~fires, mid + 1, lo)
        comparisons += active
    return lo, comparisons


def binary_search_probes(total, theta, psi, T):
    """The steps one neuron probes while binary-searching its first spike step.

    Parameters
    ----------
    total : float
        Σ, the total input current.
    theta : float
        Threshold θ > 0.
    psi : float
        Shift ψ.
    T : int
        Number of time steps.

    Returns
    -------
    probes : list of (int, bool)
        Each probed step x and whether H_x >= θ there, in the order probed.
    first_step : int
        t_fir in 1..T, or T + 1 if the neuron is silent.
    """
    lo, hi, probes = 1, T + 1, []
    while lo < hi:
        mid = (lo + hi) // 2
        fires = bool((total + psi) / (T - mid + 1) >= theta)
        probes.append((mid, fires))
        if fires:
            hi = mid
        else:
            lo = mid + 1
    return probes, lo


# --------------------------------------------------------------------------- kernels
#
# The kernels are memory-bound: a layer reads T×N currents and writes T×N spikes. They
# cut the neurons into blocks of BLOCK, so that a block's running sums stay in the L2
# cache, and run time-major over contiguous neurons inside a block. Divisions use
# error_model="numpy" (no Python zero-division check, so the loops vectorise); no
# denominator is ever zero. Each kernel returns the total Σ (or an equivalent state):
# a NaN or infinite current makes it non-finite, which is how the public functions check
# their input without a separate pass (``_check_finite_after``).

#: Neurons per block (64 KB of float32 running sums).
BLOCK = 16384
#: ``_count_block`` is exact for T < 2²² (float32); larger T falls back to binary search.
HADAMARD_MAX_T = 2**22


@njit(cache=True)
def _total_block(currents, start, stop, total):  # pragma: no cover - compiled
    """total[:] = Σ_t currents[t, start:stop], summed in the order of :func:`total_current`."""
    T = currents.shape[0]
    total[:] = 0
    t = 0
    while t + 4 <= T:  # four rows per sweep: the running sum is loaded and stored once
        i0, i1, i2, i3 = (currents[t, start:stop], currents[t + 1, start:stop],
                          currents[t + 2, start:stop], currents[t + 3, start:stop])
        for j in range(stop - start):
            total[j] = (((total[j] + i0[j]) + i1[j]) + i2[j]) + i3[j]
        t += 4
    for t in range(t, T):
        i0 = currents[t, start:stop]
        for j in range(stop - start):
            total[j] += i0[j]


@njit(cache=True)
def _total_kernel(currents):  # pragma: no cover - compiled
    N = currents.shape[1]
    total = np.empty(N, dtype=currents.dtype)
    for start in range(0, N, BLOCK):
        stop = min(start + BLOCK, N)
        _total_block(currents, start, stop, total[start:stop])
    return total


@njit(inline="always", error_model="numpy")
def _firing_count(s, h, Tf, one):  # pragma: no cover - compiled
    """#{x : s/(T − x + 1) >= θ} for s = Σ + ψ and h = θ, a float of their dtype.

    Division is correctly rounded, hence monotone, so the steps that fire are exactly
    those with denominator d = 1..D for some D: the count is D, the largest d in 1..T with
    fl(s/d) >= θ. With q = s/θ, D lies in {⌊q⌋, ⌊q⌋+1} and the estimate k = ⌊fl(q)⌋
    within one of D (for T < 2²²: the rounding errors of q and of s/d are below 1/2), so
    one step up and one step down with the twin's own predicate give D exactly: three
    divisions per neuron instead of T, and the twin's result bit for bit, ties included.
    """
    zero = one - one
    k = np.floor(min(max(s / h, zero), Tf))  # clipped first: no float-to-int overflow
    if k < Tf and s / (k + one) >= h:  # D = k + 1?
        k = k + one
    if k > zero and not s / max(k, one) >= h:  # D = k − 1?
        k = k - one
    return k


@njit(cache=True, error_model="numpy")
def _count_block(total, psi, theta, denominators, count):  # pragma: no cover - compiled
    """count[j] = _firing_count(Σ_j + ψ_j, θ_j): the spike count of every neuron."""
    Tf, one = denominators[0], denominators[-1]  # T and 1 in the currents' dtype
    for j in range(total.size):
        count[j] = _firing_count(total[j] + psi[j], theta[j], Tf, one)


@njit(cache=True)
def _fill_block(count, denominators, spikes, start, stop, paper):  # pragma: no cover
    """Write the trains of a block from its counts: in paper order step x fires iff
    count >= T − x + 1, in code order iff count >= x."""
    T = spikes.shape[0]
    for x in range(T):
        d = denominators[x] if paper else denominators[T - 1 - x]  # T − x + 1, or x
        row = spikes[x, start:stop]
        for j in range(stop - start):
            row[j] = count[j] >= d


@njit(cache=True)
def _fill_kernel(count, denominators, spikes, paper):  # pragma: no cover - compiled
    N = spikes.shape[1]
    for start in range(0, N, BLOCK):
        stop = min(start + BLOCK, N)
        _fill_block(count[start:stop], denominators, spikes, start, stop, paper)


@njit(cache=True, error_model="numpy")
def _dense_kernel(currents, Lpc, denominators, theta, psi, spikes, paper):  # pragma: no cover
    T, N = currents.shape
    H = np.empty(N, dtype=currents.dtype)
    for x in range(T):
        H[:] = 0
        for t in range(T):
            w = Lpc[x, t]
            for n in range(N):
                H[n] += w * currents[t, n]
        row = spikes[x] if paper else spikes[T - 1 - x]
        for n in range(N):
            row[n] = H[n] + psi[n] / denominators[x] >= theta[n]
    return _total_kernel(currents)  # only for the finiteness check


@njit(cache=True, error_model="numpy")
def _hadamard_kernel(currents, denominators, theta, psi, spikes, paper):  # pragma: no cover
    """Rank-1 firing in two streaming passes per block: sum the T rows, count, write."""
    N = currents.shape[1]
    total = np.empty(N, dtype=currents.dtype)
    count = np.empty(min(BLOCK, N), dtype=currents.dtype)
    for start in range(0, N, BLOCK):
        stop = min(start + BLOCK, N)
        _total_block(currents, start, stop, total[start:stop])
        c = count[:stop - start]
        _count_block(total[start:stop], psi[start:stop], theta[start:stop], denominators, c)
        _fill_block(c, denominators, spikes, start, stop, paper)
    return total


@njit(cache=True, error_model="numpy")
def _collapsed_kernel(total, theta, psi, theta_post, Tf, counts, out):  # pragma: no cover
    """Counts and summed outputs of a parallel layer from summed float32 currents.

    ``total`` has shape (B, C, S) (S = 1 after a Linear layer); ``theta``, ``psi`` and
    ``theta_post`` are the layer's float64 parameters of shape (C,) or (1,), rounded to
    float32 here as ``astype(np.float32)`` would. counts = #{x : (Σ + ψ)/(T − x + 1) >= θ}
    by the predicate of every parallel kernel (:func:`_firing_count`), and
    out = θ_post·counts in float32: what ``ParallelNeurons.counts_from_total`` followed
    by ``(counts * theta_post).astype(np.float32)`` gives. Used by the collapsed mode of
    :class:`refsnn.networks.spiking.SpikingNetwork`; it lives here, beside ``_firing_count``, because
    Numba's cache only notices edits to the file that defines a kernel.
    """
    B, C, S = total.shape
    one = np.float32(1)
    for c in range(C):  # a parameter of shape (1,) applies to every channel
        h = np.float32(theta[min(c, theta.size - 1)])
        shift = np.float32(psi[min(c, psi.size - 1)])
        a = np.float32(theta_post[min(c, theta_post.size - 1)])
        for b in range(B):
            for i in range(S):
                k = _firing_count(total[b, c, i] + shift, h, Tf, one)
                counts[b, c, i] = np.int64(k)
                out[b, c, i] = k * a


@njit(cache=True, error_model="numpy")
def _first_step_from_total(total, T, denominators, theta, psi, first, comparisons):  # pragma: no cover
    for n in range(total.size):
        s = total[n] + psi[n]
        lo, hi, k = 1, T + 1, 0
        while lo < hi:
            mid = (lo + hi) // 2
            k += 1
            if s / denominators[mid - 1] >= theta[n]:
                hi = mid
            else:
                lo = mid + 1
        first[n] = lo
        comparisons[n] = k


@njit(cache=True)
def _first_step_kernel(currents, denominators, theta, psi, first, comparisons):  # pragma: no cover
    total = _total_kernel(currents)
    _first_step_from_total(total, currents.shape[0], denominators, theta, psi, first, comparisons)
    return total


# --------------------------------------------------------------------------- public API


def _prepare(currents, theta, psi):
    """Check the inputs; return (T, N) currents and (N,) θ, ψ, and the currents as given.

    Finiteness of the currents is checked after the kernel, from the state it returns
    (:func:`refsnn._checks._check_finite_after`), to save a pass over T×N values.
    """
    currents = _currents_unchecked(currents)
    T, shape = currents.shape[0], currents.shape[1:]
    dtype = currents.dtype
    theta = as_param("theta", theta, shape, dtype, positive=True)
    psi = theta / dtype.type(2) if psi is None else as_param("psi", psi, shape, dtype)
    flat = np.ascontiguousarray(currents.reshape(T, -1))  # a view unless currents is strided
    denominators = (T - np.arange(T)).astype(dtype)  # T − x + 1 for x = 1..T
    return flat, theta.ravel(), psi.ravel(), denominators, currents


def parallel_neuron(currents, theta, psi=None, method="hadamard", order="paper"):
    """Fire parallel conversion neurons for all T steps at once (spec §3).

    .. math::

        s_x = H\\left(\\frac{\\Sigma + \\psi}{T - x + 1} - \\theta\\right),
        \\qquad \\Sigma = \\sum_{t=1}^T I_t

    Parameters
    ----------
    currents : array_like, shape (T, ...)
        Input currents, time first.
    theta : array_like
        Threshold θ > 0, broadcast against ``currents.shape[1:]``.
    psi : array_like, optional
        Shift ψ; θ/2 by default. A DA-QCFS input shift merges in as ψ + T·ψ_DA (§4.4).
    method : {"hadamard", "dense", "binary"}
        How to compute the spikes (see the module docstring). All give the same spikes
        except that ``"dense"`` can miss an exact float tie.
    order : {"paper", "code"}
        ``"paper"``: step x fires iff count >= T − x + 1 (back-loaded).
        ``"code"``: step x fires iff count >= x (front-loaded), as in the authors' code.

    Returns
    -------
    numpy.ndarray of bool, shape (T, ...)

    Examples
    --------
    >>> parallel_neuron([[0.0], [0.0], [3.0]], theta=1.0)[:, 0]
    array([ True,  True,  True])
    >>> parallel_neuron([[1.0], [0.0], [1.0]], theta=1.0)[:, 0]
    array([False,  True,  True])
    >>> parallel_neuron([[1.0], [0.0], [1.0]], theta=1.0, order="code")[:, 0]
    array([ True,  True, False])
    """
    check_choice("method", method, METHODS)
    check_choice("order", order, ORDERS)
    flat, theta, psi, denominators, currents = _prepare(currents, theta, psi)
    T, paper = flat.shape[0], order == "paper"
    spikes = np.empty(flat.shape, dtype=np.bool_)  # each kernel writes the rows in `order`
    if method == "dense":
        Lpc = parallel_conversion_matrix(T).astype(flat.dtype)
        total = _dense_kernel(flat, Lpc, denominators, theta, psi, spikes, paper)
    elif method == "hadamard" and T < HADAMARD_MAX_T:
        total = _hadamard_kernel(flat, denominators, theta, psi, spikes, paper)
    else:  # binary search, or a T too large for the hadamard kernel's count estimate
        first = np.empty(flat.shape[1], dtype=np.int64)
        comparisons = np.empty_like(first)
        total = _first_step_kernel(flat, denominators, theta, psi, first, comparisons)
        _fill_kernel((T + 1 - first).astype(flat.dtype), denominators, spikes, paper)
    _check_finite_after(currents, total)
    return spikes.reshape(currents.shape)


def first_spike_step(currents, theta, psi=None, return_comparisons=False):
    """First spike step t_fir of parallel neurons, found by binary search (spec §3.5).

    In paper order the neuron fires at every step x >= t_fir, so its count is
    N = T − t_fir + 1. The closed form is t_fir = T + 1 − clip(floor((Σ+ψ)/θ), 0, T).

    Parameters
    ----------
    currents : array_like, shape (T, ...)
    theta : array_like
        Threshold θ > 0, broadcast against ``currents.shape[1:]``.
    psi : array_like, optional
        Shift ψ; θ/2 by default.
    return_comparisons : bool
        Also return how many comparisons each neuron made (at most ⌈log2(T+1)⌉).

    Returns
    -------
    first_step : numpy.ndarray of int64, shape ``currents.shape[1:]``
        Values 1..T; T + 1 means the neuron is silent.
    comparisons : numpy.ndarray of int64, same shape, only if ``return_comparisons``
    """
    flat, theta, psi, denominators, currents = _prepare(currents, theta, psi)
    first = np.empty(flat.shape[1], dtype=np.int64)
    comparisons = np.empty_like(first)
    total = _first_step_kernel(flat, denominators, theta, psi, first, comparisons)
    _check_finite_after(currents, total)
    shape = currents.shape
    if return_comparisons:
        return first.reshape(shape[1:]), comparisons.reshape(shape[1:])
    return first.reshape(shape[1:])


def first_spike_step_from_total(total, theta, T, psi=None, return_comparisons=False):
    """First spike step from pre-summed currents Σ = Σ_t I_t, in O(log T) per neuron.

    The parallel neuron only needs Σ (the prior control matrix averages over time), so a
    network that carries summed currents between layers fires each neuron with
    ⌈log2(T+1)⌉ comparisons and never touches the T steps (spec §3.5).

    Parameters
    ----------
    total : array_like, shape (...)
        Σ per neuron.
    theta : array_like
        Threshold θ > 0, broadcast against ``total.shape``.
    T : int
        Number of time steps, T >= 1.
    psi : array_like, optional
        Shift ψ; θ/2 by default.
    return_comparisons : bool
        Also return the number of comparisons per neuron.

    Returns
    -------
    first_step : numpy.ndarray of int64, shape ``total.shape``
        Values 1..T; T + 1 means silent. The count is T + 1 − first_step.
    """
    T = as_int("T", T)
    total = as_float_array("total", total)
    dtype, shape = total.dtype, total.shape
    theta = as_param("theta", theta, shape, dtype, positive=True)
    psi = theta / dtype.type(2) if psi is None else as_param("psi", psi, shape, dtype)
    denominators = (T - np.arange(T)).astype(dtype)
    flat = np.ascontiguousarray(total).ravel()
    first = np.empty(flat.size, dtype=np.int64)
    comparisons = np.empty_like(first)
    _first_step_from_total(flat, T, denominators, theta.ravel(), psi.ravel(), first, comparisons)
    if return_comparisons:
        return first.reshape(shape), comparisons.reshape(shape)
    return first.reshape(shape)
