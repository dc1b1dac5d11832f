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

from ._checks import as_currents, as_float_array, as_int, as_param, check_choice
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


@njit(cache=True)
def _total_kernel(currents):  # pragma: no cover - compiled
    T, N = currents.shape
    total = np.zeros(N, dtype=currents.dtype)
    for t in range(T):
        for n in range(N):
            total[n] += currents[t, n]
    return total


@njit(cache=True)
def _dense_kernel(currents, Lpc, denominators, theta, psi, spikes):  # pragma: no cover
    T, N = currents.shape
    H = np.empty(N, dtype=currents.dtype)
    for x in range(T):
        H[:] = 0
        for t in range(T):
            w = Lpc[x, t]
            for n in range(N):
                H[n] += w * currents[t, n]
        for n in range(N):
            spikes[x, n] = H[n] + psi[n] / denominators[x] >= theta[n]


@njit(cache=True)
def _hadamard_kernel(currents, denominators, theta, psi, spikes):  # pragma: no cover
    T, N = currents.shape
    shifted = _total_kernel(currents)
    for n in range(N):
        shifted[n] += psi[n]
    for x in range(T):
        d = denominators[x]
        for n in range(N):
            spikes[x, n] = shifted[n] / d >= theta[n]


@njit(cache=True)
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
    _first_step_from_total(_total_kernel(currents), currents.shape[0], denominators, theta, psi, first, comparisons)


@njit(cache=True)
def _fill_from_first_step(first, spikes):  # pragma: no cover - compiled
    T, N = spikes.shape
    for x in range(T):
        for n in range(N):
            spikes[x, n] = x + 1 >= first[n]


# --------------------------------------------------------------------------- public API


def _prepare(currents, theta, psi):
    """Check the inputs; return (T, N) currents and (N,) θ, ψ, and the neuron shape."""
    currents = as_currents(currents)
    T, shape = currents.shape[0], currents.shape[1:]
    dtype = currents.dtype
    theta = as_param("theta", theta, shape, dtype, positive=True)
    psi = theta / dtype.type(2) if psi is None else as_param("psi", psi, shape, dtype)
    flat = np.ascontiguousarray(currents.reshape(T, -1))
    denominators = (T - np.arange(T)).astype(dtype)  # T − x + 1 for x = 1..T
    return flat, theta.ravel(), psi.ravel(), denominators, currents.shape


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
    flat, theta, psi, denominators, shape = _prepare(currents, theta, psi)
    spikes = np.empty(flat.shape, dtype=np.bool_)
    if method == "dense":
        Lpc = parallel_conversion_matrix(flat.shape[0]).astype(flat.dtype)
        _dense_kernel(flat, Lpc, denominators, theta, psi, spikes)
    elif method == "hadamard":
        _hadamard_kernel(flat, denominators, theta, psi, spikes)
    else:
        first = np.empty(flat.shape[1], dtype=np.int64)
        comparisons = np.empty_like(first)
        _first_step_kernel(flat, denominators, theta, psi, first, comparisons)
        _fill_from_first_step(first, spikes)
    if order == "code":
        spikes = spikes[::-1]
    return np.ascontiguousarray(spikes).reshape(shape)


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
    flat, theta, psi, denominators, shape = _prepare(currents, theta, psi)
    first = np.empty(flat.shape[1], dtype=np.int64)
    comparisons = np.empty_like(first)
    _first_step_kernel(flat, denominators, theta, psi, first, comparisons)
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
